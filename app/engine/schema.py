"""A policy's input schema: the declared fields, the marshmallow schema derived from them (the one
source of truth for what a channel may send), flattening into the engine's values, and masking of
personal data for traces."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .errors import Diagnostic, InputError, Location, did_you_mean
from .source import Node
from .types import (BOOLEAN, DATE, DECIMAL, ENUM, INTEGER, LIST, STRING, TYPE_ALIASES, TYPE_NAMES,
                    Type)

PII_KINDS = ("resident_id", "phone", "name")
_FIELD_KEYS = {"type", "values", "items", "required", "min", "max", "max_length", "pattern", "pii",
               "description"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FieldSpec:
    """One declared input field."""

    path: str
    type: Type
    required: bool = False
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pii: str | None = None
    location: Location | None = None


@dataclass
class InputSchema:
    """The declared input: a tree of sections whose leaves are FieldSpecs, plus a flat index."""

    tree: dict = field(default_factory=dict)  # name -> FieldSpec | dict (a section)
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # path -> FieldSpec
    _flatten: Any = field(default=None, repr=False, compare=False)

    def sections(self) -> set[str]:
        """Every section path ("applicant", "bureau", ...)."""
        found = set()
        for path in self.fields:
            parts = path.split(".")
            for i in range(1, len(parts)):
                found.add(".".join(parts[:i]))
        return found

    # --- the marshmallow schema ---------------------------------------------------------------
    def marshmallow_schema(self) -> Schema:
        """A marshmallow Schema instance validating a JSON input against this declaration."""
        return _schema_class(self.tree, "PolicyInput")()

    def parse(self, raw: Any, schema: Schema | None = None) -> dict:
        """Validate and type a JSON-style input; raise InputError with every error by path."""
        if not isinstance(raw, dict):
            raise InputError({"_schema": ["the input must be a JSON object"]})
        try:
            return (schema or self.marshmallow_schema()).load(raw)
        except ValidationError as exc:
            raise InputError(_flatten_errors(exc.messages)) from None

    # --- values and masking -------------------------------------------------------------------
    def flatten(self, typed: dict) -> dict:
        """The flat values dict: every declared path, None where absent."""
        if self._flatten is None:
            self._flatten = _flattener(self.tree)
        return self._flatten(typed)

    def mask(self, typed: dict, prefix: str = "") -> dict:
        """A JSON-ready copy of a typed input with personal data masked."""
        masked = {}
        for key, value in typed.items():
            path = f"{prefix}{key}"
            spec = self.fields.get(path)
            if isinstance(value, dict):
                masked[key] = self.mask(value, path + ".")
            elif spec is not None and spec.pii and value is not None:
                masked[key] = mask_value(spec.pii, str(value))
            else:
                masked[key] = value
        return masked

    def pii_fields(self) -> dict[str, str]:
        return {path: spec.pii for path, spec in self.fields.items() if spec.pii}


def _flattener(tree: dict):
    """A generated function from a typed nested input to the flat values dict: one dict display
    instead of a walk per field, since this runs for every decision."""
    lines, entries = ["s0 = t"], []

    def walk(node: dict, source: str, prefix: str) -> None:
        for key, child in node.items():
            if isinstance(child, FieldSpec):
                read = f"{source}.get({key!r})"
                if child.type.name == LIST:
                    read = f"_tuple({read})"
                entries.append(f"{(prefix + key)!r}: {read}")
            else:
                name = f"s{len(lines)}"
                lines.append(f"{name} = {source}.get({key!r}) or _EMPTY")
                walk(child, name, prefix + key + ".")

    walk(tree, "s0", "")
    source = "def flatten(t):\n" + "".join(f"    {line}\n" for line in lines)
    source += "    return {" + ", ".join(entries) + "}\n"
    namespace = {"_EMPTY": {}, "_tuple": lambda x: None if x is None else tuple(x)}
    exec(compile(source, "<input schema>", "exec"), namespace)  # noqa: S102 - declared names only
    return namespace["flatten"]


def mask_value(kind: str, value: str) -> str:
    """Mask personal data for display, always hiding at least one character:
    3301**********1234, 138****5678, 张*; anything else derived from personal data: ****."""
    size = len(value)
    if kind == "resident_id":
        head, tail = (4, 4) if size > 8 else (1, 1) if size >= 3 else (0, 0)
    elif kind == "phone":
        head = 3 if size >= 11 else 1 if size >= 6 else 0
        tail = 4 if size >= 8 else 2 if size >= 4 else 0
    elif kind == "name":
        head, tail = (1, 0) if size >= 2 else (0, 0)
    else:
        return "****"
    return value[:head] + "*" * (size - head - tail) + value[size - tail:] if size else value


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


# --- marshmallow fields: strict JSON types, exact decimals ---------------------------------------
# Numbers beyond 18 digits before or after the point are no amount, count or ratio a bank sends;
# refusing them keeps every decision's arithmetic and its JSON within exact, finite bounds.
MAX_DIGITS = 18


class StrictInteger(fields.Integer):
    """An integer; rejects booleans, floats and strings (a channel must send a JSON integer)."""

    default_error_messages = {"too_large": f"more than {MAX_DIGITS} digits"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if abs(value) >= 10 ** MAX_DIGITS:
            raise self.make_error("too_large")
        return super()._deserialize(value, attr, data, **kwargs)


class ExactDecimal(fields.Decimal):
    """A decimal from a JSON number or numeric string, converted through its text, never a float."""

    default_error_messages = {"too_large": f"more than {MAX_DIGITS} digits before or after the "
                              "decimal point"}

    def _deserialize(self, value, attr, data, **kwargs):
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

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class IsoDate(fields.Date):
    """An ISO date string (or a date, when the input comes from YAML)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class StrictString(fields.String):
    """A string; rejects numbers (a region code must be sent as "330100", not 330100) and text
    that is not valid Unicode (a lone UTF-16 surrogate cannot be stored or logged)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("invalid_utf8") from None
        return value


def _field(spec: FieldSpec, *, as_item: bool = False) -> fields.Field:
    validators = []
    if spec.minimum is not None or spec.maximum is not None:
        validators.append(validate.Range(min=spec.minimum, max=spec.maximum))
    if spec.max_length is not None:
        validators.append(validate.Length(max=spec.max_length))
    if spec.pattern:
        # The whole value must match (re.match would let '$' accept a trailing newline).
        validators.append(validate.Regexp(f"(?:{spec.pattern})\\Z",
                                          error="must match " + spec.pattern.replace(
                                              "{", "{{").replace("}", "}}")))
    options: dict[str, Any] = {"validate": validators}
    if not as_item:
        options.update(required=spec.required, allow_none=not spec.required)
    kind = spec.type.name
    if kind == INTEGER:
        return StrictInteger(**options)
    if kind == DECIMAL:
        return ExactDecimal(allow_nan=False, **options)
    if kind == BOOLEAN:
        return StrictBoolean(**options)
    if kind == DATE:
        return IsoDate(**options)
    if kind == ENUM:
        options["validate"] = validators + [validate.OneOf(spec.type.values or ())]
        return StrictString(**options)
    if kind == LIST:
        item = FieldSpec(spec.path + "[]", spec.type.item or Type(STRING))
        return fields.List(_field(item, as_item=True), **options)
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


def _required_inside(tree: dict):
    for node in tree.values():
        if isinstance(node, FieldSpec):
            yield node.required
        else:
            yield from _required_inside(node)


# --- reading the `input:` section of a policy -----------------------------------------------------
def read_input_schema(node: Node, diagnostics: list[Diagnostic]) -> InputSchema:
    """Build the InputSchema from a policy's `input:` mapping, reporting every problem."""
    schema = InputSchema()
    if not node.is_map:
        diagnostics.append(Diagnostic("INPUT_SHAPE", "'input' must be a mapping of sections and "
                                      "fields", node.location))
        return schema
    schema.tree = _read_section(node, "", schema, diagnostics)
    return schema


def _read_section(node: Node, prefix: str, schema: InputSchema,
                  diagnostics: list[Diagnostic]) -> dict:
    tree: dict = {}
    for name, child in node.items():
        path = prefix + name
        if not _NAME.match(name):
            diagnostics.append(Diagnostic(
                "INPUT_NAME", f"field name '{name}' must be lower case letters, digits and "
                "underscores, starting with a letter", child.location))
            continue
        # A mapping is a field when its `type` is a type name; otherwise it is a section (which
        # may itself hold a field called `type`, such as employment.type).
        if child.is_map and not (child.get("type") is not None and child.get("type").is_scalar):
            tree[name] = _read_section(child, path + ".", schema, diagnostics)
            if not tree[name]:
                diagnostics.append(Diagnostic("INPUT_EMPTY_SECTION", f"section '{path}' declares "
                                              "no fields", child.location))
        else:
            spec = _read_field(child, path, diagnostics)
            if spec is not None:
                tree[name] = spec
                schema.fields[path] = spec
    return tree


def _read_type(node: Node, path: str, diagnostics: list[Diagnostic]) -> Type | None:
    spec = node if node.is_map else None
    raw = spec.get("type") if spec else node
    if raw is None or not isinstance(raw.value, str):
        diagnostics.append(Diagnostic("INPUT_TYPE", f"field '{path}' needs a type, one of "
                                      f"{', '.join(TYPE_NAMES)}", node.location))
        return None
    name = TYPE_ALIASES.get(raw.value, raw.value)
    if name not in TYPE_NAMES:
        diagnostics.append(Diagnostic(
            "INPUT_TYPE", f"unknown type '{raw.value}' for '{path}'"
            f"{did_you_mean(raw.value, TYPE_NAMES)}; use one of {', '.join(TYPE_NAMES)}",
            raw.location))
        return None
    if name == ENUM:
        values = spec.get("values") if spec else None
        if values is None or not values.is_list or not values.value:
            diagnostics.append(Diagnostic("INPUT_ENUM", f"enum field '{path}' needs a non-empty "
                                          "'values' list", raw.location))
            return None
        return Type(ENUM, values=tuple(str(v.value) for v in values.value))
    if name == LIST:
        items = spec.get("items") if spec else None
        if items is None:
            diagnostics.append(Diagnostic("INPUT_LIST", f"list field '{path}' needs 'items' "
                                          "(the element type)", raw.location))
            return None
        item = _read_type(items, path + "[]", diagnostics)
        return Type(LIST, item=item) if item else None
    return Type(name)


def _read_field(node: Node, path: str, diagnostics: list[Diagnostic]) -> FieldSpec | None:
    type_ = _read_type(node, path, diagnostics)
    if type_ is None:
        return None
    if not node.is_map:
        return FieldSpec(path, type_, location=node.location)
    for key, child in node.items():
        if key not in _FIELD_KEYS:
            diagnostics.append(Diagnostic(
                "INPUT_KEY", f"unknown key '{key}' in field '{path}'"
                f"{did_you_mean(key, _FIELD_KEYS)}", child.location))
    value = lambda key: node.get(key).value if node.get(key) is not None else None  # noqa: E731
    pii = value("pii")
    if pii is not None and pii not in PII_KINDS:
        diagnostics.append(Diagnostic("INPUT_PII", f"pii must be one of {', '.join(PII_KINDS)}",
                                      node.get("pii").location))
        pii = None
    if pii and type_.name != STRING:
        diagnostics.append(Diagnostic("INPUT_PII", f"personal data field '{path}' must be a string",
                                      node.location))
    return FieldSpec(path, type_, required=bool(value("required")), minimum=value("min"),
                     maximum=value("max"), max_length=value("max_length"),
                     pattern=value("pattern"), pii=pii, location=node.location)
