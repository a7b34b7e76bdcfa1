"""Reading a decision table: inputs, outputs and rows of one cell per input, into a Stage whose
matcher is one generated function (the first matching row, or a flag per row)."""
from __future__ import annotations

from .. import model as m
from ..errors import ERROR, WARNING, Location
from ..language.expressions import Ref
from ..source import Node
from ..types import BOOLEAN, ENUM, Type
from .bins import row_problems
from .context import BuildContext, all_of
from .documents import Document

_TABLE_KEYS = {"table", "name", "hit_policy", "inputs", "outputs", "rows", "when_none",
               "description"}


def read_table(ctx: BuildContext, document: Document, stage_id: str,
               location: Location) -> m.Stage | None:
    node = document.node
    what = f"table '{document.name}'"
    ctx.unknown_keys(node, _TABLE_KEYS, what)
    hit_policy = ctx.hit_policy(node, m.TABLE_HIT_POLICIES, what)
    inputs = _inputs(ctx, node, what)
    if inputs is None:
        return None
    outputs = ctx.declared_outputs(node.get("outputs"), what)
    if not outputs:
        ctx.error("TABLE_OUTPUTS", f"{what} needs outputs", node.location)
    rows = []
    rows_node = node.get("rows")
    cells: dict[str, list] = {}
    row_nodes = rows_node.value if rows_node and rows_node.is_list else []
    for row_node in row_nodes:
        row = _row(ctx, row_node, inputs, outputs, what, cells)
        if row:
            rows.append(row)
    if len(rows) == len(row_nodes) and all(inputs):  # (a row in error is judged once fixed)
        kinds = [(i.type.name, _universe(i.type)) for i in inputs]
        for row, code, message in row_problems(rows, cells, kinds, hit_policy):
            ctx.error(code, f"{what}: {message}", row.location, WARNING if code == "ROW_OVERLAP" else ERROR)
    if not rows:
        ctx.error("TABLE_ROWS", f"{what} needs rows", node.location)
        return None
    table = m.Table(document.name, ctx.text(node.get("name")), hit_policy,
                    [i.path if i else "" for i in inputs], outputs, rows,
                    ctx.effect(node.get("when_none"), f"{what} when_none"), document.file)
    stage = m.Stage(stage_id, "table", table, outputs, location)
    if hit_policy == "first":
        lines = [f"if {ctx.builder.condition(r.condition)}: return {i}"
                 for i, r in enumerate(rows)] + ["return -1"]
        stage.pick_rows = ctx.builder.compile_body("v", lines)
    else:
        body = ", ".join(ctx.builder.condition(r.condition) for r in rows)
        stage.pick_rows = ctx.builder.compile_function("v", f"({body},)")
    return stage


def _inputs(ctx: BuildContext, node: Node, what: str) -> list[Ref | None] | None:
    """The values the cells test: each a field, feature or earlier output (None where wrong)."""
    inputs_node = node.get("inputs")
    if inputs_node is None or not inputs_node.is_list or not inputs_node.value:
        ctx.error("TABLE_INPUTS", f"{what} needs a list of inputs", node.location)
        return None
    inputs: list[Ref | None] = []
    for item in inputs_node.value:
        expr = ctx.expression(item)
        if expr is not None and not isinstance(expr, Ref):
            ctx.error("TABLE_INPUT", f"{what}: input '{expr.text}' must be a field, feature "
                      "or earlier stage output; define a feature for a computed value",
                      item.location)
            expr = None
        inputs.append(expr)
    return inputs


def _universe(kind: Type) -> frozenset | None:
    """Every value an input may hold, where that is a few: an enum's values, true and false."""
    if kind.name == ENUM:
        return frozenset(kind.values or ())
    return frozenset((True, False)) if kind.name == BOOLEAN else None


def _row(ctx: BuildContext, node: Node, inputs: list[Ref | None], outputs: dict[str, Type],
         what: str, cells_of: dict[str, list]) -> m.TableRow | None:
    if not node.is_map:
        ctx.error("ROW_SHAPE", f"{what}: a row is a mapping with id, when and then",
                  node.location)
        return None
    ctx.unknown_keys(node, {"id", "when", "then", "description"}, f"a row of {what}")
    id_node = node.get("id")
    row_id = ctx.claim_id(id_node.value if id_node else None, (id_node or node).location,
                          f"a row of {what}")
    when = node.get("when")
    if when is None or not when.is_list or len(when.value) != len(inputs):
        ctx.error("ROW_CELLS", f"row {row_id} of {what} needs a 'when' list with one cell per "
                  f"input ({len(inputs)})", (when or node).location)
        return None
    cells = [ctx.cell(cell, ref, f"row {row_id}") for cell, ref in zip(when.value, inputs)
             if ref is not None]
    then = node.get("then")
    values = ctx.output_values(then, outputs, f"row {row_id}")
    given = set(then.keys()) if then is not None and then.is_map else set()
    missing = sorted(set(outputs) - given)  # a wrong value is reported by output_values
    if then is None or (then.is_map and missing and given <= set(outputs)):
        # Every row gives every output: a row that matches and gives nothing would decide
        # silently with a missing value.
        ctx.error("ROW_OUTPUTS", f"row {row_id} of {what} must give "
                  f"{', '.join(missing or sorted(outputs))} in 'then'", (then or node).location)
    if row_id is None or any(cell is None for cell in cells):
        return None
    cells_of[row_id] = cells
    return m.TableRow(row_id, all_of(cells), values, (id_node or node).location)
