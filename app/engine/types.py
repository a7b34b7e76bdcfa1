"""The value types of the rule language and of a policy's input schema."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

INTEGER = "integer"
DECIMAL = "decimal"
STRING = "string"
BOOLEAN = "boolean"
DATE = "date"
ENUM = "enum"
LIST = "list"

TYPE_NAMES = (INTEGER, DECIMAL, STRING, BOOLEAN, DATE, ENUM, LIST)
TYPE_ALIASES = {"number": DECIMAL, "int": INTEGER, "bool": BOOLEAN, "str": STRING}
NUMERIC = (INTEGER, DECIMAL)


@dataclass(frozen=True)
class Type:
    """A value type. `values` holds an enum's allowed values; `item` a list's element type."""

    name: str
    values: tuple[str, ...] | None = None
    item: "Type | None" = None

    def with_article(self) -> str:
        """'an enum [...]', 'a decimal': for messages that say what a value is not."""
        text = str(self)
        return ("an " if text[0] in "aeiou" else "a ") + text

    def __str__(self) -> str:
        if self.name == ENUM and self.values:
            shown = ", ".join(self.values[:6]) + (", ..." if len(self.values) > 6 else "")
            return f"enum [{shown}]"
        if self.name == LIST and self.item:
            return f"list of {self.item}"
        return self.name

    @property
    def numeric(self) -> bool:
        return self.name in NUMERIC

    @property
    def textual(self) -> bool:
        return self.name in (STRING, ENUM)


T_INTEGER = Type(INTEGER)
T_DECIMAL = Type(DECIMAL)
T_STRING = Type(STRING)
T_BOOLEAN = Type(BOOLEAN)
T_DATE = Type(DATE)


def comparable(a: Type, b: Type, op: str) -> bool:
    """Whether `a op b` is meaningful: numbers with numbers, dates with dates, text with text;
    booleans and lists only for equality."""
    if a.numeric and b.numeric:
        return True
    if a.textual and b.textual:
        return True
    if a.name == b.name == DATE:
        return True
    if op in ("==", "!=") and a.name == b.name and a.name in (BOOLEAN, LIST):
        return True
    return False


def common_type(a: Type, b: Type) -> Type | None:
    """The type of a value that may be either (for `if`/`else`, `coalesce`, `min`, `max`)."""
    if a == b:
        return a
    if a.numeric and b.numeric:
        return T_DECIMAL
    if a.textual and b.textual:
        return T_STRING
    return None


_PLAIN = frozenset({int, str, bool, type(None)})


def to_json(value: Any) -> Any:
    """A typed value as JSON: decimals as exact strings (plain digits, never 1E+3), dates as ISO
    text, tuples and lists as lists, mappings member by member."""
    if value.__class__ in _PLAIN:
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value
