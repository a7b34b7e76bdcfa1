"""Whether a scorecard characteristic's bins partition its values: no value in two bins (the
first would win while a reviewer reads the second: an error), no bin that takes no value (an
error), and no value in none (it would score 0 points with no reason: a warning, since the
values left out may be ones the field never holds; negative values are not reported when no bin
takes one, as counts, amounts and months are never negative).

A bin's test is read as a set of values where it is one of the simple forms: a comparison with
a constant, an interval, a value or list of values, `missing`, `exists` or `else`. A
characteristic with any other test (an expression, a comparison with a parameter) is not judged.
Numbers are sets of intervals; for an integer characteristic, (10, 11) holds no value. An enum
characteristic's values are its declared values. A bin of single values above a range is a
carve-out, not an overlap: a modelling tool's special values (-999) come first on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .. import model as m
from ..language import conditions as c
from ..types import DATE, DECIMAL, ENUM, INTEGER


# Pairs of rows are compared: a table longer than this (a generated grid) is not judged, so that
# loading stays quick whatever a file holds.
MAX_JUDGED = 300


@dataclass(frozen=True)
class Span:
    """Values from low to high (None: no bound); `*_in` says whether the end itself is in."""

    low: Any
    low_in: bool
    high: Any
    high_in: bool

    def empty(self, whole: bool) -> bool:
        if self.low is None or self.high is None:
            return False
        if whole:  # integers: is there one between?
            first = _first_integer(self.low, self.low_in)
            last = _last_integer(self.high, self.high_in)
            return first > last
        return self.low > self.high or (self.low == self.high and not (self.low_in and self.high_in))


_ALL = (Span(None, False, None, False),)


def _first_integer(value: Any, inclusive: bool) -> int:
    floor = int(value // 1)
    return floor if inclusive and floor == value else floor + 1


def _last_integer(value: Any, inclusive: bool) -> int:
    ceiling = -int(-value // 1)
    return ceiling if inclusive and ceiling == value else ceiling - 1


def _intersect(a: Span, b: Span) -> Span:
    low, low_in = a.low, a.low_in
    if b.low is not None and (low is None or b.low > low or (b.low == low and not b.low_in)):
        low, low_in = b.low, b.low_in
    high, high_in = a.high, a.high_in
    if b.high is not None and (high is None or b.high < high or (b.high == high and not b.high_in)):
        high, high_in = b.high, b.high_in
    return Span(low, low_in, high, high_in)


def _meet(many: Iterable[Span], others: Iterable[Span], whole: bool) -> list[Span]:
    others = list(others)
    return [s for a in many for b in others if not (s := _intersect(a, b)).empty(whole)]


def _minus(spans: list[Span], taken: Span, whole: bool) -> list[Span]:
    """spans without taken."""
    rest = []
    for span in spans:
        below = Span(span.low, span.low_in, taken.low, not taken.low_in) if taken.low is not None else None
        above = Span(taken.high, not taken.high_in, span.high, span.high_in) if taken.high is not None else None
        for part in (below, above):
            if part is not None and not (part := _intersect(part, span)).empty(whole):
                rest.append(part)
    return rest


def _spans(condition: c.Condition, kind: str) -> tuple[Span, ...] | frozenset | str | None:
    """The values the test accepts: spans (numbers), a frozenset (enum values), "missing",
    "all" (else, exists), or None (a test this reading does not judge)."""
    if isinstance(condition, c.Always):
        return "all" if condition.value else None
    if isinstance(condition, c.Presence):
        return "all" if condition.present else "missing"
    if isinstance(condition, c.Member) and not condition.negated:
        if kind == ENUM:
            return frozenset(condition.values)
        return tuple(Span(v, True, v, True) for v in condition.values)
    if isinstance(condition, c.Compare) and isinstance(condition.right, c.Const):
        value = condition.right.value
        if kind == ENUM:
            return frozenset([value]) if condition.op == "==" else None
        return {"<": (Span(None, False, value, False),), "<=": (Span(None, False, value, True),),
                ">": (Span(value, False, None, False),), ">=": (Span(value, True, None, False),),
                "==": (Span(value, True, value, True),),
                "!=": (Span(None, False, value, False), Span(value, False, None, False))}[condition.op]
    if isinstance(condition, c.AllOf) and kind != ENUM:
        found: tuple[Span, ...] = _ALL
        for item in condition.items:
            part = _spans(item, kind)
            if not isinstance(part, tuple):
                return None
            found = tuple(_meet(found, part, kind == INTEGER))
        return found
    return None


def bin_problems(bins: list[m.Bin], kind: str, enum_values: tuple[str, ...] = ()) -> list[tuple[m.Bin, str, str]]:
    """(bin, code, what is wrong) for every bin overlapping one above it, and, on the last bin, the
    values no bin takes. Empty when the bins partition the values, or cannot be judged."""
    if kind not in (INTEGER, DECIMAL, ENUM) or not bins or len(bins) > MAX_JUDGED:
        return []
    read = [_spans(b.condition, kind) for b in bins]
    if any(r is None for r in read):
        return []
    whole = kind == INTEGER
    problems: list[tuple[m.Bin, str, str]] = []
    seen: list[tuple[m.Bin, Any]] = []
    catch_all = False
    for bin_, accepted in zip(bins, read):
        if accepted == "missing":
            continue
        if accepted == "all":
            catch_all = True
            break  # an else bin takes what is left: nothing after it is judged
        if not accepted:
            problems.append((bin_, "BIN_EMPTY", f"bin {bin_.id} matches no value: its range is empty "
                             "(the low end above the high end?)"))
            continue
        for earlier, taken in seen:
            if kind == ENUM:
                both = sorted(accepted & taken)
                shown = ", ".join(both)
            elif all(span.low is not None and span.low == span.high for span in taken):
                continue  # special values carved out above a range (-999 before "< 25"): meant so
            else:
                both = _meet(accepted, taken, whole)
                shown = ", ".join(_show(s, whole) for s in both)
            if both:
                problems.append((bin_, "BIN_OVERLAP", f"bin {bin_.id} overlaps bin {earlier.id} above it: the "
                                 f"values {shown} match both, and the first matching bin counts, so {bin_.id} never "
                                 f"scores them; make the ranges meet without overlapping "
                                 f"(\"< 10\" then \"[10, 20)\")"))
                break
        seen.append((bin_, accepted))
    if catch_all:
        return problems
    if kind == ENUM:
        left = [v for v in enum_values if not any(v in taken for _, taken in seen)]
        shown = ", ".join(left)
    else:
        left = list(_ALL)
        for _, taken in seen:
            for span in taken:
                left = _minus(left, span, whole)
        negative = Span(None, False, 0, False)
        if not any(_meet(taken, (negative,), whole) for _, taken in seen):
            # No bin takes a negative value: the values are counts, amounts or months, never
            # negative, and the gap below zero is no gap.
            left = _minus(left, negative, whole)
        shown = ", ".join(_show(s, whole) for s in left)
    if left:
        problems.append((bins[-1], "BIN_GAP", f"the values {shown} match no bin of the characteristic: they "
                         "would score 0 points with no reason; extend a bin over them, or add a "
                         "bin {id: ..., when: else, points: ..., reason: ...}"))
    return problems


def _show(span: Span, whole: bool) -> str:
    """A span as a cell would write it."""
    if whole and span.low is not None and span.high is not None:
        first, last = _first_integer(span.low, span.low_in), _last_integer(span.high, span.high_in)
        return str(first) if first == last else f"[{first}, {last}]"
    if span.low is not None and span.high is not None and span.low == span.high:
        return str(span.low)
    if span.low is None and span.high is None:
        return "any number"
    if span.low is None:
        return f"{'<=' if span.high_in else '<'} {span.high}"
    if span.high is None:
        return f"{'>=' if span.low_in else '>'} {span.low}"
    return f"{'[' if span.low_in else '('}{span.low}, {span.high}{']' if span.high_in else ')'}"



# --- table rows --------------------------------------------------------------------------------
# A row is a box: one set of values per input. With hit_policy first, a row inside the box of one
# row above it never matches (dead, while a reviewer reads it as live: an error); with unique, two
# boxes that meet are a conflict, REFERred, for every application in both, known before any is
# decided (a warning: the engine's answer to it is safe, and a policy may mean it).

@dataclass(frozen=True)
class _Cell:
    missing: bool  # the cell matches a missing value
    present: Any   # "all", spans (numbers, dates) or a frozenset (other values)


def _cell(condition: c.Condition, kind: str, universe: frozenset | None) -> _Cell | None:
    spans_kind = kind in (INTEGER, DECIMAL, DATE)
    nothing = () if spans_kind else frozenset()
    if isinstance(condition, c.Always):
        return _Cell(True, "all") if condition.value else _Cell(False, nothing)
    if isinstance(condition, c.Presence):
        return _Cell(False, "all") if condition.present else _Cell(True, nothing)
    if isinstance(condition, c.Member):
        if spans_kind and not condition.negated:
            return _Cell(False, tuple(Span(v, True, v, True) for v in condition.values))
        if not spans_kind and not condition.negated:
            return _Cell(False, frozenset(condition.values))
        if not spans_kind and universe is not None:
            return _Cell(False, universe - condition.values)
        return None
    if spans_kind:
        found = _spans(condition, INTEGER if kind == INTEGER else DECIMAL)
        return _Cell(False, found) if isinstance(found, tuple) else None
    if isinstance(condition, c.Compare) and isinstance(condition.right, c.Const):
        if condition.op == "==":
            return _Cell(False, frozenset([condition.right.value]))
        if condition.op == "!=" and universe is not None:
            return _Cell(False, universe - {condition.right.value})
    return None


def _contains(outer: _Cell, inner: _Cell, kind: str, universe: frozenset | None) -> bool:
    if inner.missing and not outer.missing:
        return False
    if outer.present == "all":
        return True
    whole = kind == INTEGER
    if isinstance(outer.present, frozenset):
        values = universe if inner.present == "all" else inner.present
        return values is not None and values <= outer.present
    left = list(_ALL) if inner.present == "all" else list(inner.present)
    for span in outer.present:
        left = _minus(left, span, whole)
    return not left


def _meets(one: _Cell, other: _Cell, kind: str, universe: frozenset | None) -> bool:
    if one.missing and other.missing:
        return True
    a, b = one.present, other.present
    if a == "all" or b == "all":
        rest = b if a == "all" else a
        return rest == "all" or bool(rest) and (not isinstance(rest, frozenset) or universe is None
                                                 or bool(rest & universe))
    if isinstance(a, frozenset):
        return bool(a & b)
    return bool(_meet(a, b, kind == INTEGER))


def row_problems(rows: list, cells: dict[str, list[c.Condition]], kinds: list[tuple[str, frozenset | None]],
                 hit_policy: str) -> list[tuple[Any, str, str]]:
    """(row, code, message) for every row no application can reach (first), or every pair of
    rows some application matches both of (unique). Empty when a cell cannot be judged."""
    if hit_policy not in ("first", "unique") or len(rows) > MAX_JUDGED:
        return []
    boxes = []
    for row in rows:
        box = [_cell(cond, kind, universe) for cond, (kind, universe) in zip(cells[row.id], kinds)]
        if any(b is None for b in box):
            return []
        boxes.append(box)
    problems = []
    for j, (row, box) in enumerate(zip(rows, boxes)):
        for earlier, other in zip(rows[:j], boxes[:j]):
            if hit_policy == "first" and all(_contains(o, b, k, u) for o, b, (k, u) in zip(other, box, kinds)):
                problems.append((row, "ROW_UNREACHABLE", f"row {row.id} never matches: row {earlier.id} "
                                 "above it matches every application it does, and the first matching "
                                 f"row counts; remove {row.id} or move it above {earlier.id}"))
                break
            if hit_policy == "unique" and all(_meets(o, b, k, u) for o, b, (k, u) in zip(other, box, kinds)):
                problems.append((row, "ROW_OVERLAP", f"rows {earlier.id} and {row.id} both match some "
                                 "applications, which hit_policy unique REFERs as a conflict; make "
                                 "their cells exclusive, or use hit_policy first"))
                break
    return problems
