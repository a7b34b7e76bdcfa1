"""Reading the `input:` section of a policy into an InputSchema, and the type declarations that
named lists and stage outputs share with it."""
from __future__ import annotations

import re
from typing import Any

import datetime
from decimal import Decimal

from ..errors import Diagnostic, did_you_mean
from ..patterns import pattern_problem
from ..privacy import PII_KINDS
from ..schema import FieldSpec, InputSchema
from ..source import Node
from ..types import DATE, DECIMAL, ENUM, INTEGER, LIST, RECORD, STRING, TYPE_ALIASES, TYPE_NAMES, Type

_FIELD_KEYS = {"type", "values", "items", "required", "min", "max", "max_length", "pattern", "pii",
               "description", "max_items"}
# Every list of the input has a length limit, so that a decision's work is bounded whatever a
# channel sends: `max_items` when declared (at most MAX_ITEMS_CEILING), DEFAULT_MAX_ITEMS otherwise.
DEFAULT_MAX_ITEMS = 200
MAX_ITEMS_CEILING = 5000
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# What the items of a list of values may declare: their type (and an enum's values). A constraint
# there (min, max, max_length, pattern) would never be checked, so it is refused, not ignored.
_ITEM_KEYS = {"type", "values", "items", "fields", "description"}
_TEXT = (STRING, ENUM)  # the types max_length and pattern apply to


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
        for key in items.keys():
            if key not in _ITEM_KEYS:
                diagnostics.append(Diagnostic(
                    "INPUT_CONSTRAINT", f"'{key}' is not checked on the items of list '{path}': a "
                    "list's items declare only their type (and an enum's values); remove it, or "
                    "check the items in a rule", items.key_location(key)))
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
    if not _constraints_hold(node, path, type_.name, diagnostics):
        # The field is kept, without its constraints, so that the expressions reading it are
        # checked and no error follows from this one (the policy does not load either way).
        return FieldSpec(path, type_, pii=pii, location=node.location, max_items=max_items,
                         item_fields=item_fields)
    return FieldSpec(path, type_, required=bool(value("required")), minimum=value("min"),
                     maximum=value("max"), max_length=value("max_length"),
                     pattern=value("pattern"), pii=pii, location=node.location,
                     max_items=max_items, item_fields=item_fields)


def _constraints_hold(node: Node, path: str, kind: str, diagnostics: list[Diagnostic]) -> bool:
    """Whether the field's constraints can be what validation checks: each of the right kind for
    the field's type, and a pattern that is valid and quick to check (patterns.py). Each problem
    is reported at its value, and the policy does not load: never served with a constraint that
    raises on the first application, or is ignored."""
    problems = len(diagnostics)

    def problem(key: str, message: str, code: str = "INPUT_CONSTRAINT") -> None:
        diagnostics.append(Diagnostic(code, message, node.get(key).location))

    required = node.get("required")
    if required is not None and not isinstance(required.value, bool):
        problem("required", f"required of '{path}' must be true or false (without quotes)")
    bounds = {key: node.get(key) for key in ("min", "max") if node.get(key) is not None}
    for key, child in bounds.items():
        bound = child.value
        if kind in (INTEGER, DECIMAL):
            if not isinstance(bound, (int, Decimal)) or isinstance(bound, bool):
                problem(key, f"{key} of '{path}' must be a number (without quotes)")
        elif kind == DATE:
            if not isinstance(bound, datetime.date):
                problem(key, f"{key} of '{path}' must be a date such as 2026-01-01")
        else:
            problem(key, f"min and max apply to integer, decimal or date fields; '{path}' is {kind}")
    if len(diagnostics) == problems and len(bounds) == 2 and bounds["min"].value > bounds["max"].value:
        problem("min", f"min {bounds['min'].value} is above max {bounds['max'].value} for "
                f"'{path}': no value could be accepted")
    longest = node.get("max_length")
    if longest is not None:
        if kind not in _TEXT:
            problem("max_length", f"max_length applies to string fields; '{path}' is {kind}")
        elif not isinstance(longest.value, int) or isinstance(longest.value, bool) or longest.value < 1:
            problem("max_length", f"max_length of '{path}' must be a whole number from 1 (the most "
                    "characters a value may have)")
    pattern = node.get("pattern")
    if pattern is not None:
        if kind not in _TEXT:
            problem("pattern", f"pattern applies to string fields; '{path}' is {kind}")
        elif not isinstance(pattern.value, str) or not pattern.value:
            problem("pattern", f"pattern of '{path}' must be text in quotes, such as "
                    "\"^1[0-9]{10}$\"")
        elif len(diagnostics) == problems:
            found = pattern_problem(pattern.value, longest.value if longest is not None else None)
            if found is not None:
                problem("pattern", f"pattern of '{path}': {found}", "INPUT_PATTERN")
    return len(diagnostics) == problems
