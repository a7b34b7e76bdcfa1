"""Generated expressions: the value of E and the conditions E / not (E) agree, and values
match an independent reference evaluator."""
from __future__ import annotations

import ast as _ast
import calendar as _calendar
import datetime
import functools
import decimal as _decimal
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.engine import load_policy_files
from app.engine.language.resident_id import compose
from engine.strategies import applicants, date_values, resident_ids
from engine.support import dump, policy_text, reasons_text, ruleset


# --- generated expressions: the value of E and the conditions E / not (E) agree -------------------
# A feature f: E is three-valued (true, false, missing); the rules `when: E` and `when: not (E)`
# are lowered to negation normal form with atoms that are false on missing data. The two code
# paths must agree: `E` fires exactly when f is true, `not (E)` exactly when f is false, and
# neither when f is missing. This also checks that nothing a well-typed expression can do raises.
def _numbers(depth: int):
    atoms = st.one_of(
        st.sampled_from(["a", "b", "c", "d", "d2", "0", "1", "2", "-3", "0.5", "1.25",
                         "params.k", "len(s)", "len(tags)", "len(nums)",
                         "days_between(day, day2)", "months_between(day, decision_date)"]))
    if depth <= 0:
        return atoms
    smaller = _numbers(depth - 1)
    return st.one_of(
        atoms,
        st.tuples(smaller, st.sampled_from(["+", "-", "*", "/", "//", "%"]), smaller)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        smaller.map(lambda x: f"-({x})"),
        st.tuples(st.sampled_from(["abs", "floor", "ceil", "round"]), smaller)
        .map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), smaller, smaller)
        .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(smaller, st.integers(-2, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.tuples(_booleans(depth - 1), smaller, smaller)
        .map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
    )


def _booleans(depth: int):
    def compare(t):
        return f"{t[0]} {t[1]} {t[2]}"
    numbers = _numbers(max(depth - 1, 0))
    ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
    atoms = st.one_of(
        st.tuples(numbers, ops, numbers).map(compare),
        st.tuples(numbers, ops, numbers, ops, numbers)
        .map(lambda t: f"{t[0]} {t[1]} {t[2]} {t[3]} {t[4]}"),
        st.sampled_from([
            "flag", "flag2", "flag == true", "flag != false", "flag == flag2", "true", "false",
            'e == "RED"', 'e != "BLUE"', 'e in ["RED", "GREEN"]', 'e not in ["RED"]',
            's == "张三"', 's != ""', 's in lists.cities', 's not in lists.cities',
            '"vip" in tags', '"vip" not in tags', "a in nums", "a not in nums",
            '"RED" in colours', "e in colours", "a in [1, 2, 3]", "d not in [0.5, 1]",
            "day < day2", "day >= decision_date", "date_add_months(day, a) <= decision_date",
            "exists(a)", "missing(d)", "exists(tags)", "missing(s)",
            "resident_id_valid(person.id_number)", 'resident_id_gender(person.id_number) == "MALE"',
            "age_at(person.id_number, decision_date) >= 18"]),
    )
    if depth <= 0:
        return atoms
    smaller = _booleans(depth - 1)
    return st.one_of(
        atoms,
        smaller.map(lambda x: f"not ({x})"),
        st.tuples(smaller, st.sampled_from(["and", "or"]), smaller)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(smaller, smaller, smaller).map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
    )


CITIES = dump({"list": "cities", "type": "string", "values": ["110100", "张三"]})
REASONS = reasons_text()


def _expression_policy(features: tuple[tuple[str, str], ...], rules: tuple[str, str]):
    """A policy with the given features, one rule set (name, text), a named list cities and k."""
    files = {"policies/p/x.yaml": policy_text(features=dict(features), parameters={"k": 7},
                                              stages=[{"id": rules[0], "ruleset": rules[0]}]),
             f"rules/{rules[0]}.yaml": rules[1], "rules/cities.yaml": CITIES,
             "rules/reason_codes.yaml": REASONS}
    return load_policy_files("p.x", files)


@functools.lru_cache(maxsize=256)  # hypothesis draws the same small expressions again and again
def _grammar_policy(expression: str):
    return _expression_policy((("f", expression),), ("r", ruleset("r", [
        {"id": "POS", "when": expression, "then": {"action": "DECLINE", "reason": "R1"}},
        {"id": "NEG", "when": f"not ({expression})",
         "then": {"action": "REFER", "reason": "R2"}}])))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), expression=_booleans(3))
def test_generated_conditions_agree_with_their_value(data, expression):
    policy = _grammar_policy(expression)  # a well-typed expression must load
    for _ in range(3):
        raw = data.draw(_small_applicants(policy), label="input")
        decision = policy.decide(policy.parse_input(raw))
        value = decision.trace.values["f"]
        assert value in (True, False, None)
        event(f"value {value}")
        matched = decision.trace.matched()
        assert matched == {"POS": value is True, "NEG": value is False}, (expression, raw, value)


_SMALL: dict[str, object] = {}


def _small_applicants(policy):
    """Inputs for the grammar policy: small numbers (so that comparisons go both ways)."""
    if "s" not in _SMALL:
        small_int = st.one_of(st.integers(-3, 12), st.sampled_from([0, 1, 7]))
        small_dec = st.decimals(min_value=-5, max_value=5, places=2, allow_nan=False,
                                allow_infinity=False).map(str)
        days = date_values(datetime.date(2020, 1, 1), datetime.date(2030, 12, 31))
        ids = st.one_of(resident_ids(), st.just(compose("110105",
                                                                 datetime.date(2000, 1, 1), 1)))
        overrides = {"a": small_int, "b": small_int, "c": small_int, "d": small_dec,
                     "d2": small_dec, "day": days, "day2": days, "decision_date": days,
                     "s": st.sampled_from(["", "张三", "110100", "x"]),
                     "tags": st.lists(st.sampled_from(["vip", "new"]), max_size=2),
                     "nums": st.lists(small_int, max_size=3),
                     "person.id_number": ids}
        _SMALL["s"] = applicants(policy, overrides)
    return _SMALL["s"]


# --- generated expressions against an independent reference evaluator ----------------------------
_REFERENCE_CONTEXT = _decimal.Context(prec=28, rounding=_decimal.ROUND_HALF_EVEN)


def _typed_values(policy, raw: dict) -> dict:
    """The flat values of an input, typed by hand from the raw JSON (not by the engine)."""
    values = {}
    for path, spec in policy.input_schema.fields.items():
        node = raw
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            values[path] = None
        elif spec.type.name == "date":
            values[path] = datetime.date.fromisoformat(node)
        elif spec.type.name == "decimal":
            values[path] = Decimal(str(node))
        elif spec.type.name == "list":
            values[path] = tuple(node)
        else:
            values[path] = node
    return values


def _kleene_and(items):
    return False if False in items else None if None in items else True


def _kleene_or(items):
    return True if True in items else None if None in items else False


def _floor_div(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return (Decimal(a) / Decimal(b)).to_integral_value(rounding=_decimal.ROUND_FLOOR)


def _months(start, end):
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    if months < 0 and end.day > start.day:
        months += 1
    return months


def _add_months(day, n):
    year, month = divmod(day.year * 12 + day.month - 1 + n, 12)
    if not 1 <= year <= 9999:
        return None
    return datetime.date(year, month + 1, min(day.day, _calendar.monthrange(year, month + 1)[1]))


def _id_birth(number):
    try:
        if len(number) == 18 and number[:17].isascii() and number[:17].isdigit():
            return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        pass
    return None


def _id_valid(number):
    if _id_birth(number) is None:
        return False
    return number.upper() == compose(number[:6], _id_birth(number), int(number[14:17]))


def _round_half_up(x, digits=0):
    quantum = Decimal(1).scaleb(-digits)
    return Decimal(x).quantize(quantum, rounding=_decimal.ROUND_HALF_UP)


_CALLS = {
    "abs": abs, "len": len,
    "floor": lambda x: int(Decimal(x).to_integral_value(rounding=_decimal.ROUND_FLOOR)),
    "ceil": lambda x: int(Decimal(x).to_integral_value(rounding=_decimal.ROUND_CEILING)),
    "round": _round_half_up,
    "days_between": lambda a, b: (b - a).days,
    "months_between": _months,
    "date_add_months": _add_months,
    "resident_id_valid": _id_valid,
    "resident_id_gender": lambda n: None if _id_birth(n) is None else (
        "MALE" if int(n[16]) % 2 else "FEMALE"),
    "age_at": lambda n, on: None if _id_birth(n) is None else (
        on.year - _id_birth(n).year - ((on.month, on.day) < (_id_birth(n).month,
                                                             _id_birth(n).day))),
}


def reference_value(text: str, values: dict, params: dict, lists: dict):
    """Evaluate an expression of the rule language by its documented meaning."""
    def ev(node):
        if isinstance(node, _ast.Constant):
            if isinstance(node.value, float):
                return Decimal(_ast.get_source_segment(text, node))
            return node.value
        if isinstance(node, _ast.Name):
            return {"true": True, "false": False}.get(node.id, values.get(node.id))
        if isinstance(node, _ast.Attribute):
            path = _ast.unparse(node)
            head, _, rest = path.partition(".")
            if head == "params":
                return params[rest]
            if head == "lists":
                return lists[rest]
            return values[path]
        if isinstance(node, (_ast.List, _ast.Tuple)):
            return tuple(ev(e) for e in node.elts)
        if isinstance(node, _ast.UnaryOp):
            x = ev(node.operand)
            if x is None:
                return None
            return (not x) if isinstance(node.op, _ast.Not) else -x
        if isinstance(node, _ast.BoolOp):
            items = [ev(v) for v in node.values]
            return _kleene_and(items) if isinstance(node.op, _ast.And) else _kleene_or(items)
        if isinstance(node, _ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if a is None or b is None:
                return None
            op = type(node.op)
            if op in (_ast.Div, _ast.FloorDiv, _ast.Mod) and b == 0:
                return None
            if op is _ast.Div:
                return Decimal(a) / Decimal(b)
            if op is _ast.FloorDiv:
                return _floor_div(a, b)
            if op is _ast.Mod:
                return a % b if isinstance(a, int) and isinstance(b, int) else \
                    Decimal(a) - Decimal(b) * _floor_div(a, b)
            return {_ast.Add: lambda: a + b, _ast.Sub: lambda: a - b,
                    _ast.Mult: lambda: a * b}[op]()
        if isinstance(node, _ast.Compare):
            results, left = [], ev(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = ev(right_node)
                if left is None or right is None:
                    results.append(None)
                elif isinstance(op, _ast.In):
                    results.append(left in right)
                elif isinstance(op, _ast.NotIn):
                    results.append(left not in right)
                else:
                    results.append({_ast.Lt: left < right, _ast.LtE: left <= right,
                                    _ast.Gt: left > right, _ast.GtE: left >= right,
                                    _ast.Eq: left == right, _ast.NotEq: left != right}[type(op)])
                left = right
            return _kleene_and(results)
        if isinstance(node, _ast.IfExp):
            test = ev(node.test)
            return None if test is None else ev(node.body if test else node.orelse)
        if isinstance(node, _ast.Call):
            name = node.func.id
            args = [ev(a) for a in node.args]
            if name == "exists":
                return args[0] is not None
            if name == "missing":
                return args[0] is None
            if name == "coalesce":
                return next((a for a in args if a is not None), None)
            if name in ("min", "max"):
                present = [a for a in args if a is not None]
                return (min if name == "min" else max)(present) if present else None
            if any(a is None for a in args):
                return None
            return _CALLS[name](*args)
        raise AssertionError(f"unexpected node {_ast.dump(node)}")

    with _decimal.localcontext(_REFERENCE_CONTEXT):
        return ev(_ast.parse(text, mode="eval").body)


def _same(engine, reference) -> bool:
    if engine is None or reference is None:
        return engine is None and reference is None
    if isinstance(reference, bool) or isinstance(engine, bool):
        return engine is reference
    return engine == reference


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), condition=_booleans(2), number=_numbers(3))
def test_generated_expressions_match_the_reference_evaluator(data, condition, number):
    policy = _reference_policy(condition, number)
    for _ in range(3):
        raw = data.draw(_small_applicants(policy), label="input")
        decision = policy.decide(policy.parse_input(raw))
        values = _typed_values(policy, raw)
        lists = {"cities": frozenset({"110100", "张三"})}
        for name, text in (("f", condition), ("g", number)):
            expected = reference_value(text, values, {"k": 7}, lists)
            actual = decision.trace.values[name]
            assert _same(actual, expected), (text, raw, actual, expected)


@functools.lru_cache(maxsize=256)
def _reference_policy(condition: str, number: str):
    return _expression_policy((("f", condition), ("g", number)), ("noop", ruleset("noop", [
        {"id": "N", "when": "false", "then": {"action": "REFER", "reason": "R1"}}])))
