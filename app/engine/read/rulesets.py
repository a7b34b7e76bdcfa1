"""Reading a rule set: its hit policy, declared outputs and rules, into a Stage whose matcher is
one generated function returning a flag per rule."""
from __future__ import annotations

from .. import model as m
from ..errors import Location
from ..language import conditions as c
from ..source import Node
from ..types import Type
from .context import BuildContext
from .documents import Document

_RULESET_KEYS = {"ruleset", "name", "hit_policy", "outputs", "when_none", "rules", "description"}
_RULE_KEYS = {"id", "name", "when", "then", "priority", "description"}


def read_ruleset(ctx: BuildContext, document: Document, stage_id: str,
                 location: Location) -> m.Stage | None:
    node = document.node
    what = f"rule set '{document.name}'"
    ctx.unknown_keys(node, _RULESET_KEYS, what)
    hit_policy = ctx.hit_policy(node, m.HIT_POLICIES, what)
    outputs = ctx.declared_outputs(node.get("outputs"), what)
    if outputs and hit_policy == "collect":
        ctx.error("RULESET_OUTPUTS", f"{what}: a collect rule set cannot set outputs (several "
                  "rules may match); use first, unique, priority or any",
                  node.get("outputs").location)
    rules_node = node.get("rules")
    if rules_node is None or not rules_node.is_list or not rules_node.value:
        ctx.error("RULESET_RULES", f"{what} needs a non-empty list of rules", node.location)
        return None
    rules = [r for r in (_rule(ctx, r, outputs, hit_policy) for r in rules_node.value) if r]
    if not rules:
        return None  # every rule has an error, each already reported
    ruleset = m.RuleSet(document.name, ctx.text(node.get("name")), hit_policy, rules, outputs,
                        ctx.effect(node.get("when_none"), f"{what} when_none"), document.file)
    stage = m.Stage(stage_id, "ruleset", ruleset, outputs, location)
    body = ", ".join(ctx.builder.condition(r.condition) for r in rules)
    stage.match = ctx.builder.compile_function("v", f"({body},)")
    return stage


def _rule(ctx: BuildContext, node: Node, outputs: dict[str, Type],
          hit_policy: str) -> m.Rule | None:
    if not node.is_map:
        ctx.error("RULE_SHAPE", "a rule is a mapping with id, name, when and then", node.location)
        return None
    ctx.unknown_keys(node, _RULE_KEYS, "a rule")
    id_node = node.get("id")
    rule_id = ctx.claim_id(id_node.value if id_node else None, (id_node or node).location,
                           "a rule")
    what = f"rule {rule_id or '?'}"
    when = node.get("when")
    if when is None:
        ctx.error("RULE_WHEN", f"{what} needs a 'when' condition", node.location)
        return None
    probes: list[m.ItemProbe] = []
    condition = ctx.condition(when, what, probes)
    effect, values = _then(ctx, node.get("then"), node, outputs, what)
    priority = _priority(ctx, node, hit_policy, what)
    if rule_id is None or condition is None:
        return None
    return m.Rule(rule_id, ctx.text(node.get("name")), condition, effect, values, priority,
                  (id_node or node).location, c.fields_read(condition), tuple(probes))


def _then(ctx: BuildContext, then: Node | None, node: Node, outputs: dict[str, Type],
          what: str) -> tuple[m.Effect | None, dict]:
    """What a match yields: an action with reasons, output values, or both."""
    effect, values = None, {}
    if then is None or not then.is_map:
        ctx.error("RULE_THEN", f"{what} needs 'then' with an action and reason, or 'set'",
                  (then or node).location)
        return effect, values
    ctx.unknown_keys(then, {"action", "reason", "set"}, f"{what} then")
    if then.get("action") is not None or then.get("reason") is not None:
        effect = ctx.effect(then, what, check_keys=False)
    reported = len(ctx.diagnostics)
    values = ctx.output_values(then.get("set"), outputs, what)
    # a `set:` whose values were wrong has been reported: saying 'then' is empty would be a
    # second, misleading error for the same mistake
    if effect is None and not values and then.get("action") is None and reported == len(ctx.diagnostics):
        ctx.error("RULE_THEN", f"{what}: 'then' must give an action and reason, or set "
                  "outputs", then.location)
    return effect, values


def _priority(ctx: BuildContext, node: Node, hit_policy: str, what: str) -> int:
    priority_node = node.get("priority")
    if priority_node is not None:
        if not isinstance(priority_node.value, int) or isinstance(priority_node.value, bool):
            ctx.error("RULE_PRIORITY", f"{what}: priority must be a whole number",
                      priority_node.location)
            return 0
        return priority_node.value
    if hit_policy == "priority":
        ctx.error("RULE_PRIORITY", f"{what}: rules of a priority rule set need a priority "
                  "(higher wins)", node.location)
    return 0
