"""The fast path of input parsing: a JSON-style input that is plainly valid, typed without
marshmallow, to the very dict marshmallow would give.

Validating with marshmallow costs about three times what deciding does (most of it the field
machinery, per field, per call); a simulation parses every row. This parser checks the same
declaration with plain closures and gives up (returns None) at the first thing it is not sure
of: an unknown field, a missing required one, a value of the wrong JSON type, out of range, too
long, off its pattern or not an enum value, a float outside a decimal field, a list field. The caller then parses with
marshmallow (validation.py), which is still the one place that words every error. So the fast
path never accepts what marshmallow refuses, nor types anything differently; a property test
compares the two on generated inputs, valid and broken (tests/engine/test_fastinput.py).
"""
from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Sequence

from .patterns import anchored
from .schema import FieldSpec, InputSchema
from .types import BOOLEAN, DATE, DATETIME, DECIMAL, ENUM, INTEGER, LIST, RECORD, STRING

MAX_DIGITS = 18  # as validation.MAX_DIGITS: 18 digits before or after the point at most
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")


class _GiveUp(Exception):
    """Not plainly valid: let marshmallow parse it (and word the errors)."""


_GIVE_UP = _GiveUp()
_ABSENT = object()


# The types the fast path knows; a declaration with any other (a time of day) is marshmallow's.
HANDLED = frozenset({INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, ENUM, STRING, LIST})


def fast_parser(declared: InputSchema) -> Callable[[Any], dict | None] | None:
    """A function from a JSON-style input to its typed dict, or None when the input needs
    marshmallow; None instead of a function for a declaration it does not handle."""
    if not all(_handled(spec) for spec in declared.fields.values()):
        return None
    section = _section(declared.tree)

    def parse(raw: Any) -> dict | None:
        try:
            return section(raw)
        except _GiveUp:
            return None

    return parse


def _section(tree: dict) -> Callable[[Any], dict]:
    checks: dict[str, Callable[[Any], Any]] = {}
    nullable: set[str] = set()
    for key, node in tree.items():
        if isinstance(node, FieldSpec):
            checks[key] = _leaf(node)
            needed = node.required
        else:
            checks[key] = _section(node)
            needed = _required_inside(node)
        if not needed:
            nullable.add(key)

    known = frozenset(checks)
    # (key, check, may be absent or null), in declared order, as marshmallow gives them
    fields = tuple((key, check, key in nullable) for key, check in checks.items())

    def section(raw: Any) -> dict:
        if raw.__class__ is not dict or not raw.keys() <= known:
            raise _GIVE_UP  # not an object, or an unknown field
        out = {}
        get = raw.get
        for key, check, optional in fields:
            value = get(key, _ABSENT)
            if value is None or value is _ABSENT:
                if not optional:
                    raise _GIVE_UP  # a required field missing or null
                if value is None:
                    out[key] = None
            else:
                out[key] = check(value)
        return out

    return section


def _handled(spec: FieldSpec) -> bool:
    if spec.type.name not in HANDLED:
        return False
    if spec.type.name == LIST:
        item = spec.type.item
        if item is not None and item.name == RECORD:
            return all(_handled(field) for field in spec.item_fields)
        return item is None or (item.name in HANDLED and item.name != LIST)
    return True


def _required_inside(tree: dict) -> bool:
    return any(node.required if isinstance(node, FieldSpec) else _required_inside(node)
               for node in tree.values())


def _leaf(spec: FieldSpec) -> Callable[[Any], Any]:
    kind = spec.type.name
    low, high = spec.minimum, spec.maximum

    def in_range(value: Any) -> Any:
        if (low is not None and value < low) or (high is not None and value > high):
            raise _GIVE_UP
        return value

    if kind == INTEGER:
        # fewer than MAX_DIGITS digits and within min and max, as one pair of bounds
        lowest = -10 ** MAX_DIGITS + 1 if low is None else max(-10 ** MAX_DIGITS + 1, low)
        highest = 10 ** MAX_DIGITS - 1 if high is None else min(10 ** MAX_DIGITS - 1, high)

        def integer(value: Any) -> int:
            if value.__class__ is not int or not lowest <= value <= highest:
                raise _GIVE_UP
            return value
        return integer
    if kind == DECIMAL:
        def decimal(value: Any) -> Decimal:
            if value.__class__ is float:  # a JSON number with a point: through its text, as
                value = repr(value)       # validation.ExactDecimal reads it (1e-05: give up)
            if value.__class__ is int or value.__class__ is Decimal or (
                    value.__class__ is str and _NUMBER.match(value)):
                try:
                    number = Decimal(str(value))
                except InvalidOperation:
                    raise _GIVE_UP from None
                if number.is_finite() and number.adjusted() < MAX_DIGITS and \
                        number.as_tuple().exponent >= -MAX_DIGITS:
                    return in_range(number)
            raise _GIVE_UP
        return decimal
    if kind == BOOLEAN:
        def boolean(value: Any) -> bool:
            if value.__class__ is not bool:
                raise _GIVE_UP
            return value
        return boolean
    if kind == LIST:
        return _list(spec)
    if kind == DATETIME:
        def moment(value: Any) -> datetime.datetime:
            if value.__class__ is datetime.datetime and value.tzinfo is not None:
                return value
            if value.__class__ is not str or not value:
                raise _GIVE_UP
            try:
                parsed = datetime.datetime.fromisoformat(value)
            except ValueError:
                raise _GIVE_UP from None
            if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
                raise _GIVE_UP  # an instant needs its offset
            return parsed
        return moment
    if kind == DATE:
        def date(value: Any) -> datetime.date:
            if value.__class__ is datetime.date:
                return value
            if value.__class__ is not str or not value:
                raise _GIVE_UP
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise _GIVE_UP from None
        return date
    if kind not in (ENUM, STRING):
        raise ValueError(f"no fast path for {kind}")  # _handled keeps this from happening
    allowed = frozenset(spec.type.values or ()) if kind == ENUM else None
    longest = spec.max_length
    pattern = re.compile(anchored(spec.pattern)) if spec.pattern else None

    def string(value: Any) -> str:
        if value.__class__ is not str or (longest is not None and len(value) > longest):
            raise _GIVE_UP
        if allowed is not None and value not in allowed:
            raise _GIVE_UP
        if pattern is not None and not pattern.match(value):
            raise _GIVE_UP
        if not value.isascii():
            try:
                value.encode("utf-8")  # a lone surrogate is no text
            except UnicodeEncodeError:
                raise _GIVE_UP from None
        return value
    return string


def _list(spec: FieldSpec, record: Callable[[dict[str, FieldSpec]], Callable[[Any], dict]] | None = None
          ) -> Callable[[Any], list]:
    """A list (at most max_items long) of records, each its own section (made by `record`, else
    `_section`), or of values."""
    longest = spec.max_items
    item_type = spec.type.item
    if item_type is not None and item_type.name == RECORD:
        item = (record or _section)({field.path.rsplit(".", 1)[1]: field for field in spec.item_fields})
    else:
        item = _leaf(FieldSpec(spec.path + "[]", item_type or spec.type.__class__(STRING)))

    def items(value: Any) -> list:
        if value.__class__ is not list or (longest is not None and len(value) > longest):
            raise _GIVE_UP
        out = []
        for element in value:
            if element is None:
                raise _GIVE_UP  # an item may not be null
            out.append(item(element))
        return out
    return items


def cells_parser(declared: InputSchema, columns: Sequence[str | None],
                 converters: Sequence[Callable[[Any], Any] | None], absent: Any = ""
                 ) -> Callable[[Sequence[Any]], tuple[dict, dict] | None] | None:
    """For a file whose rows are cells (of text in a CSV file; a Parquet file's values, read column
    by column): a function from one row's cells to the typed input that `fast_parser` gives for
    the nested input those cells make, without making it; None for a row it is not sure of (the
    caller then takes the nested way, and marshmallow words the errors), and None instead of a
    function for a layout it does not handle. It gives the typed input with its flat values (what
    `InputSchema.flatten` gives for it, made at the same time: `Policy.decide(typed, values=...)`
    then does not flatten it again).

    `columns[i]` is the declared path cells[i] holds (None: a cell that is not the input's, such as
    a shared value, left to the caller); `converters[i]` reads a cell as the JSON value a nested
    input would hold (None: the cell itself). A cell equal to `absent` (an empty text, ""; or
    None, a Parquet null) is an absent field, as in the nested input; any other is present (a
    Parquet file's empty text, 0 or false too). A row must have a cell for every column.
    Generated once per file layout: every present field is read with its converter and checked
    as `fast_parser` checks it (the common checks written out in the generated code, the others
    the fast path's own closures; a list of records through generated sections of the same rules),
    in declared order, into the very dicts `fast_parser` makes; a required field or section that
    is empty gives up, as `fast_parser` does."""
    if absent not in ("", None):
        raise ValueError(f"an absent field's cell is \"\" or None, not {absent!r}")
    if not all(_handled(spec) for spec in declared.fields.values()):
        return None
    present = "v" if absent == "" else "v is not None"  # cells of text are never falsy otherwise
    named = [c for c in columns if c is not None]
    if len(set(named)) != len(named) or not set(named) <= declared.fields.keys():
        return None  # a column twice, or one that is no declared field: the nested way says what
    place = {path: i for i, path in enumerate(columns) if path is not None}
    namespace: dict[str, Any] = {"_GIVE_UP": _GIVE_UP, "_GiveUp": _GiveUp}
    lines: list[str] = []
    flat: list[str] = []  # the flat values' entries, in flatten's order
    sections = iter(range(1, 1 << 30))

    def section(tree: dict, prefix: str, name: str, indent: str) -> bool:
        """Lines filling dict `name` from the cells; False when a required field has no column."""
        lines.append(f"{indent}{name} = {{}}")
        for key, node in tree.items():
            path = prefix + key
            if isinstance(node, FieldSpec):
                index = place.get(path)
                if index is None:
                    if node.required:
                        return False
                    flat.append(f"{path!r}: None")
                    continue
                lines.append(f"{indent}v = c[{index}]")
                lines.append(f"{indent}if {present}:")
                convert = converters[index]
                if convert is not None:
                    namespace[f"_c{index}"] = convert
                    lines.append(f"{indent}    v = _c{index}(v)")
                lines.extend(_check_lines(node, f"x{index}", f"{indent}    ", namespace, str(index)))
                lines.append(f"{indent}    {name}[{key!r}] = x{index}")
                lines.append(f"{indent}else:")
                lines.append(f"{indent}    {'raise _GIVE_UP' if node.required else f'x{index} = None'}")
                flat.append(f"{path!r}: " + (f"None if x{index} is None else tuple(x{index})"
                                             if node.type.name == LIST else f"x{index}"))
            else:
                inner = f"s{next(sections)}"
                if not section(node, path + ".", inner, indent):
                    return False
                lines.append(f"{indent}if {inner}:")
                lines.append(f"{indent}    {name}[{key!r}] = {inner}")
                if _required_inside(node):
                    lines.append(f"{indent}else:")
                    lines.append(f"{indent}    raise _GIVE_UP")
        return True

    if not section(declared.tree, "", "s0", "        "):
        return None  # a required field no column holds: every row needs the nested way
    # A ValueError or TypeError (a converter's, a date's) is a row the nested way takes, too.
    source = (f"def parse(c):\n    if len(c) != {len(columns)}:\n        return None\n    try:\n"
              + "".join(f"{line}\n" for line in lines)
              + "    except (_GiveUp, ValueError, TypeError):\n        return None\n"
              + "    return s0, {" + ", ".join(flat) + "}\n")
    exec(compile(source, "<input cells>", "exec"), namespace)  # noqa: S102 - declared names only
    return namespace["parse"]


def _check_lines(spec: FieldSpec, target: str, indent: str, namespace: dict[str, Any], tag: str) -> list[str]:
    """Generated lines that check the JSON-style value `v` as `_leaf(spec)` checks it and set
    `target` to the typed value, or raise _GIVE_UP: integers, booleans and plain text written
    out; anything else (or any text the short check is not sure of) through the closures."""
    kind = spec.type.name
    if kind == INTEGER:
        low, high = spec.minimum, spec.maximum
        namespace[f"_lo{tag}"] = -10 ** MAX_DIGITS + 1 if low is None else max(-10 ** MAX_DIGITS + 1, low)
        namespace[f"_hi{tag}"] = 10 ** MAX_DIGITS - 1 if high is None else min(10 ** MAX_DIGITS - 1, high)
        return [f"{indent}if v.__class__ is not int or not _lo{tag} <= v <= _hi{tag}:",
                f"{indent}    raise _GIVE_UP",
                f"{indent}{target} = v"]
    if kind == BOOLEAN:
        return [f"{indent}if v.__class__ is not bool:", f"{indent}    raise _GIVE_UP", f"{indent}{target} = v"]
    if kind == LIST:
        namespace[f"_f{tag}"] = _generated_list(spec)
        return [f"{indent}{target} = _f{tag}(v)"]
    namespace[f"_f{tag}"] = _leaf(spec)
    if kind not in (ENUM, STRING):
        return [f"{indent}{target} = _f{tag}(v)"]
    # plain ASCII text that passes every test at once is taken as it is; other text (non-ASCII:
    # the lone surrogate test) goes through the fast path's own check, which says the same or gives up
    tests = ["v.__class__ is str", "v.isascii()"]
    if spec.max_length is not None:
        tests.append(f"len(v) <= {int(spec.max_length)}")
    if kind == ENUM:
        namespace[f"_in{tag}"] = frozenset(spec.type.values or ())
        tests.append(f"v in _in{tag}")
    if spec.pattern:
        namespace[f"_re{tag}"] = re.compile(anchored(spec.pattern)).match
        tests.append(f"_re{tag}(v) is not None")
    return [f"{indent}{target} = v if {' and '.join(tests)} else _f{tag}(v)"]


def _generated_list(spec: FieldSpec) -> Callable[[Any], list]:
    """`_list(spec)` with a list of records' items checked by a generated section (`_section`'s
    rules written out per field); a list of values as `_list` has it."""
    return _list(spec, _generated_section)


def _generated_section(fields: dict[str, FieldSpec]) -> Callable[[Any], dict]:
    """`_section` of a record's fields (no sections inside) as generated code: the same tests in
    the same order, giving the same dict or giving up at the same inputs."""
    namespace: dict[str, Any] = {"_GIVE_UP": _GIVE_UP, "_ABSENT": _ABSENT, "_known": frozenset(fields)}
    lines = ["if raw.__class__ is not dict or not raw.keys() <= _known:", "    raise _GIVE_UP",
             "out = {}", "get = raw.get"]
    for index, (key, spec) in enumerate(fields.items()):
        lines += [f"v = get({key!r}, _ABSENT)", "if v is None or v is _ABSENT:"]
        lines += ["    raise _GIVE_UP"] if spec.required else ["    if v is None:", f"        out[{key!r}] = None"]
        lines.append("else:")
        lines += _check_lines(spec, f"out[{key!r}]", "    ", namespace, str(index))
    source = "def section(raw):\n" + "".join(f"    {line}\n" for line in lines) + "    return out\n"
    exec(compile(source, "<input record>", "exec"), namespace)  # noqa: S102 - declared names only
    return namespace["section"]
