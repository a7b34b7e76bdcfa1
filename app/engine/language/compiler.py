"""From checked expression trees to conditions and to Python code.

Two jobs:
- `lower_condition` turns a boolean expression into the condition form (conditions.py), pushing
  every `not` down to the atoms.
- `CodeBuilder` writes Python source for feature values and condition matching and compiles it once
  per policy. The source is generated only from checked trees: names are our own, field paths are
  string literals, constants live in the namespace, so no text written by a rule author is ever
  executed as code.

Values follow the missing-data rule: arithmetic, comparisons and function calls on a missing value
give missing (None); `and`/`or`/`not` use three-valued logic; a condition atom that reads a
missing value is false.
"""
from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any, Callable

from ..types import BOOLEAN
from . import conditions as c
from .expressions import (QUANTIFIERS, Arith, Call, Cmp, Expr, IfElse, ItemRef, ListLit, Lit,
                          Logic, Member, NamedList, Not, Over, Ref, Unary, children,
                          referenced_paths)
from .functions import FUNCTIONS

# One fixed context so that decimal results never depend on the caller's thread state.
DECIMAL_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _div(a, b):
    if a is None or b is None or b == 0:
        return None
    return DECIMAL_CONTEXT.divide(Decimal(a), Decimal(b))


def _floordiv(a, b):
    """Floor division for integers and decimals alike (Python's Decimal truncates instead)."""
    if a is None or b is None or b == 0:
        return None
    if a.__class__ is int and b.__class__ is int:
        return a // b
    return DECIMAL_CONTEXT.divide(Decimal(a), Decimal(b)).to_integral_value(
        rounding=decimal.ROUND_FLOOR)


def _mod(a, b):
    """The remainder that goes with floor division: it has the sign of the divisor."""
    if a is None or b is None or b == 0:
        return None
    if a.__class__ is int and b.__class__ is int:
        return a % b
    return Decimal(a) - Decimal(b) * _floordiv(a, b)


def _and(*values):
    if False in values:
        return False
    return None if None in values else True


def _or(*values):
    if True in values:
        return True
    return None if None in values else False


def _member(item, container, negated):
    if item is None or container is None:
        return None
    return (item not in container) if negated else (item in container)


# --- lists: quantifiers and aggregates (three-valued like the rest) ------------------------------
def _selected(items, where):
    """The items `where` selects: those for which it is True (missing counts as not selected,
    as a condition that reads missing data is false)."""
    return items if where is None else [x for x in items if where(x) is True]


def _any(items, where, test):
    if items is None:
        return None
    unknown = False
    for x in _selected(items, where):
        result = test(x)
        if result is True:
            return True
        if result is None:
            unknown = True
    return None if unknown else False


def _all(items, where, test):
    if items is None:
        return None
    unknown = False
    for x in _selected(items, where):
        result = test(x)
        if result is False:
            return False
        if result is None:
            unknown = True
    return None if unknown else True


def _none(items, where, test):
    result = _any(items, where, test)
    return None if result is None else not result


def _count(items, where):
    return None if items is None else len(_selected(items, where))


def _values(items, where, value):
    """The values of the selected items, or None when any is missing (an aggregate over partly
    missing data is unknown, never a smaller number)."""
    found = [x for x in _selected(items, where)] if value is None else \
        [value(x) for x in _selected(items, where)]
    return None if None in found else found


def _sum(items, where, value, zero):
    if items is None:
        return None
    found = _values(items, where, value)
    return None if found is None else sum(found, zero)


def _min_of(items, where, value):
    found = None if items is None else _values(items, where, value)
    return min(found) if found else None


def _max_of(items, where, value):
    found = None if items is None else _values(items, where, value)
    return max(found) if found else None


def _avg(items, where, value):
    found = None if items is None else _values(items, where, value)
    if not found:
        return None
    return DECIMAL_CONTEXT.divide(Decimal(sum(found)), Decimal(len(found)))


def _filter(items, where):
    return None if items is None else tuple(_selected(items, where))


def _map(items, where, value):
    return None if items is None else tuple(value(x) for x in _selected(items, where))


def _matching(items, where, test):
    """The positions of the items a quantifier or aggregate selected (and, for a quantifier,
    whose test held): what a trace shows for a rule over a list."""
    if items is None:
        return None
    return [i for i, x in enumerate(items)
            if (where is None or where(x) is True) and (test is None or test(x) is True)]


def _loopable(expr: Over) -> bool:
    """Whether CodeBuilder._looped writes this quantifier or aggregate out as loops: every kind
    but avg, in the shapes the helpers above define (a quantifier or map with an item variable
    has a body to test or map; avg keeps its helper)."""
    if expr.kind in QUANTIFIERS:
        return not expr.var or expr.body is not None
    if expr.kind == "map":
        return bool(expr.var) and expr.body is not None
    return expr.kind in ("count", "filter", "sum", "min", "max")


def _fold(op: str, left: Any, right: Any) -> bool:
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right,
            "==": left == right, "!=": left != right}[op]


def lower_condition(expr: Expr, builder: "CodeBuilder", negate: bool = False) -> c.Condition:
    """The condition form of a boolean expression, in negation normal form."""
    if isinstance(expr, Lit):
        return c.Always(bool(expr.value) != negate)
    if isinstance(expr, Not):
        return lower_condition(expr.operand, builder, not negate)
    if isinstance(expr, Logic):
        conjunction = (expr.op == "and") != negate
        items: list[c.Condition] = []
        for item in expr.items:
            lowered = lower_condition(item, builder, negate)
            same = c.AllOf if conjunction else c.AnyOf
            items.extend(lowered.items if isinstance(lowered, same) else [lowered])
        return c.AllOf(tuple(items)) if conjunction else c.AnyOf(tuple(items))
    if isinstance(expr, Cmp):
        op = c.NEGATED_OPERATOR[expr.op] if negate else expr.op
        left, right = expr.left, expr.right
        if isinstance(left, Lit) and isinstance(right, Lit):
            return c.Always(_fold(op, left.value, right.value))
        if isinstance(left, Ref) and isinstance(right, (Lit, Ref)):
            return c.Compare(_field(left), op, _operand(right), expr.location)
        if isinstance(left, Lit) and isinstance(right, Ref):
            return c.Compare(_field(right), _FLIP[op], _operand(left), expr.location)
    if isinstance(expr, Member) and isinstance(expr.container, (ListLit, NamedList)):
        values = _constant_set(expr.container)
        negated = expr.negated != negate
        if isinstance(expr.item, Lit):
            return c.Always((expr.item.value in values) != negated)
        if isinstance(expr.item, Ref):
            return c.Member(_field(expr.item), values, negated, expr.location)
    if isinstance(expr, Call) and expr.name in ("exists", "missing") \
            and isinstance(expr.args[0], Ref):
        present = (expr.name == "exists") != negate
        return c.Presence(_field(expr.args[0]), present, expr.location)
    if isinstance(expr, Ref) and expr.type.name == BOOLEAN:
        return c.Compare(_field(expr), "==", c.Const(not negate, BOOLEAN), expr.location)
    if isinstance(expr, Over) and expr.kind in QUANTIFIERS:
        # Three-valued, so `not any(...)` is true only where every item's test is known false:
        # the missing-data rule holds for each item's atoms as for the rule's.
        atom = builder.computed(expr, negate)
        return c.Computed(atom.source, atom.python, atom.fields, atom.negated, atom.location,
                          over=expr.source.text, expr=atom.expr)
    return builder.computed(expr, negate)


def _field(ref: Ref) -> c.FieldRef:
    return c.FieldRef(ref.path, ref.type.name)


def _operand(expr: Expr) -> c.Const | c.FieldRef:
    return _field(expr) if isinstance(expr, Ref) else c.Const(expr.value, expr.type.name)


def _constant_set(container: Expr) -> frozenset:
    if isinstance(container, NamedList):
        return container.values
    return frozenset(item.value for item in container.items)


def is_simple(condition: c.Condition, quantifiers: bool = False) -> bool:
    """True when the condition has no Computed atom (both backends can match it); with
    `quantifiers`, a quantifier over a list (any/all/none) counts as simple too."""
    return not any(isinstance(atom, c.Computed) and not (quantifiers and atom.over)
                   for atom in c.atoms(condition))


def overs(expr: Expr) -> list[Over]:
    """Every quantifier and aggregate in an expression, outermost first."""
    found, stack = [], [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Over):
            found.append(node)
        stack.extend(reversed(children(node)))
    return found


class CodeBuilder:
    """Collects generated functions for one policy and compiles them together."""

    def __init__(self, filename: str, required_paths: frozenset[str] = frozenset()):
        self.filename = filename
        self.required = required_paths  # paths that are never missing: no None test needed
        self.namespace: dict[str, Any] = {
            "Decimal": Decimal, "_div": _div, "_floordiv": _floordiv, "_mod": _mod,
            "_and": _and, "_or": _or, "_member": _member, "_any": _any, "_all": _all,
            "_none": _none, "_count": _count, "_sum": _sum, "_min_of": _min_of,
            "_max_of": _max_of, "_avg": _avg, "_filter": _filter, "_map": _map,
            "_matching": _matching,
        }
        for name, function in FUNCTIONS.items():
            self.namespace["fn_" + name] = function.implementation
        self._constants: dict[Any, str] = {}
        self._items: list[str] = []  # the item variables of the comprehensions being written
        self._temps = 0
        self._functions = 0

    # --- names for constants and temporaries -----------------------------------------------
    def constant(self, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return repr(value)
        if isinstance(value, int):
            return repr(value)
        if isinstance(value, str):
            return repr(value)
        key = (type(value).__name__, value if not isinstance(value, (set, frozenset))
               else tuple(sorted(map(repr, value))))
        if key not in self._constants:
            name = f"K{len(self._constants)}"
            self._constants[key] = name
            self.namespace[name] = value
        return self._constants[key]

    def temp(self) -> str:
        self._temps += 1
        return f"t{self._temps}"

    # --- values ----------------------------------------------------------------------------
    def value(self, expr: Expr) -> str:
        """Python source computing an expression's value (None when missing) from `v`."""
        if isinstance(expr, Lit):
            return self.constant(expr.value)
        if isinstance(expr, Ref):
            return f"v[{expr.path!r}]"
        if isinstance(expr, ItemRef):
            name = "i_" + expr.var
            if expr.field is None:
                return name
            return f"{name}.get({expr.field!r})" if expr.nullable else f"{name}[{expr.field!r}]"
        if isinstance(expr, Over):
            return self._over(expr)
        if isinstance(expr, NamedList):  # an argument of starts_with and the like
            return self.constant(tuple(sorted(expr.values, key=repr)))
        if isinstance(expr, ListLit):
            if all(isinstance(item, Lit) for item in expr.items):
                return self.constant(tuple(item.value for item in expr.items))
            return "(" + "".join(self.value(item) + ", " for item in expr.items) + ")"
        if isinstance(expr, Unary):
            inner = self.value(expr.operand)
            if expr.op == "+":
                return inner
            return self._guarded([expr.operand], [inner], lambda t: f"-{t[0]}")
        if isinstance(expr, Arith):
            left, right = self.value(expr.left), self.value(expr.right)
            helper = {"/": "_div", "//": "_floordiv", "%": "_mod"}.get(expr.op)
            if helper:
                return f"{helper}({left}, {right})"
            return self._guarded([expr.left, expr.right], [left, right],
                                 lambda t: f"{t[0]} {expr.op} {t[1]}")
        if isinstance(expr, Cmp):
            left, right = self.value(expr.left), self.value(expr.right)
            return self._guarded([expr.left, expr.right], [left, right],
                                 lambda t: f"{t[0]} {expr.op} {t[1]}")
        if isinstance(expr, Logic):
            parts = [self.value(item) for item in expr.items]
            if not expr.nullable:
                return "(" + f" {expr.op} ".join(parts) + ")"
            return f"_{expr.op}({', '.join(parts)})"
        if isinstance(expr, Not):
            inner = self.value(expr.operand)
            return self._guarded([expr.operand], [inner], lambda t: f"not {t[0]}")
        if isinstance(expr, Member):
            item = self.value(expr.item)
            if isinstance(expr.container, (ListLit, NamedList)):
                values = self.constant(_constant_set(expr.container))
                keyword = "not in" if expr.negated else "in"
                return self._guarded([expr.item], [item], lambda t: f"{t[0]} {keyword} {values}")
            return f"_member({item}, {self.value(expr.container)}, {expr.negated})"
        if isinstance(expr, Call):
            return f"fn_{expr.name}({', '.join(self.value(a) for a in expr.args)})"
        if isinstance(expr, IfElse):
            test, body, orelse = (self.value(expr.test), self.value(expr.body),
                                  self.value(expr.orelse))
            if not expr.test.nullable:
                return f"({body} if {test} else {orelse})"
            t = self.temp()
            return f"(None if ({t} := {test}) is None else ({body} if {t} else {orelse}))"
        raise TypeError(f"cannot generate code for {type(expr).__name__}")

    def _lambda(self, var: str, expr: Expr | None) -> str:
        if expr is None:
            return "None"
        self._items.append("i_" + var)
        try:
            return f"(lambda i_{var}: {self.value(expr)})"
        finally:
            self._items.pop()

    def _over(self, expr: Over) -> str:
        source = self.value(expr.source)
        if _loopable(expr):
            return self._looped(expr, source)
        where = self._lambda(expr.var, expr.where)
        body = None if expr.body is None or not expr.var else expr.body
        value = self._lambda(expr.var, body)
        if expr.kind in QUANTIFIERS:
            test = value if expr.var else "bool"
            if not expr.var:  # any(list of booleans): the items are the tests
                test = "(lambda x: x)"
            return f"_{expr.kind}({source}, {where}, {test})"
        if expr.kind in ("count", "filter"):
            return f"_{expr.kind}({source}, {where})"
        if expr.kind == "sum":
            zero = self.constant(Decimal(0)) if expr.type.name != "integer" else "0"
            return f"_sum({source}, {where}, {value}, {zero})"
        if expr.kind == "map":
            return f"_map({source}, {where}, {value})"
        helper = {"min": "_min_of", "max": "_max_of", "avg": "_avg"}[expr.kind]
        return f"{helper}({source}, {where}, {value})"

    def _looped(self, expr: Over, source: str) -> str:
        """A call of a function generated for this quantifier or aggregate: the loops of the
        helpers above (_any, _count, _sum, ...) with the item's test, selection and value
        written into them, so a decision calls no lambda per item. Every item is selected,
        tested and valued in the order, and as many times, as the helpers do it."""
        var = "i_" + expr.var
        # the items of enclosing comprehensions this one may read (a name once: an inner
        # comprehension may reuse an outer one's variable, and the call passes the innermost)
        outer = list(dict.fromkeys(self._items))
        self._items.append(var)
        try:
            where = None if expr.where is None else self.value(expr.where)
            body = None if expr.body is None or not expr.var else self.value(expr.body)
        finally:
            self._items.pop()
        lines = ["if items is None:", "    return None"]
        if where is None:
            selected = "items"
        else:
            selected = "selected"
            lines += ["selected = []", f"for {var} in items:", f"    if ({where}) is True:",
                      f"        selected.append({var})"]
        kind = expr.kind
        if kind in QUANTIFIERS:
            test = body if expr.var else var  # any(list of booleans): the items are the tests
            decided, otherwise = ("True", "False") if kind in ("any", "none") else ("False", "True")
            lines += ["unknown = False", f"for {var} in {selected}:", f"    result = {test}",
                      f"    if result is {decided}:",
                      f"        return {decided if kind != 'none' else otherwise}",
                      "    if result is None:", "        unknown = True",
                      f"return None if unknown else {otherwise if kind != 'none' else decided}"]
        elif kind == "count":
            lines.append(f"return len({selected})")
        elif kind == "filter":
            lines.append(f"return tuple({selected})")
        else:  # sum, min, max, map: the values of the selected items, in order
            value = var if body is None else body
            lines += ["found = []", f"for {var} in {selected}:", f"    found.append({value})"]
            if kind == "map":
                lines.append("return tuple(found)")
            else:
                lines += ["if None in found:", "    return None"]
                if kind == "sum":
                    zero = self.constant(Decimal(0)) if expr.type.name != "integer" else "0"
                    lines.append(f"return sum(found, {zero})")
                else:
                    lines.append(f"return {kind}(found) if found else None")
        name = self.compile_body(", ".join(["v", *outer, "items"]), lines).__name__
        return f"{name}({', '.join(['v', *outer, source])})"

    def matching(self, expr: Over) -> str:
        """Python source of the positions of the items an Over selects (for the trace)."""
        source = self.value(expr.source)
        where = self._lambda(expr.var, expr.where)
        test = "None"
        if expr.kind in QUANTIFIERS:
            test = self._lambda(expr.var, expr.body) if expr.var else "(lambda x: x)"
        return f"_matching({source}, {where}, {test})"

    def _guarded(self, operands: list[Expr], codes: list[str], make: Callable) -> str:
        """`make(operands)`, or None when any nullable operand is missing."""
        names, tests = [], []
        for operand, code in zip(operands, codes):
            if operand.nullable:
                t = self.temp()
                tests.append(f"({t} := {code}) is None")
                names.append(t)
            else:
                names.append(code)
        if not tests:
            return f"({make(names)})"
        return f"(None if {' or '.join(tests)} else {make(names)})"

    def computed(self, expr: Expr, negate: bool) -> c.Computed:
        """A Computed atom for an expression no simpler atom can express."""
        return c.Computed(expr.text, self.value(expr), tuple(referenced_paths(expr)), negate,
                          expr.location, expr=expr)

    # --- conditions ------------------------------------------------------------------------
    def condition(self, cond: c.Condition) -> str:
        """Python source that is True exactly when the condition matches."""
        if isinstance(cond, c.Always):
            return repr(cond.value)
        if isinstance(cond, c.AllOf):
            return "(" + " and ".join(self.condition(i) for i in cond.items) + ")"
        if isinstance(cond, c.AnyOf):
            return "(" + " or ".join(self.condition(i) for i in cond.items) + ")"
        if isinstance(cond, c.Presence):
            return f"(v[{cond.field.path!r}] is {'not ' if cond.present else ''}None)"
        if isinstance(cond, c.Computed):
            return f"({cond.python} is {not cond.negated})"
        if isinstance(cond, c.Member):
            read = f"v[{cond.field.path!r}]"
            values = self.constant(cond.values)
            if not cond.negated:
                return f"({read} in {values})"  # None is never in the set
            return self._present(cond.field.path, read, lambda x: f"{x} not in {values}")
        if isinstance(cond, c.Compare):
            return self._compare(cond)
        raise TypeError(f"cannot generate code for {type(cond).__name__}")

    def _compare(self, cond: c.Compare) -> str:
        read = f"v[{cond.left.path!r}]"
        right = cond.right
        if isinstance(right, c.Const):
            if right.type_name == BOOLEAN:  # `is` so that a missing value is never equal
                wanted = right.value if cond.op == "==" else not right.value
                return f"({read} is {wanted})"
            constant = self.constant(right.value)
            return self._present(cond.left.path, read, lambda x: f"{x} {cond.op} {constant}")
        parts, names = [], []
        for path, source in ((cond.left.path, read), (right.path, f"v[{right.path!r}]")):
            if path in self.required:
                names.append(source)
            else:
                t = self.temp()
                parts.append(f"({t} := {source}) is not None")
                names.append(t)
        parts.append(f"{names[0]} {cond.op} {names[1]}")
        return "(" + " and ".join(parts) + ")"

    def _present(self, path: str, read: str, make: Callable[[str], str]) -> str:
        if path in self.required:
            return f"({make(read)})"
        t = self.temp()
        return f"(({t} := {read}) is not None and {make(t)})"

    # --- compiling -------------------------------------------------------------------------
    def compile_function(self, params: str, expression: str) -> Callable:
        """A function of `params` returning `expression`."""
        return self.compile_body(params, [f"return {expression}"])

    def compile_body(self, params: str, lines: list[str]) -> Callable:
        """A function of `params` with the given body lines."""
        name = f"generated_{self._functions}"
        self._functions += 1
        source = f"def {name}({params}):\n" + "".join(f"    {line}\n" for line in lines)
        code = compile(source, f"<{self.filename}:{name}>", "exec")
        exec(code, self.namespace)  # noqa: S102 - source generated from checked trees only
        return self.namespace[name]
