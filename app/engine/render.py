"""A decision and its trace as canonical JSON text, at about the cost of a copy.

`canonical_json(trace.to_dict())` builds a dictionary per rule, row and bin and then sorts and
encodes every key of every one of them, for every decision, although the ids, names, kinds and
hit policies are the same each time. Here a policy's trace is rendered by a function generated
once per policy (like its conditions: language/compiler.py): the static parts are string
constants with their keys already in sorted order, and a decision adds only what varies: the
matched flags, the chosen rows and bins, and each value read, encoded once however many rules
read it.

The text is byte for byte `canonical_json` of the same `to_dict()`: a property test compares the
two on generated applicants (tests/engine/test_render.py). A value that is not a plain string,
integer, decimal, boolean or null is handed to `canonical_json` itself, and so is every part
that is small or rare (the limit, the models), so an unusual value is encoded exactly as before
rather than by a second set of rules (by orjson where it writes the same bytes: `typed_json`).
The shared anti-fraud values are rendered per declaration like a rule: name, kind, window and
subject are constants, the value, its key fields and its source vary. The masked input is encoded by orjson when it holds only
what validation gives (text, integers, decimals, dates, booleans, null), for which orjson's output
is the standard library's (sorted keys, the same escapes); anything else, or anything orjson
refuses (an integer beyond 64 bits, a lone surrogate), goes to `canonical_json`.

Trace levels, for callers that ask (the service always stores `full`):
- `full`: everything `Trace.to_dict()` holds;
- `hits`: the same document with each rule set's rules reduced to those that matched, with the
  values they read: what simulations and bulk work look at;
- `none`: no trace.
"""
from __future__ import annotations

import datetime
import json
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any, Callable

import orjson

from . import model as m
from .privacy import mask
from .schema import InputSchema
from .stages import LimitResult
from .types import to_json

# A Trace, a Decision and a PolicyRef (decision.py, which imports this module).
Trace = Decision = PolicyRef = Any

FULL, HITS, NONE = "full", "hits", "none"
TRACE_LEVELS = (FULL, HITS, NONE)

_encode: Callable[[str], str] = encode_basestring  # json.dumps' own, for ensure_ascii=False


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits, never 1E+3
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def at_level(trace: dict, level: str) -> dict | None:
    """A stored full trace document (what `Trace.to_dict()` gives, as read back from its JSON)
    at another level: `full` as it is, `hits` with each rule set's rules reduced to those that
    matched (what `Trace.to_dict(HITS)` gives: tests/engine/test_render.py), `none` no trace.
    A stored decision keeps only its full trace, so an answer at a lower level is cut from it,
    the same way whether the decision was just made or read back for a retried request."""
    if level == FULL:
        return trace
    if level == NONE:
        return None
    if level != HITS:
        raise ValueError(f"trace level must be one of {', '.join(TRACE_LEVELS)}, not {level!r}")
    return {**trace, "stages": [
        {**stage, "rules": [rule for rule in stage["rules"] if rule["matched"]]}
        if stage.get("kind") == "ruleset" else stage
        for stage in trace["stages"]]}


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no insignificant spaces, UTF-8 text kept as is;
    decimals as exact strings, dates as ISO strings."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_json_default)


# --- the input as received, masked -------------------------------------------------------------
# The classes a typed input holds (validation.py gives nothing else). orjson encodes these as
# json.dumps does (sorted keys, the same escapes); it would write floats differently (1e-05 as
# 0.00001), so an input holding anything else is encoded by canonical_json.
_TYPED = frozenset({str, int, bool, type(None), Decimal, datetime.date, datetime.datetime,
                    datetime.time})
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _typed_default(value: Any) -> str:
    if value.__class__ is Decimal:
        return format(value, "f")
    return value.isoformat()  # a date, a datetime or a time: what to_json gives


def _only_typed(document: dict) -> bool:
    """Whether a typed input holds only dicts with text keys, lists and _TYPED values."""
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if node.__class__ is dict:
            for key in node:
                if key.__class__ is not str:
                    return False
            node = node.values()
        for value in node:
            cls = value.__class__
            if cls is dict or cls is list or cls is tuple:
                stack.append(value)
            elif cls not in _TYPED:
                return False
    return True


def typed_json(obj: Any) -> str:
    """canonical_json(obj), by orjson when obj is a dict or list holding only dicts with text
    keys, lists and _TYPED values (what it encodes as json.dumps does), else by canonical_json:
    the parts of a trace that vary and are encoded whole (the shared values, a probe's
    positions, the limit). A float, an integer beyond 64 bits, a lone surrogate: canonical_json."""
    cls = obj.__class__
    if (cls is dict or cls is list) and _only_typed(obj):
        try:
            return orjson.dumps(obj, default=_typed_default, option=_ORJSON).decode()
        except TypeError:  # orjson.JSONEncodeError
            pass
    return canonical_json(obj)


def personal_paths(schema: InputSchema) -> tuple[tuple[list[str], str], ...]:
    """(keys of the path, kind) of every personal data field of an input declaration."""
    return tuple((path.split("."), kind) for path, kind in schema.pii_fields().items())


def input_json(schema: InputSchema, typed: dict,
               personal: tuple[tuple[list[str], str], ...] | None = None) -> str:
    """canonical_json(schema.mask(typed)): the typed input with its personal data masked,
    encoded by orjson after copying only the sections that hold personal data (`personal`:
    personal_paths(schema), when the caller keeps it)."""
    if not _only_typed(typed):
        return canonical_json(schema.mask(typed))
    masked = typed
    for keys, kind in personal_paths(schema) if personal is None else personal:
        masked = _masked_at(masked, keys, kind)
    try:
        return orjson.dumps(masked, default=_typed_default, option=_ORJSON).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a lone surrogate
        return canonical_json(schema.mask(typed))


def _masked_at(section: dict, keys: list[str], kind: str) -> dict:
    """A copy of section with the value at keys masked as InputSchema.mask masks it (only
    through nested dicts, as it walks); section itself when there is nothing to mask."""
    key = keys[0]
    value = section.get(key)
    if value is None:
        return section
    if len(keys) > 1:
        if value.__class__ is not dict:
            return section
        inner = _masked_at(value, keys[1:], kind)
        return section if inner is value else {**section, key: inner}
    return {**section, key: mask(kind, str(value))}


def value_json(value: Any) -> str:
    """One value as canonical JSON text; a value as the trace holds it is first made JSON-ready
    by to_json, as Trace.shown does."""
    cls = value.__class__
    if cls is str:
        return _encode(value)
    if cls is int:
        return int.__repr__(value)
    if cls is Decimal:
        return '"' + format(value, "f") + '"'  # digits, sign and point: nothing to escape
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    shown = to_json(value)  # a date as its text, a list of records as lists and dicts, ...
    return _encode(shown) if shown.__class__ is str else typed_json(shown)


# --- the generated renderer ---------------------------------------------------------------------
class _Source:
    """The pieces of one "".join: string constants (adjacent ones merged) and expressions."""

    def __init__(self) -> None:
        self.pieces: list[tuple[bool, str]] = []  # (is constant, text or expression)

    def const(self, text: str) -> None:
        if self.pieces and self.pieces[-1][0]:
            self.pieces[-1] = (True, self.pieces[-1][1] + text)
        else:
            self.pieces.append((True, text))

    def expr(self, code: str) -> None:
        self.pieces.append((False, code))

    def code(self) -> str:
        if not self.pieces:
            return "''"
        return '"".join((' + ", ".join(repr(t) if c else t for c, t in self.pieces) + ",))"


class _Generator:
    """Writes the source of one policy's trace renderer at one level."""

    def __init__(self, parts: m.PolicyParts, level: str):
        self.parts = parts
        self.level = level
        self.lines: list[str] = []
        self.names: dict[str, Any] = {}   # objects the generated code refers to
        self.values: dict[str, str] = {}  # path -> local variable holding its JSON text

    def ref(self, obj: Any) -> str:
        name = f"_o{len(self.names)}"
        self.names[name] = obj
        return name

    def value(self, path: str) -> str:
        """The variable holding a value's JSON text, computed once at the top."""
        name = self.values.get(path)
        if name is None:
            name = self.values[path] = f"a{len(self.values)}"
            if self.parts.pii_kinds.get(path):  # masked: as Trace.shown shows it
                self.lines.append(f"{name} = V(sh({path!r}))")
            else:  # value_json, its two commonest cases written out (no call)
                self.lines.append(f"v = g({path!r})")
                self.lines.append(f"{name} = (E(v) if v.__class__ is str else R(v) "
                                  "if v.__class__ is int else V(v))")
        return name

    def reads(self, out: _Source, paths: Any) -> None:
        """A dict keyed by path (duplicates once, in sorted order, as to_dict's comprehension
        and canonical_json's sort give)."""
        out.const("{")
        for number, path in enumerate(sorted(set(paths))):
            out.const(("," if number else "") + _encode(path) + ":")
            out.expr(self.value(path))
        out.const("}")

    def source(self) -> str:
        parts = self.parts
        out = _Source()
        out.const('{"engine":')
        out.expr("E(t.backend)")
        out.const(',"features":')
        self.reads(out, [f.name for f in parts.features])
        out.const(',"input":')
        out.expr(f"I(t.parts.input_schema, t.typed, {self.ref(personal_paths(parts.input_schema))})")
        out.const(',"limit":')
        if parts.limit is None:
            out.expr("C(t._limit())")
        else:
            caps = self.ref(_ids(parts.limit.caps))
            rounding = self.ref(value_json(parts.limit.round_down_to))
            out.expr(f"L(t, {caps}, {rounding})")
        if parts.models:
            out.const(',"models":')
            out.expr("C(t._models())")
        out.const(',"policy":')
        out.expr("P(t.policy)")
        if parts.requirements:
            out.const(',"requirements":[')
            for index, requirement in enumerate(parts.requirements):
                self.requirement(out, index, requirement)
            out.const("]")
        if parts.shared:  # the anti-fraud values of shared state (Trace._shared)
            out.const(',"shared":[')
            self.lines.append("src = t.sources.get")
            for index, declared in enumerate(parts.shared):
                self.shared(out, index, declared)
            out.const("]")
        out.const(',"stages":[')
        for index, stage in enumerate(parts.stages):
            out.const("," if index else "")
            self.lines.append(f"s{index} = st[{index}]")
            if stage.kind == "ruleset":
                self.ruleset(out, index, stage)
            elif stage.kind == "table":
                self.table(out, index, stage)
            else:
                self.scorecard(out, index, stage)
        out.const("]}")
        body = "".join(f"    {line}\n" for line in self.lines)
        return ("def render(t):\n    g = t.values.get\n    sh = t.shown\n    st = t.stages\n"
                "    rq = t.requirements\n" + body + "    return " + out.code() + "\n")

    def shared(self, out: _Source, index: int, declared: Any) -> None:
        """One entry of Trace._shared: its name, kind, window and subject are constants; the
        value, the key fields as shown and the source vary. Members in sorted order, as
        canonical_json writes the dict."""
        static: dict[str, Any] = {"name": declared.name, "kind": declared.kind, "window": declared.window}
        if declared.kind == "list":
            static["list"] = declared.subject
        elif declared.kind in ("count", "distinct", "days_since"):
            static[{"count": "events", "distinct": "distinct", "days_since": "outcome"}[declared.kind]] = \
                declared.subject
        members = sorted([*static, "value", "key", "source"])
        out.const("," if index else "")
        for number, member in enumerate(members):
            out.const(("{" if number == 0 else ",") + _encode(member) + ":")
            if member == "value":  # as the engine holds it (never masked): value_json of it
                out.expr(f"V(g({declared.name!r}))")
            elif member == "key":
                self.reads(out, declared.keys)
            elif member == "source":
                out.expr(f"V(src({declared.name!r}))")
            else:
                out.const(value_json(static[member]))
        out.const("}")

    def requirement(self, out: _Source, index: int, requirement: m.Requirement) -> None:
        head = ("," if index else "") + '{"applies":'
        rid = ',"id":' + _encode(requirement.id) + ',"met":'
        by_state = {m.NOT_APPLICABLE: head + "false" + rid + 'null,"missing":',
                    m.MET: head + "true" + rid + 'true,"missing":',
                    m.UNMET: head + "true" + rid + 'false,"missing":'}
        states = self.ref(by_state)
        out.expr(f"{states}[rq[{index}]]")
        out.expr(f"(M({self.ref(requirement.fields)}, g) if rq[{index}] == {m.UNMET} else '[]')")
        out.const(',"read":')
        self.reads(out, requirement.reads)
        out.const("}")

    def ruleset(self, out: _Source, index: int, stage: m.Stage) -> None:
        ruleset = stage.target
        out.const('{"conflict":')
        out.expr(f"X(s{index})")
        out.const(',"hit_policy":' + _encode(ruleset.hit_policy) + ',"id":' + _encode(stage.id)
                  + ',"kind":"ruleset","outputs":')
        self.reads(out, stage.outputs)
        out.const(',"rules":[')
        self.lines.append(f"m{index} = s{index}.matched")
        if self.level == FULL:
            for position, rule in enumerate(ruleset.rules):
                self.rule(out, index, position, rule, "," if position else "")
        else:  # the matched rules only: each with a leading comma, the first one cut off
            rules = _Source()
            for position, rule in enumerate(ruleset.rules):
                one = _Source()
                self.rule(one, index, position, rule, ",")
                rules.expr(f"({one.code()} if m{index}[{position}] else '')")
            out.expr(f"{rules.code()}[1:]")
        out.const('],"ruleset":' + _encode(ruleset.name) + ',"selected":')
        out.expr(f"S({self.ref(_ids(ruleset.rules))}, s{index}.selected)")
        out.const("}")

    def rule(self, out: _Source, index: int, position: int, rule: m.Rule, comma: str) -> None:
        out.const(comma + '{"id":' + _encode(rule.id) + ",")
        if rule.probes:  # a dict keyed by the probes' texts: the last of a text wins, as in to_dict
            probes = {probe.text: probe for probe in rule.probes}
            out.const('"items":{')
            for number, text in enumerate(sorted(probes)):
                out.const(("," if number else "") + _encode(text) + ":")
                out.expr(f"C({self.ref(probes[text])}.positions(t.values))")
            out.const("},")
        out.const('"matched":')
        out.expr(f"('true' if m{index}[{position}] else 'false')")
        out.const(',"read":')
        self.reads(out, rule.reads)
        out.const("}")

    def table(self, out: _Source, index: int, stage: m.Stage) -> None:
        table = stage.target
        out.const('{"conflict":')
        out.expr(f"('true' if s{index}.conflict else 'false')")
        out.const(',"hit_policy":' + _encode(table.hit_policy) + ',"id":' + _encode(stage.id)
                  + ',"kind":"table","outputs":')
        self.reads(out, stage.outputs)
        out.const(',"read":')
        self.reads(out, table.inputs)
        out.const(',"rows":')
        out.expr(f"S({self.ref(_ids(table.rows))}, s{index}.rows)")
        out.const(',"table":' + _encode(table.name) + "}")

    def scorecard(self, out: _Source, index: int, stage: m.Stage) -> None:
        card = stage.target
        out.const('{"band":')
        out.expr(f"V(s{index}.band)")
        out.const(',"base_points":' + value_json(card.base_points) + ',"characteristics":[')
        for number, characteristic in enumerate(card.characteristics):
            # The text before the value, by the bin used; index -1 (no bin) is the last one.
            texts = []
            for bin_ in [*characteristic.bins, None]:
                points = bin_.points if bin_ else 0
                texts.append(("," if number else "") + '{"bin":'
                             + (_encode(bin_.id) if bin_ else "null") + ',"id":'
                             + _encode(characteristic.id) + ',"lost":'
                             + value_json(characteristic.best_points - points) + ',"points":'
                             + value_json(points) + ',"value":')
            out.expr(f"{self.ref(tuple(texts))}[s{index}.picked[{number}]]")
            out.expr(self.value(characteristic.input))
            out.const("}")
        out.const('],"id":' + _encode(stage.id) + ',"kind":"scorecard",')
        if stage.pd_name is not None:
            scaling = card.scaling
            out.const('"pd":')
            out.expr(f"C(g({stage.pd_name!r}))")
            out.const(',"scaling":' + canonical_json(
                {"pdo": scaling.pdo, "odds": scaling.odds, "points": scaling.points}) + ",")
        out.const('"score":')
        out.expr(f"V(s{index}.score)")
        out.const(',"scorecard":' + _encode(card.name) + "}")


def _conflict(result: Any) -> str:
    if not result.conflict:
        return "null"
    rules = result.stage.target.rules
    return canonical_json([rules[i].id for i, hit in enumerate(result.matched) if hit])


def _selected(ids: tuple[str, ...], positions: Any) -> str:
    """canonical_json of the ids at positions; `ids` holds each item's id already as JSON text."""
    return "[" + ",".join([ids[i] for i in positions]) + "]"


def _ids(items: Any) -> tuple[str, ...]:
    return tuple(value_json(item.id) for item in items)


def _limit(trace: Trace, caps: tuple[str, ...], round_down_to: str) -> str:
    """canonical_json(trace._limit()), the keys in sorted order; `caps` holds each cap's id and
    `round_down_to` the policy's rounding, already as JSON text."""
    result = trace.limit
    if result is None:
        return "null"
    if result.__class__ is not LimitResult:
        return canonical_json(trace._limit())
    V = value_json
    return ('{"base":' + V(result.base) + ',"before_rounding":' + V(result.before_rounding)
            + ',"binding_cap":' + V(result.binding_cap) + ',"caps":['
            + ",".join(['{"id":' + cap + ',"value":' + V(value) + "}"
                        for cap, value in zip(caps, result.caps)])
            + '],"limit":' + V(result.limit) + ',"minimum":' + V(result.minimum)
            + ',"round_down_to":' + round_down_to + "}")


def _missing(fields: tuple[str, ...], get: Callable[[str], Any]) -> str:
    return canonical_json([path for path in fields if get(path) is None])


_POLICIES: dict[PolicyRef, str] = {}
_REASONS: dict[Any, str] = {}


def _reason(reason: Any) -> str:
    """canonical_json(reason.to_dict()), kept: a policy gives a bounded set of reasons (a code,
    its texts, the action and the stage and rule it came from), the same decision after decision."""
    try:
        text = _REASONS.get(reason)
    except TypeError:  # a reason holding something unhashable: encoded as it is, not kept
        return canonical_json(reason.to_dict())
    if text is None:
        if len(_REASONS) > 10000:  # versions come and go in a long-lived worker
            _REASONS.clear()
        text = _REASONS[reason] = canonical_json(reason.to_dict())
    return text


def _policy(ref: PolicyRef) -> str:
    text = _POLICIES.get(ref)
    if text is None:
        if len(_POLICIES) > 1000:  # versions come and go in a long-lived worker
            _POLICIES.clear()
        text = _POLICIES[ref] = canonical_json(ref.identity())
    return text


_HELPERS = {"V": value_json, "C": typed_json, "I": input_json, "E": _encode,
            "X": _conflict, "S": _selected, "M": _missing, "P": _policy, "L": _limit,
            "R": int.__repr__}


def renderer(parts: m.PolicyParts, level: str = FULL) -> Callable[[Trace], str]:
    """The generated trace renderer of a policy at a level, built once and kept on the parts
    object (which lives as long as the policy)."""
    cache = parts.__dict__.setdefault("_trace_renderers", {})
    found = cache.get(level)
    if found is None:
        generator = _Generator(parts, level)
        source = generator.source()
        namespace = {**_HELPERS, **generator.names}
        exec(compile(source, f"<trace of {parts.name} {level}>", "exec"), namespace)  # noqa: S102
        found = cache[level] = namespace["render"]
    return found


def trace_json(trace: Trace, level: str = FULL) -> str:
    """canonical_json(trace.to_dict(level)) for `full` and `hits`."""
    if level not in (FULL, HITS):
        raise ValueError(f"no trace to render at level {level!r}")
    return renderer(trace.parts, level)(trace)


def decision_json(decision: Decision) -> str:
    """canonical_json(decision.to_dict())."""
    trace = decision.trace
    outputs = trace.parts.outputs
    return ('{"customer_group":' + value_json(decision.customer_group)
            + ',"engine":' + _encode(decision.backend)
            + ',"limit":' + value_json(decision.limit)
            + ',"outcome":' + _encode(decision.outcome)
            + ',"outputs":' + (canonical_json(trace.shown_outputs(decision.outcome))
                               if outputs else "{}")
            + ',"policy":' + _policy(decision.policy)
            + ',"reasons":[' + ",".join([_reason(r) for r in decision.reasons]) + "]"
            + ',"score":' + value_json(decision.score)
            + ',"score_band":' + value_json(decision.score_band) + "}")
