"""YAML documents with a position on every node, so every diagnostic can say file:line:column.

PyYAML's composer gives nodes with marks; we turn them into `Node`s holding plain Python values.
Scalars are typed the YAML way with two deliberate changes: numbers with a fraction become
`Decimal` from their text (never a binary float), and duplicate keys are reported, not silently
overwritten.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator

import yaml

from .errors import Diagnostic, Location

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Node:
    """One YAML value with its location. `value` is a dict of str -> Node, a list of Node, or a
    scalar (str, int, Decimal, bool, date or None). `quoted` is true for quoted scalars, whose
    text starts one column after the node's location."""

    value: Any
    location: Location
    quoted: bool = False

    # Mapping helpers -------------------------------------------------------------------------
    def get(self, key: str) -> "Node | None":
        return self.value.get(key) if isinstance(self.value, dict) else None

    def keys(self) -> list[str]:
        return list(self.value) if isinstance(self.value, dict) else []

    def items(self) -> Iterator[tuple[str, "Node"]]:
        return iter(self.value.items()) if isinstance(self.value, dict) else iter(())

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.value, (dict, list))

    def plain(self) -> Any:
        """The value with every Node unwrapped."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value

    @property
    def text_location(self) -> Location:
        """Where the scalar's text starts (after an opening quote)."""
        if self.quoted:
            return Location(self.location.file, self.location.line, self.location.column + 1)
        return self.location


def parse_yaml(text: str, file: str) -> tuple[Node | None, list[Diagnostic]]:
    """Parse one YAML document; on a syntax error return None and a located diagnostic."""
    diagnostics: list[Diagnostic] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [Diagnostic("YAML_SYNTAX", f"YAML syntax error: {problem}", location)]
    except yaml.YAMLError as exc:  # reader errors (bad characters) carry no mark
        return None, [Diagnostic("YAML_SYNTAX", f"YAML error: {exc}", Location(file))]
    if root is None:
        return None, [Diagnostic("YAML_EMPTY", "the file is empty", Location(file, 1, 1))]
    return _convert(root, file, diagnostics), diagnostics


def _location(node: yaml.Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: yaml.Node, file: str, diagnostics: list[Diagnostic]) -> Node:
    location = _location(node, file)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, file, diagnostics)
            if not isinstance(key.value, (str, int)) or isinstance(key.value, bool):
                diagnostics.append(Diagnostic("YAML_KEY", "keys must be plain names", key.location))
                continue
            name = str(key.value)
            if name in mapping:
                diagnostics.append(Diagnostic(
                    "YAML_DUPLICATE_KEY",
                    f"'{name}' appears twice in this mapping; the first is at line "
                    f"{mapping[name].location.line}", key.location))
                continue
            mapping[name] = _convert(value_node, file, diagnostics)
        return Node(mapping, location)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, file, diagnostics) for item in node.value], location)
    return Node(_scalar(node, file, diagnostics), location, quoted=node.style in ("'", '"'))


def _scalar(node: yaml.ScalarNode, file: str, diagnostics: list[Diagnostic]) -> Any:
    text = node.value
    if node.style in ("'", '"', "|", ">"):
        return text
    tag = node.tag
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() in ("true", "yes", "on")
    if tag == _INT:
        try:
            return int(text.replace("_", ""), 0)
        except ValueError:
            return text
    if tag == _FLOAT:
        try:
            value = Decimal(text.replace("_", ""))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            diagnostics.append(Diagnostic("YAML_NUMBER", f"'{text}' is not a finite number",
                                          _location(node, file)))
            return text
        return value
    if tag == _TIMESTAMP and _DATE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            diagnostics.append(Diagnostic("YAML_DATE", f"'{text}' is not a valid date",
                                          _location(node, file)))
            return text
    return text
