"""A policy's declared input: the field declarations, flattening a typed input into the engine's
values, and masking its personal data. (Validating JSON against it is validation.py's job;
reading the `input:` section of a policy is read/input_schema.py's.)"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from .errors import Location
from .privacy import mask
from .types import LIST, STRING, Type, to_json


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
    max_items: int | None = None   # a list's length limit (the input is refused past it)
    item_fields: tuple["FieldSpec", ...] = ()  # a list of records: each item's fields


@dataclass
class InputSchema:
    """The declared input: a tree of sections whose leaves are FieldSpecs, plus a flat index."""

    tree: dict = field(default_factory=dict)  # name -> FieldSpec | dict (a section)
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # path -> FieldSpec
    _flatten: Callable[[dict], dict] | None = field(default=None, repr=False, compare=False)
    _free_text: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def sections(self) -> set[str]:
        """Every section path ("applicant", "bureau", ...)."""
        found = set()
        for path in self.fields:
            parts = path.split(".")
            for i in range(1, len(parts)):
                found.add(".".join(parts[:i]))
        return found

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
            if isinstance(value, dict):
                masked[key] = self.mask(value, path + ".")
                continue
            spec = self.fields.get(path)
            if spec is not None and spec.pii and value is not None:
                masked[key] = mask(spec.pii, str(value))
            else:
                masked[key] = to_json(value)
        return masked

    def pii_fields(self) -> dict[str, str]:
        return {path: spec.pii for path, spec in self.fields.items() if spec.pii}

    def free_text_fields(self) -> tuple[str, ...]:
        """The paths of the free-text fields: strings with no `pii:` kind and no restrictive
        pattern, where a channel may type personal data the declaration does not name
        (privacy.redact masks it in what is stored and shown). A field of a list of records is
        named `list[].field`."""
        if self._free_text is None:
            found = []
            for spec in self.fields.values():
                found.extend(spec.path for spec in (spec, *spec.item_fields) if is_free_text(spec))
            self._free_text = tuple(found)
        return self._free_text


# Free text a pattern still lets through: words around a mobile number. A pattern that refuses all
# of these (a code, a date, a status string) makes its field an identifier, not free text.
_FREE_TEXT_PROBES = ("某某科技有限公司 13800138000", "某某科技有限公司13800138000", "ACME Ltd 13800138000",
                     "ACME Ltd, 6222021234567890128")


def is_free_text(spec: FieldSpec) -> bool:
    """Whether a declared field is free text: a string, no personal-data kind, no pattern or a
    pattern that accepts words around a number."""
    if spec.type.name != STRING or spec.pii:
        return False
    if not spec.pattern:
        return True
    try:
        whole = re.compile(full_match_pattern(spec.pattern))
    except re.error:
        return True
    return any(whole.match(probe) for probe in _FREE_TEXT_PROBES)


def _flattener(tree: dict) -> Callable[[dict], dict]:
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
    namespace: dict[str, Any] = {"_EMPTY": {}, "_tuple": lambda x: None if x is None else tuple(x)}
    exec(compile(source, "<input schema>", "exec"), namespace)  # noqa: S102 - declared names only
    return namespace["flatten"]


# \d and \w as the published JSON Schema (ECMA-262) reads them: ASCII only. Python's re reads them
# as any Unicode digit or letter, so `^\d{6}$` took "٣٣٠١٠٠" (Arabic-Indic) and "３３０１００"
# (full-width), text that passed the schema and then matched no region, prefix or list entry.
# \s stays Unicode, as it is in ECMA-262 too. Inside a character class \D and \W are left as
# Python reads them: they then refuse more than ECMA-262 would, never less.
_ASCII_CLASSES = {"d": ("[0-9]", "0-9"), "w": ("[A-Za-z0-9_]", "A-Za-z0-9_"),
                  "D": ("[^0-9]", None), "W": ("[^A-Za-z0-9_]", None)}


def full_match_pattern(pattern: str) -> str:
    """A field's `pattern` as the Python regular expression that must match the whole value."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if character == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            outside, inside = _ASCII_CLASSES.get(escaped, (None, None))
            replacement = inside if in_class else outside
            out.append(replacement if replacement is not None else character + escaped)
            index += 2
            continue
        if character == "[" and not in_class:
            in_class = True
            if pattern.startswith("[^]", index) or pattern.startswith("[]", index):
                close = index + (3 if pattern[index + 1] == "^" else 2)  # a leading ] is a member
                out.append(pattern[index:close])
                index = close
                continue
        elif character == "]" and in_class:
            in_class = False
        out.append(character)
        index += 1
    # The whole value must match: re.match would let '$' accept a trailing newline.
    return f"(?:{''.join(out)})\\Z"
