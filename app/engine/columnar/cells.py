"""Typing a CSV chunk's cells column by column, for the column evaluator.

A batch run used to type every row of a CSV file on its own (`fastinput.cells_parser`: each cell
read and checked in Python, each list cell's JSON parsed and each record checked), which cost
more than deciding the row column by column. `CellTyper` types a whole chunk at once, one column
at a time, into the columns `ColumnarPolicy.decide_columns` reads, with Polars doing the checks
(lengths, enum values, ranges, date forms) and Python only what needs it (a pattern once per
distinct value, a list cell's JSON, a datetime's offset).

It is sound, not complete: a row it is *sure* of is one `cells_parser` types too, to the very
same values; any cell it is not sure of (text `int()` would read but that is not plain digits,
such as " 5" or "+5"; a date not written YYYY-MM-DD; a list cell whose JSON holds a float; ...)
leaves its row unsure, and the caller types that row the row way, which decides it or words its
errors. tests/engine/test_cell_typer.py compares the two on generated cells, valid and broken.

The cells are text as app/files.py reads a CSV file (`CsvLayout`): "" is an absent field; an
integer cell is read by `int()`, a boolean one by its words (true, false, 1, 0), a list cell as
JSON when it starts with "[" (else split at "|"), any other cell is the text itself. Only a layout
of text cells is typed here (Parquet values are typed the row way).
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Sequence

import numpy
import orjson
import polars as pl

from ..fastinput import MAX_DIGITS, _GiveUp, _leaf
from ..schema import FieldSpec, InputSchema, full_match_pattern
from ..types import BOOLEAN, DATE, DATETIME, DECIMAL, ENUM, INTEGER, LIST, RECORD, STRING
from .evaluate import Items, Py, Unsupported, dtype_of

# The words a boolean cell may hold that are read here (app/files.py also reads other cases and
# surrounding spaces: such a cell leaves its row to the row way).
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False,
             "True": True, "False": False, "TRUE": True, "FALSE": False}
_INTEGER = r"^-?[0-9]{1,18}$"  # what int() reads exactly as written, within 18 digits
_COUNT = r"^[0-9]{1,18}$"  # a shared count: never negative
_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"  # fastinput._NUMBER
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # the form date.fromisoformat and Polars read alike
_TYPES = {INTEGER: int, BOOLEAN: bool, STRING: str, ENUM: str, DATE: str}
_NONE = type(None)


@dataclass
class TypedChunk:
    """A chunk's columns (by field path and shared value name) and the rows typed: `sure[i]` is
    true where row i's values are what the row way gives; the other rows' values are not."""

    values: dict[str, Any]
    sure: numpy.ndarray


class CellTyper:
    """How one version's input is typed from a CSV layout's cells, column by column.

    `columns[i]` is the declared field cells[i] holds (None: not the input's); `shared` gives the
    cells of shared values: (index, name, "integer" or "boolean"), and `declared_shared` every
    shared value the policy declares, (name, type): one without a cell is missing on every row.
    Raises Unsupported for a declaration or layout it does not type (the caller types every row
    the row way)."""

    def __init__(self, declared: InputSchema, columns: Sequence[str | None],
                 shared: Sequence[tuple[int, str, str]], declared_shared: Iterable[tuple[str, str]] = ()):
        self.width = len(columns)
        place = {path: i for i, path in enumerate(columns) if path is not None}
        self.fields: list[tuple[str, FieldSpec, int | None]] = []
        for path, spec in declared.fields.items():
            kind = spec.type.name
            if kind not in (INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, ENUM, STRING, LIST):
                raise Unsupported(f"cells of type {kind}")
            if kind == LIST:
                item = spec.type.item
                if item is None or item.name != RECORD or not spec.item_fields:
                    raise Unsupported("a list of values in a cell")
                if any(f.type.name not in _TYPES for f in spec.item_fields):
                    raise Unsupported("a record field of a type typed row by row")
            if path not in place and spec.required:
                raise Unsupported("a required field without a column")
            self.fields.append((path, spec, place.get(path)))
        self.shared = tuple(shared)
        with_cells = {name for _, name, _ in self.shared}
        self.absent_shared = tuple((name, kind) for name, kind in declared_shared if name not in with_cells)
        self._checks = {path: _string_checks(spec) for path, spec, _ in self.fields
                        if spec.type.name in (STRING, ENUM)}
        self._records = {path: _record_checks(spec) for path, spec, _ in self.fields
                         if spec.type.name == LIST}
        self._moments = {path: _leaf(spec) for path, spec, _ in self.fields if spec.type.name == DATETIME}

    def type(self, cells: Sequence[Sequence[str]] | pl.DataFrame) -> TypedChunk:
        """Type a chunk given as its rows' cells, or as its columns of text (a frame of `width`
        text columns, in the layout's order, every row of `width` cells)."""
        width = self.width
        sure = numpy.ones(len(cells), dtype=bool)
        if isinstance(cells, pl.DataFrame):
            if cells.width != width:
                raise ValueError(f"{cells.width} columns, the layout has {width}")
            n = cells.height
            by_column: list = cells.get_columns()
        else:
            n = len(cells)
            odd = [i for i, row in enumerate(cells) if len(row) != width]
            if odd:  # a row of another width: the row way says what is wrong with it
                blank = ("",) * width
                cells = [blank if len(row) != width else row for row in cells]
            by_column = list(zip(*cells)) if n else [()] * width
            sure[odd] = False
        values: dict[str, Any] = {}
        for path, spec, index in self.fields:
            kind = spec.type.name
            if index is None:
                values[path] = _absent(spec, n)
                continue
            texts = by_column[index]
            if kind == DATETIME:
                values[path], ok = self._datetimes(path, spec, _python(texts))
            elif kind == LIST:
                values[path], ok = self._lists(path, spec, _python(texts))
            else:
                text = _text(texts)
                present = text != ""
                values[path], ok = self._scalars(path, spec, _null_where_not(text, present), present)
                if spec.required:
                    ok = ok & present
                ok = ok.to_numpy()
            sure &= ok
        for index, name, kind in self.shared:
            text = _text(by_column[index])
            present = text != ""
            if kind == BOOLEAN:
                column = text.replace_strict(list(_BOOLEANS), list(_BOOLEANS.values()), default=None,
                                             return_dtype=pl.Boolean)
                ok = ~present | column.is_not_null()
                values[name] = column.fill_null(False)
            elif kind == INTEGER:
                good = text.str.contains(_COUNT)
                values[name] = _null_where_not(text, good).cast(pl.Int64)
                ok = ~present | good
            else:
                raise Unsupported(f"a shared value of type {kind}")
            sure &= ok.to_numpy()
        for name, kind in self.absent_shared:  # missing: a list match is on no list
            values[name] = pl.Series([False if kind == BOOLEAN else None], dtype=pl.Boolean if kind == BOOLEAN
                                     else pl.Int64).new_from_index(0, n)
        return TypedChunk(values, sure)

    # --- one column ---------------------------------------------------------------------------
    def _scalars(self, path: str, spec: FieldSpec, text: pl.Series, present: pl.Series
                 ) -> tuple[pl.Series, pl.Series]:
        """A scalar field's column (null where absent or not sure) and where its cell is sure
        (absent, or read and checked as the row way reads it)."""
        kind = spec.type.name
        if kind in (STRING, ENUM):
            good = self._checks[path](text)
            column = text
        elif kind == INTEGER:
            good = text.str.contains(_INTEGER)
            column = _null_where_not(text, good).cast(pl.Int64)
            good = good & _within(column, spec.minimum, spec.maximum)
        elif kind == BOOLEAN:
            column = text.replace_strict(list(_BOOLEANS), list(_BOOLEANS.values()), default=None,
                                         return_dtype=pl.Boolean)
            good = column.is_not_null()
        elif kind == DATE:
            column, good = _dates(text)
        else:  # DECIMAL
            column, good = _decimals(text, spec)
        good = ~present | good.fill_null(False)
        return _null_where_not(column, good), good

    def _datetimes(self, path: str, spec: FieldSpec, texts: Sequence[str]) -> tuple[Py, numpy.ndarray]:
        """Datetimes stay Python objects (their own UTC offsets), read by the row way's own check."""
        moment = self._moments[path]
        out: list = []
        ok = numpy.ones(len(texts), dtype=bool)
        for i, text in enumerate(texts):
            if text == "":
                out.append(None)
                if spec.required:
                    ok[i] = False
                continue
            try:
                out.append(moment(text))
            except (_GiveUp, ValueError, TypeError):
                out.append(None)
                ok[i] = False
        return Py(out), ok

    def _lists(self, path: str, spec: FieldSpec, texts: Sequence[str]) -> tuple[Items, numpy.ndarray]:
        """A list of records: each cell's JSON parsed (orjson, which reads what json.loads reads
        alike but for floats and integers past 64 bits, which no record field here accepts), its
        records' fields checked column by column over the whole chunk."""
        n = len(texts)
        ok = numpy.ones(n, dtype=bool)
        present = numpy.zeros(n, dtype=bool)
        lists: list = []
        counts = numpy.zeros(n, dtype=numpy.int64)
        longest = spec.max_items
        loads = orjson.loads
        for i, text in enumerate(texts):
            if text == "":
                if spec.required:
                    ok[i] = False
                continue
            if text[0] != "[":  # a list of records is JSON (split at "|" it is never one)
                ok[i] = False
                continue
            try:
                items = loads(text)
            except orjson.JSONDecodeError:
                ok[i] = False
                continue
            if items.__class__ is not list or (longest is not None and len(items) > longest):
                ok[i] = False
                continue
            present[i] = True
            counts[i] = len(items)
            lists.append(items)
        rows = numpy.repeat(numpy.arange(n, dtype=numpy.int64), counts)
        flat = [item for items in lists for item in items]
        frame, bad_items = self._records[path](flat)
        if bad_items.any():
            ok[numpy.unique(rows[bad_items])] = False
        frame = frame.insert_column(0, pl.Series("_row", rows, dtype=pl.Int64))
        return Items(pl.Series(present, dtype=pl.Boolean), frame), ok


def _text(column: Sequence[str] | pl.Series) -> pl.Series:
    return column if isinstance(column, pl.Series) else pl.Series(column, dtype=pl.String)


def _python(column: Sequence[str] | pl.Series) -> Sequence[str]:
    return column.to_list() if isinstance(column, pl.Series) else column


def _absent(spec: FieldSpec, n: int) -> Any:
    """The column of a field no cell holds: missing on every row."""
    kind = spec.type.name
    if kind == DATETIME:
        return Py([None] * n)
    if kind == LIST:
        fields = {f.path.rsplit(".", 1)[-1]: dtype_of(f.type.name) for f in spec.item_fields}
        return Items(pl.Series([False] * n, dtype=pl.Boolean),
                     pl.DataFrame(schema={"_row": pl.Int64, **fields}))
    return pl.Series([None] * n, dtype=dtype_of(kind) if kind != DECIMAL else pl.Decimal(38, 0))


def _null_where_not(series: pl.Series, good: pl.Series) -> pl.Series:
    return series if good.all() else series.zip_with(good.fill_null(False),
                                                     pl.Series([None], dtype=series.dtype).new_from_index(0, len(series)))


def _within(column: pl.Series, low: Any, high: Any) -> pl.Series:
    """Within low and high, either None for no bound (true where null: the caller knows why).
    The column holds integers: a bound that is not whole (min: 0.5) is taken to the integer
    inside it first, which Polars would otherwise truncate toward zero (0 >= 0.5 true)."""
    good = _all_true(len(column))
    if low is not None:
        low = math.ceil(low)
    if high is not None:
        high = math.floor(high)
    if low is not None:
        good = good & (column >= low).fill_null(True)
    if high is not None:
        good = good & (column <= high).fill_null(True)
    return good


def _all_true(n: int) -> pl.Series:
    return pl.Series([True], dtype=pl.Boolean).new_from_index(0, n)


def _dates(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    """YYYY-MM-DD text as dates (a day that does not exist, or year 0, is not sure: date.fromisoformat
    refuses it)."""
    form = text.str.contains(_DATE).fill_null(False)
    column = _null_where_not(text, form).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    good = form & column.is_not_null() & (column.dt.year() >= 1).fill_null(False)
    return column, good


def _decimals(text: pl.Series, spec: FieldSpec) -> tuple[pl.Series, pl.Series]:
    """Plain decimal text (fastinput._NUMBER) with at most MAX_DIGITS digits before the point
    (leading zeros aside) and after it, as a decimal column of the chunk's largest scale; the
    minimum and maximum checked on the distinct values."""
    form = text.str.contains(_DECIMAL).fill_null(False)
    whole = text.str.extract(r"^-?0*([0-9]*)", 1).str.len_chars()
    places = text.str.extract(r"\.([0-9]+)$", 1).str.len_chars().fill_null(0)
    good = form & (whole <= MAX_DIGITS).fill_null(False) & (places <= MAX_DIGITS)
    scale = int(places.filter(good).max() or 0)
    column = _null_where_not(text, good).cast(pl.Decimal(38, scale), strict=False)
    if spec.minimum is not None or spec.maximum is not None:
        low, high = spec.minimum, spec.maximum
        allowed = [v for v in text.filter(good).unique().to_list()
                   if (low is None or Decimal(v) >= low) and (high is None or Decimal(v) <= high)]
        good = good & text.is_in(pl.Series(allowed, dtype=pl.String).implode())
    return column, good & column.is_not_null()


def _string_checks(spec: FieldSpec):
    """A function from a text column (null where absent) to where each value passes the field's
    length, enum values and pattern (a pattern matched by Python's re once per distinct value,
    as the row way matches it)."""
    longest = spec.max_length
    allowed = list(spec.type.values or ()) if spec.type.name == ENUM else None
    pattern = re.compile(full_match_pattern(spec.pattern)) if spec.pattern else None

    def check(text: pl.Series) -> pl.Series:
        good = _all_true(len(text))
        if longest is not None:
            good = good & (text.str.len_chars() <= longest)
        if allowed is not None:
            good = good & text.is_in(pl.Series(allowed, dtype=pl.String).implode())
        if pattern is not None:
            matching = [v for v in text.drop_nulls().unique().to_list() if pattern.match(v)]
            good = good & text.is_in(pl.Series(matching, dtype=pl.String).implode())
        return good
    return check


def _record_checks(spec: FieldSpec):
    """A function from a chunk's records (parsed JSON values, in row then item order) to their
    frame (a column per field) and where a record is not sure: not an object, an unknown field,
    a required field missing or null, a value of another JSON type, or one its field refuses."""
    fields = [(f.path.rsplit(".", 1)[-1], f) for f in spec.item_fields]
    names = [name for name, _ in fields]
    known = frozenset(names)
    checks = {name: _string_checks(field) for name, field in fields if field.type.name in (STRING, ENUM)}
    # every record's values in declared order, in C: (every field None) | record, picked out
    blank = dict.fromkeys(names)
    picked = operator.itemgetter(*names) if len(names) > 1 else (lambda record: (record[names[0]],))

    def records(flat: list) -> tuple[pl.DataFrame, numpy.ndarray]:
        m = len(flat)
        bad = numpy.zeros(m, dtype=bool)
        if set(map(type, flat)) - {dict}:
            for j, item in enumerate(flat):
                if item.__class__ is not dict:
                    bad[j] = True
            flat = [item if item.__class__ is dict else {} for item in flat]
        if not all(map(known.issuperset, flat)):
            for j, item in enumerate(flat):
                if not item.keys() <= known:
                    bad[j] = True
        values = list(zip(*map(picked, map(blank.__or__, flat)))) if m else [()] * len(fields)
        columns = {}
        for (name, field), raw in zip(fields, values):
            kind = field.type.name
            wanted = _TYPES[kind]
            if set(map(type, raw)) - {wanted, _NONE}:
                for j, value in enumerate(raw):
                    if value is not None and value.__class__ is not wanted:
                        bad[j] = True
                raw = [v if v.__class__ is wanted else None for v in raw]
            if kind == INTEGER:
                try:
                    column = pl.Series(raw, dtype=pl.Int64, strict=True)
                except (OverflowError, TypeError, pl.exceptions.PolarsError):  # past 64 bits
                    for j, value in enumerate(raw):
                        if value is not None and not -10 ** MAX_DIGITS < value < 10 ** MAX_DIGITS:
                            bad[j] = True
                    raw = [v if v is None or -10 ** MAX_DIGITS < v < 10 ** MAX_DIGITS else None for v in raw]
                    column = pl.Series(raw, dtype=pl.Int64)
                # fastinput's bounds: fewer than MAX_DIGITS digits, within minimum and maximum
                low = -10 ** MAX_DIGITS + 1 if field.minimum is None else max(-10 ** MAX_DIGITS + 1, field.minimum)
                high = 10 ** MAX_DIGITS - 1 if field.maximum is None else min(10 ** MAX_DIGITS - 1, field.maximum)
                good = _within(column, low, high)
            elif kind == BOOLEAN:
                column = pl.Series(raw, dtype=pl.Boolean)
                good = None
            elif kind == DATE:
                text = pl.Series(raw, dtype=pl.String)
                column, good = _dates(text)
                good = good | text.is_null()
            else:  # text
                column = pl.Series(raw, dtype=pl.String)
                good = checks[name](column).fill_null(True)
            if field.required:  # missing or null (or a value already found bad, left out)
                bad |= column.is_null().to_numpy()
            if good is not None:
                bad |= ~good.fill_null(False).to_numpy()
            columns[name] = column
        if bad.any():  # a record not sure has no values (a year 0 is no Python date, for one)
            keep = pl.Series(~bad, dtype=pl.Boolean)
            columns = {name: _null_where_not(column, keep) for name, column in columns.items()}
        return pl.DataFrame(columns, schema={name: dtype_of(f.type.name) for name, f in fields}), bad
    return records
