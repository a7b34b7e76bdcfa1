"""Decision tables and scorecards: reading them into the intermediate form (a part of the loader).

Both test one input per cell or bin with the same small vocabulary: a value, a list, '-',
missing, exists, else, a comparison ('>= 700') or an interval ('[600, 700)').
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import model as m
from .errors import Location, did_you_mean
from .language import conditions as c
from .language.expressions import Ref
from .literals import all_of, coerce_literal, scalar_text
from .source import Node
from .types import BOOLEAN, DATE, DECIMAL, ENUM, INTEGER, T_INTEGER, Type

if TYPE_CHECKING:  # pragma: no cover
    from .loader import Document

_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,]*?)\s*,\s*([^,]*?)\s*([\])])\s*$")
_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$")


class TablesAndScorecards:
    """PolicyBuilder's methods for tables and scorecards (it mixes this class in)."""

    # --- tables --------------------------------------------------------------------------------
    def table(self, document: Document, stage_id: str, location: Location,
              _many_scorecards: bool) -> m.Stage | None:
        node = document.node
        what = f"table '{document.name}'"
        self.unknown_keys(node, {"table", "name", "hit_policy", "inputs", "outputs", "rows",
                                 "when_none", "description"}, what)
        hit_policy = self.hit_policy(node, m.TABLE_HIT_POLICIES, what)
        inputs_node = node.get("inputs")
        inputs: list[Ref] = []
        if inputs_node is None or not inputs_node.is_list or not inputs_node.value:
            self.error("TABLE_INPUTS", f"{what} needs a list of inputs", node.location)
            return None
        for item in inputs_node.value:
            expr = self.expression(item, what)
            if expr is not None and not isinstance(expr, Ref):
                self.error("TABLE_INPUT", f"{what}: input '{expr.text}' must be a field, feature "
                           "or earlier stage output; define a feature for a computed value",
                           item.location)
                expr = None
            inputs.append(expr)
        outputs = self.declared_outputs(node.get("outputs"), what)
        if not outputs:
            self.error("TABLE_OUTPUTS", f"{what} needs outputs", node.location)
        rows = []
        for row_node in (node.get("rows").value if node.get("rows") and node.get("rows").is_list
                         else []):
            row = self.table_row(row_node, inputs, outputs, what)
            if row:
                rows.append(row)
        if not rows:
            self.error("TABLE_ROWS", f"{what} needs rows", node.location)
            return None
        table = m.Table(document.name, self.text(node.get("name")), hit_policy,
                        [i.path if i else "" for i in inputs], outputs, rows,
                        self.effect(node.get("when_none"), f"{what} when_none"), document.file)
        stage = m.Stage(stage_id, "table", table, outputs, location)
        if hit_policy == "first":
            lines = [f"if {self.builder.condition(r.condition)}: return {i}"
                     for i, r in enumerate(rows)] + ["return -1"]
            stage.pick_rows = self.builder.compile_body("v", lines)
        else:
            body = ", ".join(self.builder.condition(r.condition) for r in rows)
            stage.pick_rows = self.builder.compile_function("v", f"({body},)")
        return stage

    def table_row(self, node: Node, inputs: list, outputs: dict[str, Type],
                  what: str) -> m.TableRow | None:
        if not node.is_map:
            self.error("ROW_SHAPE", f"{what}: a row is a mapping with id, when and then",
                       node.location)
            return None
        self.unknown_keys(node, {"id", "when", "then", "description"}, f"a row of {what}")
        id_node = node.get("id")
        row_id = self.claim_id(id_node.value if id_node else None, (id_node or node).location,
                               f"a row of {what}")
        when = node.get("when")
        if when is None or not when.is_list or len(when.value) != len(inputs):
            self.error("ROW_CELLS", f"row {row_id} of {what} needs a 'when' list with one cell per "
                       f"input ({len(inputs)})", (when or node).location)
            return None
        cells = [self.cell(cell, ref, f"row {row_id}") for cell, ref in zip(when.value, inputs)
                 if ref is not None]
        then = node.get("then")
        values = self.output_values(then, outputs, f"row {row_id}")
        given = set(then.keys()) if then is not None and then.is_map else set()
        missing = sorted(set(outputs) - given)  # a wrong value is reported by output_values
        if then is None or (then.is_map and missing and given <= set(outputs)):
            # Every row gives every output: a row that matches and gives nothing would decide
            # silently with a missing value.
            self.error("ROW_OUTPUTS", f"row {row_id} of {what} must give "
                       f"{', '.join(missing or sorted(outputs))} in 'then'",
                       (then or node).location)
        if row_id is None or any(cell is None for cell in cells):
            return None
        condition = all_of(cells)
        return m.TableRow(row_id, condition, values, (id_node or node).location)

    def cell(self, node: Node, ref: Ref, what: str) -> c.Condition | None:
        """One unary test: a value, a list, '-', missing, exists, else, a comparison, an interval."""
        field_ref = c.FieldRef(ref.path, ref.type.name)
        value = node.value
        location = node.text_location
        if node.is_list:
            values = [coerce_literal(item.value, ref.type) for item in node.value]
            if any(v is None for v in values):
                self.bad_cell(node, ref, what)
                return None
            return c.Member(field_ref, frozenset(values), False, location)
        if isinstance(value, str):
            text = value.strip()
            if text in ("-", "else", "any"):
                return c.Always(True)
            if text in ("missing", "exists"):
                return c.Presence(field_ref, text == "exists", location)
            interval = _INTERVAL.match(text)
            if interval and ref.type.name in (INTEGER, DECIMAL, DATE):
                opening, low, high, closing = interval.groups()
                parts = []
                for text_bound, op in ((low, ">=" if opening == "[" else ">"),
                                       (high, "<=" if closing == "]" else "<")):
                    if not text_bound:
                        continue  # an open end: "[700, )"
                    bound = coerce_literal(scalar_text(text_bound), ref.type)
                    if bound is None:
                        return self.bad_cell(node, ref, what)
                    parts.append(c.Compare(field_ref, op, c.Const(bound, ref.type.name), location))
                return all_of(parts) if parts else c.Presence(field_ref, True, location)
            comparison = _COMPARISON.match(text)
            if comparison:
                op, operand = comparison.groups()
                bound = coerce_literal(scalar_text(operand), ref.type)
                if bound is None or (op not in ("==", "!=") and ref.type.name in (BOOLEAN, ENUM)):
                    return self.bad_cell(node, ref, what)
                return c.Compare(field_ref, op, c.Const(bound, ref.type.name), location)
        literal = coerce_literal(value, ref.type)
        if literal is None:
            return self.bad_cell(node, ref, what)
        return c.Compare(field_ref, "==", c.Const(literal, ref.type.name), location)

    def bad_cell(self, node: Node, ref: Ref, what: str) -> None:
        hint = did_you_mean(str(node.value), ref.type.values or ()) if ref.type.values else ""
        self.error("CELL", f"{what}: '{node.plain()}' is not a test of {ref.path} ({ref.type}); "
                   "write a value, a list, '-', missing, a comparison such as '>= 700' or an "
                   f"interval such as '[600, 700)'{hint}", node.text_location)
        return None

    # --- scorecards ----------------------------------------------------------------------------
    def scorecard(self, document: Document, stage_id: str, location: Location,
                  many: bool) -> m.Stage | None:
        node = document.node
        what = f"scorecard '{document.name}'"
        self.unknown_keys(node, {"scorecard", "name", "base_points", "max_reasons",
                                 "characteristics", "bands", "description"}, what)
        base = node.get("base_points")
        if base is None or not isinstance(base.value, int) or isinstance(base.value, bool):
            self.error("SCORECARD_BASE", f"{what} needs whole-number base_points",
                       (base or node).location)
            return None
        max_reasons_node = node.get("max_reasons")
        max_reasons = max_reasons_node.value if max_reasons_node else 4
        if not isinstance(max_reasons, int) or isinstance(max_reasons, bool) or max_reasons < 0:
            self.error("SCORECARD_MAX_REASONS", f"{what}: max_reasons must be a whole number "
                       "(how many scorecard reasons a decision may carry)",
                       max_reasons_node.location)
            max_reasons = 4
        characteristics = []
        chars_node = node.get("characteristics")
        for char_node in (chars_node.value if chars_node and chars_node.is_list else []):
            characteristic = self.characteristic(char_node, what)
            if characteristic:
                characteristics.append(characteristic)
        if not characteristics:
            self.error("SCORECARD_CHARACTERISTICS", f"{what} needs characteristics",
                       node.location)
            return None
        bands = self.bands(node.get("bands"), what)
        if not bands:
            return None
        scorecard = m.Scorecard(document.name, self.text(node.get("name")), base.value,
                                characteristics, bands, max_reasons, document.file)
        score_name = f"{stage_id}_score" if many else "score"
        band_name = f"{stage_id}_band" if many else "score_band"
        outputs = {score_name: T_INTEGER,
                   band_name: Type(ENUM, values=tuple(b.band for b in bands))}
        stage = m.Stage(stage_id, "scorecard", scorecard, outputs, location,
                        score_name=score_name, band_name=band_name)
        lines = []
        for index, characteristic in enumerate(characteristics):
            for position, bin_ in enumerate(characteristic.bins):
                keyword = "if" if position == 0 else "elif"
                lines.append(f"{keyword} {self.builder.condition(bin_.condition)}: "
                             f"b{index} = {position}")
            lines.append(f"else: b{index} = -1")
        lines.append("return (" + "".join(f"b{i}, " for i in range(len(characteristics))) + ")")
        stage.pick_bins = self.builder.compile_body("v", lines)
        return stage

    def characteristic(self, node: Node, what: str) -> m.Characteristic | None:
        if not node.is_map:
            self.error("CHARACTERISTIC_SHAPE", f"{what}: a characteristic is a mapping with id, "
                       "name, input and bins", node.location)
            return None
        self.unknown_keys(node, {"id", "name", "input", "bins", "description"},
                          "a characteristic")
        id_node = node.get("id")
        char_id = self.claim_id(id_node.value if id_node else None, (id_node or node).location,
                                "a characteristic")
        input_node = node.get("input")
        ref = self.expression(input_node, f"characteristic {char_id}") if input_node else None
        if input_node is None or (ref is not None and not isinstance(ref, Ref)):
            self.error("CHARACTERISTIC_INPUT", f"characteristic {char_id} needs an input that is "
                       "a field, feature or stage output (define a feature for a computed value)",
                       (input_node or node).location)
            return None
        bins_node = node.get("bins")
        if bins_node is None or not bins_node.is_list or not bins_node.value:
            self.error("CHARACTERISTIC_BINS", f"characteristic {char_id} needs bins",
                       node.location)
            return None
        bins = []
        for bin_node in bins_node.value:
            if not bin_node.is_map:
                self.error("BIN_SHAPE", "a bin is a mapping with id, when, points and reason",
                           bin_node.location)
                continue
            self.unknown_keys(bin_node, {"id", "when", "points", "reason", "description"}, "a bin")
            bin_id_node = bin_node.get("id")
            bin_id = self.claim_id(bin_id_node.value if bin_id_node else None,
                                   (bin_id_node or bin_node).location, "a bin")
            points = bin_node.get("points")
            when = bin_node.get("when")
            if points is None or not isinstance(points.value, int) or when is None:
                self.error("BIN_SHAPE", f"bin {bin_id} needs 'when' and whole-number 'points'",
                           bin_node.location)
                continue
            condition = self.cell(when, ref, f"bin {bin_id}") if ref else None
            reasons = self.reason_codes(bin_node.get("reason"), f"bin {bin_id}")
            if bin_id and condition is not None:
                bins.append(m.Bin(bin_id, condition, points.value, reasons[0] if reasons else None,
                                  bin_node.location))
        if not bins or ref is None or char_id is None:
            return None
        best = max(b.points for b in bins)
        for bin_ in bins:
            if bin_.points < best and not bin_.reason:
                self.error("BIN_REASON", f"bin {bin_.id} scores below the best bin of {char_id} "
                           "and needs a reason code to explain the loss", bin_.location)
        return m.Characteristic(char_id, self.text(node.get("name")), ref.path, bins)

    def bands(self, node: Node | None, what: str) -> list[m.Band]:
        bands: list[m.Band] = []
        if node is None or not node.is_list or not node.value:
            self.error("SCORECARD_BANDS", f"{what} needs bands", (node or self.node).location)
            return bands
        previous = None
        for index, band_node in enumerate(node.value):
            name = band_node.get("band") if band_node.is_map else None
            if name is None:
                self.error("BAND_SHAPE", "a band needs a name: {band: A, min: 720}",
                           band_node.location)
                continue
            self.unknown_keys(band_node, {"band", "min", "action", "reason"}, "a band")
            minimum_node = band_node.get("min")
            minimum = minimum_node.value if minimum_node else None
            if minimum is not None and (not isinstance(minimum, int) or isinstance(minimum, bool)):
                self.error("BAND_MIN", f"band {name.value}: min must be a whole number of points",
                           minimum_node.location)
                minimum = None
                continue
            last = index == len(node.value) - 1
            if minimum is None and not last:
                self.error("BAND_MIN", f"band {name.value} needs a min (only the last band may "
                           "omit it)", band_node.location)
            if minimum is not None and previous is not None and minimum >= previous:
                self.error("BAND_ORDER", f"band {name.value}: bands go from the highest min down",
                           minimum_node.location)
            if minimum is not None:
                previous = minimum
            effect = None
            if band_node.get("action") is not None:
                effect = self.effect(band_node, f"band {name.value}", check_keys=False)
            bands.append(m.Band(str(name.value), minimum, effect))
        if bands and bands[-1].minimum is not None:
            self.error("BAND_LAST", f"{what}: the last band must have no min, so that every score "
                       "has a band", node.value[-1].location)
        return bands
