"""The expression language of GoRules Zen (JDM graphs), parsed and translated to Firefly's.

Only what Firefly can say exactly is translated; anything else raises `Unsupported` naming the
construct (never an approximation). Zen is dynamically typed: the translator carries a type with
every value so that it can keep Zen's meanings where Firefly's static types differ (a comparison
of values of different types is false; an unknown path reads as null).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable


class Unsupported(Exception):
    """A construct Firefly does not support; `construct` names it."""

    def __init__(self, construct: str):
        super().__init__(construct)
        self.construct = construct


# --- tokens ---------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<template>`)
  | (?P<name>[A-Za-z_$#][A-Za-z0-9_$]*)
  | (?P<op>\.\.|==|!=|<=|>=|&&|\|\||\?\?|[-+*/%^!<>?:,.()\[\]{}])
""", re.VERBOSE)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unsupported(f"the character {text[position]!r}")
        kind = match.lastgroup
        value = match.group(kind)
        position = match.end()
        if kind == "space":
            continue
        if kind == "template":
            end = text.find("`", position)
            if end < 0:
                raise Unsupported("syntax: an unclosed template string")
            tokens.append(("template", text[position:end]))
            position = end + 1
            continue
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "name" and value in ("and", "or", "not", "in", "true", "false", "null"):
            kind = "op" if value in ("and", "or", "not", "in") else value
        tokens.append((kind, value))
    tokens.append(("end", ""))
    return tokens


# --- the tree -------------------------------------------------------------------------------------
# Nodes are tuples: ("num", Decimal|int), ("str", s), ("bool", b), ("null",), ("name", id),
# ("member", obj, name), ("index", obj, node), ("call", name, [args]), ("unary", op, node),
# ("bin", op, left, right), ("cond", test, yes, no), ("array", [items]),
# ("range", low_closed, low, high, high_closed), ("object", ...)
_BINARY = {"??": 1, "or": 2, "||": 2, "and": 3, "&&": 3, "==": 4, "!=": 4, "<": 4, "<=": 4,
           ">": 4, ">=": 4, "in": 4, "not in": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "^": 7}


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        return self.tokens[min(self.at + offset, len(self.tokens) - 1)]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got != value:
            raise Unsupported(f"syntax: expected {value!r} in {self.text!r}")

    def done(self) -> bool:
        return self.peek()[0] == "end"

    def operator(self) -> str | None:
        kind, value = self.peek()
        if kind != "op":
            return None
        if value == "not" and self.peek(1)[1] == "in":
            return "not in"
        return value if value in _BINARY else None

    def binary(self, minimum: int = 1) -> tuple:
        left = self.unary()
        while True:
            op = self.operator()
            if op is None or _BINARY[op] < minimum:
                return left
            self.take()
            if op == "not in":
                self.take()
            left = ("bin", op, left, self.binary(_BINARY[op] + 1))

    def expression(self) -> tuple:
        left = self.binary()
        if self.peek()[1] == "?":
            self.take()
            yes = self.expression()
            self.expect(":")
            left = ("cond", left, yes, self.expression())
        return left

    def unary(self) -> tuple:
        kind, value = self.peek()
        if kind == "op" and value in ("-", "!", "not", "+"):
            self.take()
            if value in ("-", "+"):
                return ("unary", value, self.unary())
            return ("unary", "not", self.binary(4))
        return self.postfix(self.primary())

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "number":
            text = value.replace("_", "")
            return ("num", Decimal(text) if any(c in text for c in ".eE") else int(text))
        if kind == "string":
            return ("str", value)
        if kind == "template":
            parts: list = []
            rest = value
            while "${" in rest:
                before, _, after = rest.partition("${")
                inner, closing = after.split("}", 1) if "}" in after else (after, "")
                if before:
                    parts.append(("str", before))
                parts.append(parse(inner))
                rest = closing
            if rest:
                parts.append(("str", rest))
            return ("template", parts)
        if kind in ("true", "false"):
            return ("bool", kind == "true")
        if kind == "null":
            return ("null",)
        if kind == "name":
            if self.peek()[1] == "(":
                self.take()
                args = []
                while self.peek()[1] != ")":
                    args.append(self.expression())
                    if self.peek()[1] == ",":
                        self.take()
                self.expect(")")
                return ("call", value, args)
            return ("name", value)
        if value in ("[", "(", "]"):
            return self.bracket(value)
        if value == "{":
            fields = []
            while self.peek()[1] != "}":
                key_kind, key = self.take()
                if key_kind not in ("name", "string"):
                    raise Unsupported("computed keys")
                self.expect(":")
                fields.append((key, self.expression()))
                if self.peek()[1] == ",":
                    self.take()
            self.expect("}")
            return ("object", fields)
        raise Unsupported(f"syntax: {value!r} in {self.text!r}")

    def bracket(self, opening: str) -> tuple:
        if opening == "[" and self.peek()[1] == "]":
            self.take()
            return ("array", [])
        first = self.expression()
        if self.peek()[1] == "..":
            self.take()
            second = self.expression()
            closing = self.take()[1]
            if closing not in ("]", ")", "["):
                raise Unsupported(f"syntax: interval in {self.text!r}")
            return ("range", opening == "[", first, second, closing == "]")
        if opening == "(":
            self.expect(")")
            return first
        if opening != "[":
            raise Unsupported(f"syntax: {opening!r} in {self.text!r}")
        items = [first]
        while self.peek()[1] == ",":
            self.take()
            items.append(self.expression())
        self.expect("]")
        return ("array", items)

    def postfix(self, node: tuple) -> tuple:
        while True:
            value = self.peek()[1]
            if value == ".":
                self.take()
                kind, name = self.take()
                if kind not in ("name", "true", "false", "null"):
                    raise Unsupported(f"syntax: member {name!r}")
                node = ("member", node, name)
            elif value == "[":
                self.take()
                index = self.expression()
                if self.peek()[1] == ":":
                    raise Unsupported("slices")
                self.expect("]")
                node = ("index", node, index)
            else:
                return node


def parse(text: str) -> tuple:
    parser = Parser(text)
    return _Parsed(_whole(parser, text), text)


def _whole(parser: "Parser", text: str) -> tuple:
    node = parser.expression()
    if not parser.done():
        raise Unsupported(f"syntax: trailing {parser.peek()[1]!r} in {text!r}")
    return node


class _Parsed(tuple):
    """A parsed expression that remembers its text (for what an error names)."""

    def __new__(cls, node: tuple, text: str):
        parsed = super().__new__(cls, node)
        parsed.text = text
        return parsed


def parse_unary(text: str) -> tuple:
    """A decision table cell: tests of `$` joined by `,` (or), `and`, `or`; a test that starts
    with a comparison operator compares `$`; a value is compared (`==`, or `in` for a list or an
    interval); a comparison or logical expression is the test itself."""
    parser = Parser(text)
    node = _unary_pair(parser)
    while not parser.done():
        kind, value = parser.take()
        if value not in (",", "and", "or", "&&", "||"):
            raise Unsupported(f"syntax: {value!r} joins tests in {text!r}")
        node = ("bin", "and" if value in ("and", "&&") else "or", node, _unary_pair(parser))
    return _Parsed(node, text)


_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def _unary_pair(parser: Parser) -> tuple:
    kind, value = parser.peek()
    if kind == "op" and value in _COMPARISONS:
        parser.take()
        return ("bin", value, ("name", "$"), _no_comma(parser))
    node = _no_comma(parser)
    behaviour = _behaviour(node)
    if behaviour == "bool":
        return node
    return ("bin", behaviour, ("name", "$"), node)


def _no_comma(parser: Parser) -> tuple:
    """An expression that stops at a top-level comma, `and` or `or` (they join tests)."""
    left = parser.binary(4)
    if parser.peek()[1] == "?":
        parser.take()
        yes = _no_comma(parser)
        parser.expect(":")
        left = ("cond", left, yes, _no_comma(parser))
    return left


_BOOLEAN_FUNCTIONS = {"contains", "startsWith", "endsWith", "some", "all", "none", "one",
                      "matches", "isNumeric", "bool"}


def _behaviour(node: tuple) -> str:
    """Zen's UnaryNodeBehaviour: compare `$` with the value (==, or in), or take it as the test."""
    kind = node[0]
    if kind in ("array", "range"):
        return "in"
    if kind == "bin":
        if node[1] in ("+", "-", "*", "/", "%", "^"):
            a, b = _behaviour(node[2]), _behaviour(node[3])
            return a if a == b else "=="
        return "bool"
    if kind == "cond":
        a, b = _behaviour(node[2]), _behaviour(node[3])
        return a if a == b else "=="
    if kind == "unary":
        return "bool" if node[1] == "not" else _behaviour(node[2])
    if kind == "call" and node[1] in _BOOLEAN_FUNCTIONS:
        return "bool"
    return "=="


# --- types ----------------------------------------------------------------------------------------
NUMBER, STRING, BOOLEAN, NULL, DATE = "number", "string", "boolean", "null", "date"


@dataclass(frozen=True)
class ZType:
    """A Zen value's type as far as the translator knows it: number, string, boolean, null,
    date, list (with `item`) or record (with `fields`)."""

    name: str
    item: "ZType | None" = None
    fields: tuple[tuple[str, "ZType"], ...] = ()
    # the rows a collect table produced, read by index: field -> each row's value (Firefly text)
    rows: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def field(self, name: str) -> "ZType | None":
        return dict(self.fields).get(name)


Z_NUMBER, Z_STRING, Z_BOOLEAN, Z_NULL = ZType(NUMBER), ZType(STRING), ZType(BOOLEAN), ZType(NULL)


@dataclass(frozen=True)
class Value:
    """A translated expression: Firefly text and its Zen type."""

    text: str
    type: ZType

    @property
    def is_null(self) -> bool:
        return self.type.name == NULL


NULL_VALUE = Value("null", Z_NULL)


@dataclass(frozen=True)
class ObjectValue(Value):
    """An object literal: its fields' values, each written out at its own path."""

    fields: tuple = ()


# --- translation ----------------------------------------------------------------------------------
@dataclass
class Scope:
    """What names mean while translating one expression: `lookup(path)` gives the Value of a
    dotted Zen path (None when unknown: it reads as null), `dollar` the value of `$` in a table
    cell, `results` the earlier results of an expression node (`$.key`), `item` the value of `#`
    in a closure."""

    lookup: Callable[[str], "Value | None"]
    dollar: Value | None = None
    results: dict[str, Value] | None = None
    item: Value | None = None
    depth: int = 0


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


class Translator:
    def __init__(self, scope: Scope):
        self.scope = scope

    def value(self, node: tuple) -> Value:
        if isinstance(node, _Parsed):
            try:
                return self._value(node)
            except Unsupported as exc:
                if " (in " in exc.construct:
                    raise
                raise Unsupported(f"{exc.construct} (in {node.text!r})") from None
        return self._value(node)

    def _value(self, node: tuple) -> Value:
        kind = node[0]
        method = getattr(self, "_" + kind, None)
        if method is None:
            raise Unsupported(kind)
        return method(node)

    def boolean(self, node: tuple) -> Value:
        result = self.value(node)
        if result.type.name == NULL:
            return Value("false", Z_BOOLEAN)
        if result.type.name != BOOLEAN:
            raise Unsupported(f"a {result.type.name} used as true/false")
        return result

    def _num(self, node):
        return Value(str(node[1]), Z_NUMBER)

    def _str(self, node):
        return Value(_literal_text(node[1]), Z_STRING)

    def _bool(self, node):
        return Value(_literal_text(node[1]), Z_BOOLEAN)

    def _null(self, node):
        return NULL_VALUE

    def _path(self, node: tuple) -> str | None:
        if node[0] == "name":
            return node[1]
        if node[0] == "member":
            base = self._path(node[1])
            return None if base is None else f"{base}.{node[2]}"
        if node[0] == "index" and node[2][0] == "str":
            base = self._path(node[1])
            return None if base is None else f"{base}.{node[2][1]}"
        return None

    def _name(self, node):
        return self._resolve(node)

    def _member(self, node):
        return self._resolve(node)

    def _index(self, node):
        if node[2][0] == "str":
            return self._resolve(node)
        raise Unsupported("indexing a list or a computed key")

    def _resolve(self, node: tuple) -> Value:
        path = self._path(node)
        if path is None:
            raise Unsupported("member access on a computed value")
        head, _, rest = path.partition(".")
        if head == "$" and self.scope.dollar is not None and not rest:
            return self.scope.dollar
        if head == "$" and self.scope.results is not None:
            if rest in self.scope.results:
                return self.scope.results[rest]
            if not rest:
                raise Unsupported("$ as a whole object")
            return NULL_VALUE if rest.split(".")[0] not in self.scope.results else \
                _unsupported("a field of an object result")
        if head == "$":
            raise Unsupported("$ outside a table cell")
        if head == "#":
            item = self.scope.item
            if item is None:
                raise Unsupported("# outside a closure")
            if not rest:
                return item
            if item.type.name != "record" or "." in rest:
                raise Unsupported("a field of a non-record item")
            field = item.type.field(rest)
            if field is None:
                return NULL_VALUE
            if item.type.rows:  # a row of a collect table: its value by the row's index
                texts = dict(item.type.rows)[rest]
                chain = "null"
                for index in reversed(range(len(texts))):
                    chain = f"({texts[index]} if {item.text} == {index} else {chain})"
                return Value(chain, field)
            return Value(f"{item.text}.{_mangle(rest)}", field)
        if head.startswith("$"):
            raise Unsupported(f"the special name {head}")
        found = self.scope.lookup(path)
        return NULL_VALUE if found is None else found

    def _unary(self, node):
        op, operand = node[1], node[2]
        if op == "not":
            inner = self.boolean(operand)
            return Value(f"(not {inner.text})", Z_BOOLEAN)
        inner = self.value(operand)
        if inner.is_null:
            return NULL_VALUE
        if inner.type.name != NUMBER:
            raise Unsupported(f"a sign on a {inner.type.name}")
        return Value(f"({op}{inner.text})", Z_NUMBER)

    def _cond(self, node):
        test = self.boolean(node[1])
        yes, no = self.value(node[2]), self.value(node[3])
        kind = _common(yes.type, no.type)
        return Value(f"({yes.text} if coalesce({test.text}, false) else {no.text})", kind)

    def _array(self, node):
        items = [self.value(item) for item in node[1]]
        kind = Z_NULL
        for item in items:
            kind = _common(kind, item.type)
        if kind.name == NULL and items:
            raise Unsupported("a list of nulls")
        return Value("[" + ", ".join(i.text for i in items) + "]", ZType("list", item=kind))

    def _template(self, node):
        parts = []
        for part in node[1]:
            value = self.value(part)
            if value.type.name == STRING:
                parts.append(f"coalesce({value.text}, \"null\")")
            elif value.is_null:
                parts.append('"null"')
            elif value.type.name in (NUMBER, BOOLEAN):
                parts.append(f"coalesce(text({value.text}), \"null\")")
            else:
                raise Unsupported(f"a {value.type.name} in a template string")
        return Value("(" + " + ".join(parts or ['""']) + ")", Z_STRING)

    def _object(self, node):
        fields = tuple((key, self.value(value)) for key, value in node[1])
        return ObjectValue("null", ZType("object"), fields)

    def _range(self, node):
        raise Unsupported("an interval outside 'in'")

    def _call(self, node):
        name, args = node[1], node[2]
        handler = _FUNCTIONS.get(name)
        if handler is None:
            raise Unsupported(f"function {name}()")
        return handler(self, args)

    def _bin(self, node):
        op, left_node, right_node = node[1], node[2], node[3]
        if op in ("and", "&&", "or", "||"):
            left, right = self.boolean(left_node), self.boolean(right_node)
            word = "and" if op in ("and", "&&") else "or"
            return Value(f"(coalesce({left.text}, false) {word} coalesce({right.text}, false))",
                         Z_BOOLEAN)
        if op in ("in", "not in"):
            return self._in(op, left_node, right_node)
        left, right = self.value(left_node), self.value(right_node)
        if op == "??":
            if left.is_null:
                return right
            if (left.type.item is not None and left.type.item.rows) or (
                    left.type.name == "list" and right.text == "[]"
                    and left.text.startswith("[")):
                return left  # a list a collect table produced is never null
            return Value(f"coalesce({left.text}, {right.text})", _common(left.type, right.type))
        if op in _COMPARISONS:
            return _compare(op, left, right)
        if op == "^":
            raise Unsupported("the power operator ^")
        if left.is_null or right.is_null:
            return NULL_VALUE
        if op == "+" and left.type.name == right.type.name == STRING:
            return Value(f"({left.text} + {right.text})", Z_STRING)
        if left.type.name != NUMBER or right.type.name != NUMBER:
            raise Unsupported(f"arithmetic on {left.type.name} and {right.type.name}")
        return Value(f"({left.text} {op} {right.text})", Z_NUMBER)

    def _in(self, op: str, left_node: tuple, right_node: tuple) -> Value:
        left = self.value(left_node)
        negate = op == "not in"
        if right_node[0] == "range":
            _, low_closed, low_node, high_node, high_closed = right_node
            low, high = self.value(low_node), self.value(high_node)
            if left.is_null:
                return Value("true" if negate else "false", Z_BOOLEAN)
            first = _compare(">=" if low_closed else ">", left, low)
            second = _compare("<=" if high_closed else "<", left, high)
            test = f"(coalesce({first.text}, false) and coalesce({second.text}, false))"
            return Value(f"(not {test})" if negate else test, Z_BOOLEAN)
        right = self.value(right_node)
        if right.type.name == STRING and left.type.name == STRING:
            test = f"contains({right.text}, {left.text})"
        elif right.type.name == "list":
            item = right.type.item or Z_NULL
            if left.is_null:
                return Value("true" if negate else "false", Z_BOOLEAN)
            if item.name != left.type.name and item.name != NULL:
                return Value("true" if negate else "false", Z_BOOLEAN)
            test = f"contains({right.text}, {left.text})"
        elif right.is_null:
            return Value("true" if negate else "false", Z_BOOLEAN)
        else:
            raise Unsupported(f"'in' over a {right.type.name}")
        return Value(f"(not coalesce({test}, false))" if negate else f"coalesce({test}, false)",
                     Z_BOOLEAN)


def _unsupported(construct: str):
    raise Unsupported(construct)


def _common(a: ZType, b: ZType) -> ZType:
    if a.name == NULL:
        return b
    if b.name == NULL or a == b:
        return a
    if a.name == b.name == "list":
        return ZType("list", item=_common(a.item or Z_NULL, b.item or Z_NULL))
    raise Unsupported(f"a value that is {a.name} or {b.name}")


def _compare(op: str, left: Value, right: Value) -> Value:
    """Zen's comparison: values of different types are unequal and unordered; null equals null."""
    if left.is_null or right.is_null:
        if left.is_null and right.is_null:
            return Value("true" if op in ("==", "<=", ">=") else "false", Z_BOOLEAN)
        other = right if left.is_null else left
        if op == "==":
            return Value(f"missing({other.text})", Z_BOOLEAN)
        if op == "!=":
            return Value(f"exists({other.text})", Z_BOOLEAN)
        return Value("false", Z_BOOLEAN)
    if left.type.name != right.type.name:
        return Value("true" if op == "!=" else "false", Z_BOOLEAN)
    if left.type.name in ("list", "record", BOOLEAN) and op not in ("==", "!="):
        raise Unsupported(f"ordering {left.type.name} values")
    if left.type.name in ("list", "record"):
        raise Unsupported(f"comparing {left.type.name} values")
    text = f"coalesce({left.text} {op} {right.text}, false)"
    if op == "!=":  # a missing value is unequal to a present one
        text = f"(coalesce({left.text} != {right.text}, exists({left.text}) != exists({right.text})))"
    return Value(text, Z_BOOLEAN)


# --- functions ------------------------------------------------------------------------------------
def _args(args: list, count: int, name: str) -> None:
    if len(args) != count:
        raise Unsupported(f"function {name}() with {len(args)} arguments")


def _text_function(firefly: str, result: ZType):
    def handler(t: Translator, args: list) -> Value:
        values = [t.value(a) for a in args]
        if any(v.is_null for v in values):
            return NULL_VALUE if result != Z_BOOLEAN else Value("false", Z_BOOLEAN)
        return Value(f"{firefly}({', '.join(v.text for v in values)})", result)
    return handler


def _contains(t: Translator, args: list) -> Value:
    _args(args, 2, "contains")
    container, part = t.value(args[0]), t.value(args[1])
    if container.is_null or part.is_null:
        return Value("false", Z_BOOLEAN)
    if container.type.name == "list" and (container.type.item or Z_NULL).name not in (
            part.type.name, NULL):
        return Value("false", Z_BOOLEAN)
    if container.type.name not in ("list", STRING) or (
            container.type.name == STRING and part.type.name != STRING):
        raise Unsupported(f"contains() on {container.type.name}")
    return Value(f"coalesce(contains({container.text}, {part.text}), false)", Z_BOOLEAN)


def _number_function(name: str):
    def handler(t: Translator, args: list) -> Value:
        values = [t.value(a) for a in args]
        if any(v.is_null for v in values):
            return NULL_VALUE
        if any(v.type.name != NUMBER for v in values):
            raise Unsupported(f"function {name}() on {values[0].type.name}")
        return Value(f"{name}({', '.join(v.text for v in values)})", Z_NUMBER)
    return handler


def _aggregate(name: str):
    def handler(t: Translator, args: list) -> Value:
        _args(args, 1, name)
        if args[0][0] == "array" and name in ("min", "max"):
            values = [t.value(a) for a in args[0][1]]
            if not values or any(v.type.name != NUMBER for v in values):
                raise Unsupported(f"{name}() of a list that is not all numbers")
            return Value(f"{name}({', '.join(v.text for v in values)})", Z_NUMBER)
        source = t.value(args[0])
        if source.is_null:
            return NULL_VALUE
        if source.type.name != "list" or (source.type.item or Z_NULL).name != NUMBER:
            raise Unsupported(f"{name}() of a list that is not all numbers")
        return Value(f"{name}({source.text})", Z_NUMBER)
    return handler


def _len(t: Translator, args: list) -> Value:
    _args(args, 1, "len")
    value = t.value(args[0])
    if value.is_null:
        return NULL_VALUE
    if value.type.name not in (STRING, "list"):
        raise Unsupported(f"len() of {value.type.name}")
    return Value(f"len({value.text})", Z_NUMBER)


def _closure(kind: str):
    def handler(t: Translator, args: list) -> Value:
        _args(args, 2, kind)
        source = t.value(args[0])
        if source.is_null:
            return NULL_VALUE
        if source.type.name != "list":
            raise Unsupported(f"{kind}() over {source.type.name}")
        var = f"each{t.scope.depth + 1}"
        inner = Translator(Scope(t.scope.lookup, t.scope.dollar, t.scope.results,
                                 Value(var, source.type.item or Z_NULL), t.scope.depth + 1))
        if kind == "map":
            body = inner.value(args[1])
            return Value(f"[{body.text} for {var} in {source.text}]", ZType("list", item=body.type))
        test = inner.boolean(args[1])
        condition = f"coalesce({test.text}, false)"
        if kind == "filter":
            return Value(f"[{var} for {var} in {source.text} if {condition}]", source.type)
        if kind == "count":
            return Value(f"count({var} for {var} in {source.text} if {condition})", Z_NUMBER)
        word = {"some": "any", "all": "all", "none": "none"}[kind]
        return Value(f"{word}({condition} for {var} in {source.text})", Z_BOOLEAN)
    return handler


def _round(t: Translator, args: list) -> Value:
    """Zen rounds half away from zero, as Firefly's round does."""
    values = [t.value(a) for a in args]
    if any(v.is_null for v in values):
        return NULL_VALUE
    if any(v.type.name != NUMBER for v in values) or len(values) not in (1, 2):
        raise Unsupported("round() of something that is not a number")
    if len(values) == 2 and not re.fullmatch(r"\d+", values[1].text):
        raise Unsupported("round() to a computed number of places")
    return Value(f"round({', '.join(v.text for v in values)})", Z_NUMBER)


def _to_number(t: Translator, args: list) -> Value:
    _args(args, 1, "number")
    value = t.value(args[0])
    if value.is_null or value.type.name not in (NUMBER, STRING):
        raise Unsupported(f"number() of {value.type.name}")
    return Value(value.text if value.type.name == NUMBER else f"number({value.text})", Z_NUMBER)


# Zen's test clock: the graphs' cases were recorded at this instant.
PINNED_NOW = "2025-08-19T16:55:02.078Z"
PINNED_SECONDS = 1755622502
PINNED_DAY_OF_YEAR = 231


def _date(t: Translator, args: list) -> Value:
    """Zen's date(x) in arithmetic and comparisons is seconds since 1970 (an instant, or a
    date's midnight UTC); date('now') is the test clock."""
    if len(args) != 1:
        raise Unsupported("date() with a time zone or without an argument")
    if args[0] == ("str", "now"):
        return Value(str(PINNED_SECONDS), Z_NUMBER)
    value = t.value(args[0])
    if value.is_null or value.type.name != STRING:
        raise Unsupported(f"date() of {value.type.name}")
    return Value(f"timestamp({value.text})", Z_NUMBER)


def _day_of_year(t: Translator, args: list) -> Value:
    if args != [("str", "now")]:
        raise Unsupported("dayOfYear() of anything but 'now'")
    return Value(str(PINNED_DAY_OF_YEAR), Z_NUMBER)


def _string(t: Translator, args: list) -> Value:
    _args(args, 1, "string")
    value = t.value(args[0])
    if value.is_null:
        return Value('"null"', Z_STRING)
    if value.type.name == STRING:
        return value
    if value.type.name not in (NUMBER, BOOLEAN):
        raise Unsupported(f"string() of {value.type.name}")
    return Value(f"text({value.text})", Z_STRING)


def _flatten(t: Translator, args: list) -> Value:
    """flatten([a, b, ...]) of lists: the lists joined (one level)."""
    _args(args, 1, "flatten")
    if args[0][0] != "array":
        raise Unsupported("flatten() of a computed list of lists")
    parts = [t.value(item) for item in args[0][1]]
    if not parts or any(p.type.name != "list" for p in parts):
        raise Unsupported("flatten() of something that is not a list of lists")
    kind = parts[0].type
    for part in parts[1:]:
        kind = _common(kind, part.type)
    return Value("(" + " + ".join(p.text for p in parts) + ")", kind)


def _time(t: Translator, args: list) -> Value:
    """Zen's time(x) compared with time('22:00'): the time of day of an instant (at its own
    offset) or of a time written as text."""
    _args(args, 1, "time")
    value = t.value(args[0])
    if value.is_null:
        return NULL_VALUE
    if value.type.name != STRING:
        raise Unsupported(f"time() of {value.type.name}")
    if args[0][0] == "str":
        return Value(f"time({value.text})", ZType("time"))
    return Value(f"coalesce(time({value.text}), time(datetime({value.text})))", ZType("time"))


_FUNCTIONS: dict[str, Callable[[Translator, list], Value]] = {
    "time": _time,
    "flatten": _flatten,
    "string": _string,
    "date": _date,
    "dayOfYear": _day_of_year,
    "round": _round,
    "number": _to_number,
    "len": _len,
    "contains": _contains,
    "startsWith": _text_function("starts_with", Z_BOOLEAN),
    "endsWith": _text_function("ends_with", Z_BOOLEAN),
    "upper": _text_function("upper", Z_STRING),
    "lower": _text_function("lower", Z_STRING),
    "trim": _text_function("trim", Z_STRING),
    "abs": _number_function("abs"),
    "floor": _number_function("floor"),
    "ceil": _number_function("ceil"),
    "sum": _aggregate("sum"),
    "avg": _aggregate("avg"),
    "min": _aggregate("min"),
    "max": _aggregate("max"),
    "some": _closure("some"),
    "all": _closure("all"),
    "none": _closure("none"),
    "filter": _closure("filter"),
    "map": _closure("map"),
    "count": _closure("count"),
}

# --- names ----------------------------------------------------------------------------------------
_RESERVED = {"and", "or", "not", "in", "is", "if", "else", "for", "lambda", "none", "true",
             "false", "null", "params", "lists", "class", "def", "return", "import", "from",
             "as", "with", "while", "pass", "break", "continue", "global", "nonlocal", "try",
             "except", "finally", "raise", "del", "yield", "assert", "await", "async", "elif",
             "None", "True", "False", "type"}


def _mangle(name: str) -> str:
    """A Zen key as a Firefly name: snake case, lower case, never a keyword."""
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    text = re.sub(r"[^A-Za-z0-9_]", "_", text).lower().strip("_") or "field"
    if not text[0].isalpha():
        text = "k_" + text
    if text in _RESERVED:
        text += "_"
    return text


mangle = _mangle


def failures(node: tuple, translator: Translator) -> list[str]:
    """Firefly conditions under which evaluating the Zen expression raises an error: arithmetic
    on null or text, division by zero. (A table row whose output raises is skipped by Zen.)
    Closures are not looked into: a failing item cannot be told apart outside them."""
    found: list[str] = []

    def walk(current: tuple) -> None:
        kind = current[0]
        if kind == "call" and current[1] in ("some", "all", "none", "filter", "map", "count"):
            walk(current[2][0]) if current[2] else None
            return
        if kind == "bin" and current[1] in ("+", "-", "*", "/", "%"):
            for operand in (current[2], current[3]):
                value = translator.value(operand)
                if value.is_null:
                    found.append("true")
                elif operand[0] not in ("num", "str"):
                    found.append(f"missing({value.text})")
            if current[1] in ("/", "%"):
                right = translator.value(current[3])
                if right.type.name == NUMBER:
                    found.append(f"coalesce({right.text} == 0, false)")
        for child in current[1:]:
            if isinstance(child, tuple):
                walk(child)
            elif isinstance(child, list):
                for item in child:
                    if isinstance(item, tuple):
                        walk(item)

    walk(node)
    return found
