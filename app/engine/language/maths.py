"""log, exp and logistic for the language: turning a probability into points and back (scorecard
scaling). Decimal arithmetic at 28 digits, the same on every machine; a value outside the domain
(log of zero or less) is missing, like a division by zero."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, Overflow

_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


def log(x):
    """The natural logarithm; missing for x <= 0."""
    if x is None or x <= 0:
        return None
    return _CONTEXT.ln(Decimal(x))


def exp(x):
    if x is None:
        return None
    try:
        return _CONTEXT.exp(Decimal(x))
    except (InvalidOperation, Overflow):
        return None


def logistic(x):
    """1 / (1 + exp(-x)): log-odds to a probability."""
    if x is None:
        return None
    try:
        return _CONTEXT.divide(Decimal(1), _CONTEXT.add(Decimal(1), _CONTEXT.exp(-Decimal(x))))
    except (InvalidOperation, Overflow):  # exp(-x) beyond the largest decimal: the limit, 0
        return Decimal(0)
