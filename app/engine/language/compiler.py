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
from .expressions import (Arith, Call, Cmp, Expr, IfElse, ListLit, Lit, Logic, Member, NamedList,
                          Not, Ref, Unary, referenced_paths)
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
    return builder.computed(expr, negate)


def _field(ref: Ref) -> c.FieldRef:
    return c.FieldRef(ref.path, ref.type.name)


def _operand(expr: Expr) -> c.Const | c.FieldRef:
    return _field(expr) if isinstance(expr, Ref) else c.Const(expr.value, expr.type.name)


def _constant_set(container: Expr) -> frozenset:
    if isinstance(container, NamedList):
        return container.values
    return frozenset(item.value for item in container.items)


def is_simple(condition: c.Condition) -> bool:
    """True when the condition has no Computed atom (both backends can match it)."""
    return not any(isinstance(atom, c.Computed) for atom in c.atoms(condition))


class CodeBuilder:
    """Collects generated functions for one policy and compiles them together."""

    def __init__(self, filename: str, required_paths: frozenset[str] = frozenset()):
        self.filename = filename
        self.required = required_paths  # paths that are never missing: no None test needed
        self.namespace: dict[str, Any] = {
            "Decimal": Decimal, "_div": _div, "_floordiv": _floordiv, "_mod": _mod,
            "_and": _and, "_or": _or, "_member": _member,
        }
        for name, function in FUNCTIONS.items():
            self.namespace["fn_" + name] = function.implementation
        self._constants: dict[Any, str] = {}
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
                          expr.location)

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
