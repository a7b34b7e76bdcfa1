"""Reading the `input:` section of a policy into an InputSchema, and the type declarations that
named lists and stage outputs share with it."""
from __future__ import annotations

import re
from typing import Any

from ..errors import Diagnostic, did_you_mean
from ..privacy import PII_KINDS
from ..schema import FieldSpec, InputSchema
from ..source import Node
from ..types import DATE, ENUM, LIST, RECORD, STRING, TYPE_ALIASES, TYPE_NAMES, Type

_FIELD_KEYS = {"type", "values", "items", "required", "min", "max", "max_length", "pattern", "pii",
               "description", "max_items"}
# Every list of the input has a length limit, so that a decision's work is bounded whatever a
# channel sends: `max_items` when declared (at most MAX_ITEMS_CEILING), DEFAULT_MAX_ITEMS otherwise.
DEFAULT_MAX_ITEMS = 200
MAX_ITEMS_CEILING = 5000
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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


def read_type(node: Node, path: str, diagnostics: list[Diagnostic]) -> Type | None:
    """A declared type: a type name, or a mapping with `type` (and `values` or `items`)."""
    spec = node if node.is_map else None
    if spec is not None and spec.get("fields") is not None and path.endswith("[]"):
        return read_record(spec, path, diagnostics)[0]
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
        item = read_type(items, path + "[]", diagnostics)
        return Type(LIST, item=item) if item else None
    return Type(name)


def read_record(node: Node, path: str,
                diagnostics: list[Diagnostic]) -> tuple[Type | None, tuple[FieldSpec, ...]]:
    """The items of a list of records: `items: {fields: {name: declaration, ...}}`."""
    for key, child in node.items():
        if key != "fields":
            diagnostics.append(Diagnostic("INPUT_KEY", f"the items of '{path[:-2]}' are records: "
                                          f"declare them as {{fields: {{...}}}}, not '{key}'",
                                          child.location))
    fields_node = node.get("fields")
    if not fields_node.is_map or not fields_node.value:
        diagnostics.append(Diagnostic("INPUT_LIST", f"the records of '{path[:-2]}' need a mapping "
                                      "of fields", fields_node.location))
        return None, ()
    specs = []
    for name, child in fields_node.items():
        if not _NAME.match(name):
            diagnostics.append(Diagnostic(
                "INPUT_NAME", f"field name '{name}' must be lower case letters, digits and "
                "underscores, starting with a letter", child.location))
            continue
        spec = _read_field(child, f"{path}.{name}", diagnostics)
        if spec is None:
            continue
        if spec.pii:
            diagnostics.append(Diagnostic("INPUT_PII", f"'{spec.path}': personal data inside "
                                          "list items is not supported; send it as a field of "
                                          "its own", child.location))
            continue
        if spec.type.name == LIST and spec.type.item and spec.type.item.name == RECORD:
            diagnostics.append(Diagnostic("INPUT_LIST", f"'{spec.path}': lists of records may "
                                          "not hold lists of records", child.location))
            continue
        specs.append(spec)
    if not specs:
        return None, ()
    kind = Type(RECORD, fields=tuple((s.path.rsplit(".", 1)[1], s.type, s.required)
                                     for s in specs))
    return kind, tuple(specs)


def _read_field(node: Node, path: str, diagnostics: list[Diagnostic]) -> FieldSpec | None:
    type_ = read_type(node, path, diagnostics)
    if type_ is None:
        return None
    max_items = DEFAULT_MAX_ITEMS if type_.name == LIST else None
    if not node.is_map:
        return FieldSpec(path, type_, location=node.location, max_items=max_items)
    for key, child in node.items():
        if key not in _FIELD_KEYS:
            diagnostics.append(Diagnostic(
                "INPUT_KEY", f"unknown key '{key}' in field '{path}'"
                f"{did_you_mean(key, _FIELD_KEYS)}", child.location))

    def value(key: str) -> Any:
        child = node.get(key)
        return child.value if child is not None else None

    pii = value("pii")
    if pii is not None and pii not in PII_KINDS:
        diagnostics.append(Diagnostic("INPUT_PII", f"pii must be one of {', '.join(PII_KINDS)}",
                                      node.get("pii").location))
        pii = None
    if pii and type_.name not in (STRING, DATE):
        diagnostics.append(Diagnostic("INPUT_PII", f"personal data field '{path}' must be a "
                                      "string or a date", node.location))
    declared_max = value("max_items")
    if declared_max is not None:
        if type_.name != LIST or not isinstance(declared_max, int) or isinstance(
                declared_max, bool) or not 0 < declared_max <= MAX_ITEMS_CEILING:
            diagnostics.append(Diagnostic("INPUT_MAX_ITEMS", f"max_items of '{path}' must be a "
                                          f"whole number from 1 to {MAX_ITEMS_CEILING}, on a list",
                                          node.get("max_items").location))
        else:
            max_items = declared_max
    items = node.get("items")
    item_fields: tuple[FieldSpec, ...] = ()
    if type_.name == LIST and type_.item.name == RECORD and items is not None:
        item_fields = read_record(items, path + "[]", [])[1]  # problems were reported by read_type
    return FieldSpec(path, type_, required=bool(value("required")), minimum=value("min"),
                     maximum=value("max"), max_length=value("max_length"),
                     pattern=value("pattern"), pii=pii, location=node.location,
                     max_items=max_items, item_fields=item_fields)
