"""Reading a policy's limit: a base, caps, rounding, a minimum and the effects of a missing or too
small limit, each amount a compiled numeric expression."""
from __future__ import annotations

from .. import model as m
from ..language.expressions import Expr
from ..source import Node
from .context import BuildContext

_LIMIT_KEYS = {"base", "caps", "round_down_to", "minimum", "below_minimum", "when_missing"}


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
                       ctx.builder.compile_function("v", value(minimum)), below, missing)


def _caps(ctx: BuildContext, caps_node: Node | None) -> list[m.Cap]:
    caps = []
    for cap_node in (caps_node.value if caps_node and caps_node.is_list else []):
        if not cap_node.is_map:
            ctx.error("CAP_SHAPE", "a cap is a mapping with id, name and value", cap_node.location)
            continue
        ctx.unknown_keys(cap_node, {"id", "name", "value"}, "a cap")
        id_node = cap_node.get("id")
        cap_id = ctx.claim_id(id_node.value if id_node else None,
                              (id_node or cap_node).location, "a cap")
        expr = _number(ctx, cap_node.get("value"), f"cap {cap_id}", cap_node)
        if cap_id and expr:
            caps.append(m.Cap(cap_id, ctx.text(cap_node.get("name")),
                              ctx.builder.compile_function("v", ctx.builder.value(expr))))
    return caps


def _number(ctx: BuildContext, node: Node | None, what: str, parent: Node) -> Expr | None:
    if node is None:
        ctx.error("LIMIT_EXPRESSION", f"{what} is required", parent.location)
        return None
    expr = ctx.expression(node)
    if expr is not None and not expr.type.numeric:
        ctx.error("LIMIT_TYPE", f"{what} must be a number, not {expr.type}", node.text_location)
        return None
    return expr
