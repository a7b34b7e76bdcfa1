"""Reading a policy's outcome vocabulary (`outcomes:`): its outcomes in order of severity, which
carry the limit, and what the engine gives when it cannot settle a decision.

    outcomes:
      order: [CALL, FREEZE, REDUCE, WATCH, NONE]   # most severe first; the last when nothing acts
      limit: [REDUCE]                               # the outcomes that carry the computed limit
      unsettled: WATCH                              # conflicting rules, an unusable model score

A policy that declares none keeps DECLINE / REFER / APPROVE (APPROVE carries the limit, REFER
is what the engine cannot settle).
"""
from __future__ import annotations

import re

from .. import model as m
from ..errors import did_you_mean
from ..source import Node
from .context import BuildContext

_KEYS = {"order", "limit", "unsettled"}
_NAME = re.compile(m.OUTCOME_NAME)


def read_outcomes(ctx: BuildContext, node: Node | None) -> m.Outcomes:
    """The vocabulary; on any problem the default one (and the problem reported)."""
    if node is None:
        return m.DEFAULT_OUTCOMES
    if not node.is_map:
        ctx.error("OUTCOMES_SHAPE", "outcomes is a mapping: order (most severe first), limit and "
                  "unsettled, e.g. {order: [DECLINE, REFER, APPROVE], limit: [APPROVE], "
                  "unsettled: REFER}", node.location)
        return m.DEFAULT_OUTCOMES
    ctx.unknown_keys(node, _KEYS, "outcomes")
    order = _names(ctx, node.get("order"), "outcomes order")
    if order is None or len(order) < 2:
        ctx.error("OUTCOMES_ORDER", "outcomes order lists at least two outcomes, most severe "
                  "first; the last is the outcome when no rule acts", (node.get("order") or node).location)
        return m.DEFAULT_OUTCOMES
    limit = _names(ctx, node.get("limit"), "outcomes limit") or []
    for name in limit:
        if name not in order:
            ctx.error("OUTCOMES_LIMIT", f"outcomes limit names '{name}', which is not in order"
                      f"{did_you_mean(name, order)}", node.get("limit").location)
    unsettled_node = node.get("unsettled")
    unsettled = unsettled_node.value if unsettled_node else (m.REFER if m.REFER in order else None)
    if unsettled not in order[:-1]:
        ctx.error("OUTCOMES_UNSETTLED", f"outcomes unsettled must name the outcome given when "
                  f"rules conflict or a model score cannot be used, one of "
                  f"{', '.join(order[:-1])}{did_you_mean(str(unsettled), order[:-1])}",
                  (unsettled_node or node).location)
        return m.DEFAULT_OUTCOMES
    return m.Outcomes(tuple(order), frozenset(n for n in limit if n in order), unsettled)


def _names(ctx: BuildContext, node: Node | None, what: str) -> list[str] | None:
    if node is None:
        return None
    if not node.is_list:
        ctx.error("OUTCOMES_SHAPE", f"{what} is a list of outcome names", node.location)
        return None
    names: list[str] = []
    for item in node.value:
        name = item.value
        if not isinstance(name, str) or not _NAME.match(name):
            ctx.error("OUTCOME_NAME", f"{what}: '{name}' is not an outcome name: capital letters, "
                      "digits and _, at most 20, e.g. REDUCE", item.location)
            return None
        if name in names:
            ctx.error("OUTCOME_NAME", f"{what}: '{name}' is listed twice", item.location)
            return None
        names.append(name)
    return names
