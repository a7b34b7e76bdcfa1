"""How large a number an expression can compute, bounded at load time: a policy whose features can
grow past MAX_MAGNITUDE (chained products, a square of a square of ...) is rejected with the
feature's location, so no decision ever computes a number that overflows a Decimal or takes
unbounded time and memory as a Python integer.

Bounds are base-10 logarithms of the largest absolute value, deliberately coarse and always on the
safe side: an input number has at most 18 digits (app/engine/validation.py), a literal too
(expressions.MAX_LITERAL_DIGITS), a quotient may divide by the smallest such decimal.
"""
from __future__ import annotations

import math

from .expressions import (Arith, Call, Cmp, Expr, IfElse, ItemRef, Lit, Logic, Member,
                          NamedList, Not, Over, Ref, Unary, children)

INPUT_DIGITS = 18  # the most digits a number sent by a channel, or written in a rule, may have
MAX_MAGNITUDE = 1000  # 10**1000: far beyond any amount, ratio or product of them, far below any
# Decimal overflow (10**999999), and an integer of that size costs microseconds
LIST_DIGITS = 6  # a list in a request of at most FIREFLY_MAX_BODY_BYTES holds far fewer than 10**6 items
# Functions whose result is small whatever their arguments (dates, counts, flags, codes).
_SMALL = {"days_between": 7, "months_between": 6, "age_at": 4, "len": 7, "exists": 0, "missing": 0,
          "resident_id_valid": 0, "resident_id_gender": 0, "resident_id_region": 0,
          "resident_id_birth_date": 0, "prefecture": 0, "province": 0, "date_add_months": 0}


def magnitude(expr: Expr, features: dict[str, float]) -> float:
    """An upper bound of log10(|value|) for `expr` (0 for booleans, text and dates); `features`
    holds the bounds of the features computed before it."""
    if isinstance(expr, Lit):
        value = expr.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "adjusted"):
            return 0.0
        return math.log10(abs(value)) if value else 0.0
    if isinstance(expr, Ref):
        return features.get(expr.path, float(INPUT_DIGITS))
    if isinstance(expr, Unary):
        return magnitude(expr.operand, features)
    if isinstance(expr, Arith):
        left, right = magnitude(expr.left, features), magnitude(expr.right, features)
        if expr.op in ("+", "-"):
            return max(left, right) + math.log10(2)
        if expr.op == "*":
            return left + right
        if expr.op in ("/", "//"):
            return left + INPUT_DIGITS  # a divisor may be as small as 10**-18
        if expr.op == "%":
            return right
        return math.inf  # an operator this bound does not know: refuse rather than guess
    if isinstance(expr, IfElse):
        return max(magnitude(expr.body, features), magnitude(expr.orelse, features))
    if isinstance(expr, Call):
        if expr.name in _SMALL:
            return float(_SMALL[expr.name])
        bounds = [magnitude(arg, features) for arg in expr.args] or [0.0]
        if expr.name in ("round", "floor", "ceil"):
            return bounds[0] + 1
        return max(bounds)  # min, max, abs, coalesce: no larger than their arguments
    if isinstance(expr, (Cmp, Logic, Not, Member, NamedList)):
        return 0.0
    if isinstance(expr, ItemRef):
        return float(INPUT_DIGITS)  # an item of an input list, or one of its fields
    if isinstance(expr, Over):
        if expr.kind in ("any", "all", "none"):
            return 0.0
        if expr.kind == "count":
            return float(LIST_DIGITS)
        body = magnitude(expr.body, features) if expr.body is not None else float(INPUT_DIGITS)
        return body + LIST_DIGITS if expr.kind == "sum" else body
    # Anything else computes from its parts (a list literal, a construct added later): no larger
    # than its largest part.
    return max((magnitude(part, features) for part in children(expr)), default=float(INPUT_DIGITS))
