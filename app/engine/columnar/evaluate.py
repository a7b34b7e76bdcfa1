"""Evaluating checked expression trees and conditions over a chunk of rows, one column at a time.

The row engine (language/compiler.py) computes one decision's values in Python; this module
computes the same values for many decisions at once as Polars columns, so that a batch run
(`policy simulate`, a backtest) pays Python's per-value cost once per chunk, not once per row.

The values must be the row engine's exactly. Three rules keep them so:
- Types map to columns that hold their values exactly: integer Int64, text and enums String,
  booleans Boolean (null is missing, and `&`, `|`, `~` are three-valued like the language's),
  dates Date, times of day Time. Datetimes keep their own UTC offsets, which a Polars column
  would not: they stay Python objects (`Py`).
- Decimals are Polars decimals (exact, with a fixed scale) while they are added, subtracted,
  multiplied (one side widened first: Polars keeps only the larger scale of a product), compared
  and floored. A quotient (and a decimal a function gives with more digits than 38 hold, or a
  product, floor division or common scale that would pass 38 digits) is a Float64 instead: a
  float is within a few units in the last place of the exact
  decimal, so a comparison can come out otherwise only when its two sides are that close; every
  comparison, floor and rounding of a float marks the rows where the two sides are within a
  relative 1e-9 as *unsure*, and the row engine decides those rows. So does an integer whose
  magnitude could overflow 64 bits (a sum, product or floor, a limit amount).
  A float's close rows are worked out exactly where its operands can be (a quotient of exact
  values, or a sum, difference, product, floor, remainder, negation, abs, min, max, coalesce,
  if-else or list aggregate of such): there the row engine's own arithmetic
  (compiler.DECIMAL_CONTEXT) gives the value (`scope.exact`, `_settled`). A float sum or difference much smaller
  than its operands (they cancel) has lost the accuracy the margin assumes: its rows are worked out
  exactly so, or are unsure.
- The row engine's decimal arithmetic keeps 28 significant digits (a column keeps up to 38): a
  decimal sum, difference, product, negation, abs, floor division or remainder that needs more is
  rounded as the row engine rounds it, row by row; a list's decimal sum that may need more (the
  row engine rounds each addition) is unsure. text() of a decimal is refused: a decimal column
  holds values, not the exponent a Decimal carries ("1.50", or an integer made a decimal by
  coalesce or min), which text() shows.
- A function without a column form is called through its own Python implementation
  (language/functions.py), once per distinct tuple of arguments in the chunk. A call that raises
  marks its rows unsure (the row engine then says what a failing feature gives).

Anything this module does not handle (a list inside a list, a float handed to a Python
function, a list built in a value, text() of a decimal) raises Unsupported: the caller decides
the chunk row by row (app/services/batch.py `_Chunk._decide_columns`).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, Callable

import polars as pl

from ..language import conditions as c
from ..language.compiler import DECIMAL_CONTEXT, _floordiv, _mod
from ..language.expressions import (QUANTIFIERS, Arith, Call, Cmp, Expr, IfElse, ItemRef, ListLit,
                                    Lit, Logic, Member, NamedList, Not, Over, Ref, Unary)
from ..language.functions import FUNCTIONS
from ..types import (BOOLEAN, DATE, DATETIME, DECIMAL, ENUM, INTEGER, LIST, NULL, RECORD, STRING,
                     TIME)

# Relative distance within which a float's comparison or floor is not trusted (floats here are
# within about 1e-15 of the exact decimal; the margin is wide so that error carried through a few
# operations stays inside it).
TOLERANCE = 1e-9
# Integers past this magnitude may have wrapped in 64 bits: such rows are decided row by row.
INT_LIMIT = float(2 ** 62)

MAX_SCALE = 18  # decimal places kept exactly (38 digits in all: 20 before the point)
DTYPES = {INTEGER: pl.Int64, DECIMAL: pl.Decimal(38, 0), STRING: pl.String, ENUM: pl.String,
          BOOLEAN: pl.Boolean, DATE: pl.Date, TIME: pl.Time, NULL: pl.Null}


class Unsupported(Exception):
    """A construct the column evaluator does not handle: decide row by row."""


@dataclass
class Py:
    """A column of Python objects (datetimes, whose UTC offsets a Polars column would drop)."""

    values: list


@dataclass
class Items:
    """A list-valued column: `present` (Boolean, false where the list is missing) and its items in
    one long frame, `_row` giving each item's row and its fields as columns (`_item` for a list of
    scalars), in row then item order."""

    present: pl.Series
    frame: pl.DataFrame


Column = Any  # pl.Series | Py | Items


def filled(value: Any, dtype: Any, n: int) -> pl.Series:
    """A column of n copies of one value (made in Polars, not from a Python list of n)."""
    return pl.Series([value], dtype=dtype).new_from_index(0, n)


def known(flags: pl.Series) -> pl.Series:
    """Boolean flags with missing read as false (without Polars' expression machinery, which
    costs a query per call)."""
    return flags if flags.null_count() == 0 else flags & flags.is_not_null()


def dtype_of(type_name: str) -> Any:
    dtype = DTYPES.get(type_name)
    if dtype is None:
        raise Unsupported(f"values of type {type_name}")
    return dtype


def is_decimal(series: pl.Series) -> bool:
    return isinstance(series.dtype, pl.Decimal)


def decimals(values: list) -> pl.Series:
    """Exact decimals (Decimal, int or None) as a decimal column, or as floats when they need
    more digits than a column holds."""
    scale = 0
    for value in values:
        if isinstance(value, Decimal):
            sign, digits, exponent = value.as_tuple()
            if not isinstance(exponent, int):  # NaN or infinity: never an exact decimal
                raise Unsupported("a decimal that is not a number")
            scale = max(scale, -exponent)
            if len(digits) + exponent > 38 - MAX_SCALE:
                return pl.Series([None if v is None else float(v) for v in values], dtype=pl.Float64)
    if scale > MAX_SCALE:
        return pl.Series([None if v is None else float(v) for v in values], dtype=pl.Float64)
    return pl.Series(values, dtype=pl.Decimal(38, scale))


class Scope:
    """Where an expression is evaluated: the rows of a chunk, or the items of a list (`ItemScope`).
    Collects the rows that must be decided row by row (`unsure`)."""

    n: int

    def value(self, path: str) -> Column:
        raise NotImplementedError

    def item(self, var: str, name: str | None) -> pl.Series:
        raise Unsupported("an item outside its comprehension")

    def mark(self, mask: pl.Series) -> None:
        raise NotImplementedError

    def constant(self, value: Any, type_name: str) -> Column:
        """A column repeating one constant (a literal, a parameter)."""
        if isinstance(value, datetime.datetime) or (value is None and type_name == DATETIME):
            return Py([value] * self.n)
        if value is None:
            dtype = DTYPES.get(type_name, pl.Null)
        elif isinstance(value, bool):
            dtype = pl.Boolean
        elif isinstance(value, int):
            dtype = pl.Int64
        elif isinstance(value, Decimal):
            return decimals([value]).new_from_index(0, self.n)
        elif isinstance(value, str):
            dtype = pl.String
        elif isinstance(value, datetime.date):
            dtype = pl.Date
        elif isinstance(value, datetime.time):
            dtype = pl.Time
        else:
            raise Unsupported(f"a constant {value!r}")
        return pl.Series([value], dtype=dtype).new_from_index(0, self.n)


class RowScope(Scope):
    """The rows of a chunk: `values` holds every column computed so far, by value name."""

    def __init__(self, n: int, values: dict[str, Column]):
        self.n = n
        self.values = values
        # how to get some rows of a float column exactly (a quotient: as the row engine divides)
        self.exact: dict[int, tuple[pl.Series, Callable[[pl.Series], list]]] = {}
        self.unsure = pl.Series([False], dtype=pl.Boolean).new_from_index(0, n)

    def value(self, path: str) -> Column:
        try:
            return self.values[path]
        except KeyError:
            raise Unsupported(f"no column for {path}") from None

    def mark(self, mask: pl.Series) -> None:
        self.unsure = self.unsure | known(mask)


class ItemScope(Scope):
    """The items of one list, selected by a comprehension's `if`: `rows` gives each item's row."""

    def __init__(self, parent: RowScope, var: str, frame: pl.DataFrame):
        self.parent, self.var, self.frame = parent, var, frame
        self.rows = frame["_row"]
        self.n = frame.height
        # how to get some rows of a float column exactly (a quotient: as the row engine divides)
        self.exact: dict[int, tuple[pl.Series, Callable[[pl.Series], list]]] = {}

    def value(self, path: str) -> Column:
        column = self.parent.value(path)
        if isinstance(column, Items):
            raise Unsupported("a list read inside a comprehension")
        if isinstance(column, Py):
            return Py([column.values[i] for i in self.rows.to_list()])
        return column.gather(self.rows)

    def item(self, var: str, name: str | None) -> pl.Series:
        if var != self.var:
            raise Unsupported("a comprehension inside a comprehension")
        if (name or "_item") not in self.frame.columns:
            raise Unsupported("a whole record as a value")
        return self.frame[name or "_item"]

    def mark(self, mask: pl.Series) -> None:
        hit = self.rows.filter(known(mask)).unique()
        if hit.len():
            flags = pl.Series([False], dtype=pl.Boolean).new_from_index(0, self.parent.n)
            self.parent.mark(flags.scatter(hit, True))


# --- values -------------------------------------------------------------------------------------
def evaluate(expr: Expr, scope: Scope) -> Column:
    """The column of an expression's values (null where missing)."""
    handler = _HANDLERS.get(type(expr))
    if handler is None:
        raise Unsupported(f"{type(expr).__name__} expressions")
    return handler(expr, scope)


def _lit(expr: Lit, scope: Scope) -> Column:
    return scope.constant(expr.value, expr.type.name)


def _ref(expr: Ref, scope: Scope) -> Column:
    return scope.value(expr.path)


def _item_ref(expr: ItemRef, scope: Scope) -> Column:
    return scope.item(expr.var, expr.field)


def _series(column: Column, what: str) -> pl.Series:
    if not isinstance(column, pl.Series):
        raise Unsupported(what)
    return column


def _numbers(left: pl.Series, right: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Both sides as types that combine exactly: integers and decimals as they are (Polars mixes
    them exactly), either as Float64 when the other is one."""
    if left.dtype == pl.Float64 or right.dtype == pl.Float64:
        return left.cast(pl.Float64), right.cast(pl.Float64)
    return left, right


def near(left: pl.Series, right: pl.Series) -> pl.Series:
    """Where two floats are too close for their order or equality to be trusted."""
    a, b = pl.col("a"), pl.col("b")
    scale = pl.max_horizontal(a.abs(), b.abs(), pl.lit(1.0))
    return pl.DataFrame({"a": left, "b": right}).select(
        ((a - b).abs() <= scale * TOLERANCE).fill_null(False)).to_series()


def near_whole(values: pl.Series) -> pl.Series:
    """Where a float is too close to a whole number for its floor to be trusted."""
    return near(values, values.round(0))


def _guard_int(result: pl.Series, estimate: pl.Series, scope: Scope) -> pl.Series:
    scope.mark(estimate.abs() > INT_LIMIT)
    return result


def _unary(expr: Unary, scope: Scope) -> Column:
    operand = _series(evaluate(expr.operand, scope), "a sign on a datetime")
    if expr.op == "+":
        return operand
    if operand.dtype == pl.Int64:
        return _guard_int(-operand, operand.cast(pl.Float64), scope)
    if operand.dtype == pl.Float64:
        return _settled(-operand, None, _exact_of([operand], scope, lambda a: None if a is None else -a), scope)
    return _rounded(-operand) if is_decimal(operand) else -operand


def _arith(expr: Arith, scope: Scope) -> Column:
    if not (expr.left.type.numeric or expr.left.type.name == NULL) or not (
            expr.right.type.numeric or expr.right.type.name == NULL):
        raise Unsupported(f"arithmetic on {expr.left.type} and {expr.right.type}")
    left = _series(evaluate(expr.left, scope), "arithmetic")
    right = _series(evaluate(expr.right, scope), "arithmetic")
    op = expr.op
    if op == "/":  # always a decimal; missing when dividing by zero
        result = _null_where(left.cast(pl.Float64) / right.cast(pl.Float64), right == 0)
        hook = _exact_pair(left, right, scope, divide)  # exact parts, for close calls
        if hook is not None:
            scope.exact[id(result)] = (result, hook)
        return result
    exact_left, exact_right = left, right
    left, right = _numbers(left, right)
    whole = left.dtype == pl.Int64 and right.dtype == pl.Int64
    if op in ("//", "%"):
        zero = right == 0
        if whole:
            safe = right.zip_with(~known(zero), pl.Series([1], dtype=pl.Int64).new_from_index(0, len(right)))
            quotient = left // safe
            result = quotient if op == "//" else left - safe * quotient
            return _null_where(result, zero)
        function = _floordiv if op == "//" else _mod
        if left.dtype == pl.Float64:
            return _float_floor(op, left, right, zero, _exact_pair(exact_left, exact_right, scope, function), scope)
        # decimals: Polars floors exactly; the row engine floors its 28-digit quotient (and
        # rounds the remainder's product and difference), which differs only where the quotient
        # is within its last digit of a whole number or the values have more than 28 digits:
        # those rows are computed as the row engine computes them
        one = decimals([Decimal(1)]).new_from_index(0, len(right))
        try:
            floored = left // right.zip_with(~zero.fill_null(False), one.cast(right.dtype) if is_decimal(right) else one)
            product = right * floored  # exact: the floor is whole
            result = floored if op == "//" else left - product
        except pl.exceptions.PolarsError:  # a quotient past 38 digits: as floats, close rows exactly
            return _float_floor(op, left.cast(pl.Float64), right.cast(pl.Float64), zero,
                                _exact_pair(exact_left, exact_right, scope, function), scope)
        result = _limited(result)
        if is_decimal(result):
            ratio = left.cast(pl.Float64) / right.cast(pl.Float64)
            close = near_whole(ratio) | _long(left) | _long(right) | _long(product)
            result = _as_row_engine(result, close & ~zero.fill_null(False), left, right, function)
        return _null_where(result, zero)
    if op == "+":
        result = left + right
    elif op == "-":
        result = left - right
    elif op == "*":
        result = _times(left, right)
    else:
        raise Unsupported(f"operator {op}")
    if whole:
        estimate = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}[op](
            left.cast(pl.Float64), right.cast(pl.Float64))
        return _guard_int(result, estimate, scope)
    if result.dtype == pl.Float64:
        hook = _exact_pair(exact_left, exact_right, scope, {"+": _add, "-": _subtract, "*": _multiply}[op])
        # a sum or difference far smaller than its operands has lost the float's relative accuracy
        doubt = _cancelling(result, left.abs() + right.abs()) if op in ("+", "-") else None
        return _settled(result, doubt, hook, scope)
    result = _limited(result)
    if is_decimal(result):  # the row engine rounds a result to 28 digits
        result = _rounded(result)
    return result


# Decimal arithmetic in the row engine keeps 28 significant digits (compiler.DECIMAL_CONTEXT);
# a column keeps up to 38.
PRECISION = DECIMAL_CONTEXT.prec
# A float sum or difference far smaller than its operands (cancellation) has lost the relative
# accuracy the comparisons' margin assumes: rows where it is smaller by more than this factor are
# left to the row engine.
CANCELLING = 1e-3


def _cancelling(result: pl.Series, size: pl.Series) -> pl.Series:
    """Where a float result is much smaller than the operands it came from."""
    return ((result.abs() < size * CANCELLING) & (size > 0)).fill_null(False)


def _add(a: Any, b: Any) -> Any:
    return DECIMAL_CONTEXT.add(Decimal(a), Decimal(b))


def _subtract(a: Any, b: Any) -> Any:
    return DECIMAL_CONTEXT.subtract(Decimal(a), Decimal(b))


def _multiply(a: Any, b: Any) -> Any:
    return DECIMAL_CONTEXT.multiply(Decimal(a), Decimal(b))


def _exact_pair(left: pl.Series, right: pl.Series, scope: Scope,
                function: Callable[[Any, Any], Any]) -> Callable[[pl.Series], list | None] | None:
    """How to get some rows of a float result as the row engine computes it (`function` of the
    exact operands, missing where either is), when both operands can be had exactly."""
    return _exact_of([left, right], scope, lambda a, b: None if a is None or b is None else function(a, b))


def _exact_of(columns: list[pl.Series], scope: Scope,
              function: Callable[..., Any]) -> Callable[[pl.Series], list | None] | None:
    """How to get some rows of a float result as the row engine computes it (`function` of each
    row's exact values, None where missing), when every column can be had exactly."""
    for side in columns:
        if side.dtype == pl.Float64 and (id(side) not in scope.exact or scope.exact[id(side)][0] is not side):
            return None

    def values(rows: pl.Series) -> list | None:
        found = [exact_values(side, scope, rows) for side in columns]
        if any(f is None for f in found):
            return None
        with localcontext(DECIMAL_CONTEXT):
            return [function(*row) for row in zip(*found)]
    return values


def _settled(result: pl.Series, doubt: pl.Series | None, hook: Callable[[pl.Series], list | None] | None,
             scope: Scope) -> pl.Series:
    """A float result whose doubtful rows are computed exactly (as the row engine does) when its
    operands can be had exactly, else left unsure; it keeps the way to its exact values."""
    if doubt is not None and doubt.any():
        rows = doubt.arg_true()
        exact = hook(rows) if hook is not None else None
        if exact is None:
            scope.mark(doubt)
        else:
            result = result.scatter(rows, pl.Series([None if v is None else float(v) for v in exact],
                                                    dtype=pl.Float64))
    if hook is not None:
        scope.exact[id(result)] = (result, hook)
    return result


def _long(column: pl.Series) -> pl.Series:
    """Where a decimal column's value may have more significant digits than the row engine keeps."""
    if not is_decimal(column):
        return pl.Series([False] * len(column), dtype=pl.Boolean)
    scale = column.dtype.scale or 0
    bound = decimals([Decimal(10) ** (PRECISION - scale)])[0]
    return (column.abs() >= bound).fill_null(False)


def _rounded(column: pl.Series) -> pl.Series:
    """A decimal result as the row engine holds it: rounded to 28 significant digits."""
    long = _long(column)
    if not long.any():
        return column
    rows = long.arg_true()
    found = [None if v is None else DECIMAL_CONTEXT.plus(v) for v in column.gather(rows).to_list()]
    return column.scatter(rows, pl.Series(found, dtype=pl.Decimal(38, column.dtype.scale or 0)))


def _as_row_engine(result: pl.Series, rows_mask: pl.Series, left: pl.Series, right: pl.Series,
                   function: Callable[[Any, Any], Any]) -> pl.Series:
    """Some rows of a decimal result computed by the row engine's own function."""
    rows_mask = rows_mask.fill_null(False)
    if not rows_mask.any():
        return result
    rows = rows_mask.arg_true()
    with localcontext(DECIMAL_CONTEXT):
        found = [function(a, b) for a, b in zip(left.gather(rows).to_list(), right.gather(rows).to_list())]
    return result.scatter(rows, pl.Series(found, dtype=pl.Decimal(38, result.dtype.scale or 0)))


def _float_floor(op: str, left: pl.Series, right: pl.Series, zero: pl.Series,
                 hook: Callable[[pl.Series], list | None] | None, scope: Scope) -> pl.Series:
    """Floor division or remainder of floats: a floor near a whole number, or a remainder that
    cancelled, is worked out exactly when it can be, else unsure."""
    ratio = left / right
    floored = ratio.floor()
    result = floored if op == "//" else left - right * floored
    doubt = near_whole(ratio)
    if op == "%":
        doubt = doubt | _cancelling(result, left.abs())
    result = _settled(result, doubt & ~zero.fill_null(False), hook, scope)
    return _null_where(result, zero, scope)


def _times(left: pl.Series, right: pl.Series) -> pl.Series:
    """A product, exact: Polars gives a product of decimals the larger of their two scales (1.25 *
    1.25 is 1.56), so one side is first widened to both scales together; a product that needs
    more places than a column keeps exactly, or more than 38 digits, is a float (whose close rows
    the row engine's multiplication settles)."""
    if not (is_decimal(left) or is_decimal(right)):
        return left * right
    scale = sum(side.dtype.scale or 0 for side in (left, right) if is_decimal(side))
    if scale <= MAX_SCALE:
        try:
            return left.cast(pl.Decimal(38, scale)) * right
        except pl.exceptions.PolarsError:  # more than 38 digits
            pass
    return left.cast(pl.Float64) * right.cast(pl.Float64)


def _limited(result: pl.Series) -> pl.Series:
    """A decimal result whose scale grew past what is kept exactly becomes a float."""
    if is_decimal(result) and (result.dtype.scale or 0) > MAX_SCALE:
        return result.cast(pl.Float64)
    return result


def _null_where(series: pl.Series, mask: pl.Series, scope: Scope | None = None) -> pl.Series:
    """The column with nulls where `mask` holds (a float keeps its exact values, if known)."""
    mask = known(mask)
    result = series.zip_with(~mask, filled(None, series.dtype, len(series))) if mask.any() else series
    exact = scope.exact.get(id(series)) if scope is not None else None
    if exact is not None and exact[0] is series:
        scope.exact[id(result)] = (result, exact[1])
    return result


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def compare(left: Column, op: str, right: Column, scope: Scope) -> Column:
    """`left op right`, null where either is missing."""
    if isinstance(left, Py) or isinstance(right, Py):
        return _python_compare(left, op, right, scope)
    if isinstance(left, Items) or isinstance(right, Items):
        raise Unsupported("comparing lists")
    if left.dtype.is_numeric() and right.dtype.is_numeric():
        if left.dtype == pl.Float64 or right.dtype == pl.Float64:
            return _float_compare(left, op, right, scope)
        if is_decimal(left) and is_decimal(right) and left.dtype.scale != right.dtype.scale:
            scale = max(left.dtype.scale or 0, right.dtype.scale or 0)
            try:
                left, right = left.cast(pl.Decimal(38, scale)), right.cast(pl.Decimal(38, scale))
            except pl.exceptions.PolarsError:  # past 38 digits at the larger scale: as floats, close rows exactly
                return _float_compare(left, op, right, scope)
    elif left.dtype == pl.Null or right.dtype == pl.Null:
        return pl.Series([None], dtype=pl.Boolean).new_from_index(0, scope.n)
    return _COMPARE[op](left, right)


def _float_compare(left: pl.Series, op: str, right: pl.Series, scope: Scope) -> pl.Series:
    """A comparison with a float side: by the floats, except where the sides are too close to
    trust them; there, when both sides are exact or quotients of exact values, by the row
    engine's own decimal arithmetic (else the rows are unsure)."""
    lf, rf = left.cast(pl.Float64), right.cast(pl.Float64)
    result = _COMPARE[op](lf, rf)
    close = near(lf, rf)
    if not close.any():
        return result
    rows = close.arg_true()
    lefts, rights = exact_values(left, scope, rows), exact_values(right, scope, rows)
    if lefts is None or rights is None:
        scope.mark(close)
        return result
    test = _COMPARE[op]
    decided = [None if a is None or b is None else test(a, b) for a, b in zip(lefts, rights)]
    return result.scatter(rows, pl.Series(decided, dtype=pl.Boolean))


def exact_values(column: pl.Series, scope: Scope, rows: pl.Series) -> list | None:
    """Some rows of a column as the row engine holds them (Decimal, int): an exact column's own
    values, a quotient's computed as the row engine divides; None for any other float."""
    if column.dtype != pl.Float64:
        return column.gather(rows).to_list()
    known = scope.exact.get(id(column))
    if known is None or known[0] is not column:
        return None
    return known[1](rows)


def divide(a: Any, b: Any) -> Decimal | None:
    """The row engine's division (language/compiler.py `_div`)."""
    if a is None or b is None or b == 0:
        return None
    return DECIMAL_CONTEXT.divide(Decimal(a), Decimal(b))


def _python_compare(left: Column, op: str, right: Column, scope: Scope) -> Py | pl.Series:
    lefts, rights = _python_values(left, scope), _python_values(right, scope)
    test = _COMPARE[op]
    out = []
    for a, b in zip(lefts, rights):
        if a is None or b is None:
            out.append(None)
        else:
            try:
                out.append(test(a, b))
            except TypeError:
                raise Unsupported("a comparison the row engine refuses") from None
    return pl.Series(out, dtype=pl.Boolean)


def _python_values(column: Column, scope: Scope) -> list:
    if isinstance(column, Py):
        return column.values
    if isinstance(column, pl.Series):
        if column.dtype == pl.Float64:
            raise Unsupported("a decimal handed to Python")
        return column.to_list()
    raise Unsupported("a list handed to Python")


def _cmp(expr: Cmp, scope: Scope) -> Column:
    return compare(evaluate(expr.left, scope), expr.op, evaluate(expr.right, scope), scope)


def _logic(expr: Logic, scope: Scope) -> Column:
    items = [_series(evaluate(item, scope), "logic") for item in expr.items]
    result = items[0]
    for item in items[1:]:
        result = (result & item) if expr.op == "and" else (result | item)
    return result


def _not(expr: Not, scope: Scope) -> Column:
    return ~_series(evaluate(expr.operand, scope), "not")


def constant_values(container: Expr) -> frozenset:
    if isinstance(container, NamedList):
        return container.values
    return frozenset(item.value for item in container.items)


def member(column: Column, values: frozenset, negated: bool) -> pl.Series:
    """`x in values` (null where x is missing)."""
    column = _series(column, "a datetime in a list")
    if column.dtype == pl.Float64 or is_decimal(column) or any(isinstance(v, (Decimal, float)) for v in values):
        raise Unsupported("a decimal in a list")
    if column.dtype == pl.Null:
        return pl.Series([None], dtype=pl.Boolean).new_from_index(0, len(column))
    found = column.is_in(pl.Series(sorted(values, key=repr), dtype=column.dtype).implode(), nulls_equal=False)
    return ~found if negated else found


def _member(expr: Member, scope: Scope) -> Column:
    if not isinstance(expr.container, (ListLit, NamedList)) or (
            isinstance(expr.container, ListLit) and not all(isinstance(i, Lit) for i in expr.container.items)):
        raise Unsupported("membership in a computed list")
    return member(evaluate(expr.item, scope), constant_values(expr.container), expr.negated)


def _common(columns: list[pl.Series]) -> list[pl.Series]:
    """Columns cast to one type, as Python mixes them: integers with decimals are decimals; a
    column of nulls takes the others' type."""
    kinds = {s.dtype for s in columns if s.dtype != pl.Null}
    if not kinds:
        return columns
    numeric = all(k.is_numeric() for k in kinds)
    if numeric and pl.Float64 in kinds:
        target = pl.Float64
    elif numeric and any(isinstance(k, pl.Decimal) for k in kinds):
        target = pl.Decimal(38, max((k.scale or 0) for k in kinds if isinstance(k, pl.Decimal)))
    elif len(kinds) == 1:
        target = kinds.pop()
    else:
        raise Unsupported(f"values of types {kinds} together")
    try:
        return [s if s.dtype == target else s.cast(target) for s in columns]
    except pl.exceptions.PolarsError:  # decimals past 38 digits at the larger scale: floats
        return [s.cast(pl.Float64) for s in columns]


def _if_else(expr: IfElse, scope: Scope) -> Column:
    test = _series(evaluate(expr.test, scope), "a datetime test")
    body, orelse = evaluate(expr.body, scope), evaluate(expr.orelse, scope)
    if isinstance(body, Py) or isinstance(orelse, Py):
        tests = test.to_list()
        bodies, elses = _python_values(body, scope), _python_values(orelse, scope)
        return Py([None if t is None else (b if t else e) for t, b, e in zip(tests, bodies, elses)])
    originals = [_series(body, "a list"), _series(orelse, "a list")]
    body, orelse = _common(originals)
    chosen = body.zip_with(test.fill_null(False), orelse)
    if chosen.dtype == pl.Float64:  # either side's exact value, as the test chose
        chosen = _settled(chosen, None, _exact_of([test] + originals, scope, lambda t, b, e: None if t is None else (
            b if t else e)), scope)
    return _null_where(chosen, test.is_null(), scope) if test.null_count() else chosen


# --- lists --------------------------------------------------------------------------------------
def _list_of(expr: Expr, scope: Scope) -> Items:
    if not isinstance(scope, RowScope):
        raise Unsupported("a comprehension inside a comprehension")
    column = evaluate(expr, scope)
    if not isinstance(column, Items):
        raise Unsupported("a comprehension over a computed list")
    return column


def _selected(expr: Over, scope: Scope) -> tuple[Items, ItemScope]:
    """The list an Over goes over, and the scope of the items its `if` selects."""
    items = _list_of(expr.source, scope)
    inner = ItemScope(scope, expr.var, items.frame)
    if expr.where is not None:
        where = _series(evaluate(expr.where, inner), "a datetime test")
        inner = ItemScope(scope, expr.var, items.frame.filter(known(where)))
    return items, inner


def _per_row(items: Items, inner: ItemScope, value: pl.Series | None, aggregate: Callable[[pl.Expr], list[pl.Expr]],
             n: int) -> dict[str, pl.Series]:
    """Aggregates per row of a chunk over the selected items: a column per aggregate, one value
    per chunk row (null for rows without items: the caller fills them)."""
    frame = pl.DataFrame({"_row": inner.rows, "x": value if value is not None else filled(0, pl.Int64, inner.n)})
    grouped = frame.group_by("_row").agg(aggregate(pl.col("x")))
    rows = grouped["_row"]
    return {name: filled(None, grouped[name].dtype, n).scatter(rows, grouped[name])
            for name in grouped.columns if name != "_row"}


def _over(expr: Over, scope: Scope) -> Column:
    items, inner = _selected(expr, scope)
    missing = ~items.present
    kind = expr.kind
    n = scope.n
    if kind in QUANTIFIERS:
        test = inner.item(inner.var, None) if not expr.var else _series(evaluate(expr.body, inner), "a test")
        seek = kind != "all"  # any/none look for a True, all for a False
        agg = _per_row(items, inner, test, lambda x: [
            (x == seek).fill_null(False).any().alias("hit"), x.is_null().any().alias("unknown")], n)
        hit, unknown = known(agg["hit"]), known(agg["unknown"])
        decided = pl.Series([seek], dtype=pl.Boolean).new_from_index(0, n)
        result = pl.select(pl.when(pl.lit(hit)).then(pl.lit(decided)).when(pl.lit(unknown)).then(None)
                           .otherwise(~pl.lit(decided))).to_series()
        if kind == "none":
            result = ~result
        return _null_where(result, missing)
    if kind == "count":
        agg = _per_row(items, inner, None, lambda x: [x.len().alias("count")], n)
        return _null_where(agg["count"].fill_null(0).cast(pl.Int64), missing)
    if kind in ("sum", "min", "max", "avg"):
        value = inner.item(inner.var, None) if not expr.var or expr.body is None else _series(
            evaluate(expr.body, inner), "an aggregate of datetimes")
        if value.dtype == pl.Null:
            raise Unsupported("an aggregate of nulls")
        whole = value.dtype == pl.Int64
        sized = kind in ("sum", "avg")
        agg = _per_row(items, inner, value, lambda x: [
            getattr(x, "sum" if kind in ("sum", "avg") else kind)().alias("v"), x.len().alias("k"),
            x.is_null().any().alias("unknown")] + ([x.cast(pl.Float64).abs().sum().alias("size")] if sized else [])
, n)
        count, unknown = agg["k"].fill_null(0), agg["unknown"].fill_null(False)
        result = agg["v"]
        if sized:
            if whole:
                scope.mark(agg["size"] > INT_LIMIT)
            elif value.dtype == pl.Float64:
                pass  # a sum far smaller than its terms (cancelled): settled below
            else:  # the row engine adds decimals at 28 digits: a sum that may need more is unsure
                # (measured in floats: a decimal sum past 38 digits wraps in Polars)
                bound = 10.0 ** (PRECISION - (value.dtype.scale or 0)) * (1 - TOLERANCE)
                scope.mark((agg["size"] >= bound).fill_null(False) & ~missing)
        if kind == "sum":
            result = result.fill_null(0).cast(value.dtype)
        elif kind == "avg":
            result = result.cast(pl.Float64) / count.cast(pl.Float64)
        empty = (count == 0) if kind != "sum" else pl.Series([False] * n)
        result = _null_where(result, missing | unknown | empty)
        if result.dtype == pl.Float64:  # close rows from the items' exact values, as the row engine folds them
            doubt = _cancelling(result, agg["size"].fill_null(0.0)) if sized and value.dtype == pl.Float64 else None
            result = _settled(result, doubt, _items_exact(kind, value, inner, items.present), scope)
        return result
    raise Unsupported(f"{kind}(...) as a value")


def _items_exact(kind: str, value: pl.Series, inner: "ItemScope",
                 present: pl.Series) -> Callable[[pl.Series], list | None]:
    """How to get some rows of a float aggregate as the row engine computes it: from the exact
    values of each row's selected items (missing where the list is; None when they cannot be had
    exactly)."""
    def values(rows: pl.Series) -> list | None:
        wanted = rows.to_list()
        listed = present.gather(rows).to_list()
        positions: dict[int, list[int]] = {r: [] for r in wanted}
        for position, row in enumerate(inner.rows.to_list()):
            if row in positions:
                positions[row].append(position)
        flat = [p for r in wanted for p in positions[r]]
        found = exact_values(value, inner, pl.Series(flat, dtype=pl.Int64)) if flat else []
        if found is None:
            return None
        out, start = [], 0
        with localcontext(DECIMAL_CONTEXT):
            for row, has in zip(wanted, listed):
                items = found[start:start + len(positions[row])]
                start += len(items)
                if not has or None in items:
                    out.append(None)
                elif kind == "sum":
                    out.append(sum(items, Decimal(0)))
                elif not items:
                    out.append(None)
                elif kind == "avg":
                    out.append(DECIMAL_CONTEXT.divide(Decimal(sum(items)), Decimal(len(items))))
                else:
                    out.append(min(items) if kind == "min" else max(items))
        return out
    return values


def _len_of(arg: Expr, scope: Scope, distinct: bool) -> Column:
    """len(list), len(distinct(list)): counted per row without building the lists."""
    if isinstance(arg, Over) and arg.kind in ("map", "filter"):
        items, inner = _selected(arg, scope)
        value = None
        if distinct:
            value = inner.item(inner.var, None) if arg.kind == "filter" or arg.body is None else _series(
                evaluate(arg.body, inner), "distinct datetimes")
            if value.dtype == pl.Float64 or is_decimal(value):
                raise Unsupported("distinct decimals")
        agg = _per_row(items, inner, value, lambda x: [(x.n_unique() if distinct else x.len()).alias("count")],
                       scope.n)
        return _null_where(agg["count"].fill_null(0).cast(pl.Int64), ~items.present)
    if isinstance(arg, Ref) and arg.type.name == LIST and distinct and "_item" in _list_of(arg, scope).frame.columns:
        items = _list_of(arg, scope)  # a list of scalars: its distinct items (None counts once, as in a dict)
        value = items.frame["_item"]
        if value.dtype == pl.Float64 or is_decimal(value):
            raise Unsupported("distinct decimals")
        inner = ItemScope(scope, "", items.frame)
        agg = _per_row(items, inner, value, lambda x: [x.n_unique().alias("count")], scope.n)
        return _null_where(agg["count"].fill_null(0).cast(pl.Int64), ~items.present)
    if isinstance(arg, Ref) and arg.type.name == LIST and not distinct:
        items = _list_of(arg, scope)
        counts = items.frame.group_by("_row").len()
        every = pl.DataFrame({"_row": pl.int_range(0, scope.n, dtype=items.frame["_row"].dtype, eager=True)})
        joined = every.join(counts, on="_row", how="left").sort("_row")["len"].fill_null(0).cast(pl.Int64)
        return _null_where(joined, ~items.present)
    raise Unsupported("len of this list")


# --- function calls -----------------------------------------------------------------------------
def _call(expr: Call, scope: Scope) -> Column:
    name, args = expr.name, expr.args
    if name in EXPONENT_SHOWN and any(a.type.name == DECIMAL for a in args):
        # a decimal column holds a value, not the exponent the row engine's Decimal carries
        # ("1.5" beside "1.50", an integer made a decimal by coalesce or min)
        raise Unsupported(f"{name}(...) of a decimal")
    native = _NATIVE.get(name)
    if native is not None:
        result = native(expr, scope)
        if result is not None:
            return result
    return apply(FUNCTIONS[name].implementation, [_argument(a, scope) for a in args], expr.type.name, scope)


def _argument(arg: Expr, scope: Scope) -> Any:
    """A function's argument: a constant list stays one Python value; else its column."""
    if isinstance(arg, NamedList):
        return _Constant(tuple(sorted(arg.values, key=repr)))
    if isinstance(arg, ListLit) and all(isinstance(i, Lit) for i in arg.items):
        return _Constant(tuple(i.value for i in arg.items))
    if isinstance(arg, Lit):
        return _Constant(arg.value)
    return evaluate(arg, scope)


# Functions whose result shows a decimal's exponent (its written form), not only its value.
EXPONENT_SHOWN = frozenset({"text"})


@dataclass
class _Constant:
    value: Any


def apply(function: Callable, arguments: list[Any], type_name: str, scope: Scope) -> Column:
    """A Python function called once per distinct tuple of column arguments; a call that raises
    marks its rows unsure (and gives null)."""
    constants = [a.value if isinstance(a, _Constant) else None for a in arguments]
    if any(isinstance(c, float) for c in constants):
        raise Unsupported("a float handed to Python")
    columns = [a for a in arguments if not isinstance(a, _Constant)]
    for column in columns:
        if isinstance(column, Items) or (isinstance(column, pl.Series) and column.dtype == pl.Float64):
            raise Unsupported("a list or a float handed to Python")

    def call(row: tuple) -> Any:
        it = iter(row)
        try:
            return function(*[next(it) if not isinstance(a, _Constant) else a.value for a in arguments])
        except (ArithmeticError, ValueError, TypeError):
            return _FAILED

    if type_name == DATETIME or any(isinstance(column, Py) for column in columns):  # datetimes: one call per row
        results = [call(row) for row in zip(*[c.values if isinstance(c, Py) else c.to_list() for c in columns])]
    elif not columns:
        results = [call(())] * scope.n
    else:
        names = [f"a{i}" for i in range(len(columns))]
        frame = pl.DataFrame(dict(zip(names, columns)))
        distinct = frame.unique()
        found = [call(row) for row in distinct.iter_rows()]
        failed = [value is _FAILED for value in found]
        found = [None if value is _FAILED else value for value in found]
        result = _column(found, type_name)
        if isinstance(result, Py):
            raise Unsupported("a function giving datetimes")
        table = distinct.with_columns(result.alias("_value"), pl.Series("_failed", failed, dtype=pl.Boolean))
        joined = frame.join(table, on=names, how="left", nulls_equal=True, maintain_order="left")
        scope.mark(joined["_failed"])
        return joined["_value"]
    failed_rows = [i for i, value in enumerate(results) if value is _FAILED]
    if failed_rows:
        scope.mark(filled(False, pl.Boolean, scope.n).scatter(failed_rows, True))
    return _column([None if v is _FAILED else v for v in results], type_name)


_FAILED = object()


def _column(values: list, type_name: str) -> Column:
    if type_name == DATETIME:
        return Py(values)
    if type_name == DECIMAL:
        return decimals(values)
    if type_name in (LIST, RECORD):
        raise Unsupported("a function giving a list")
    if type_name == NULL:
        return pl.Series(values, dtype=pl.Null)
    try:
        return pl.Series(values, dtype=dtype_of(type_name))
    except (TypeError, OverflowError, pl.exceptions.PolarsError):
        raise Unsupported(f"values a function gave as {type_name}") from None


def _native_presence(present: bool):
    def run(expr: Call, scope: Scope) -> Column | None:
        column = evaluate(expr.args[0], scope)
        if isinstance(column, Items):
            return column.present if present else ~column.present
        if isinstance(column, Py):
            return pl.Series([(v is not None) == present for v in column.values], dtype=pl.Boolean)
        return column.is_not_null() if present else column.is_null()
    return run


def _native_coalesce(expr: Call, scope: Scope) -> Column | None:
    columns = [evaluate(a, scope) for a in expr.args]
    if not all(isinstance(col, pl.Series) for col in columns):
        return None
    originals, columns = columns, _common(columns)
    result = pl.select(pl.coalesce([pl.lit(s) for s in columns])).to_series()
    if result.dtype == pl.Float64:  # the first present value, exactly
        result = _settled(result, None, _exact_of(originals, scope, lambda *v: next(
            (x for x in v if x is not None), None)), scope)
    return result


def _native_extreme(kind: str):
    def run(expr: Call, scope: Scope) -> Column | None:
        columns = [evaluate(a, scope) for a in expr.args]
        if not all(isinstance(col, pl.Series) for col in columns):
            return None
        originals, columns = columns, _common(columns)
        combine = pl.min_horizontal if kind == "min" else pl.max_horizontal
        result = pl.select(combine([pl.lit(s) for s in columns])).to_series()
        if result.dtype == pl.Float64:
            # which side is smaller can be wrong only where they are that close: then the value is
            # either side's, within the margin; a close comparison takes the exact values
            pick = min if kind == "min" else max
            result = _settled(result, None, _exact_of(originals, scope, lambda *v: pick(
                (x for x in v if x is not None), default=None)), scope)
        return result
    return run


def _native_len(expr: Call, scope: Scope) -> Column | None:
    arg = expr.args[0]
    if arg.type.name == LIST:
        if isinstance(arg, Call) and arg.name == "distinct":
            return _len_of(arg.args[0], scope, True)
        return _len_of(arg, scope, False)
    return None  # text: Python's len (code points) through apply


def _native_days_between(expr: Call, scope: Scope) -> Column | None:
    start, end = (evaluate(a, scope) for a in expr.args)
    if not (isinstance(start, pl.Series) and isinstance(end, pl.Series)) or start.dtype != pl.Date \
            or end.dtype != pl.Date:
        return None
    return (end - start).dt.total_days().cast(pl.Int64)


def _native_months_between(expr: Call, scope: Scope) -> Column | None:
    """functions._months_between: whole months from start to end, column by column."""
    start, end = (evaluate(a, scope) for a in expr.args)
    if not (isinstance(start, pl.Series) and isinstance(end, pl.Series)) or start.dtype != pl.Date \
            or end.dtype != pl.Date:
        return None
    s, e = pl.col("s"), pl.col("e")
    months = ((e.dt.year().cast(pl.Int64) - s.dt.year().cast(pl.Int64)) * 12
              + e.dt.month().cast(pl.Int64) - s.dt.month().cast(pl.Int64))
    back = ((months > 0) & (e.dt.day() < s.dt.day())).cast(pl.Int64)
    forward = ((months < 0) & (e.dt.day() > s.dt.day())).cast(pl.Int64)
    return pl.DataFrame({"s": start, "e": end}).select(months - back + forward).to_series()


def _native_affix(starts: bool):
    def run(expr: Call, scope: Scope) -> Column | None:
        text, affix = expr.args
        if not isinstance(affix, (NamedList, Lit, ListLit)):
            return None
        column = evaluate(text, scope)
        if not isinstance(column, pl.Series) or column.dtype != pl.String:
            return None
        value = _argument(affix, scope).value
        if value is None:
            return pl.Series([None], dtype=pl.Boolean).new_from_index(0, scope.n)
        affixes = value if isinstance(value, tuple) else (value,)
        test = column.str.starts_with if starts else column.str.ends_with
        result = pl.Series([False], dtype=pl.Boolean).new_from_index(0, scope.n)
        for one in affixes:
            result = result | test(one)
        return _null_where(result, column.is_null())
    return run


def _native_floor(ceiling: bool):
    def run(expr: Call, scope: Scope) -> Column | None:
        column = evaluate(expr.args[0], scope)
        if not isinstance(column, pl.Series):
            return None
        if column.dtype == pl.Int64:
            return column
        if column.dtype == pl.Float64:  # near a whole number: the exact value's floor, if it can be had
            function = FUNCTIONS["ceil" if ceiling else "floor"].implementation
            whole = _whole(column.ceil() if ceiling else column.floor(), scope)
            return _exact_integers(whole, near_whole(column), _exact_of([column], scope, function), scope)
        if not is_decimal(column):
            return None
        return _whole(column.ceil() if ceiling else column.floor(), scope)
    return run


def _whole(column: pl.Series, scope: Scope) -> pl.Series:
    """Whole floats or decimals as integers; one past 64 bits leaves its row to the row engine."""
    big = (column.cast(pl.Float64).abs() > INT_LIMIT).fill_null(False)
    if big.any():
        scope.mark(big)
        column = _null_where(column, big)
    return column.cast(pl.Int64)


def _exact_integers(column: pl.Series, doubt: pl.Series, hook: Callable[[pl.Series], list | None] | None,
                    scope: Scope) -> pl.Series:
    """An integer column whose doubtful rows take the row engine's exact integers (never through a
    float, which holds integers exactly only to 2**53), else are unsure; past 64 bits, unsure."""
    doubt = doubt.fill_null(False)
    if not doubt.any():
        return column
    rows = doubt.arg_true()
    exact = hook(rows) if hook is not None else None
    if exact is None:
        scope.mark(doubt)
        return column
    found = [None if v is None else int(v) for v in exact]
    past = [v is not None and not -2 ** 63 <= v < 2 ** 63 for v in found]
    if any(past):
        scope.mark(pl.Series([False] * scope.n, dtype=pl.Boolean).scatter(
            [r for r, p in zip(rows.to_list(), past) if p], True))
        found = [None if p else v for v, p in zip(found, past)]
    return column.scatter(rows, pl.Series(found, dtype=pl.Int64))


def _native_abs(expr: Call, scope: Scope) -> Column | None:
    column = evaluate(expr.args[0], scope)
    if not isinstance(column, pl.Series) or not column.dtype.is_numeric():
        return None
    if column.dtype == pl.Float64:
        return _settled(column.abs(), None, _exact_of([column], scope, FUNCTIONS["abs"].implementation), scope)
    return _rounded(column.abs()) if is_decimal(column) else column.abs()


# --- resident identity card numbers (language/resident_id.py), column by column ------------------
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _text_column(expr: Call, scope: Scope, position: int = 0) -> pl.Series | None:
    column = evaluate(expr.args[position], scope)
    return column if isinstance(column, pl.Series) and column.dtype == pl.String else None


def birth_dates(numbers: pl.Series) -> pl.Series:
    """resident_id.birth_date: 18 characters, the first 17 ASCII digits, a real date (years 1 to
    9999, as Python's dates) at 6 to 14; else null."""
    x = pl.col("x")
    shaped = ((x.str.len_chars() == 18) & x.str.contains(r"^[0-9]{17}")).fill_null(False)
    digits = x.str.slice(6, 8)
    # eight ASCII digits (shaped saw to it); year 0 is no date in Python's calendar
    return pl.DataFrame({"x": numbers}).select(
        pl.when(shaped & (digits.str.slice(0, 4) != "0000"))
        .then(digits.str.to_date("%Y%m%d", strict=False, exact=True)).otherwise(None)).to_series()


def _native_birth_date(expr: Call, scope: Scope) -> Column | None:
    numbers = _text_column(expr, scope)
    return None if numbers is None else birth_dates(numbers)


def _native_id_valid(expr: Call, scope: Scope) -> Column | None:
    numbers = _text_column(expr, scope)
    if numbers is None:
        return None
    x = pl.col("x")
    total = pl.sum_horizontal([x.str.slice(position, 1).cast(pl.Int64, strict=False).fill_null(0) * weight
                               for position, weight in enumerate(_WEIGHTS)])
    expected = (total % 11).replace_strict(list(range(11)), list("10X98765432"), return_dtype=pl.String)
    last = x.str.slice(17, 1)
    right = ((last == expected) | ((last == "x") & (expected == "X"))).fill_null(False)
    checked = pl.DataFrame({"x": numbers, "born": birth_dates(numbers)}).select(
        pl.when(x.is_null()).then(None).otherwise(pl.col("born").is_not_null() & right)).to_series()
    return checked


def _native_id_region(expr: Call, scope: Scope) -> Column | None:
    numbers = _text_column(expr, scope)
    if numbers is None:
        return None
    x = pl.col("x")
    shaped = ((x.str.len_chars() == 18) & x.str.contains(r"^[0-9]{6}")).fill_null(False)
    return pl.DataFrame({"x": numbers}).select(
        pl.when(shaped).then(x.str.slice(0, 6)).otherwise(None)).to_series()


def _native_age_at(expr: Call, scope: Scope) -> Column | None:
    born = evaluate(expr.args[0], scope)
    on = evaluate(expr.args[1], scope)
    if not (isinstance(born, pl.Series) and isinstance(on, pl.Series)) or on.dtype != pl.Date:
        return None
    if born.dtype == pl.String:
        born = birth_dates(born)
    elif born.dtype != pl.Date:
        return None
    b, o = pl.col("b"), pl.col("o")
    before = (o.dt.month() < b.dt.month()) | ((o.dt.month() == b.dt.month()) & (o.dt.day() < b.dt.day()))
    return pl.DataFrame({"b": born, "o": on}).select(
        o.dt.year().cast(pl.Int64) - b.dt.year().cast(pl.Int64) - before.cast(pl.Int64)).to_series()


_NATIVE: dict[str, Callable[[Call, Scope], Column | None]] = {
    "resident_id_birth_date": _native_birth_date, "resident_id_valid": _native_id_valid,
    "resident_id_region": _native_id_region, "age_at": _native_age_at,
    "exists": _native_presence(True), "missing": _native_presence(False),
    "coalesce": _native_coalesce, "min": _native_extreme("min"), "max": _native_extreme("max"),
    "len": _native_len, "days_between": _native_days_between, "months_between": _native_months_between,
    "starts_with": _native_affix(True), "ends_with": _native_affix(False),
    "floor": _native_floor(False), "ceil": _native_floor(True), "abs": _native_abs,
}

_HANDLERS: dict[type, Callable[[Any, Scope], Column]] = {
    Lit: _lit, Ref: _ref, ItemRef: _item_ref, Unary: _unary, Arith: _arith, Cmp: _cmp,
    Logic: _logic, Not: _not, Member: _member, IfElse: _if_else, Over: _over, Call: _call,
}


# --- conditions ---------------------------------------------------------------------------------
def matches(condition: c.Condition, scope: RowScope) -> pl.Series:
    """Where a condition holds (never null: an atom that reads a missing value is false)."""
    n = scope.n
    if isinstance(condition, c.Always):
        return pl.Series([condition.value], dtype=pl.Boolean).new_from_index(0, n)
    if isinstance(condition, (c.AllOf, c.AnyOf)):
        parts = [matches(item, scope) for item in condition.items]
        result = parts[0]
        for part in parts[1:]:
            result = (result & part) if isinstance(condition, c.AllOf) else (result | part)
        return result
    if isinstance(condition, c.Presence):
        column = scope.value(condition.field.path)
        present = (column.present if isinstance(column, Items)
                   else pl.Series([v is not None for v in column.values], dtype=pl.Boolean)
                   if isinstance(column, Py) else column.is_not_null())
        return present if condition.present else ~present
    if isinstance(condition, c.Member):
        return known(member(scope.value(condition.field.path), condition.values, condition.negated))
    if isinstance(condition, c.Compare):
        left = scope.value(condition.left.path)
        right = condition.right
        if isinstance(right, c.Const):
            right_column = scope.constant(right.value, right.type_name)
        else:
            right_column = scope.value(right.path)
        return known(_series(compare(left, condition.op, right_column, scope), "a comparison"))
    if isinstance(condition, c.Computed):
        if condition.expr is None:
            raise Unsupported("a computed condition without its tree")
        value = _series(evaluate(condition.expr, scope), "a datetime condition")
        if value.dtype == pl.Null:
            return pl.Series([False], dtype=pl.Boolean).new_from_index(0, n)
        return known(value == (not condition.negated))
    raise Unsupported(f"condition {type(condition).__name__}")


def match_all(conditions: list[c.Condition], scope: RowScope) -> list[pl.Series]:
    """Where each condition holds, as `matches` gives it, in one Polars query for all of them:
    an atom over a plain column (an integer, a decimal, text, a date, a boolean) becomes an
    expression; any other atom (a float's comparison, which guards its close calls; a datetime;
    a computed atom) is evaluated on its own first and read as a column."""
    columns: dict[str, pl.Series] = {}
    names: dict[int, str] = {}

    def column(path: str) -> pl.Expr | None:
        value = scope.value(path)
        if isinstance(value, Items):
            value = value.present
            path = "present:" + path
        if not isinstance(value, pl.Series) or value.dtype == pl.Float64:
            return None
        columns.setdefault(path, value)
        return pl.col(path)

    def eager(atom: c.Condition) -> pl.Expr:
        key = id(atom)
        if key not in names:
            names[key] = f"_atom{len(names)}"
            columns[names[key]] = matches(atom, scope)
        return pl.col(names[key])

    def build(condition: c.Condition) -> pl.Expr:
        if isinstance(condition, c.Always):
            return pl.lit(condition.value, dtype=pl.Boolean)
        if isinstance(condition, (c.AllOf, c.AnyOf)):
            parts = [build(item) for item in condition.items]
            return pl.all_horizontal(parts) if isinstance(condition, c.AllOf) else pl.any_horizontal(parts)
        if isinstance(condition, c.Presence):
            value = scope.value(condition.field.path)
            if isinstance(value, Items):
                read = column(condition.field.path)
                return read if condition.present else ~read
            read = column(condition.field.path)
            if read is None:
                return eager(condition)
            return read.is_not_null() if condition.present else read.is_null()
        if isinstance(condition, c.Member):
            read = column(condition.field.path)
            value = scope.value(condition.field.path)
            if read is None or isinstance(value, Items) or is_decimal(value) or value.dtype == pl.Null \
                    or any(isinstance(v, (Decimal, float)) for v in condition.values):
                return eager(condition)
            found = read.is_in(pl.Series(sorted(condition.values, key=repr), dtype=value.dtype).implode(),
                               nulls_equal=False)
            return (~found if condition.negated else found).fill_null(False)
        if isinstance(condition, c.Compare):
            left = scope.value(condition.left.path)
            read = column(condition.left.path)
            right = condition.right
            if read is None or isinstance(left, Items) or left.dtype == pl.Null:
                return eager(condition)
            if isinstance(right, c.Const):
                if isinstance(right.value, (float, datetime.datetime)) or right.value is None:
                    return eager(condition)
                if isinstance(right.value, Decimal):
                    constant = pl.lit(decimals([right.value]))
                    if not (left.dtype.is_numeric()):
                        return eager(condition)
                else:
                    constant = pl.lit(right.value)
                other = constant
            else:
                other = column(right.path)
                value = scope.value(right.path)
                if other is None or isinstance(value, Items) or value.dtype == pl.Null:
                    return eager(condition)
            return _COMPARE[condition.op](read, other).fill_null(False)
        return eager(condition)  # a computed atom

    expressions = [build(condition).alias(f"_m{i}") for i, condition in enumerate(conditions)]
    frame = pl.DataFrame(columns) if columns else pl.DataFrame({"_n": filled(0, pl.Int64, scope.n)})
    result = frame.select(expressions)
    return [known(result[f"_m{i}"]) if result[f"_m{i}"].len() == scope.n
            else filled(bool(result[f"_m{i}"][0]), pl.Boolean, scope.n) for i in range(len(conditions))]
