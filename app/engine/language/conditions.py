"""The condition form: what a rule's `when:` becomes after parsing and type checking.

A condition is a tree in negation normal form: there is no `not` node, because the checker pushes
every negation down to the atoms (`not (x > 5)` becomes `x <= 5`, `not (x in L)` becomes `x not in L`,
`not exists(x)` becomes `missing(x)`, De Morgan for `and`/`or`). Together with the missing-data rule
(an atom that reads a missing field is false) this makes every atom's meaning independent of the
context it sits in, which is what lets two backends match the same rules and agree exactly.

Both backends consume this form: the compiled backend turns it into Python source, the durable
backend into durable_rules JSON. Values are already typed: integers are `int`, decimals are
`decimal.Decimal`, dates are `datetime.date`, strings and enum values are `str`, booleans `bool`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ..errors import Location

# Comparison operators an atom may use; `NEGATED_OPERATOR` is how the checker negates them.
OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
NEGATED_OPERATOR = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class FieldRef:
    """A value read from the decision's values: an input field (`bureau.overdue_months_24m`), a
    feature (`dti`) or an earlier stage's output (`customer_group`). `path` is the key in the
    flat values dict; `type_name` is one of integer, decimal, string, boolean, date, enum, list."""

    path: str
    type_name: str


@dataclass(frozen=True)
class Const:
    """A constant: a literal or a product parameter, already folded."""

    value: Any
    type_name: str


@dataclass(frozen=True)
class Compare:
    """`left op right`; false when any FieldRef operand is missing (None). `left` is always a
    FieldRef; `right` a Const or FieldRef. Both sides are of comparable types (numbers with
    numbers, dates with dates, strings/enums with strings, booleans only with == and !=)."""

    left: FieldRef
    op: str
    right: Union[Const, FieldRef]
    location: Location


@dataclass(frozen=True)
class Member:
    """`field in (constants)` or, when `negated`, `field not in (constants)`; false when the field
    is missing either way. `values` is a frozenset of typed constants (from a literal list or a
    named list)."""

    field: FieldRef
    values: frozenset
    negated: bool
    location: Location


@dataclass(frozen=True)
class Presence:
    """`exists(field)` when `present`, else `missing(field)`; the only atoms true on missing data."""

    field: FieldRef
    present: bool
    location: Location


@dataclass(frozen=True)
class Computed:
    """Any other boolean expression (arithmetic, function calls, list-field membership...).

    `python` is the Python source of its value, which is True, False or None (missing). The atom is
    true when the value is True (or False, when `negated`); None is false either way. Only the
    compiled backend can match it; the durable backend rejects a rule that contains one. `source`
    is the text as written and `fields` the paths it reads."""

    source: str
    python: str
    fields: tuple[str, ...]
    negated: bool
    location: Location
    over: str | None = None  # a quantifier (any/all/none) over this list: a rule may test it
    # the checked tree itself (columnar/ evaluates it over a chunk of rows); not part of equality
    expr: Any = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class AllOf:
    """All items match (`and`). Never empty."""

    items: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one item matches (`or`). Never empty."""

    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Always:
    """A constant condition (`true`, or a comparison of constants folded at load time)."""

    value: bool


Condition = Union[Compare, Member, Presence, Computed, AllOf, AnyOf, Always]


def fields_read(condition: Condition) -> tuple[str, ...]:
    """The value paths a condition reads, in first-read order, without repeats (for the trace)."""
    seen: dict[str, None] = {}
    _collect(condition, seen)
    return tuple(seen)


def _collect(node: Condition, seen: dict[str, None]) -> None:
    if isinstance(node, (AllOf, AnyOf)):
        for item in node.items:
            _collect(item, seen)
    elif isinstance(node, Compare):
        seen.setdefault(node.left.path, None)
        if isinstance(node.right, FieldRef):
            seen.setdefault(node.right.path, None)
    elif isinstance(node, (Member, Presence)):
        seen.setdefault(node.field.path, None)
    elif isinstance(node, Computed):
        for path in node.fields:
            seen.setdefault(path, None)


def atoms(condition: Condition):
    """Every atom of a condition, depth first."""
    if isinstance(condition, (AllOf, AnyOf)):
        for item in condition.items:
            yield from atoms(item)
    elif not isinstance(condition, Always):
        yield condition
