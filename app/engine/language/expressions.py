"""Parsing and type checking: expression text -> a typed expression tree, or located diagnostics.

The text is parsed with Python's own parser (so precedence and chained comparisons behave as
Python users expect) and then walked by a whitelist: any construct not handled below is rejected
with its position. Nothing here evaluates anything; compiler.py turns the checked tree into code.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import Diagnostic, Location, did_you_mean
from ..types import (BOOLEAN, DATE, ENUM, LIST, NULL, RECORD, STRING, T_BOOLEAN, T_DECIMAL, T_INTEGER,
                     T_NULL, T_STRING, Type, common_type, comparable)
from .functions import FUNCTIONS, UNSUPPORTED_BUILTINS


# --- the typed tree -----------------------------------------------------------------------------
@dataclass
class Expr:
    type: Type
    nullable: bool  # may evaluate to missing
    location: Location
    text: str


@dataclass
class Lit(Expr):
    value: Any = None


@dataclass
class Ref(Expr):
    path: str = ""


@dataclass
class ListLit(Expr):
    items: list = field(default_factory=list)  # Lit items


@dataclass
class NamedList(Expr):
    name: str = ""
    values: frozenset = frozenset()


@dataclass
class Unary(Expr):
    op: str = "-"
    operand: Expr | None = None


@dataclass
class Arith(Expr):
    op: str = "+"
    left: Expr | None = None
    right: Expr | None = None


@dataclass
class Cmp(Expr):
    op: str = "=="
    left: Expr | None = None
    right: Expr | None = None


@dataclass
class Logic(Expr):
    op: str = "and"
    items: list = field(default_factory=list)


@dataclass
class Not(Expr):
    operand: Expr | None = None


@dataclass
class Member(Expr):
    item: Expr | None = None
    container: Expr | None = None
    negated: bool = False


@dataclass
class Call(Expr):
    name: str = ""
    args: list = field(default_factory=list)


@dataclass
class IfElse(Expr):
    test: Expr | None = None
    body: Expr | None = None
    orelse: Expr | None = None


@dataclass
class ItemRef(Expr):
    """The item a comprehension is at (`a`), or one of its record fields (`a.opened`)."""

    var: str = ""
    field: str | None = None


@dataclass
class Over(Expr):
    """A quantifier, aggregate or list built over a list: `kind(body for var in source if where)`.

    kind is any, all, none (body is the test), count (counts the items `where` selects), sum,
    min, max, avg (body is the value), filter or map (a list of the selected items or of body).
    Without a comprehension (`sum(list)`), `var` is "" and the items themselves are the body."""

    kind: str = "any"
    var: str = ""
    source: Expr | None = None
    where: Expr | None = None
    body: Expr | None = None


QUANTIFIERS = ("any", "all", "none")
LIST_ARGUMENTS = ("starts_with", "ends_with", "contains")  # functions that take a named list
CONSTRUCTORS = ("date", "datetime", "time")  # folded at load time when given a constant
AGGREGATES = ("count", "sum", "min", "max", "avg")
# The lists held in the database (by keyed hash) that in_list may name.
DATABASE_LISTS = ("blacklist", "watchlist", "whitelist")
# The kinds of their entries (app/services/lists.py keeps them): an optional third argument of
# in_list names the kind a field's value is matched against.
LIST_ENTRY_KINDS = ("resident_id", "phone", "device", "employer", "card")
# The entry kind a field holding each kind of personal data (`pii:`) is matched against without
# being told; any other field names its kind (else device and employer entries both match it).
PERSONAL_ENTRY_KINDS = {"resident_id": "resident_id", "phone": "phone", "bank_card": "card"}
IN_LIST = ('in_list(list, field[, kind]): in_list("blacklist", applicant.id_number) or '
           'in_list("whitelist", device.device_id, "device")')


def list_lookup_name(list_name: str, path: str) -> str:
    """The value name under which the service hands in whether a field's value is on a list."""
    return f"in_list.{list_name}.{path}"


# --- what names mean ----------------------------------------------------------------------------
@dataclass
class Scope:
    """The names an expression may use in one policy."""

    values: dict[str, tuple[Type, bool]] = field(default_factory=dict)  # path -> (type, nullable)
    sections: set[str] = field(default_factory=set)
    params: dict[str, tuple[Any, Type]] = field(default_factory=dict)
    lists: dict[str, tuple[frozenset, Type]] = field(default_factory=dict)
    # in_list(list, field[, kind]) calls met while checking: value name -> (list, field path,
    # entry kind or None); the service looks them up in the database and hands the results in
    # (docs/anti_fraud.md)
    list_lookups: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    list_lookup_at: dict[str, Location] = field(default_factory=dict)  # where each was first met
    input_fields: frozenset = frozenset()  # the declared input paths (in_list reads only these)

    def candidates(self) -> list[str]:
        return list(self.values) + [f"params.{p}" for p in self.params] + [
            f"lists.{n}" for n in self.lists]


class CheckError(Exception):
    """Raised inside the checker; carries one diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
          ast.Mod: "%"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
            ast.NotEq: "!="}
_REJECTED = {
    ast.Lambda: "lambda functions are not allowed",
    ast.SetComp: "comprehensions are not allowed; use a named list or a feature",
    ast.DictComp: "comprehensions are not allowed; use a named list or a feature",
    ast.GeneratorExp: "a comprehension goes inside any, all, none, count, sum, min, max or avg: "
                      "count(a for a in bureau.accounts if a.overdue_months > 0)",
    ast.Subscript: "indexing with [ ] is not allowed; refer to fields by their dotted name",
    ast.Dict: "mappings are not allowed in expressions",
    ast.Set: "sets are not allowed; use a list [a, b] after 'in'",
    ast.JoinedStr: "f-strings are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.Starred: "* unpacking is not allowed",
}
_KEYWORD_CONSTANTS = {"true": True, "false": False, "True": True, "False": False}


def parse_expression(text: Any, location: Location, scope: Scope,
                     text_map: Any = None) -> tuple[Expr | None, list[Diagnostic]]:
    """Parse and type-check one expression; returns (tree, []) or (None, [diagnostic]).
    `text_map` (source.TextMap) maps positions in the text back to the file when the text was
    quoted, escaped or written over several lines."""
    if isinstance(text, bool):
        return Lit(T_BOOLEAN, False, location, str(text).lower(), value=text), []
    if isinstance(text, (int, Decimal)):
        kind = T_INTEGER if isinstance(text, int) else T_DECIMAL
        return Lit(kind, False, location, str(text), value=text), []
    if not isinstance(text, str) or not text.strip():
        return None, [Diagnostic("EXPR_EMPTY", "an expression is required here", location)]
    if len(text) > MAX_TEXT:
        return None, [Diagnostic("EXPR_TOO_LONG", f"the expression has {len(text)} characters; at "
                                 f"most {MAX_TEXT} are allowed: split it into features", location)]
    checker = _Checker(text, location, scope, text_map)
    try:
        # Wrapping in parentheses allows expressions written over several lines.
        tree = ast.parse("(" + text + "\n)", mode="eval")
    except SyntaxError as exc:
        return None, [checker.syntax_error(exc)]
    except (RecursionError, MemoryError):
        tree = None
    if tree is None or _depth(tree) > MAX_DEPTH:
        return None, [Diagnostic("EXPR_TOO_DEEP", f"the expression is nested more than {MAX_DEPTH} "
                                 "levels deep; split it into features", location)]
    try:
        expr = checker.check(tree.body)
    except CheckError as exc:
        return None, [exc.diagnostic]
    stray = _stray_list(expr)
    if stray is not None:
        return None, [Diagnostic("EXPR_LIST", f"'{stray.text}' is a list: it may only follow "
                                 "'in' or 'not in'", stray.location)]
    return expr, []


def _stray_list(expr: Expr) -> Expr | None:
    """A named list or list parameter used anywhere but on the right of `in` (there is no value
    to compute from it), or None."""
    if isinstance(expr, NamedList):
        return expr
    parts = [expr.item] if isinstance(expr, Member) and isinstance(expr.container, NamedList) \
        else children(expr)
    if isinstance(expr, Call) and expr.name in LIST_ARGUMENTS:  # starts_with(x, lists.prefixes)
        parts = [a for a in expr.args if not isinstance(a, NamedList)]
    for child in parts:
        found = _stray_list(child)
        if found is not None:
            return found
    return None


MAX_DEPTH = 60  # far beyond what a person writes, well within what Python compiles
MAX_TEXT = 4000  # characters of one expression: a long rule is many rules or features
# Number literals are bounded like input numbers (app/engine/validation.py): at most 18 digits
# before and after the point, so no constant can overflow a decision's arithmetic.
MAX_LITERAL_DIGITS = 18


def _depth(tree: ast.AST) -> int:
    """The depth of a syntax tree, measured without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


class _Checker:
    def __init__(self, text: str, location: Location, scope: Scope, text_map: Any = None):
        self.text = text
        self.text_map = text_map
        self.lines = ("(" + text + "\n)").split("\n")
        self._encoded: list[bytes] | None = None
        self.location = location
        self.scope = scope
        self.bound: dict[str, Type] = {}  # the comprehension variables in scope: name -> item type

    # positions ---------------------------------------------------------------------------------
    def _position(self, lineno: int, byte_offset: int) -> Location:
        line_text = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        column = len(line_text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))
        if lineno == 1:
            column -= 1  # the opening parenthesis we added
        if self.text_map is not None:
            return self.text_map.locate(lineno, max(column, 0))
        return self.location.shifted(lineno, max(column, 0))

    def at(self, node: ast.AST) -> Location:
        return self._position(node.lineno, node.col_offset)

    def segment(self, node: ast.AST) -> str:
        """The text of a node (as ast.get_source_segment, without re-splitting the source for
        every node, which made checking quadratic in the length of an expression)."""
        if getattr(node, "end_lineno", None) is None:
            return self.text
        if self._encoded is None:
            self._encoded = [line.encode("utf-8") for line in self.lines]
        first, last = node.lineno - 1, node.end_lineno - 1
        if first == last:
            part = self._encoded[first][node.col_offset:node.end_col_offset]
        else:
            part = b"\n".join([self._encoded[first][node.col_offset:], *self._encoded[first + 1:last],
                                self._encoded[last][:node.end_col_offset]])
        return part.decode("utf-8", "replace") or self.text

    def fail(self, node: ast.AST, code: str, message: str) -> CheckError:
        return CheckError(Diagnostic(code, message, self.at(node)))

    def syntax_error(self, exc: SyntaxError) -> Diagnostic:
        words = self.text.replace("(", " ").split()
        hint = ""
        if "import" in words:
            hint = ": imports are not allowed"
        elif "lambda" in words:
            hint = ": lambda functions are not allowed"
        elif "=" in self.text and "==" not in self.text and "<=" not in self.text \
                and ">=" not in self.text and "!=" not in self.text:
            hint = ": use == to compare"
        location = self._position(exc.lineno or 1, (exc.offset or 1) - 1)
        return Diagnostic("EXPR_SYNTAX", f"invalid expression '{self.text.strip()}'{hint}",
                          location)

    # the walk ----------------------------------------------------------------------------------
    def check(self, node: ast.AST) -> Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            message = _REJECTED.get(type(node), f"'{self.segment(node)}' is not allowed here")
            raise self.fail(node, "EXPR_NOT_ALLOWED", message)
        return method(node)

    def _Constant(self, node: ast.Constant) -> Expr:
        value, text = node.value, self.segment(node)
        if isinstance(value, bool):
            return Lit(T_BOOLEAN, False, self.at(node), text, value=value)
        if isinstance(value, int):
            if value.bit_length() > 64 or abs(value) >= 10 ** MAX_LITERAL_DIGITS:
                raise self._too_large(node, text)
            return Lit(T_INTEGER, False, self.at(node), text, value=value)
        if isinstance(value, float):
            number = Decimal(text.replace("_", ""))
            if not number.is_finite() or number.adjusted() >= MAX_LITERAL_DIGITS \
                    or number.as_tuple().exponent < -MAX_LITERAL_DIGITS:
                raise self._too_large(node, text)
            return Lit(T_DECIMAL, False, self.at(node), text, value=number)
        if isinstance(value, str):
            return Lit(T_STRING, False, self.at(node), text, value=value)
        if value is None:
            return Lit(T_NULL, True, self.at(node), text, value=None)
        raise self.fail(node, "EXPR_NOT_ALLOWED", f"the constant {text} is not allowed")

    def _too_large(self, node: ast.AST, text: str) -> CheckError:
        shown = text if len(text) <= 40 else text[:20] + "..." + text[-10:]
        return self.fail(node, "EXPR_NUMBER_TOO_LARGE", f"the number {shown} has more than "
                         f"{MAX_LITERAL_DIGITS} digits before or after the point")

    def _Name(self, node: ast.Name) -> Expr:
        name = node.id
        if name in _KEYWORD_CONSTANTS:
            return Lit(T_BOOLEAN, False, self.at(node), name, value=_KEYWORD_CONSTANTS[name])
        if name == "null" and name not in self.scope.values:
            return Lit(T_NULL, True, self.at(node), name, value=None)
        return self._reference(node, name)

    def _Attribute(self, node: ast.Attribute) -> Expr:
        parts = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            raise self.fail(node, "EXPR_NOT_ALLOWED", f"'{self.segment(node)}': the dot is only "
                            "for field names such as bureau.overdue_months_24m")
        parts.append(current.id)
        return self._reference(node, ".".join(reversed(parts)))

    def _reference(self, node: ast.AST, path: str) -> Expr:
        if any(part.startswith("_") for part in path.split(".")):
            raise self.fail(node, "EXPR_UNDERSCORE", f"'{path}': names starting with '_' are not "
                            "allowed")
        head, _, rest = path.partition(".")
        if head in self.bound:
            return self._item(node, head, rest)
        if head == "params":
            if rest in self.scope.params:
                value, kind = self.scope.params[rest]
                if kind.name == LIST:  # a list parameter reads like a named list
                    return NamedList(kind, False, self.at(node), path, name=rest,
                                     values=frozenset(value))
                return Lit(kind, False, self.at(node), path, value=value)
            raise self.fail(node, "EXPR_UNKNOWN_PARAM", f"unknown parameter '{path}'"
                            f"{did_you_mean(rest, self.scope.params)}")
        if head == "lists":
            if rest in self.scope.lists:
                values, kind = self.scope.lists[rest]
                return NamedList(Type(LIST, item=kind), False, self.at(node), path, name=rest,
                                 values=values)
            raise self.fail(node, "EXPR_UNKNOWN_LIST", f"unknown named list '{path}'"
                            f"{did_you_mean(rest, self.scope.lists)}")
        if path in self.scope.values:
            kind, nullable = self.scope.values[path]
            return Ref(kind, nullable, self.at(node), path, path=path)
        if path in self.scope.sections:
            raise self.fail(node, "EXPR_SECTION", f"'{path}' is a section of the input, not a "
                            "value; name one of its fields")
        if path in FUNCTIONS:
            raise self.fail(node, "EXPR_FUNCTION_VALUE", f"'{path}' is a function; call it: "
                            f"{FUNCTIONS[path].signature}")
        text = self._enum_text(path)
        if text is not None:  # `employment_type != salaried`: a value written without quotes
            raise self.fail(node, "EXPR_UNKNOWN_NAME", f"unknown name '{path}': did you mean the "
                            f"text \"{text}\"? Enum values and other texts are quoted, e.g. "
                            f"employment_type != \"{text}\"")
        raise self.fail(node, "EXPR_UNKNOWN_NAME", f"unknown name '{path}'"
                        f"{did_you_mean(path, self.scope.candidates())}")

    def _enum_text(self, name: str) -> str | None:
        """The enum value of some field in scope that `name` spells (case aside), if any."""
        for kind, _ in self.scope.values.values():
            for value in kind.values or ():
                if isinstance(value, str) and value.lower() == name.lower():
                    return value
        return None

    def _item(self, node: ast.AST, var: str, rest: str) -> Expr:
        kind = self.bound[var]
        if not rest:
            return ItemRef(kind, kind.name != RECORD, self.at(node), var, var=var)
        if kind.name != RECORD or "." in rest:
            raise self.fail(node, "EXPR_ITEM_FIELD", f"'{var}.{rest}': {var} is {kind}, which "
                            "has no such field")
        found = kind.field(rest)
        if found is None:
            names = [name for name, _, _ in kind.fields or ()]
            raise self.fail(node, "EXPR_ITEM_FIELD", f"'{var}.{rest}': the items have no field "
                            f"'{rest}'{did_you_mean(rest, names)}")
        field_type, required = found
        return ItemRef(field_type, not required, self.at(node), f"{var}.{rest}", var=var,
                       field=rest)

    def _List(self, node: ast.List) -> Expr:
        """A list value: [a, b, ...] of one type (constants after `in`, any values elsewhere)."""
        items = [self.check(element) for element in node.elts]
        kind = items[0].type if items else T_STRING
        for item in items[1:]:
            merged = common_type(kind, item.type)
            if merged is None:
                raise self.fail(node, "EXPR_LIST_TYPES", "list items must all be of one type, "
                                f"not {kind} and {item.type}")
            kind = merged
        return ListLit(Type(LIST, item=kind), False, self.at(node), self.segment(node),
                       items=items)

    _Tuple = _List

    def _ListComp(self, node: ast.ListComp) -> Expr:
        """[a for a in L if c] keeps the items that pass; [a.x for a in L] takes a value of
        each."""
        var, source, where, body = self._comprehension(node, node.elt)
        kind = "filter" if isinstance(body, ItemRef) and body.field is None else "map"
        return Over(Type(LIST, item=body.type), source.nullable, self.at(node),
                    self.segment(node), kind=kind, var=var, source=source, where=where,
                    body=None if kind == "filter" else body)

    def _comprehension(self, node: ast.AST, element: ast.AST) -> tuple:
        generators = node.generators
        if len(generators) != 1 or generators[0].is_async:
            raise self.fail(node, "EXPR_COMPREHENSION", "one 'for' per comprehension: "
                            "count(a for a in bureau.accounts if ...)")
        generator = generators[0]
        if not isinstance(generator.target, ast.Name):
            raise self.fail(generator.target, "EXPR_COMPREHENSION", "the loop takes one name: "
                            "for a in bureau.accounts")
        var = generator.target.id
        if var.startswith("_"):
            raise self.fail(generator.target, "EXPR_UNDERSCORE", f"'{var}': names starting with "
                            "'_' are not allowed")
        if var in self.bound or var in self.scope.values or var in self.scope.sections or \
                var in ("params", "lists", "null") or var in FUNCTIONS or var in _KEYWORD_CONSTANTS:
            raise self.fail(generator.target, "EXPR_COMPREHENSION", f"'{var}' already names "
                            "something; choose another name for the item")
        source = self.check(generator.iter)
        if source.type.name != LIST or isinstance(source, NamedList):
            raise self.fail(generator.iter, "EXPR_TYPE", f"'{self.segment(generator.iter)}' is "
                            f"{source.type}; a comprehension goes over a list field or feature")
        self.bound[var] = source.type.item or T_STRING
        try:
            tests = [self._boolean(test, "if") for test in generator.ifs]
            body = self.check(element)
        finally:
            del self.bound[var]
        where = None
        if len(tests) == 1:
            where = tests[0]
        elif tests:
            where = Logic(T_BOOLEAN, any(t.nullable for t in tests), tests[0].location,
                          " and ".join(t.text for t in tests), op="and", items=tests)
        return var, source, where, body

    def _over(self, node: ast.Call, name: str) -> Expr:
        """any/all/none/count/sum/min/max/avg over a comprehension or over a list value."""
        argument = node.args[0]
        if isinstance(argument, ast.GeneratorExp):
            var, source, where, body = self._comprehension(argument, argument.elt)
        else:
            source = self.check(argument)
            if source.type.name != LIST or isinstance(source, NamedList):
                raise self.fail(node, "EXPR_CALL", f"'{self.segment(node)}': {name} takes a list "
                                f"or a comprehension, not {source.type}")
            var, where = "", None
            item = source.type.item or T_STRING
            body = ItemRef(item, True, source.location, source.text, var="")
        if name in QUANTIFIERS:
            if body.type.name != BOOLEAN:
                raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}': {name} needs a "
                                f"true/false test per item, not {body.type}")
            return Over(T_BOOLEAN, source.nullable or body.nullable, self.at(node),
                        self.segment(node), kind=name, var=var, source=source, where=where,
                        body=body)
        if name == "count":
            if var and not (isinstance(body, ItemRef) and body.field is None):
                raise self.fail(node, "EXPR_CALL", f"'{self.segment(node)}': count counts the "
                                f"items its 'if' selects: count({var} for {var} in ... if ...)")
            return Over(T_INTEGER, source.nullable, self.at(node), self.segment(node),
                        kind=name, var=var, source=source, where=where, body=None)
        allowed = body.type.numeric or (name in ("min", "max") and body.type.name == DATE)
        if not allowed:
            raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}': {name} needs numbers"
                            f"{' or dates' if name in ('min', 'max') else ''}, not {body.type}")
        kind = T_DECIMAL if name == "avg" else body.type
        nullable = source.nullable or body.nullable or name != "sum"  # no min of an empty list
        return Over(kind, nullable, self.at(node), self.segment(node), kind=name, var=var,
                    source=source, where=where, body=body)

    def _literal_list(self, node: ast.List | ast.Tuple) -> ListLit:
        items = []
        for element in node.elts:
            if isinstance(element, ast.Constant) and element.value is None:
                raise self.fail(element, "EXPR_NULL", "null is never in a list: test missing "
                                "data with missing(x)")
            item = self.check(element)
            if not isinstance(item, Lit):
                raise self.fail(element, "EXPR_LIST_ITEM", f"'{self.segment(element)}': list "
                                "items must be constants")
            items.append(item)
        kind = items[0].type if items else T_STRING
        for item in items[1:]:
            kind = common_type(kind, item.type) or kind
            if not comparable(kind, item.type, "=="):
                raise self.fail(node, "EXPR_LIST_TYPES", "list items must all be of one type")
        return ListLit(Type(LIST, item=kind), False, self.at(node), self.segment(node),
                       items=items)

    def _BoolOp(self, node: ast.BoolOp) -> Expr:
        op = "and" if isinstance(node.op, ast.And) else "or"
        items = [self._boolean(value, op) for value in node.values]
        return Logic(T_BOOLEAN, any(i.nullable for i in items), self.at(node), self.segment(node),
                     op=op, items=items)

    def _boolean(self, node: ast.AST, context: str) -> Expr:
        expr = self.check(node)
        if expr.type.name != BOOLEAN:
            raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}' is {expr.type}, but "
                            f"'{context}' needs true/false; compare it with something")
        return expr

    def _UnaryOp(self, node: ast.UnaryOp) -> Expr:
        if isinstance(node.op, ast.Not):
            operand = self._boolean(node.operand, "not")
            return Not(T_BOOLEAN, operand.nullable, self.at(node), self.segment(node),
                       operand=operand)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.check(node.operand)
            if not operand.type.numeric:
                raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}': only numbers have a "
                                "sign")
            op = "-" if isinstance(node.op, ast.USub) else "+"
            if isinstance(operand, Lit):
                value = -operand.value if op == "-" else operand.value
                return Lit(operand.type, False, self.at(node), self.segment(node), value=value)
            return Unary(operand.type, operand.nullable, self.at(node), self.segment(node),
                         op=op, operand=operand)
        raise self.fail(node, "EXPR_NOT_ALLOWED", f"'{self.segment(node)}': bitwise operators "
                        "are not allowed")

    def _BinOp(self, node: ast.BinOp) -> Expr:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise self.fail(node, "EXPR_NOT_ALLOWED", f"'{self.segment(node)}': only + - * / // % "
                            "are allowed")
        left, right = self.check(node.left), self.check(node.right)
        if op == "+" and left.type.name == right.type.name == LIST and not isinstance(
                left, NamedList) and not isinstance(right, NamedList):  # lists joined
            kind = common_type(left.type, right.type)
            if kind is None:
                raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}' joins a {left.type} "
                                f"and a {right.type}")
            return Arith(kind, left.nullable or right.nullable, self.at(node),
                         self.segment(node), op=op, left=left, right=right)
        if op == "+" and left.type.textual and right.type.textual:  # "86" + code: text joined
            return Arith(T_STRING, left.nullable or right.nullable, self.at(node),
                         self.segment(node), op=op, left=left, right=right)
        for side, expr in (("left", left), ("right", right)):
            if not expr.type.numeric:
                raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}': the {side} side is "
                                f"{expr.type}; arithmetic needs numbers (for dates use "
                                "days_between or months_between)")
        kind = T_INTEGER if (left.type == right.type == T_INTEGER and op != "/") else T_DECIMAL
        # Division and modulo by zero give missing, so they may be missing even on present data.
        nullable = left.nullable or right.nullable or op in ("/", "//", "%")
        return Arith(kind, nullable, self.at(node), self.segment(node), op=op, left=left,
                     right=right)

    def _Compare(self, node: ast.Compare) -> Expr:
        pairs = []
        left_node = node.left
        left = self.check(left_node)
        for op_node, right_node in zip(node.ops, node.comparators):
            if isinstance(op_node, (ast.In, ast.NotIn)):
                pairs.append(self._member(node, left, right_node, isinstance(op_node, ast.NotIn)))
                right = pairs[-1].container
            elif isinstance(op_node, (ast.Is, ast.IsNot)):
                raise self.fail(node, "EXPR_IS", "'is' is not allowed: use missing(x) or "
                                "exists(x) for missing data, == for values")
            else:
                right = self.check(right_node)
                pairs.append(self._comparison(node, _COMPARE[type(op_node)], left, right))
            left = right
        if len(pairs) == 1:
            return pairs[0]
        return Logic(T_BOOLEAN, any(p.nullable for p in pairs), self.at(node), self.segment(node),
                     op="and", items=pairs)

    def _comparison(self, node: ast.AST, op: str, left: Expr, right: Expr) -> Expr:
        if left.type.name == NULL or right.type.name == NULL:
            raise self.fail(node, "EXPR_NULL", f"'{self.segment(node)}': a comparison with null "
                            "is never true (missing data); use missing(x) or exists(x)")
        if not comparable(left.type, right.type, op):
            raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}' compares {left.type} with "
                            f"{right.type}")
        self._enum_literal(node, left, right)
        self._enum_literal(node, right, left)
        return Cmp(T_BOOLEAN, left.nullable or right.nullable, self.at(node), self.segment(node),
                   op=op, left=left, right=right)

    def _enum_literal(self, node: ast.AST, field_expr: Expr, literal: Expr) -> None:
        """An enum compared with a text constant it can never take is surely a typo."""
        values = field_expr.type.values if field_expr.type.name == ENUM else None
        if values and isinstance(literal, Lit) and isinstance(literal.value, str) \
                and literal.value not in values:
            raise self.fail(node, "EXPR_ENUM_VALUE", f"'{literal.value}' is not a value of "
                            f"'{field_expr.text}' ({', '.join(values)})"
                            f"{did_you_mean(literal.value, values)}")

    def _member(self, node: ast.Compare, item: Expr, container_node: ast.AST,
                negated: bool) -> Expr:
        if isinstance(container_node, (ast.List, ast.Tuple)):
            container: Expr = self._literal_list(container_node)
        else:
            container = self.check(container_node)
        if container.type.name == STRING and item.type.textual:  # "3" in status: a substring
            return Member(T_BOOLEAN, item.nullable or container.nullable, self.at(node),
                          self.segment(node), item=item, container=container, negated=negated)
        if container.type.name != LIST:
            raise self.fail(container_node, "EXPR_TYPE", f"'{self.segment(container_node)}' is "
                            f"{container.type}; 'in' needs a list, a named list, a list field or "
                            "text")
        element = container.type.item or T_STRING
        if not comparable(item.type, element, "=="):
            raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}' looks for {item.type} in "
                            f"a list of {element}")
        if isinstance(container, ListLit):
            for literal in container.items:
                self._enum_literal(node, item, literal)
        return Member(T_BOOLEAN, item.nullable or container.nullable, self.at(node),
                      self.segment(node), item=item, container=container, negated=negated)

    def _Call(self, node: ast.Call) -> Expr:
        if isinstance(node.func, ast.Attribute):
            raise self.fail(node, "EXPR_METHOD_CALL", f"'{self.segment(node)}': method calls are "
                            "not allowed; use one of the functions: " + ", ".join(FUNCTIONS))
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "EXPR_NOT_ALLOWED", f"'{self.segment(node)}' is not a call of a "
                            "known function")
        name = node.func.id
        if name.startswith("_"):
            raise self.fail(node, "EXPR_UNDERSCORE", f"'{name}': names starting with '_' are not "
                            "allowed")
        if name in QUANTIFIERS + AGGREGATES and (name not in ("min", "max") or (
                len(node.args) == 1 and (isinstance(node.args[0], ast.GeneratorExp)
                                         or self._is_list(node.args[0])))):
            if len(node.args) != 1 or node.keywords:
                raise self.fail(node, "EXPR_CALL", f"'{self.segment(node)}': {name} takes one "
                                f"list or comprehension: {name}(a.x for a in L if ...)")
            return self._over(node, name)
        if name == "in_list":
            return self._in_list(node)
        function = FUNCTIONS.get(name)
        if function is None:
            extra = " (it is not available in rules)" if name in UNSUPPORTED_BUILTINS else ""
            raise self.fail(node, "EXPR_UNKNOWN_FUNCTION", f"unknown function '{name}'{extra}"
                            f"{did_you_mean(name, [*FUNCTIONS, 'in_list', *QUANTIFIERS, *AGGREGATES])}")
        if node.keywords:
            raise self.fail(node, "EXPR_KEYWORD_ARGUMENT", f"'{self.segment(node)}': pass "
                            f"arguments by position: {function.signature}")
        args = [self.check(arg) for arg in node.args]
        result = function.check([a.type for a in args])
        if isinstance(result, str):
            raise self.fail(node, "EXPR_CALL", f"'{self.segment(node)}': {name} {result}")
        if name in CONSTRUCTORS and len(args) == 1 and isinstance(args[0], Lit) \
                and isinstance(args[0].value, str):
            value = function.implementation(args[0].value)
            if value is None:
                raise self.fail(node, "EXPR_CALL", f"'{self.segment(node)}': '{args[0].value}' is "
                                f"not a {name}: {function.signature}")
            return Lit(result, False, self.at(node), self.segment(node), value=value)
        if function.handles_missing:
            if name in ("exists", "missing"):
                nullable = False
            elif name == "coalesce":
                nullable = all(a.nullable for a in args)
            else:  # min/max ignore missing arguments
                nullable = all(a.nullable for a in args)
        else:
            nullable = function.may_be_missing or any(a.nullable for a in args)
        return Call(result, nullable, self.at(node), self.segment(node), name=name, args=args)

    def _in_list(self, node: ast.Call) -> Expr:
        """in_list("blacklist", applicant.id_number): whether the field's value is on a list held
        in the database. The engine never looks it up: the call reads a value the service hands
        in, registered here by list and field. A missing value is on no list (false): a policy
        that needs the check to run requires the field."""
        if node.keywords or len(node.args) not in (2, 3):
            raise self.fail(node, "EXPR_CALL", f"'{self.segment(node)}': in_list takes two "
                            f"arguments, or three with the entries' kind: {IN_LIST}")
        list_node, field_node = node.args[:2]
        kind = None
        if len(node.args) == 3:
            kind_node = node.args[2]
            if not (isinstance(kind_node, ast.Constant) and kind_node.value in LIST_ENTRY_KINDS):
                raise self.fail(kind_node, "EXPR_CALL", f"'{self.segment(node)}': the third "
                                "argument of in_list is the kind of the list's entries the field "
                                f"is matched against, in quotes, one of {', '.join(LIST_ENTRY_KINDS)}")
            kind = kind_node.value
        if not (isinstance(list_node, ast.Constant) and list_node.value in DATABASE_LISTS):
            raise self.fail(list_node, "EXPR_CALL", f"'{self.segment(node)}': the first argument "
                            f"of in_list is the list's name in quotes, one of "
                            f"{', '.join(DATABASE_LISTS)}")
        field_expr = self.check(field_node)
        if not isinstance(field_expr, Ref) or field_expr.type.name not in (STRING, ENUM) \
                or field_expr.path not in self.scope.input_fields:
            raise self.fail(field_node, "EXPR_CALL", f"'{self.segment(node)}': the second "
                            "argument of in_list is an input field holding text (an ID number, "
                            "phone, device id, employer or card number)")
        path = list_lookup_name(list_node.value, field_expr.path)
        known = self.scope.list_lookups.get(path)
        if known is not None and known[2] != kind:
            raise self.fail(node, "EXPR_CALL", f"'{self.segment(node)}': in_list on the "
                            f"{list_node.value} with {field_expr.path} is written elsewhere with "
                            f"{'the kind ' + repr(known[2]) if known[2] else 'no kind'}: one field "
                            "is matched against one kind of entries on a list")
        self.scope.list_lookups[path] = (list_node.value, field_expr.path, kind)
        self.scope.list_lookup_at.setdefault(path, self.at(node))
        return Ref(T_BOOLEAN, False, self.at(node), self.segment(node), path=path)

    def _is_list(self, node: ast.AST) -> bool:
        """Whether min(x)/max(x) with one argument means the smallest item of a list."""
        try:
            return self.check(node).type.name == LIST
        except CheckError:
            return False

    def _IfExp(self, node: ast.IfExp) -> Expr:
        test = self._boolean(node.test, "if")
        body, orelse = self.check(node.body), self.check(node.orelse)
        kind = common_type(body.type, orelse.type)
        if kind is None:
            raise self.fail(node, "EXPR_TYPE", f"'{self.segment(node)}': both branches must have "
                            f"one type, not {body.type} and {orelse.type}")
        nullable = test.nullable or body.nullable or orelse.nullable
        return IfElse(kind, nullable, self.at(node), self.segment(node), test=test, body=body,
                      orelse=orelse)


def referenced_paths(expr: Expr) -> list[str]:
    """The value paths an expression reads (for dependency order and traces)."""
    found: dict[str, None] = {}

    def walk(node):
        if isinstance(node, Ref):
            found.setdefault(node.path, None)
        for child in children(node):
            walk(child)

    walk(expr)
    return list(found)


def children(node: Expr) -> list[Expr]:
    if isinstance(node, Unary) or isinstance(node, Not):
        return [node.operand]
    if isinstance(node, (Arith, Cmp)):
        return [node.left, node.right]
    if isinstance(node, Logic):
        return list(node.items)
    if isinstance(node, Member):
        return [node.item, node.container]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, IfElse):
        return [node.test, node.body, node.orelse]
    if isinstance(node, ListLit):
        return list(node.items)
    if isinstance(node, Over):
        return [part for part in (node.source, node.where, node.body)
                if part is not None and not (isinstance(part, ItemRef) and not part.var)]
    return []


