"""Deciding a chunk of rows column by column: what a batch run (a simulation, a backtest) needs of
each decision (outcome, limit, group, score, band, reasons in order, what fired) for many rows at
once, equal to what `Policy.decide` gives row by row.

`ColumnarPolicy.decide` takes a chunk's flat values (as `Policy.decide` builds them) and its shared
values, and gives `ChunkDecisions`: a column per headline field, a Boolean column per rule, row,
bin and requirement (fired or not) and per reason code. Rows it cannot vouch for (`unsure`: a
decimal too close to a threshold, an integer that could overflow, a function that raised, a shared
value its declaration refuses) are left to the row engine; the caller decides those with
`Policy.decide`. A policy using what this does not handle gives None from `columnar_policy`; what
shows only on use (a construct inside an expression, a function's values) raises `Unsupported`
from `decide`, and the caller decides that chunk row by row.

tests/engine/test_columnar.py proves the two equal (tests/engine/columnar_audit.py, a pytest
plugin, checks every decision another test run makes).

The order of evaluation, the hit policies, the missing-data rule and the ranking of reasons are
stages.py's and policy.py's, written over columns; evaluate.py says how values stay exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy
import polars as pl

from .. import model as m
from ..language import conditions as c
from ..stages import CONFLICT, REQUIRES_INDEX, probability_of_default
from ..types import BOOLEAN, DATETIME, DECIMAL, INTEGER, LIST
from .evaluate import (INT_LIMIT, Column, Items, Py, RowScope, Unsupported, _common, _null_where, _whole,
                       apply, compare, decimals, dtype_of, evaluate, exact_values, filled, known,
                       match_all, matches, near_whole)

__all__ = ["ChunkDecisions", "ColumnarPolicy", "Unsupported", "columnar_policy"]


@dataclass
class Contribution:
    """One reason code a rule, row, band, requirement or the limit may give: its place in the
    order of reasons (rank, stage, position, order) and the rows where it is given."""

    key: tuple[int, int, int, int]
    code: str
    active: pl.Series


class ChunkDecisions:
    """What a chunk's rows were decided, column by column; rows in `unsure` are not vouched for."""

    def __init__(self, n: int, unsure: pl.Series, outcome: pl.Series, limit: pl.Series | None,
                 values: dict[str, Column], contributions: list[Contribution],
                 fired: list[tuple[str, pl.Series]], score_stage: m.Stage | None):
        self.n = n
        self.unsure = unsure
        self.outcome = outcome
        self.limit = limit
        self.values = values
        self.contributions = sorted(contributions, key=lambda c: c.key)  # stable: file order on ties
        self.fired = fired
        self.score_stage = score_stage

    def unsure_rows(self) -> list[int]:
        return self.unsure.arg_true().to_list()

    def column(self, name: str) -> list | None:
        """A value's column as Python values (None when the policy has no such value)."""
        column = self.values.get(name)
        if column is None:
            return None
        if isinstance(column, Py):
            return column.values
        if isinstance(column, Items):
            raise Unsupported("a list as a headline value")
        return column.to_list()

    def reason_codes(self) -> dict[str, pl.Series]:
        """Each reason code and the rows that give it."""
        codes: dict[str, pl.Series] = {}
        for contribution in self.contributions:
            known = codes.get(contribution.code)
            codes[contribution.code] = contribution.active if known is None else known | contribution.active
        return codes

    def reasons(self) -> list[list[str]]:
        """Each row's reason codes in the order of its decision's reasons, each once."""
        codes: list[list[str]] = [[] for _ in range(self.n)]
        for contribution in self.contributions:  # in the order of reasons
            if contribution.active.any():
                code = contribution.code
                for row in contribution.active.arg_true().to_list():
                    codes[row].append(code)
        return [list(dict.fromkeys(row)) if len(row) > 1 else row for row in codes]

    def headlines(self) -> list[dict[str, Any]]:
        """Each row's headline as Decision.headline() gives it (score as decided: int or Decimal)."""
        outcomes = self.outcome.to_list()
        limits = self.limit.to_list() if self.limit is not None else [None] * self.n
        groups = self.column("customer_group") or [None] * self.n
        stage = self.score_stage
        scores = self.column(stage.score_name) if stage else [None] * self.n
        bands = self.column(stage.band_name) if stage else [None] * self.n
        reasons = self.reasons()
        return [{"outcome": o, "limit": li, "customer_group": g, "score": s, "score_band": b, "reasons": r}
                for o, li, g, s, b, r in zip(outcomes, limits, groups, scores, bands, reasons)]


class ColumnarPolicy:
    """One policy version, decided over chunks of rows."""

    def __init__(self, parts: m.PolicyParts):
        check_supported(parts)
        self.parts = parts
        deferred = {name for stage in parts.stages for name in stage.then_names}
        self.features = {f.name: f.expr for f in parts.features}
        self.main_features = [f.name for f in parts.features if f.name not in deferred]

    def decide(self, rows: list[dict], shared: list[dict | None]) -> ChunkDecisions:
        """Decide a chunk: `rows` are the flat values of each row's typed input, `shared` each
        row's shared values by name (None: all missing)."""
        values, unsure = _columns(self.parts, rows, shared)
        return self.decide_columns(len(rows), values, unsure)

    def decide_columns(self, n: int, values: dict[str, Column], unsure: pl.Series) -> ChunkDecisions:
        """Decide a chunk of n rows given as columns: one per input field (by path) and shared
        value (by name), as `_columns` makes them from rows, or `cells.CellTyper` from a CSV
        chunk's cells; `unsure` marks rows left to the row engine from the start. `values` gains
        the chunk's computed values."""
        parts = self.parts
        scope = RowScope(n, values)
        scope.mark(unsure)
        for name in self.main_features:
            values[name] = evaluate(self.features[name], scope)
        run = _Run(parts, scope)
        for index, stage in enumerate(parts.stages):
            if stage.kind == "ruleset":
                run.ruleset(stage, index)
            elif stage.kind == "table":
                run.table(stage, index)
            else:
                run.scorecard(stage, index)
            for name in stage.then_names:
                values[name] = evaluate(self.features[name], scope)
        limit = run.limit(parts.limit, len(parts.stages)) if parts.limit else None
        run.requirements()
        vocabulary = parts.outcomes
        default = len(vocabulary.order) - 1
        # the most severe action any reason gives (the lowest rank), else the default outcome
        acting: dict[int, pl.Series] = {}
        for contribution in run.contributions:
            rank = contribution.key[0]
            acting[rank] = contribution.active if rank not in acting else acting[rank] | contribution.active
        rank = filled(default, pl.Int64, n)
        for level in sorted(acting, reverse=True):
            rank = filled(level, pl.Int64, n).zip_with(acting[level], rank)
        outcome = rank.replace_strict(list(range(len(vocabulary.order))), list(vocabulary.order),
                                      return_dtype=pl.String)
        if limit is not None:
            limit = _null_where(limit, ~outcome.is_in(sorted(vocabulary.with_limit)))
        return ChunkDecisions(n, scope.unsure, outcome, limit, values, run.contributions, run.fired,
                              parts.score_stage)


def columnar_policy(parts: m.PolicyParts) -> ColumnarPolicy | None:
    """The policy's column evaluator (made once, kept on the parts), or None when it uses what
    this does not handle."""
    known = parts.__dict__.get("_columnar", _UNKNOWN)
    if known is _UNKNOWN:
        try:
            known = ColumnarPolicy(parts)
        except Unsupported:
            known = None
        parts.__dict__["_columnar"] = known
    return known


_UNKNOWN = object()


def check_supported(parts: m.PolicyParts) -> None:
    """Refuse, once per policy, what is known not to be handled (the rest shows on first use)."""
    if parts.models:
        raise Unsupported("declared model scores")
    if any(f.expr is None for f in parts.features):
        raise Unsupported("a feature without its tree")
    if parts.limit is not None and (parts.limit.base_expr is None or any(c.expr is None for c in parts.limit.caps)):
        raise Unsupported("a limit without its trees")
    for stage in parts.stages:
        if stage.kind == "scorecard":
            card = stage.target
            if isinstance(card.base_points, Decimal) or any(
                    isinstance(b.points, Decimal) for ch in card.characteristics for b in ch.bins):
                raise Unsupported("a scorecard with decimal points")
        for name, kind in stage.outputs.items():
            if kind.name in (LIST, DATETIME):
                raise Unsupported(f"a stage output of type {kind.name}")


# --- the chunk's columns ------------------------------------------------------------------------
def _columns(parts: m.PolicyParts, rows: list[dict], shared: list[dict | None]) -> tuple[dict[str, Column], pl.Series]:
    """A column per input field and shared value; and the rows the row engine must decide (an
    integer past 64 bits, a shared value its declaration refuses)."""
    n = len(rows)
    unsure = [False] * n
    values: dict[str, Column] = {}
    fields = parts.input_schema.fields
    plain = {path: dtype_of(spec.type.name) for path, spec in fields.items()
             if spec.type.name not in (LIST, DATETIME, DECIMAL)}
    try:  # the plain fields straight into a frame (Polars reads the dicts)
        frame = pl.DataFrame(rows, schema=plain) if plain else None
    except (TypeError, OverflowError, ValueError, pl.exceptions.PolarsError):
        frame = None  # an integer past 64 bits: field by field below
    if frame is not None:
        for path, dtype in plain.items():
            column = frame[path]
            if dtype == pl.Int64 and column.null_count() < n:
                large = known(column.abs() >= INT_LIMIT)
                if large.any():
                    for index in large.arg_true().to_list():
                        unsure[index] = True
                    column = _null_where(column, large)
            values[path] = column
    for path, spec in fields.items():
        if path in values:
            continue
        raw = [row[path] for row in rows]
        kind = spec.type.name
        if kind == LIST:
            values[path] = _items(spec, raw, unsure)
        elif kind == DATETIME:
            values[path] = Py(raw)
        else:
            values[path] = _scalars(kind, raw, unsure)
    for declared in parts.shared:
        boolean = declared.type_name == BOOLEAN
        name = declared.name
        raw = [None if given is None else given.get(name) for given in shared]
        column = None
        # Only values of the declared class go to Polars (a file's cell may hold anything: a
        # decimal in a list match's column made Polars panic); anything else is checked below.
        kind = bool if boolean else int
        if all(v is None or v.__class__ is kind for v in raw):
            try:
                column = pl.Series(raw, dtype=pl.Boolean if boolean else pl.Int64, strict=True)
            except (TypeError, OverflowError, pl.exceptions.PolarsError):  # an integer past 64 bits
                column = None
        if column is not None and (boolean or not ((column < 0) | (column >= INT_LIMIT)).any()):
            values[name] = column.fill_null(False) if boolean else column
            continue
        checked = []
        for index, value in enumerate(raw):
            if value is None:
                value = False if boolean else None
            elif boolean and value.__class__ is not bool or not boolean and (
                    value.__class__ is not int or value < 0 or value >= INT_LIMIT):
                unsure[index] = True  # the row engine refuses it, or it is too large for a column
                value = None
            checked.append(value)
        values[name] = pl.Series(checked, dtype=pl.Boolean if boolean else pl.Int64)
    return values, pl.Series(unsure, dtype=pl.Boolean)


def _scalars(kind: str, raw: list, unsure: list[bool]) -> pl.Series:
    """A column of one input field's values; an integer too large for exact arithmetic in 64 bits
    is left out (null) and its row marked unsure."""
    if kind == DECIMAL:
        return decimals(raw)
    try:
        column = pl.Series(raw, dtype=dtype_of(kind))
    except (TypeError, OverflowError, pl.exceptions.PolarsError):
        if kind != INTEGER:
            raise Unsupported(f"input values of type {kind}") from None
        column = None
    if kind == INTEGER:
        if column is None:  # past 64 bits: the large ones out, one by one
            raw = list(raw)
            for index, value in enumerate(raw):
                if value is not None and not -INT_LIMIT < value < INT_LIMIT:
                    unsure[index] = True
                    raw[index] = None
            return pl.Series(raw, dtype=pl.Int64)
        large = (column.abs() >= INT_LIMIT).fill_null(False)
        if large.any():
            for index in large.arg_true().to_list():
                unsure[index] = True
            column = _null_where(column, large)
    return column


def _items(spec: Any, raw: list, unsure: list[bool]) -> Items:
    """A list field as its rows' presence and one long frame of items."""
    fields = [(f.path.rsplit(".", 1)[-1], f.type.name) for f in spec.item_fields]
    item_type = spec.type.item
    scalar = not fields
    if scalar:
        fields = [("_item", item_type.name if item_type else "null")]
    if any(kind in (LIST, DATETIME) for _, kind in fields):
        raise Unsupported("a list of lists or of datetimes")
    counts = [len(items) if items else 0 for items in raw]
    flat = [item for items in raw if items for item in items]
    row_index = pl.Series(numpy.repeat(numpy.arange(len(raw), dtype=numpy.int64), counts), dtype=pl.Int64)
    item_unsure = [False] * len(flat)
    items = None
    if not scalar and all(kind != DECIMAL for _, kind in fields):
        try:  # records straight into a frame (Polars reads the dicts), the common case
            items = pl.DataFrame(flat, schema={name: dtype_of(kind) for name, kind in fields})
        except (TypeError, OverflowError, ValueError, pl.exceptions.PolarsError):
            items = None
        if items is not None:
            for name, kind in fields:
                if kind == INTEGER:
                    large = (items[name].abs() >= INT_LIMIT).fill_null(False)
                    for position in large.arg_true().to_list():
                        item_unsure[position] = True
            items = items.insert_column(0, row_index.alias("_row"))
    if items is None:  # field by field (decimals; integers past 64 bits)
        frame = {"_row": row_index}
        for name, kind in fields:
            values = flat if scalar else [item.get(name) for item in flat]
            frame[name] = _scalars(kind, values, item_unsure)
        items = pl.DataFrame(frame)
    if any(item_unsure):
        rows = row_index.to_list()
        for position, flagged in enumerate(item_unsure):
            if flagged:
                unsure[rows[position]] = True
    present = pl.Series([given is not None for given in raw], dtype=pl.Boolean)
    return Items(present, items)


# --- stages, limit, requirements ----------------------------------------------------------------
def _first(flags: list[pl.Series], n: int) -> list[pl.Series]:
    """Each flag where no earlier flag is set: the first match."""
    seen = filled(False, pl.Boolean, n)
    first = []
    for flag in flags:
        first.append(flag & ~seen)
        seen = seen | flag
    return first


def _any(flags: list[pl.Series], n: int) -> pl.Series:
    result = filled(False, pl.Boolean, n)
    for flag in flags:
        result = result | flag
    return result


def _count(flags: list[pl.Series], n: int) -> pl.Series:
    if not flags:
        return filled(0, pl.Int64, n)
    return pl.select(pl.sum_horizontal([pl.lit(f).cast(pl.Int64) for f in flags])).to_series()


def _signature(outputs: dict, effect: m.Effect | None = None) -> tuple:
    """What must agree between matches of hit policy `any` (an output expression by identity, as
    the row engine compares it)."""
    return (tuple(sorted(((k, id(v) if isinstance(v, m.OutputExpr) else v) for k, v in outputs.items()),
                         key=lambda pair: pair[0])), effect)


def _disagree(matched: list[pl.Series], signatures: list[tuple], n: int) -> pl.Series:
    """Where the matches carry more than one signature."""
    groups: dict[tuple, list[pl.Series]] = {}
    for flag, signature in zip(matched, signatures):
        groups.setdefault(signature, []).append(flag)
    return _count([_any(flags, n) for flags in groups.values()], n) > 1


class _Run:
    """The stages of one chunk: values written into the scope, contributions and fired flags."""

    def __init__(self, parts: m.PolicyParts, scope: RowScope):
        self.parts, self.scope, self.n = parts, scope, scope.n
        self.contributions: list[Contribution] = []
        self.fired: list[tuple[str, pl.Series]] = []
        self.false = filled(False, pl.Boolean, self.n)

    def give(self, effect: m.Effect, stage_index: int, position: int, active: pl.Series) -> None:
        for order, code in enumerate(effect.reasons):
            self.contributions.append(Contribution((effect.rank, stage_index, position, order), code, active))

    def output(self, kind: Any, chosen: list[pl.Series], given: list[Any]) -> Column:
        """An output's column: the value of the rule or row chosen in each row (null where none)."""
        result = self.scope.constant(None, kind.name)
        if not isinstance(result, pl.Series):
            raise Unsupported("an output of datetimes")
        for flag, value in zip(chosen, given):
            if value is None:
                continue
            if isinstance(value, m.OutputExpr):
                column = evaluate(value.expr, self.scope)
            else:
                column = self.scope.constant(value, kind.name)
            if not isinstance(column, pl.Series):
                raise Unsupported("an output of datetimes")
            column, current = _common([column, result])
            result = column.zip_with(flag, current)
        return result

    def ruleset(self, stage: m.Stage, index: int) -> None:
        ruleset: m.RuleSet = stage.target
        rules, n = ruleset.rules, self.n
        matched = match_all([rule.condition for rule in rules], self.scope)
        first = _first(matched, n)
        hit = _any(matched, n)
        policy = ruleset.hit_policy
        conflict = self.false
        if policy == "collect":
            selected = matched
        elif policy == "first":
            selected = first
        elif policy == "priority":
            order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
            chosen = _first([matched[i] for i in order], n)
            selected = [self.false] * len(rules)
            for position, i in enumerate(order):
                selected[i] = chosen[position]
        else:
            if policy == "unique":
                conflict = _count(matched, n) > 1
            else:  # any
                conflict = _disagree(matched, [_signature(r.outputs, r.effect) for r in rules], n)
            selected = [flag & ~conflict for flag in matched]
        for i, rule in enumerate(rules):
            if rule.effect is not None:
                self.give(rule.effect, index, i, selected[i])
        effect = stage.conflict or CONFLICT
        for i in range(len(rules)):
            self.give(effect, index, i, conflict & first[i])
        if ruleset.when_none is not None:
            self.give(ruleset.when_none, index, len(rules), ~hit)
        chosen = _first(selected, n)
        for name, kind in stage.outputs.items():
            self.scope.values[name] = self.output(kind, chosen, [r.outputs.get(name) for r in rules])
        self.fired += [(rule.id, flag) for rule, flag in zip(rules, matched)]

    def table(self, stage: m.Stage, index: int) -> None:
        table: m.Table = stage.target
        rows, n = table.rows, self.n
        matched = match_all([row.condition for row in rows], self.scope)
        first = _first(matched, n)
        if table.hit_policy == "first":
            used, conflict = first, self.false
        else:
            used = matched
            conflict = (_count(matched, n) > 1) if table.hit_policy == "unique" else \
                _disagree(matched, [_signature(r.outputs) for r in rows], n)
        chosen = [flag & ~conflict for flag in first]
        for name, kind in stage.outputs.items():
            self.scope.values[name] = self.output(kind, chosen, [r.outputs.get(name) for r in rows])
        effect = stage.conflict or CONFLICT
        for i in range(len(rows)):
            self.give(effect, index, i, conflict & first[i])
        if table.when_none is not None:
            self.give(table.when_none, index, 0, ~_any(matched, n))
        self.fired += [(row.id, flag) for row, flag in zip(rows, used)]

    def scorecard(self, stage: m.Stage, index: int) -> None:
        card: m.Scorecard = stage.target
        n = self.n
        score = filled(card.base_points, pl.Int64, n)
        picked: list[list[pl.Series]] = []
        every = iter(match_all([b.condition for ch in card.characteristics for b in ch.bins], self.scope))
        for characteristic in card.characteristics:
            chosen = _first([next(every) for _ in characteristic.bins], n)
            picked.append(chosen)
            for bin_, flag in zip(characteristic.bins, chosen):
                if bin_.points:
                    score = score + flag.cast(pl.Int64) * bin_.points
                self.fired.append((bin_.id, flag))
        values = self.scope.values
        values[stage.score_name] = score
        bands = card.bands
        remaining = filled(True, pl.Boolean, n)
        in_band = []
        for position, band in enumerate(bands):
            if position == len(bands) - 1:
                flag = remaining
            elif band.minimum is None:
                flag = remaining
            else:
                flag = remaining & _series_true(compare(score, ">=", self.scope.constant(band.minimum, DECIMAL if isinstance(band.minimum, Decimal) else INTEGER), self.scope))
            in_band.append(flag)
            remaining = remaining & ~flag
        band_column = filled(None, pl.String, n)
        for band, flag in zip(bands, in_band):
            band_column = filled(band.band, pl.String, n).zip_with(flag, band_column)
        values[stage.band_name] = band_column
        if stage.pd_name is not None:
            scaling = card.scaling
            values[stage.pd_name] = apply(lambda s: probability_of_default(s, scaling), [score], DECIMAL, self.scope)
        # scorecard reasons: the characteristics that lost most points against their best bin
        losses, eligible = [], []
        for characteristic, chosen in zip(card.characteristics, picked):
            loss = filled(0, pl.Int64, n)
            flag = self.false
            for bin_, bin_flag in zip(characteristic.bins, chosen):
                lost = characteristic.best_points - bin_.points
                if lost > 0 and bin_.reason:
                    loss = loss + bin_flag.cast(pl.Int64) * lost
                    flag = flag | bin_flag
            losses.append(loss)
            eligible.append(flag)
        places = []
        for k in range(len(losses)):
            ahead = [eligible[j] & (((losses[j] > losses[k]) | (losses[j] == losses[k])) if j < k
                                    else (losses[j] > losses[k]))
                     for j in range(len(losses)) if j != k]
            places.append(_count(ahead, n))
        for band, flag in zip(bands, in_band):
            if band.effect is None:
                continue
            self.give(band.effect, index, 0, flag)
            for r in range(card.max_reasons):
                for k, (characteristic, chosen) in enumerate(zip(card.characteristics, picked)):
                    at_place = flag & eligible[k] & (places[k] == r)
                    for bin_, bin_flag in zip(characteristic.bins, chosen):
                        if characteristic.best_points - bin_.points > 0 and bin_.reason:
                            effect = m.Effect(band.effect.action, (bin_.reason,), band.effect.rank)
                            self.give(effect, index, r + 1, at_place & bin_flag)

    def limit(self, spec: m.LimitSpec, index: int) -> pl.Series:
        scope = self.scope
        step = spec.round_down_to
        base = _numeric(evaluate(spec.base_expr, scope))
        missing = base.is_null()
        # The amount is the smallest of the base and the caps present (a cap binds when strictly
        # smaller); each is rounded down on its own, exactly, and the binding one's kept.
        sources = [base]
        chosen = filled(0, pl.Int64, self.n)  # which of the sources the amount is
        amount, rounded = base, self.floor_to(base, step)
        for cap in spec.caps:
            value = _numeric(evaluate(cap.expr, scope))
            if cap.condition is not None:
                value = _null_where(value, ~matches(cap.condition, scope), scope)
            take = _series_true(compare(value, "<", amount, scope))
            sources.append(value)
            chosen = filled(len(sources) - 1, pl.Int64, self.n).zip_with(take, chosen)
            common = _common([value, amount])
            amount = common[0].zip_with(take, common[1])
            if amount.dtype == pl.Float64:
                scope.exact[id(amount)] = (amount, _chosen_exact(sources, chosen, scope))
            rounded = self.floor_to(value, step).zip_with(take, rounded)
        rounded = _null_where(rounded.clip(lower_bound=0), missing)
        minimum = _numeric(evaluate(spec.minimum_expr, scope))
        below = _series_true(compare(rounded, "<", minimum, scope)) & ~missing
        self.give(spec.below_minimum, index, 0, below)
        self.give(spec.when_missing, index, 0, missing)
        if spec.result is not None:
            scope.values[spec.result] = rounded
        return rounded

    def floor_to(self, column: pl.Series, step: int) -> pl.Series:
        """floor(value) // step * step, as the row engine rounds a limit down (exact for integers
        and decimals; a float's close calls by the row engine's decimal division). An amount past
        64 bits leaves its row to the row engine."""
        big = (column.cast(pl.Float64).abs() > INT_LIMIT).fill_null(False)
        if big.any():
            self.scope.mark(big)
            column = _null_where(column, big, self.scope)
        if column.dtype != pl.Float64:
            return (column // step).cast(pl.Int64) * step
        ratio = column / step
        result = _whole(_null_where(ratio, ratio.is_nan() | ratio.is_infinite()).floor(), self.scope) * step
        close = near_whole(ratio)
        if not close.any():
            return result
        rows = close.arg_true()
        exact = exact_values(column, self.scope, rows)
        if exact is None:
            self.scope.mark(close)
            return result
        floors = [None if v is None else int(Decimal(v).to_integral_value(rounding=ROUND_FLOOR)) // step * step
                  for v in exact]
        past = [f is not None and not -2 ** 63 <= f < 2 ** 63 for f in floors]
        if any(past):  # left to the row engine (marked above, unless the float was just inside)
            self.scope.mark(pl.Series([False] * self.n, dtype=pl.Boolean).scatter(
                [r for r, p in zip(rows.to_list(), past) if p], True))
            floors = [None if p else f for f, p in zip(floors, past)]
        return result.scatter(rows, pl.Series(floors, dtype=pl.Int64))

    def requirements(self) -> None:
        requirements = self.parts.requirements
        conditions = match_all([r.condition or c.Always(True) for r in requirements], self.scope)
        presence = match_all([c.AllOf(tuple(c.Presence(c.FieldRef(path, ""), True, None) for path in r.fields))
                              for r in requirements], self.scope)
        for position, requirement in enumerate(requirements):
            met, applies = presence[position], conditions[position]
            unmet = applies & ~met
            self.give(requirement.effect, REQUIRES_INDEX, position, unmet)
            self.fired.append((requirement.id, unmet))


def _chosen_exact(sources: list[pl.Series], chosen: pl.Series, scope: RowScope):
    """Exact values of an amount made of several sources: each row's from the source it took."""
    def values(rows: pl.Series) -> list | None:
        picks = chosen.gather(rows)
        out: list = [None] * len(rows)
        for source in picks.unique().to_list():
            where = (picks == source).arg_true()
            found = exact_values(sources[source], scope, rows.gather(where))
            if found is None:
                return None
            for position, value in zip(where.to_list(), found):
                out[position] = value
        return out
    return values


def _series_true(column: Column) -> pl.Series:
    if not isinstance(column, pl.Series):
        raise Unsupported("a datetime where a number is")
    return known(column)


def _numeric(column: Column) -> pl.Series:
    if not isinstance(column, pl.Series) or not (column.dtype.is_numeric() or column.dtype == pl.Null):
        raise Unsupported("a limit that is not a number")
    return column.cast(pl.Int64) if column.dtype == pl.Null else column


def _present(column: Column) -> pl.Series:
    if isinstance(column, Items):
        return column.present
    if isinstance(column, Py):
        return pl.Series([v is not None for v in column.values], dtype=pl.Boolean)
    return column.is_not_null()
