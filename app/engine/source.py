"""YAML documents with a position on every node, so every diagnostic can say file:line:column.

PyYAML's composer gives nodes with marks; we turn them into `Node`s holding plain Python values.
Scalars are typed the YAML way with two deliberate changes: numbers with a fraction become
`Decimal` from their text (never a binary float), and duplicate keys are reported, not silently
overwritten.
"""
from __future__ import annotations

import datetime
import functools
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

# Limits that keep a hostile file a located diagnostic in bounded time and memory: a policy file
# is a few hundred lines; aliases may share a block (the reason catalogue does) but never expand
# into more nodes than this, and never refer to themselves.
MAX_FILE_CHARACTERS = 1_000_000
MAX_NODES = 200_000
MAX_DIGITS = 18  # of any number in a file, as of any number a channel sends (validation.py)


@dataclass
class Node:
    """One YAML value with its location. `value` is a dict of str -> Node, a list of Node, or a
    scalar (str, int, Decimal, bool, date or None). `quoted` is true for quoted scalars, whose
    text starts one column after the node's location. (Nothing reads `quoted`, but a node's repr
    shows in the message of a malformed enum declaration: it stays so that message stays.)"""

    value: Any
    location: Location
    quoted: bool = False
    # For a mapping: where each key is written (problems with a key point at the key).
    key_locations: dict | None = None
    # For a scalar: its text as written (block and multi-line scalars keep their line breaks,
    # which an expression does not mind) and where each of its lines starts in the file.
    source_text: str | None = None
    text_map: "TextMap | None" = None

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

    def key_location(self, key: str) -> Location:
        """Where a mapping's key is written (its value's location if unknown)."""
        if self.key_locations and key in self.key_locations:
            return self.key_locations[key]
        child = self.get(key)
        return child.location if child is not None else self.location

    @property
    def text_location(self) -> Location:
        """Where the scalar's text starts (after an opening quote, or on the first content line
        of a block scalar)."""
        if self.text_map is not None:
            return self.text_map.locate(1, 0)
        return self.location

    @property
    def expression_text(self) -> Any:
        """The text to parse as an expression: as written, line breaks included."""
        return self.source_text if self.source_text is not None else self.value


@dataclass(frozen=True)
class TextMap:
    """Maps a position in a scalar's text (line from 1, character column from 0) back to the file.

    `lines` holds, for each line of the text, the file line, the file column (from 1) of its first
    character and, where escapes make written and read text differ, the written offset of each
    character."""

    file: str
    lines: tuple

    def locate(self, line: int, column: int) -> Location:
        index = min(max(line, 1), len(self.lines)) - 1
        file_line, first_column, offsets = self.lines[index]
        if offsets is not None:
            column = offsets[column] if column < len(offsets) else offsets[-1] + 1 + (
                column - len(offsets))
        return Location(self.file, file_line, first_column + column)


def parse_yaml(text: str, file: str) -> tuple[Node | None, list[Diagnostic]]:
    """Parse one YAML document; on a syntax error return None and a located diagnostic.

    A root is loaded again and again with most files unchanged (a reload, a stored version
    replayed, a check after an edit), and parsing is most of what loading costs; so the result for
    the same text and file is kept (the last 256). Nodes are therefore shared between loads: they
    are read, never changed."""
    node, problems = _parse(text, file)
    return node, list(problems)


@functools.lru_cache(maxsize=256)
def _parse(text: str, file: str) -> tuple[Node | None, tuple[Diagnostic, ...]]:
    node, problems = _parse_text(text, file)
    return node, tuple(problems)


def _parse_text(text: str, file: str) -> tuple[Node | None, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    if len(text) > MAX_FILE_CHARACTERS:
        return None, [Diagnostic("YAML_TOO_LARGE", f"the file has {len(text)} characters; a policy "
                                 f"file may have at most {MAX_FILE_CHARACTERS}", Location(file, 1, 1))]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        return None, [Diagnostic("YAML_TOO_DEEP", "the file nests mappings or lists too deeply",
                                 Location(file, 1, 1))]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [Diagnostic("YAML_SYNTAX", f"YAML syntax error: {problem}", location)]
    except yaml.YAMLError as exc:  # reader errors (bad characters) carry no mark
        return None, [Diagnostic("YAML_SYNTAX", f"YAML error: {exc}", Location(file))]
    if root is None:
        return None, [Diagnostic("YAML_EMPTY", "the file is empty", Location(file, 1, 1))]
    problem = _expansion_problem(root, file)
    if problem is not None:
        return None, [problem]
    try:
        return _convert(root, file, diagnostics), diagnostics
    except RecursionError:
        return None, [Diagnostic("YAML_TOO_DEEP", "the file nests mappings or lists too deeply",
                                 Location(file, 1, 1))]


def _expansion_problem(root: yaml.Node, file: str) -> Diagnostic | None:
    """An alias that refers to the node holding it, or aliases expanding to more than MAX_NODES
    nodes (a "billion laughs" file), found without expanding anything and without recursion."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = min(1 + sum(size[id(child)] for child in children), MAX_NODES + 1)
            if size[key] > MAX_NODES:
                return Diagnostic("YAML_TOO_LARGE", f"the file's aliases expand to more than "
                                  f"{MAX_NODES} values", _location(node, file))
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                return Diagnostic("YAML_ALIAS", "an alias refers to the value that holds it (it "
                                  "would never end)", _location(child, file))
            if id(child) not in size:
                stack.append((child, False))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _location(node: yaml.Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


# The tags YAML gives untagged values; any other was written in the file (!!python/object,
# !!binary, !custom) and means something the engine does not do.
_PLAIN_TAGS = {_INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, "tag:yaml.org,2002:str", "tag:yaml.org,2002:map",
               "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"}


def _convert(node: yaml.Node, file: str, diagnostics: list[Diagnostic]) -> Node:
    location = _location(node, file)
    if node.tag not in _PLAIN_TAGS:
        shown = node.tag.replace("tag:yaml.org,2002:", "!!")
        diagnostics.append(Diagnostic("YAML_TAG", f"the YAML tag '{shown[:60]}' is not read in rule "
                                      "files (nothing is built from a file): remove it", location))
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Node] = {}
        keys: dict[str, Location] = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, file, diagnostics)
            if not isinstance(key.value, (str, int)) or isinstance(key.value, bool):
                hint = (" (YAML reads on, off, yes, no, true and false as true/false: quote "
                        "the key, or use another name)" if isinstance(key.value, bool) else "")
                diagnostics.append(Diagnostic("YAML_KEY", f"keys must be plain names{hint}",
                                              key.location))
                continue
            name = str(key.value)
            if name in mapping:
                diagnostics.append(Diagnostic(
                    "YAML_DUPLICATE_KEY",
                    f"'{name}' appears twice in this mapping; the first is at line "
                    f"{mapping[name].location.line}", key.location))
                continue
            mapping[name] = _convert(value_node, file, diagnostics)
            keys[name] = key.location
        return Node(mapping, location, key_locations=keys)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, file, diagnostics) for item in node.value], location)
    value = _scalar(node, file, diagnostics)
    result = Node(value, location, quoted=node.style in ("'", '"'))
    if isinstance(value, str):
        result.source_text, result.text_map = _text_map(node, file, value)
    return result


def _text_map(node: yaml.ScalarNode, file: str, value: str) -> tuple[str | None, TextMap]:
    """The written text of a string scalar and how its positions map back to the file."""
    start, end = node.start_mark, node.end_mark
    line, column = start.line + 1, start.column + 1
    buffer = getattr(start, "buffer", None)
    if buffer is None:
        return None, TextMap(file, ((line, column, None),))
    raw = buffer[start.pointer:end.pointer].rstrip("\0")
    if node.style in ("|", ">"):
        # The text starts on the line after the indicator; every line at the block's indentation.
        body = raw.split("\n")[1:]
        while body and not body[-1].strip():
            body.pop()
        indent = min((len(l) - len(l.lstrip(" ")) for l in body if l.strip()), default=0)
        lines = tuple((line + 1 + i, indent + 1, None) for i in range(len(body)))
        return "\n".join(l[indent:] for l in body), TextMap(file, lines or ((line, column, None),))
    if "\n" in raw:
        # A multi-line plain or quoted scalar: parse it with its line breaks, each line mapped.
        parts = raw.split("\n")
        quote = 1 if node.style in ("'", '"') else 0
        lines, texts = [], []
        for i, part in enumerate(parts):
            stripped = part.lstrip(" ")
            first = column + quote if i == 0 else len(part) - len(stripped) + 1
            text = part[quote:] if i == 0 else stripped
            if i == len(parts) - 1 and quote:
                text = text[:-1]
            lines.append((line + i, first, None))
            texts.append(text)
        if node.style is None:
            return "\n".join(texts), TextMap(file, tuple(lines))
        return None, TextMap(file, tuple(lines))
    if node.style in ("'", '"'):
        written = raw[1:-1]
        offsets = None if written == value else _unescape_offsets(written, node.style)
        return None, TextMap(file, ((line, column + 1, offsets),))
    return None, TextMap(file, ((line, column, None),))


_ESCAPE_LENGTH = {"x": 4, "u": 6, "U": 10}


def _unescape_offsets(written: str, style: str) -> tuple[int, ...]:
    """For each character of a quoted scalar's value, its offset in the written text."""
    offsets, i = [], 0
    while i < len(written):
        offsets.append(i)
        if style == "'" and written.startswith("''", i):
            i += 2
        elif style == '"' and written[i] == "\\" and i + 1 < len(written):
            i += _ESCAPE_LENGTH.get(written[i + 1], 2)
        else:
            i += 1
    return tuple(offsets)


def _too_many_digits(text: str, node: yaml.ScalarNode, file: str, diagnostics: list[Diagnostic]) -> str:
    shown = text if len(text) <= 40 else text[:20] + "..." + text[-10:]
    diagnostics.append(Diagnostic("YAML_NUMBER", f"'{shown}' has more than {MAX_DIGITS} digits "
                                  "before or after the point", _location(node, file)))
    return text


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
            value = int(text.replace("_", ""), 0) if len(text) <= 64 else None
        except ValueError:
            return text
        if value is None or abs(value) >= 10 ** MAX_DIGITS:
            return _too_many_digits(text, node, file, diagnostics)
        return value
    if tag == _FLOAT:
        try:
            value = Decimal(text.replace("_", ""))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            diagnostics.append(Diagnostic("YAML_NUMBER", f"'{text}' is not a finite number",
                                          _location(node, file)))
            return text
        if value and (value.adjusted() >= MAX_DIGITS or value.as_tuple().exponent < -MAX_DIGITS):
            return _too_many_digits(text, node, file, diagnostics)
        return value
    if tag == _TIMESTAMP and _DATE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            diagnostics.append(Diagnostic("YAML_DATE", f"'{text}' is not a valid date",
                                          _location(node, file)))
            return text
    return text
