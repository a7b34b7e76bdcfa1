"""Constants written in YAML: their types, and coercion to a declared type."""
from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from .types import (BOOLEAN, DATE, DATETIME, DECIMAL, ENUM, INTEGER, LIST, STRING, T_BOOLEAN,
                    T_DATE, T_DATETIME, T_DECIMAL, T_INTEGER, T_STRING, TIME, Type)


def literal_type(value: Any) -> Type | None:
    """The type of a constant written in YAML (a parameter), or None."""
    if isinstance(value, bool):
        return T_BOOLEAN
    if isinstance(value, int):
        return T_INTEGER
    if isinstance(value, Decimal):
        return T_DECIMAL
    if isinstance(value, str):
        return T_STRING
    if isinstance(value, datetime.datetime):
        return T_DATETIME if value.tzinfo is not None else None
    if isinstance(value, datetime.date):
        return T_DATE
    return None


def scalar_text(text: str) -> Any:
    """A bound written inside a cell string ('>= 700', '[0.3, 0.5)'), typed as YAML would."""
    stripped = text.strip().strip("'\"")
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    if re.fullmatch(r"-?\d+\.\d*|-?\.\d+", stripped):
        return Decimal(stripped)
    try:
        return datetime.date.fromisoformat(stripped)
    except ValueError:
        return stripped


def coerce_literal(value: Any, kind: Type) -> Any:
    """The value as a constant of the type, or None if it cannot be one."""
    name = kind.name
    if name == BOOLEAN:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if name == INTEGER:
        return value if isinstance(value, int) else None
    if name == DECIMAL:
        return value if isinstance(value, (int, Decimal)) else None
    if name == DATE:
        return value if isinstance(value, datetime.date) and not isinstance(
            value, datetime.datetime) else None
    if name == DATETIME:
        if isinstance(value, str):
            try:
                value = datetime.datetime.fromisoformat(value)
            except ValueError:
                return None
        return value if isinstance(value, datetime.datetime) and value.tzinfo else None
    if name == TIME:
        if isinstance(value, str):
            try:
                value = datetime.time.fromisoformat(value)
            except ValueError:
                return None
        return value if isinstance(value, datetime.time) and value.tzinfo is None else None
    if name == ENUM:
        return value if isinstance(value, str) and value in (kind.values or ()) else None
    if name in (STRING, LIST):
        return value if isinstance(value, str) else None
    return None

