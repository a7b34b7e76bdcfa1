"""Reading a policy's limit: a base, caps (each may apply only `when` a condition holds), rounding,
a minimum, the effects of a missing or too small limit, each amount a compiled numeric expression;
and `result`, the value name under which the computed limit is kept for outputs and requirements."""
from __future__ import annotations

from .. import model as m
from ..language.expressions import Expr
from ..source import Node
from ..types import T_INTEGER
from .context import NAME, BuildContext

_LIMIT_KEYS = {"base", "caps", "round_down_to", "minimum", "below_minimum", "when_missing",
               "result"}


def read_limit(ctx: BuildContext, node: Node | None) -> m.LimitSpec | None:
    if node is None:
        return None
    ctx.unknown_keys(node, _LIMIT_KEYS, "limit")
    base = _number(ctx, node.get("base"), "limit base", node)
    caps = _caps(ctx, node.get("caps"))
    round_node = node.get("round_down_to")
    round_to = round_node.value if round_node else 1
    if not isinstance(round_to, int) or round_to < 1:
        ctx.error("LIMIT_ROUNDING", "round_down_to must be a positive whole number of yuan",
                  round_node.location)
        round_to = 1
    minimum = _number(ctx, node.get("minimum"), "limit minimum", node)
    below = ctx.effect(node.get("below_minimum"), "limit below_minimum")
    missing = ctx.effect(node.get("when_missing"), "limit when_missing")
    if below is None or missing is None:
        ctx.error("LIMIT_EFFECTS", "limit needs below_minimum and when_missing, each with an "
                  "action and a reason", node.location)
    if base is None or minimum is None or below is None or missing is None:
        return None
    value = ctx.builder.value
    return m.LimitSpec(ctx.builder.compile_function("v", value(base)), caps, round_to,
                       ctx.builder.compile_function("v", value(minimum)), below, missing,
                       _result(ctx, node.get("result")), base, minimum)


def _result(ctx: BuildContext, node: Node | None) -> str | None:
    """The name the computed limit is kept under (read by outputs and requirements only: the
    stages and features run before the limit)."""
    if node is None:
        return None
    if not isinstance(node.value, str) or not NAME.match(node.value):
        ctx.error("LIMIT_RESULT", "result names the computed limit for outputs, e.g. "
                  "result: indicative_limit", node.location)
        return None
    if not ctx.add_value(node.value, T_INTEGER, True, node.location):
        return None
    return node.value


def _caps(ctx: BuildContext, caps_node: Node | None) -> list[m.Cap]:
    caps = []
    for cap_node in (caps_node.value if caps_node and caps_node.is_list else []):
        if not cap_node.is_map:
            ctx.error("CAP_SHAPE", "a cap is a mapping with id, name and value", cap_node.location)
            continue
        ctx.unknown_keys(cap_node, {"id", "name", "value", "when", "review_may_lift"}, "a cap")
        id_node = cap_node.get("id")
        cap_id = ctx.claim_id(id_node.value if id_node else None,
                              (id_node or cap_node).location, "a cap")
        expr = _number(ctx, cap_node.get("value"), f"cap {cap_id}", cap_node)
        when = cap_node.get("when")
        condition = ctx.condition(when, f"cap {cap_id}") if when is not None else None
        if not cap_id or not expr or (when is not None and condition is None):
            continue
        code = ctx.builder.value(expr)
        if condition is not None:  # a cap that does not apply is None, like a missing one
            code = f"(({code}) if {ctx.builder.condition(condition)} else None)"
        ctx.cap_exprs[cap_id] = expr
        caps.append(m.Cap(cap_id, ctx.text(cap_node.get("name")),
                          ctx.builder.compile_function("v", code), condition,
                          (id_node or cap_node).location, _review_may_lift(ctx, cap_node, cap_id),
                          expr))
    return caps


def _review_may_lift(ctx: BuildContext, cap_node: Node, cap_id: str) -> bool:
    """`review_may_lift: true`: an underwriter closing a referral may approve above this cap (it
    stands for a check the rules could not make, such as income not yet verified). Every other
    cap binds the underwriter too (app/services/reviews.py)."""
    node = cap_node.get("review_may_lift")
    if node is None:
        return False
    if not isinstance(node.value, bool):
        ctx.error("CAP_REVIEW", f"cap {cap_id}: review_may_lift is true or false (true: an underwriter "
                  "closing a referral may approve above this cap)", node.location)
        return False
    return node.value


def _number(ctx: BuildContext, node: Node | None, what: str, parent: Node) -> Expr | None:
    if node is None:
        ctx.error("LIMIT_EXPRESSION", f"{what} is required", parent.location)
        return None
    expr = ctx.expression(node)
    if expr is not None and not expr.type.numeric:
        ctx.error("LIMIT_TYPE", f"{what} must be a number, not {expr.type}", node.text_location)
        return None
    return expr
