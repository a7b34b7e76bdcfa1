"""Reading a policy's data requirements (`requires:`): the data an automatic APPROVE needs.

A rule reading a missing value does not fire, so a knock-out control whose data did not arrive
would let an application through in silence. A requirement names the values a decision needs
(input fields, features or stage outputs) and what happens when one is missing:

    requires:
      - id: RQ-COURT
        name: {zh: 法院核查结果, en: Court check results}
        fields: [checks.court_dishonest, checks.court_enforcement_open]
        else: {action: REFER, reason: COURT_CHECK_MISSING}
      - id: RQ-BUSINESS
        when: customer_group == "BUSINESS_OWNER"      # optional: only where this holds
        fields: [business.annual_turnover, business.tax_rating]
        else: {action: REFER, reason: BUSINESS_DATA_MISSING}

Requirements are checked after every stage and the limit (so they may name stage outputs and the
limit's `result`), and their reasons rank before every stage's.
"""
from __future__ import annotations

from typing import Callable

from .. import model as m
from ..errors import did_you_mean
from ..language import conditions as c
from ..source import Node
from .context import BuildContext

_KEYS = {"id", "name", "fields", "when", "else", "description"}


def read_requirements(ctx: BuildContext, node: Node | None
                      ) -> tuple[list[m.Requirement], Callable[[dict], tuple] | None]:
    """The requirements and one generated function giving each one's state in a decision."""
    if node is None:
        return [], None
    if not node.is_list:
        ctx.error("REQUIRES_SHAPE", "requires is a list of requirements, each with id, fields "
                  "and else", node.location)
        return [], None
    requirements = [r for r in (_requirement(ctx, item) for item in node.value) if r]
    if not requirements:
        return [], None
    states = []
    for requirement in requirements:
        met = " and ".join(f"v[{path!r}] is not None" for path in requirement.fields)
        if requirement.condition is None:
            states.append(f"({m.MET} if {met} else {m.UNMET})")
        else:
            applies = ctx.builder.condition(requirement.condition)
            states.append(f"({m.NOT_APPLICABLE} if not {applies} else "
                          f"{m.MET} if {met} else {m.UNMET})")
    return requirements, ctx.builder.compile_function("v", "(" + ", ".join(states) + ",)")


def _requirement(ctx: BuildContext, node: Node) -> m.Requirement | None:
    if not node.is_map:
        ctx.error("REQUIRES_SHAPE", "a requirement is a mapping with id, fields and else",
                  node.location)
        return None
    ctx.unknown_keys(node, _KEYS, "a requirement")
    id_node = node.get("id")
    requirement_id = ctx.claim_id(id_node.value if id_node else None,
                                  (id_node or node).location, "a requirement")
    what = f"requirement {requirement_id or '?'}"
    fields = _fields(ctx, node.get("fields"), node, what)
    when = node.get("when")
    condition = ctx.condition(when, what) if when is not None else None
    effect = ctx.effect(node.get("else"), f"{what} else")
    if node.get("else") is None:
        ctx.error("REQUIRES_ELSE", f"{what} needs 'else' with the action and reason of a decision "
                  "that lacks the data, e.g. else: {action: REFER, reason: DATA_MISSING}",
                  node.location)
    if requirement_id is None or not fields or effect is None or (
            when is not None and condition is None):
        return None
    reads = tuple(dict.fromkeys(fields + (c.fields_read(condition) if condition else ())))
    return m.Requirement(requirement_id, ctx.text(node.get("name")), fields, condition, effect,
                         (id_node or node).location, reads)


def _fields(ctx: BuildContext, node: Node | None, parent: Node, what: str) -> tuple[str, ...]:
    """The value names a requirement lists: input fields, features or stage outputs."""
    if node is None or not node.is_list or not node.value:
        ctx.error("REQUIRES_FIELDS", f"{what} needs a non-empty list of fields, e.g. "
                  "fields: [checks.identity_verified]", (node or parent).location)
        return ()
    names = []
    for item in node.value:
        name = item.value
        if not isinstance(name, str) or name not in ctx.scope.values:
            hint = did_you_mean(str(name), ctx.scope.values)
            if isinstance(name, str) and name in ctx.scope.sections:
                hint = " (it is a section: name its fields one by one)"
            ctx.error("REQUIRES_FIELD", f"{what}: '{name}' is not an input field, feature or "
                      f"stage output{hint}", item.location)
            continue
        names.append(name)
        ctx.read_paths.add(name)
    return tuple(names)
