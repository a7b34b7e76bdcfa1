"""The one marshmallow module: the schema a channel's JSON input is validated against, derived
from a policy's input declaration, and parsing with every error keyed by field path."""
from __future__ import annotations

import datetime
import re
from typing import Any, Iterator

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .errors import InputError
from .schema import FieldSpec, InputSchema, full_match_pattern
from .types import BOOLEAN, DATE, DATETIME, DECIMAL, ENUM, INTEGER, LIST, RECORD, STRING, TIME, Type

# The type of a policy's request schema, for modules that hold one without importing marshmallow.
RequestSchema = Schema

# Numbers beyond 18 digits before or after the point are no amount, count or ratio a bank sends;
# refusing them keeps every decision's arithmetic and its JSON within exact, finite bounds.
MAX_DIGITS = 18


def request_schema(declared: InputSchema) -> RequestSchema:
    """A marshmallow Schema instance validating a JSON input against the declaration."""
    return _schema_class(declared.tree, "PolicyInput")()


def parse_input(raw: Any, schema: RequestSchema) -> dict:
    """Validate and type a JSON-style input; raise InputError with every error by path."""
    if not isinstance(raw, dict):
        raise InputError({"_schema": ["the input must be a JSON object"]})
    try:
        return schema.load(raw)
    except ValidationError as exc:
        raise InputError(_flatten_errors(exc.messages)) from None


def _flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (dict, list)) and not _is_message_list(value):
                flat.update(_flatten_errors(value, path))
            else:
                flat[path] = list(value) if isinstance(value, list) else [str(value)]
    elif isinstance(messages, list):
        flat[prefix or "_schema"] = [str(m) for m in messages]
    return flat


def _is_message_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(m, str) for m in value)


# --- strict JSON types, exact decimals ------------------------------------------------------------
class StrictInteger(fields.Integer):
    """An integer; rejects booleans, floats and strings (a channel must send a JSON integer)."""

    default_error_messages = {"too_large": f"more than {MAX_DIGITS} digits"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if abs(value) >= 10 ** MAX_DIGITS:
            raise self.make_error("too_large")
        return super()._deserialize(value, attr, data, **kwargs)


class ExactDecimal(fields.Decimal):
    """A decimal from a JSON number or numeric string, converted through its text, never a float."""

    default_error_messages = {"too_large": f"more than {MAX_DIGITS} digits before or after the "
                              "decimal point"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is not None and number.is_finite() and (
                number.adjusted() >= MAX_DIGITS or number.as_tuple().exponent < -MAX_DIGITS):
            raise self.make_error("too_large")
        return number


class StrictBoolean(fields.Boolean):
    """Only JSON true and false."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class IsoDate(fields.Date):
    """An ISO date string (or a date, when the input comes from YAML)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> datetime.date:
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class BoundedList(fields.List):
    """A list refused before its items are read when it is longer than its limit, so that the
    work a request costs is bounded by the policy, not by the channel."""

    default_error_messages = {"too_long": "at most {max_items} items"}

    def __init__(self, inner: fields.Field, max_items: int | None = None, **kwargs: Any):
        super().__init__(inner, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if self.max_items is not None and isinstance(value, (list, tuple)) \
                and len(value) > self.max_items:
            raise self.make_error("too_long", max_items=self.max_items)
        return super()._deserialize(value, attr, data, **kwargs)


class OffsetDateTime(fields.AwareDateTime):
    """An ISO date and time with its UTC offset ("2026-11-29T01:30:00+08:00"): an instant
    without an offset could be any of 24 hours, and the time of day a rule reads depends on it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> datetime.datetime:
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class TimeOfDay(fields.Time):
    """A time of day, "05:00" or "05:00:30" (no offset: it is read as written)."""

    default_error_messages = {"not_time": "Not a valid time of day (HH:MM or HH:MM:SS)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime.time:
        if isinstance(value, datetime.time):
            return value
        if not isinstance(value, str):
            raise self.make_error("not_time")
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is not None:
            raise self.make_error("not_time")
        return result


class StrictString(fields.String):
    """A string; rejects numbers (a region code must be sent as "330100", not 330100) and text
    that is not valid Unicode (a lone UTF-16 surrogate cannot be stored or logged)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("invalid_utf8") from None
        return value


class FullMatch(validate.Regexp):
    """A field's pattern: the whole value must match, \\d and \\w read as ASCII
    (schema.full_match_pattern; re.match would let '$' accept a trailing newline). `regex` is the
    pattern as the policy declares it, which the published JSON Schema shows (apispec reads it):
    the expression matched here ends in \\Z, which ECMA-262 does not have."""

    def __init__(self, pattern: str, longest: int | None = None) -> None:
        super().__init__(pattern, error="must match " + pattern.replace("{", "{{").replace("}", "}}"))
        self.whole = re.compile(full_match_pattern(pattern))
        self.longest = longest

    def __call__(self, value: Any) -> Any:
        # Not run on a value longer than the field's max_length (which the Length validator
        # reports): the loader bounded the pattern's work by that length only (patterns.py), and
        # marshmallow runs every validator even after one has failed.
        if self.longest is not None and isinstance(value, str) and len(value) > self.longest:
            return value
        if self.whole.match(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def _field(spec: FieldSpec, *, as_item: bool = False) -> fields.Field:
    validators: list[Any] = []
    if spec.minimum is not None or spec.maximum is not None:
        validators.append(validate.Range(min=spec.minimum, max=spec.maximum))
    if spec.max_length is not None:
        validators.append(validate.Length(max=spec.max_length))
    if spec.pattern:
        validators.append(FullMatch(spec.pattern, spec.max_length))
    options: dict[str, Any] = {"validate": validators}
    if not as_item:
        options.update(required=spec.required, allow_none=not spec.required)
    kind = spec.type.name
    # The digit bounds as ranges too, so the published schema (apispec reads validators) says what
    # the fields refuse; the fields' own checks come first and give the clearer message.
    if kind == INTEGER:
        options["validate"] = validators + [validate.Range(min=-(10 ** MAX_DIGITS - 1), max=10 ** MAX_DIGITS - 1)]
        return StrictInteger(**options)
    if kind == DECIMAL:
        options["validate"] = validators + [validate.Range(min=-10 ** MAX_DIGITS, max=10 ** MAX_DIGITS,
                                                           min_inclusive=False, max_inclusive=False)]
        options["metadata"] = {"description": f"exact: at most {MAX_DIGITS} digits before and "
                                              f"{MAX_DIGITS} after the point (never rounded)"}
        return ExactDecimal(allow_nan=False, **options)
    if kind == BOOLEAN:
        return StrictBoolean(**options)
    if kind == DATE:
        return IsoDate(**options)
    if kind == DATETIME:
        return OffsetDateTime(**options)
    if kind == TIME:
        return TimeOfDay(**options)
    if kind == ENUM:
        options["validate"] = validators + [validate.OneOf(spec.type.values or ())]
        return StrictString(**options)
    if kind == LIST:
        if spec.type.item is not None and spec.type.item.name == RECORD:
            record = _schema_class({s.path.rsplit(".", 1)[1]: s for s in spec.item_fields},
                                   "Record_" + spec.path.replace(".", "_"))
            return BoundedList(fields.Nested(record), spec.max_items, **options)
        item = FieldSpec(spec.path + "[]", spec.type.item or Type(STRING))
        return BoundedList(_field(item, as_item=True), spec.max_items, **options)
    return StrictString(**options)


def _schema_class(tree: dict, name: str) -> type[Schema]:
    attrs: dict[str, Any] = {}
    for key, node in tree.items():
        if isinstance(node, FieldSpec):
            attrs[key] = _field(node)
        else:
            nested = _schema_class(node, name + "_" + key)
            required = any(_required_inside(node))
            attrs[key] = fields.Nested(nested, required=required, allow_none=not required)
    attrs["Meta"] = type("Meta", (), {"unknown": RAISE})
    return type(name, (Schema,), attrs)


def _required_inside(tree: dict) -> Iterator[bool]:
    for node in tree.values():
        if isinstance(node, FieldSpec):
            yield node.required
        else:
            yield from _required_inside(node)
