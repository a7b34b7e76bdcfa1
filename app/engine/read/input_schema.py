"""Reading the `input:` section of a policy into an InputSchema, and the type declarations that
named lists and stage outputs share with it."""
from __future__ import annotations

import re
from typing import Any

from ..errors import Diagnostic, did_you_mean
from ..privacy import PII_KINDS
from ..schema import FieldSpec, InputSchema
from ..source import Node
from ..types import DATE, ENUM, LIST, STRING, TYPE_ALIASES, TYPE_NAMES, Type

_FIELD_KEYS = {"type", "values", "items", "required", "min", "max", "max_length", "pattern", "pii",
               "description"}
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


def _read_field(node: Node, path: str, diagnostics: list[Diagnostic]) -> FieldSpec | None:
    type_ = read_type(node, path, diagnostics)
    if type_ is None:
        return None
    if not node.is_map:
        return FieldSpec(path, type_, location=node.location)
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
    return FieldSpec(path, type_, required=bool(value("required")), minimum=value("min"),
                     maximum=value("max"), max_length=value("max_length"),
                     pattern=value("pattern"), pii=pii, location=node.location)
