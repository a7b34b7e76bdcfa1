"""The durable_rules backend: matches one rule set's rules with durable_rules 2.0.28.

Each rule's condition (the negation normal form of `app.engine.language.conditions`) becomes a
durable_rules rule in its JSON form; a decision asserts one fact holding the values the rules read
in a fresh session, collects the rules whose actions ran, and deletes the session. Hit policies,
tables, scorecards and the outcome stay in the shared engine code: only matching differs.

durable_rules has sharp edges (measured in docs/durable.md); each is made impossible here:

* **A fact that matches no rule, then deleting the session, segfaults the process.** Every
  durable ruleset has a catch-all rule on the marker field that every fact carries, so every fact
  is handled. If the engine still reports "not handled" (or any other error) for a session, that
  session is *not* deleted (deleting is what crashes); the host is retired and rebuilt instead.
* **Undeleted sessions end in MemoryError (after 1,024 of them).** Every session is deleted in a
  `finally`; sessions that could not be deleted safely are counted, and their host is replaced.
* **The state fact matches rules too** (a rule on `sid`, or `$nex`, re-fires on every action's
  state update: an endless loop, the "sid hang"). Every rule requires the marker field, which the
  state fact never has, and user fields reach the engine only under generated names (`v0`, `v1`,
  ...), so no user field is ever named `sid`, `id` or `$s`.
* **A string compares greater than any number, and numbers are doubles or 64-bit integers.**
  Every value is sent as a string in an order-preserving encoding of its declared type (exact
  decimal keys for numbers, YYYYMMDD for dates, UTF-8 hex for text), after checking that the
  Python value has that type; a mismatch raises `DurableInputError`. A string never meets a number
  and a Decimal is never rounded.
* **Errors are bare numbers.** They are translated into diagnostics naming the rules and files.
* **A two-parameter action is run as asynchronous.** Actions are built here with exactly one
  parameter (checked), and a swallowed exception inside an action is raised.
* **The ruleset registry is global by name** (`durable.lang`). It is not used: each matcher owns
  its own `Host`, with ruleset names made unique per matcher key and generation, so a reload never
  meets an old name. The host's background timer threads (which would dispatch actions
  concurrently with a decision) are not started.
* **Thread safety**: the C engine and the action bookkeeping are guarded by one lock per matcher
  (gunicorn's threaded workers share the policy's matchers).
* **Size limits** (about 512 condition nodes per ruleset before it hangs, 64 distinct fields read
  per ruleset before error 303, 4,096 and-of-or combinations per rule before error 113, a value's
  length kept in 16 bits): rules are split across several durable rulesets within safe budgets,
  long values are cut where the comparison is already decided, and a single rule beyond the
  budgets is a load-time diagnostic.
* **C memory per ruleset (about 0.3 MiB) that Python does not see** is freed by `close()` and on
  garbage collection, so reloading policies does not grow the process.
"""
from __future__ import annotations

import datetime as _dt
import functools
import itertools
import json
import re
import threading
from decimal import Decimal
from typing import Any, Callable, Sequence

from ..errors import Diagnostic, Location, PolicyError
from ..language import conditions as c

__all__ = ["DurableMatcher", "DurableError", "DurableInputError", "check_expressible",
           "encode_value", "ENGINE_ERROR_CODES"]

# --- limits (measured on durable_rules 2.0.28; see docs/durable.md) -------------------------------
MAX_NODES_PER_RULESET = 400      # the engine hangs at 512 distinct condition nodes in a ruleset
MAX_FIELDS_PER_RULESET = 48      # error 303 (and a segfault on cleanup) past 64 fields read
MAX_PATHS_PER_RULE = 1024        # error 113 past 4,096 and-of-or combinations
MAX_LIVE_SESSIONS = 256          # the engine raises MemoryError at 1,024 live sessions
MAX_VALUE_KEY = 60_000           # the engine keeps a value's length in 16 bits (65,535 bytes)

MARKER_FIELD = "q"
MARKER_VALUE = "firefly"

# The engine's error numbers (durable_rules src/rules/rules.h) and what they mean here.
ENGINE_ERROR_CODES = {
    1: "the fact matched no rule (not handled)",
    2: "the fact was already observed",
    101: "out of memory",
    102: "unexpected type in a rule definition",
    103: "identifier too long",
    104: "unexpected value in a rule definition",
    105: "unexpected name in a rule definition",
    106: "too many rules",
    113: "the condition has too many and/or combinations",
    201: "malformed value",
    202: "malformed string (or an unknown operator in a rule definition)",
    203: "malformed number",
    204: "malformed object",
    205: "malformed array",
    302: "too many properties in the fact",
    303: "too many fields read by the rule set",
    309: "unknown session (sid)",
    310: "no action available",
    311: "property not found",
    312: "operation not supported",
}

_CODE = re.compile(r"error code: (\d+)")


class DurableError(RuntimeError):
    """durable_rules failed on a decision or a rule set: carries diagnostics naming the rules."""

    def __init__(self, diagnostics: Sequence[Diagnostic], engine_code: int | None = None):
        self.diagnostics = list(diagnostics)
        self.engine_code = engine_code
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class DurableInputError(TypeError):
    """A value whose Python type is not the declared type of its field."""


# --- value encoding: every value a string whose order is the order of the typed value -----------
_EXP_OFFSET = 10 ** 19


def _number_key(value: Decimal) -> str:
    """An exact, order-preserving string for a finite number: '0...' negative, '1' zero,
    '2...' positive; then the decimal exponent (fixed width) and the significant digits."""
    sign, digits, exponent = value.as_tuple()
    digits = list(digits)
    while digits and digits[-1] == 0:          # trailing zeros carry no value
        digits.pop()
        exponent += 1
    while digits and digits[0] == 0:           # leading zeros (only for zero itself)
        digits.pop(0)
    if not digits:
        return "1"
    adjusted = exponent + len(digits) - 1
    if sign == 0:
        return "2" + f"{adjusted + _EXP_OFFSET:020d}" + "".join(map(str, digits))
    inverted = "".join(str(9 - d) for d in digits)
    return "0" + f"{_EXP_OFFSET - adjusted:020d}" + inverted + ":"   # ':' sorts after '9'


def _text_key(value: str) -> str:
    """Hex of the UTF-8 bytes (lone surrogates kept as their three-byte form): UTF-8 byte order
    is code point order, which is Python's str order, and the key holds nothing the engine would
    escape or cut at NUL."""
    return value.encode("utf-8", "surrogatepass").hex()


_KIND = {"integer": "number", "decimal": "number", "number": "number", "date": "date",
         "string": "text", "enum": "text", "boolean": "boolean", "list": "list"}


def _kind(type_name: str) -> str:
    kind = _KIND.get(type_name)
    if kind is None:
        raise DurableInputError(f"unknown type {type_name!r}")
    return kind


def encode_value(value: Any, type_name: str) -> str:
    """The engine-side string for a typed value; raises DurableInputError on a type mismatch."""
    kind = _kind(type_name)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise DurableInputError(f"expected a number (int or Decimal), got {type(value).__name__}")
        number = Decimal(value) if isinstance(value, int) else value
        if not number.is_finite():
            raise DurableInputError(f"expected a finite number, got {value}")
        return _number_key(number)
    if kind == "date":
        if not isinstance(value, _dt.date) or isinstance(value, _dt.datetime):
            raise DurableInputError(f"expected a date, got {type(value).__name__}")
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    if kind == "text":
        if not isinstance(value, str):
            raise DurableInputError(f"expected text, got {type(value).__name__}")
        return _text_key(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise DurableInputError(f"expected true/false, got {type(value).__name__}")
        return "t" if value else "f"
    if not isinstance(value, (tuple, list, frozenset, set)):
        raise DurableInputError(f"expected a list, got {type(value).__name__}")
    return "l"   # lists are only tested for presence


def _constant_key(value: Any, type_name: str) -> str:
    """encode_value for a rule's constant. A rule set's constants are encoded several times while
    it is checked, planned and built, so their keys are kept (by type as well as value: True == 1,
    yet True is no integer)."""
    try:
        return _constant_keys(value.__class__, value, type_name)
    except TypeError:  # an unhashable value, or DurableInputError (a TypeError): encode as is
        return encode_value(value, type_name)


@functools.lru_cache(maxsize=4096)
def _constant_keys(_type: type, value: Any, type_name: str) -> str:
    return encode_value(value, type_name)


# --- translating conditions ----------------------------------------------------------------------
_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "==": "$eq", "!=": "$neq"}


def _times(node) -> str | None:
    """The path of a datetime or time field an atom reads, or None."""
    refs = [node.field] if isinstance(node, (c.Presence, c.Member)) else \
        [node.left, node.right] if isinstance(node, c.Compare) else []
    for ref in refs:
        if ref.type_name in ("datetime", "time"):
            return getattr(ref, "path", str(getattr(ref, "value", "")))
    return None


class _Unsupported(Exception):
    def __init__(self, message: str, location: Location | None):
        super().__init__(message)
        self.location = location


def _check_condition(node) -> None:
    """Raise _Unsupported for anything durable cannot express."""
    if isinstance(node, (c.AllOf, c.AnyOf)):
        if not node.items:
            raise _Unsupported("an empty and/or", None)
        for item in node.items:
            _check_condition(item)
    elif isinstance(node, c.Always):
        return
    elif isinstance(node, c.Computed) and node.over:
        raise _Unsupported(f"'{node.source}' goes over the list '{node.over}'; durable_rules "
                           "matches single values only: count or test the items in a feature "
                           "and compare the feature", node.location)
    elif isinstance(node, c.Computed):
        raise _Unsupported(f"the condition computes a value ('{node.source}'); durable_rules can "
                           "only compare fields with constants or fields: move the computation "
                           "into a feature and compare the feature", node.location)
    elif _times(node):
        raise _Unsupported(f"'{_times(node)}' is a date and time or a time of day; durable_rules "
                           "compares numbers, dates and text only: compare a feature such as "
                           "hour(...) or days_between(...)", node.location)
    elif isinstance(node, c.Presence):
        _kind(node.field.type_name)
    elif isinstance(node, c.Compare):
        if node.op not in _OPS:
            raise _Unsupported(f"unknown operator {node.op!r}", node.location)
        left = _kind(node.left.type_name)
        right = _kind(node.right.type_name)
        if left == "list" or right == "list":
            raise _Unsupported(f"'{node.left.path}' compares a list; durable_rules cannot: "
                               "compute what you need in a feature", node.location)
        if left != right:
            raise _Unsupported(f"'{node.left.path}' ({node.left.type_name}) is compared with a "
                               f"{node.right.type_name}", node.location)
        if left == "boolean" and node.op not in ("==", "!="):
            raise _Unsupported(f"true/false '{node.left.path}' can only be compared with == or !=",
                               node.location)
        if isinstance(node.right, c.Const):
            try:
                key = _constant_key(node.right.value, node.left.type_name)
            except DurableInputError as exc:
                raise _Unsupported(f"constant {node.right.value!r}: {exc}", node.location)
            if len(key) > MAX_VALUE_KEY // 2:
                raise _Unsupported("a constant too long for durable_rules to compare",
                                   node.location)
    elif isinstance(node, c.Member):
        kind = _kind(node.field.type_name)
        if kind == "list":
            raise _Unsupported(f"'{node.field.path}' is a list; membership in a list field needs "
                               "a feature", node.location)
        for value in node.values:
            try:
                key = _constant_key(value, node.field.type_name)
            except DurableInputError as exc:
                raise _Unsupported(f"list value {value!r} for '{node.field.path}': {exc}",
                                   node.location)
            if len(key) > MAX_VALUE_KEY // 2:
                raise _Unsupported("a list value too long for durable_rules to compare",
                                   node.location)
    else:
        raise _Unsupported(f"unknown condition node {type(node).__name__}", None)


def _paths(node) -> int:
    """How many and-of-or combinations the engine expands the condition into."""
    if isinstance(node, c.AllOf):
        total = 1
        for item in node.items:
            total *= _paths(item)
        return total
    if isinstance(node, c.AnyOf):
        return sum(_paths(item) for item in node.items)
    if isinstance(node, c.Member) and not node.negated:
        return max(1, len(node.values))
    return 1


class _Translator:
    """Builds the durable JSON of conditions; field paths map to generated names."""

    def __init__(self, names: dict[str, str]):
        self.names = names

    def name(self, path: str) -> str:
        return self.names[path]

    def expr(self, node) -> dict:
        if isinstance(node, c.AllOf):
            return {"$and": [self.expr(item) for item in node.items]}
        if isinstance(node, c.AnyOf):
            return {"$or": [self.expr(item) for item in node.items]}
        if isinstance(node, c.Always):
            # true: the marker (every fact has it); false: the marker is absent (never).
            return {MARKER_FIELD: MARKER_VALUE} if node.value else {"$nex": {MARKER_FIELD: 1}}
        if isinstance(node, c.Presence):
            return {"$ex" if node.present else "$nex": {self.name(node.field.path): 1}}
        if isinstance(node, c.Compare):
            left = self.name(node.left.path)
            if isinstance(node.right, c.FieldRef):
                right = self.name(node.right.path)
                # both sides must be present (the engine's property compare is not relied on)
                return {"$and": [{"$ex": {left: 1}}, {"$ex": {right: 1}},
                                 {_OPS[node.op]: {left: {"$m": right}}}]}
            encoded = _constant_key(node.right.value, node.left.type_name)
            if node.op == "==":
                return {left: encoded}
            return {_OPS[node.op]: {left: encoded}}
        if isinstance(node, c.Member):
            field = self.name(node.field.path)
            encoded = sorted({_constant_key(v, node.field.type_name) for v in node.values})
            if not node.negated:
                if not encoded:
                    return {"$nex": {MARKER_FIELD: 1}}        # in (): never
                if len(encoded) == 1:
                    return {field: encoded[0]}
                return {"$or": [{field: v} for v in encoded]}
            tests = [{"$ex": {field: 1}}] + [{"$neq": {field: v}} for v in encoded]
            return {"$and": tests}
        raise _Unsupported(f"unknown condition node {type(node).__name__}", None)


def _nodes(expr: dict, into: set) -> None:
    """Distinct condition nodes of a durable expression (what the engine's node table holds)."""
    for key, value in expr.items():
        if key in ("$and", "$or"):
            for item in value:
                _nodes(item, into)
        else:
            into.add(json.dumps({key: value}, sort_keys=True))


def _fields(node) -> set[str]:
    return set(c.fields_read(node)) if not isinstance(node, c.Always) else set()


def check_expressible(rules) -> list[Diagnostic]:
    """A diagnostic for each rule durable_rules cannot match (a computed atom, a list compared,
    a condition beyond the engine's size limits), naming the rule and where it is."""
    diagnostics = []
    for rule in rules:
        location = getattr(rule, "location", None)
        try:
            _check_condition(rule.condition)
            paths = _paths(rule.condition)
            if paths > MAX_PATHS_PER_RULE:
                raise _Unsupported(f"the condition expands into {paths} and/or combinations "
                                   f"(durable_rules allows {MAX_PATHS_PER_RULE} here); put part "
                                   "of it in a feature", None)
            fields = _fields(rule.condition)
            if len(fields) > MAX_FIELDS_PER_RULESET:
                raise _Unsupported(f"the condition reads {len(fields)} fields (durable_rules "
                                   f"allows {MAX_FIELDS_PER_RULESET} per rule set); split the rule "
                                   "or combine fields in a feature", None)
            nodes: set = set()
            names = {path: f"v{i}" for i, path in enumerate(sorted(fields))}
            _nodes(_Translator(names).expr(rule.condition), nodes)
            if len(nodes) + 2 > MAX_NODES_PER_RULESET:
                raise _Unsupported(f"the condition has {len(nodes)} distinct tests (durable_rules "
                                   f"allows {MAX_NODES_PER_RULESET - 2} per rule set); put a long "
                                   "list test in a feature", None)
        except _Unsupported as exc:
            diagnostics.append(Diagnostic(
                "DURABLE_UNSUPPORTED",
                f"rule {rule.id}: the durable engine cannot match this condition: {exc}",
                exc.location or location))
    return diagnostics


# --- the host ------------------------------------------------------------------------------------
def _engine():
    from durable import engine  # imported here: only policies that use durable pay for it
    return engine


def _make_host():
    engine = _engine()

    class _QuietHost(engine.Host):
        """A Host without the background dispatch/timer threads: every action of a decision
        runs inside that decision's assert, under the matcher's lock."""

        def _run(self):
            return None

    return _QuietHost()


def _one_parameter(function: Callable) -> Callable:
    """durable runs an action with two parameters asynchronously (the second is a completion
    callback): refuse anything but exactly one positional parameter."""
    code = function.__code__
    if code.co_argcount != 1 or code.co_kwonlyargcount or function.__defaults__:
        raise TypeError("a durable_rules action must take exactly one parameter")
    return function


class _Chunk:
    """One durable ruleset: some of the rule set's rules, within the engine's budgets."""

    def __init__(self, indices: list[int], fields: list[str]):
        self.indices = indices
        self.fields = fields
        self.names = {path: f"v{i}" for i, path in enumerate(fields)}
        self.ruleset_name = ""


def _plan(rules, conditions) -> list[_Chunk]:
    """Greedy packing of rules (in order) into rulesets within the field and node budgets."""
    chunks: list[_Chunk] = []
    indices: list[int] = []
    fields: list[str] = []
    nodes: set = set()
    for index, condition in enumerate(conditions):
        own = [f for f in c.fields_read(condition) if not isinstance(condition, c.Always)]
        new_fields = fields + [f for f in own if f not in fields]
        names = {path: f"v{i}" for i, path in enumerate(new_fields)}
        new_nodes = set(nodes)
        _nodes(_Translator(names).expr(condition), new_nodes)
        if indices and (len(new_fields) > MAX_FIELDS_PER_RULESET
                        or len(new_nodes) + 2 > MAX_NODES_PER_RULESET):
            chunks.append(_Chunk(indices, fields))
            indices, fields, nodes = [], [], set()
            new_fields = list(dict.fromkeys(own))
            names = {path: f"v{i}" for i, path in enumerate(new_fields)}
            new_nodes = set()
            _nodes(_Translator(names).expr(condition), new_nodes)
        indices.append(index)
        fields, nodes = new_fields, new_nodes
    if indices:
        chunks.append(_Chunk(indices, fields))
    return chunks


def _key_limits(conditions) -> dict[str, int | None]:
    """How much of each field's key the engine needs. A field compared only with constants needs
    one character more than its longest constant's key: strcmp is decided within that prefix, so
    cutting a long value there changes no result (and keeps it under the engine's 16-bit value
    length). A field compared with another field needs its whole key (None)."""
    limits: dict[str, int | None] = {}

    def need(path: str, length: int | None) -> None:
        if path in limits and limits[path] is None:
            return
        limits[path] = None if length is None else max(limits.get(path) or 0, length)

    for condition in conditions:
        for node in c.atoms(condition):
            if isinstance(node, c.Compare):
                if isinstance(node.right, c.FieldRef):
                    need(node.left.path, None)
                    need(node.right.path, None)
                else:
                    need(node.left.path, len(_constant_key(node.right.value,
                                                           node.left.type_name)) + 2)
            elif isinstance(node, c.Member):
                longest = max((len(_constant_key(v, node.field.type_name)) for v in node.values),
                              default=0)
                need(node.field.path, longest + 2)
            elif isinstance(node, c.Presence):
                need(node.field.path, 2)
    return limits


_generation = itertools.count(1)


class DurableMatcher:
    """Matches one rule set's rules with durable_rules."""

    def __init__(self, key: str, rules: Sequence) -> None:
        self.key = key
        self.rules = list(rules)
        problems = check_expressible(self.rules)
        if problems:
            raise PolicyError(problems)
        self._conditions = [rule.condition for rule in self.rules]
        self._types: dict[str, str] = {}
        for condition in self._conditions:
            for node in c.atoms(condition):
                refs = []
                if isinstance(node, c.Compare):
                    refs = [node.left] + ([node.right] if isinstance(node.right, c.FieldRef) else [])
                elif isinstance(node, (c.Member, c.Presence)):
                    refs = [node.field]
                for ref in refs:
                    self._types.setdefault(ref.path, ref.type_name)
        self._key_limits = _key_limits(self._conditions)
        self._chunks = _plan(self.rules, self._conditions)
        self._lock = threading.Lock()
        self._fired: list[int] = []
        self._sessions = itertools.count(1)
        self.abandoned_sessions = 0      # sessions left undeleted because deleting would crash
        self.hosts_built = 0
        self._host = None
        self._build_host()

    # --- building ------------------------------------------------------------------------------
    def _action(self, index: int) -> Callable:
        fired = self._fired

        def action(c):   # exactly one parameter: durable would treat two as asynchronous
            fired.append(index)
        return _one_parameter(action)

    def _build_host(self) -> None:
        host = _make_host()
        generation = next(_generation)
        definitions = {}
        for number, chunk in enumerate(self._chunks):
            chunk.ruleset_name = f"firefly:{self.key}:g{generation}:c{number}"
            translator = _Translator(chunk.names)
            definition = {}
            for index in chunk.indices:
                expr = translator.expr(self._conditions[index])
                definition[f"r{index}"] = {
                    "all": [{"m": {"$and": [{MARKER_FIELD: MARKER_VALUE}, expr]}}],
                    "run": self._action(index)}
            # The catch-all: every fact is handled (an unhandled fact + delete_state segfaults).
            definition["handled"] = {"all": [{"m": {MARKER_FIELD: MARKER_VALUE}}],
                                     "run": self._action(-1)}
            definitions[chunk.ruleset_name] = (chunk, definition)
        for name, (chunk, definition) in definitions.items():
            try:
                host.set_rulesets({name: definition})
            except Exception as exc:  # durable_rules_engine.error: "... error code: N"
                self._release(host)
                raise PolicyError(self._diagnostics(chunk, exc, "could not build the rule set"))
        self._host = host
        self._live = 0
        self.hosts_built += 1

    def _diagnostics(self, chunk: _Chunk, exc: BaseException, doing: str) -> list[Diagnostic]:
        code = _engine_code(exc)
        meaning = ENGINE_ERROR_CODES.get(code, str(exc)) if code is not None else str(exc)
        number = f" (durable_rules error {code})" if code is not None else ""
        ids = ", ".join(self.rules[i].id for i in chunk.indices)
        first = self.rules[chunk.indices[0]] if chunk.indices else None
        return [Diagnostic("DURABLE_ENGINE_ERROR",
                           f"{doing}: {meaning}{number}; rules involved: {ids}",
                           getattr(first, "location", None))]

    # --- matching ------------------------------------------------------------------------------
    def _fact(self, chunk: _Chunk, values: dict) -> dict:
        fact = {MARKER_FIELD: MARKER_VALUE}
        for path in chunk.fields:
            value = values.get(path)
            if value is None:
                continue            # missing: absent from the fact (a null would count as present)
            try:
                key = encode_value(value, self._types[path])
            except DurableInputError as exc:
                raise DurableInputError(f"{path}: {exc}") from None
            limit = self._key_limits.get(path)
            if limit is not None and len(key) > limit:
                key = key[:limit]       # compared with constants only: the prefix decides
            if len(key) > MAX_VALUE_KEY:
                raise DurableInputError(f"{path}: a value too long for durable_rules to compare "
                                        "with another field")
            fact[chunk.names[path]] = key
        return fact

    def match(self, values: dict) -> list[bool]:
        """One bool per rule, in order: whether its condition holds on these values."""
        result = [False] * len(self.rules)
        if not self.rules:
            return result
        facts = [self._fact(chunk, values) for chunk in self._chunks]  # type errors before any session
        with self._lock:
            if self._host is None:
                raise RuntimeError(f"durable matcher {self.key} is closed")
            for chunk, fact in zip(self._chunks, facts):
                for index in self._run(chunk, fact):
                    result[index] = True
        return result

    def _run(self, chunk: _Chunk, fact: dict) -> list[int]:
        host = self._host
        sid = f"s{next(self._sessions)}"
        fact["sid"] = sid
        del self._fired[:]
        safe_to_delete = False
        try:
            try:
                state = host.assert_fact(chunk.ruleset_name, fact)
            except Exception as exc:
                raise DurableError(self._diagnostics(chunk, exc, "durable_rules failed on a "
                                                     "decision"), _engine_code(exc)) from None
            if not isinstance(state, dict):
                raise DurableError(self._diagnostics(
                    chunk, RuntimeError("an action did not complete"), "durable_rules failed"))
            safe_to_delete = True
            if "exception" in state:
                raise DurableError(self._diagnostics(
                    chunk, RuntimeError(str(state["exception"])[:300]), "an action failed"))
            if -1 not in self._fired:
                raise DurableError(self._diagnostics(
                    chunk, RuntimeError("the catch-all rule did not fire"), "durable_rules failed"))
            return sorted({i for i in self._fired if i >= 0})
        finally:
            del self._fired[:]
            if safe_to_delete:
                host.delete_state(chunk.ruleset_name, sid)
            else:
                # Deleting a session the engine did not handle crashes the process: leave it, and
                # replace the host before abandoned sessions could exhaust the engine's memory.
                self.abandoned_sessions += 1
                self._live += 1
                if self._live >= MAX_LIVE_SESSIONS:
                    retired = self._host
                    self._build_host()
                    self._release(retired)

    def close(self) -> None:
        """Free the engine's rulesets. Each costs about 0.3 MiB of C memory that Python's garbage
        collector does not see, so a reloaded policy's old matchers must release theirs (done
        on garbage collection too). Matching after close raises."""
        with self._lock:
            self._release(self._host)
            self._host = None

    def __del__(self):
        try:
            self._release(getattr(self, "_host", None))
        except Exception:   # interpreter shutdown: nothing left to free
            pass

    def _release(self, host) -> None:
        if host is None:
            return
        import durable_rules_engine
        for ruleset in list(host._ruleset_list):
            handle, ruleset._handle = ruleset._handle, None
            if handle is not None:
                durable_rules_engine.delete_ruleset(handle)


def _engine_code(exc: BaseException) -> int | None:
    found = _CODE.search(str(exc))
    if found:
        return int(found.group(1))
    message = getattr(exc, "message", "")
    if isinstance(message, str) and message.startswith("Could not handle message"):
        return 1
    return None
