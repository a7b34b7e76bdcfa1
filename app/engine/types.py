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
RECORD = "record"      # an item of a list of records (bureau.accounts[]): named fields
DATETIME = "datetime"  # an instant with its UTC offset (2026-11-29T10:15:00+08:00)
TIME = "time"          # a time of day (05:00), what time_of_day() gives
NULL = "null"          # the type of the `null` literal: fits any type, is always missing

TYPE_NAMES = (INTEGER, DECIMAL, STRING, BOOLEAN, DATE, DATETIME, TIME, ENUM, LIST)
TYPE_ALIASES = {"number": DECIMAL, "int": INTEGER, "bool": BOOLEAN, "str": STRING}
NUMERIC = (INTEGER, DECIMAL)


@dataclass(frozen=True)
class Type:
    """A value type. `values` holds an enum's allowed values; `item` a list's element type;
    `fields` a record's fields as (name, type, required) triples."""

    name: str
    values: tuple[str, ...] | None = None
    item: "Type | None" = None
    fields: tuple[tuple[str, "Type", bool], ...] | None = None

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
        if self.name == RECORD and self.fields:
            return "record {" + ", ".join(name for name, _, _ in self.fields) + "}"
        return self.name

    def field(self, name: str) -> "tuple[Type, bool] | None":
        """A record field's (type, required), or None."""
        for field_name, kind, required in self.fields or ():
            if field_name == name:
                return kind, required
        return None

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
T_DATETIME = Type(DATETIME)
T_TIME = Type(TIME)
T_NULL = Type(NULL)


def comparable(a: Type, b: Type, op: str) -> bool:
    """Whether `a op b` is meaningful: numbers with numbers, dates with dates, text with text;
    booleans and lists only for equality."""
    if a.numeric and b.numeric:
        return True
    if a.textual and b.textual:
        return True
    if a.name == b.name and a.name in (DATE, DATETIME, TIME):
        return True
    if op in ("==", "!=") and a.name == b.name and a.name in (BOOLEAN, LIST, RECORD):
        return True
    return False


def common_type(a: Type, b: Type) -> Type | None:
    """The type of a value that may be either (for `if`/`else`, `coalesce`, `min`, `max`)."""
    if a == b:
        return a
    if a.name == NULL:
        return b
    if b.name == NULL:
        return a
    if a.name == b.name == LIST and a.item and b.item:
        item = common_type(a.item, b.item)
        return Type(LIST, item=item) if item else None
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
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value
