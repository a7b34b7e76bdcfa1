"""The durable_rules matcher against a plain reference evaluator of the condition form, and the
order-preserving value encoding."""
from __future__ import annotations

import datetime as dt
import operator
import re
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.backends.durable import DurableMatcher, encode_value
from app.engine.errors import Location
from app.engine.language import conditions as c

HERE = Location("rules/test.yaml", 7, 11)


# --- the reference: the condition form's meaning, written as plainly as possible ----------------
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}


def reference(node, values: dict) -> bool:
    if isinstance(node, c.AllOf):
        return all(reference(item, values) for item in node.items)
    if isinstance(node, c.AnyOf):
        return any(reference(item, values) for item in node.items)
    if isinstance(node, c.Always):
        return node.value
    if isinstance(node, c.Presence):
        return (values.get(node.field.path) is not None) == node.present
    if isinstance(node, c.Compare):
        left = values.get(node.left.path)
        right = (node.right.value if isinstance(node.right, c.Const)
                 else values.get(node.right.path))
        if left is None or right is None:
            return False
        return _COMPARE[node.op](left, right)
    if isinstance(node, c.Member):
        value = values.get(node.field.path)
        if value is None:
            return False
        return (value in node.values) != node.negated
    raise AssertionError(f"unexpected node {node!r}")


def rule(rule_id: str, condition) -> SimpleNamespace:
    return SimpleNamespace(id=rule_id, condition=condition, location=HERE)


def ref(path: str, type_name: str) -> c.FieldRef:
    return c.FieldRef(path, type_name)


def cmp(field: c.FieldRef, op: str, right) -> c.Compare:
    if not isinstance(right, c.FieldRef):
        right = c.Const(right, field.type_name)
    return c.Compare(field, op, right, HERE)


def member(field: c.FieldRef, values, negated=False) -> c.Member:
    return c.Member(field, frozenset(values), negated, HERE)


def agree(rules, cases) -> None:
    matcher = DurableMatcher("test:agree", rules)
    for values in cases:
        expected = [reference(r.condition, values) for r in rules]
        assert matcher.match(values) == expected, values


# --- hand-built cases -----------------------------------------------------------------------------
DTI = ref("dti", "decimal")


AGE = ref("age", "integer")


CITY = ref("applicant.city", "string")


GROUP = ref("customer_group", "enum")


BORN = ref("applicant.birth_date", "date")


REPORT = ref("bureau.report_date", "date")


VERIFIED = ref("applicant.verified", "boolean")


STATUSES = ref("bureau.account_statuses", "list")


def test_missing_fields_make_every_comparison_false_even_negated_ones():
    rules = [rule("GT", cmp(DTI, ">", Decimal("0.55"))),
             rule("LE", cmp(DTI, "<=", Decimal("0.55"))),
             rule("NE", cmp(DTI, "!=", Decimal("0.55"))),
             rule("IN", member(GROUP, ["PREMIUM", "SALARIED"])),
             rule("NOTIN", member(GROUP, ["PREMIUM", "SALARIED"], negated=True)),
             rule("FF", cmp(BORN, "<", REPORT)),
             rule("BOOL", cmp(VERIFIED, "!=", True)),
             rule("MISSING", c.Presence(DTI, False, HERE)),
             rule("EXISTS", c.Presence(DTI, True, HERE))]
    matcher = DurableMatcher("test:missing", rules)
    assert matcher.match({}) == [False] * 7 + [True, False]
    assert matcher.match({"dti": None, "customer_group": None}) == [False] * 7 + [True, False]


def test_decimals_compare_exactly_near_equal_values():
    limit = Decimal("0.55")
    rules = [rule(op, cmp(DTI, op, limit)) for op in c.OPERATORS]
    near = [Decimal("0.55"), Decimal("0.550"), Decimal("0.5500000000000000000000000000001"),
            Decimal("0.5499999999999999999999999999999"), Decimal("-0.55"), Decimal("0"),
            Decimal("-0"), Decimal("55E-2"), Decimal("1E+40"), Decimal("-1E-40")]
    agree(rules, [{"dti": value} for value in near])
    matcher = DurableMatcher("test:near", rules)
    # 0.55 + 1e-31 is greater than 0.55: a float would have said equal
    assert matcher.match({"dti": Decimal("0.5500000000000000000000000000001")}) == \
        [False, False, True, True, False, True]


def test_integers_and_decimals_compare_with_each_other_and_beyond_64_bits():
    rules = [rule("A", cmp(AGE, ">=", 2 ** 63)), rule("B", cmp(AGE, "<", DTI)),
             rule("C", cmp(AGE, "==", Decimal("18.0"))), rule("D", member(AGE, [18, 2 ** 70]))]
    agree(rules, [{"age": 2 ** 63}, {"age": 2 ** 63 - 1}, {"age": -(2 ** 80)},
                  {"age": 18, "dti": Decimal("18.000001")}, {"age": 2 ** 70, "dti": Decimal(0)},
                  {"age": 18}])


def test_dates_text_and_booleans():
    rules = [rule("D1", cmp(BORN, "<", dt.date(2000, 1, 1))),
             rule("D2", cmp(REPORT, ">=", BORN)),
             rule("T1", cmp(CITY, ">", "连")),
             rule("T2", member(CITY, ["北京", "上海", ""])),
             rule("T3", cmp(CITY, "<", 'a"b\\c')),
             rule("E1", cmp(GROUP, "==", "PREMIUM")),
             rule("B1", cmp(VERIFIED, "==", False)),
             rule("L1", c.Presence(STATUSES, True, HERE))]
    agree(rules, [
        {"applicant.birth_date": dt.date(1999, 12, 31), "bureau.report_date": dt.date(1999, 12, 31)},
        {"applicant.birth_date": dt.date(1, 1, 1), "bureau.report_date": dt.date(9999, 12, 31)},
        {"applicant.city": "连三"}, {"applicant.city": "连"}, {"applicant.city": ""},
        {"applicant.city": "北京"}, {"applicant.city": 'a"b'}, {"applicant.city": "a\\"},
        {"applicant.city": "\x00"}, {"applicant.city": "\ud800"}, {"applicant.city": "😀"},
        {"customer_group": "PREMIUM", "applicant.verified": False},
        {"applicant.verified": True, "bureau.account_statuses": ()},
        {"bureau.account_statuses": ("NORMAL",)}])


def test_constant_conditions_and_empty_member_sets():
    rules = [rule("T", c.Always(True)), rule("F", c.Always(False)),
             rule("IN0", member(CITY, [])), rule("NOTIN0", member(CITY, [], negated=True)),
             rule("OR", c.AnyOf((c.Always(False), cmp(AGE, ">", 3)))),
             rule("AND", c.AllOf((c.Always(True), c.Presence(AGE, False, HERE))))]
    agree(rules, [{}, {"applicant.city": "x"}, {"age": 4}, {"age": 3, "applicant.city": ""}])


# --- hypothesis: generated conditions and values --------------------------------------------------
FIELDS = {
    "n.int": "integer", "n.dec": "decimal", "n.dec2": "decimal", "d.one": "date", "d.two": "date",
    "s.text": "string", "s.enum": "enum", "b.flag": "boolean", "l.items": "list",
    "sid": "integer", "id": "string", "$s": "integer",   # names the engine uses itself
}


KIND = {"integer": "number", "decimal": "number", "date": "date", "string": "text",
        "enum": "text", "boolean": "boolean", "list": "list"}


integers = st.one_of(st.sampled_from([0, 1, -1, 5, 6, 2 ** 53 + 1, 2 ** 63, -(2 ** 63) - 1]),
                     st.integers(-10, 10), st.integers())


decimals = st.one_of(
    st.sampled_from([Decimal("0.55"), Decimal("0.550"), Decimal("0.5500000000000000000000001"),
                     Decimal("0.5499999999999999999999999"), Decimal("-0.55"), Decimal("0"),
                     Decimal("-0"), Decimal("5"), Decimal("5.0"), Decimal("1E+30"),
                     Decimal("-1E-30")]),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10, max_value=10),
    st.decimals(allow_nan=False, allow_infinity=False))


numbers = st.one_of(integers, decimals)


dates = st.one_of(st.sampled_from([dt.date(2000, 1, 1), dt.date(1999, 12, 31)]), st.dates())


texts = st.one_of(st.sampled_from(["", "连三", "连", "累六", "PREMIUM", "SALARIED", "a\"b", "\\",
                                   "\x00", "\ud800", "a", "A", "b"]),
                  st.text(alphabet="ab连三累六\"\\", max_size=4), st.text(max_size=6))


booleans = st.booleans()


lists = st.lists(texts, max_size=2).map(tuple)


BY_KIND = {"number": numbers, "date": dates, "text": texts, "boolean": booleans, "list": lists}


def value_of(type_name):
    return BY_KIND[KIND[type_name]]


field_names = st.sampled_from(sorted(FIELDS))
# Strategies built once, not inside every draw (building one costs more than drawing from it).
ATOM_FORMS = st.sampled_from(["presence", "compare", "member", "field"])
OPERATORS = {kind: st.sampled_from(("==", "!=") if kind == "boolean" else c.OPERATORS)
             for kind in BY_KIND}
MEMBER_SETS = {kind: st.frozensets(values, max_size=4) for kind, values in BY_KIND.items()}
SAME_KIND = {kind: st.sampled_from([p for p, t in FIELDS.items() if KIND[t] == kind])
             for kind in BY_KIND}
OPTIONAL = {kind: st.one_of(st.none(), values) for kind, values in BY_KIND.items()}


@st.composite
def atoms(draw):
    path = draw(field_names)
    type_name = FIELDS[path]
    field = c.FieldRef(path, type_name)
    kind = KIND[type_name]
    choice = draw(ATOM_FORMS)
    if choice == "presence" or kind == "list":
        return c.Presence(field, draw(st.booleans()), HERE)
    ops = OPERATORS[kind]
    if choice == "member":
        values = draw(MEMBER_SETS[kind])
        return c.Member(field, values, draw(st.booleans()), HERE)
    if choice == "field":
        other = draw(SAME_KIND[kind])
        return c.Compare(field, draw(ops), c.FieldRef(other, FIELDS[other]), HERE)
    return c.Compare(field, draw(ops), c.Const(draw(value_of(type_name)), type_name), HERE)


conditions = st.recursive(
    st.one_of(atoms(), st.builds(c.Always, st.booleans())),
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3).map(lambda i: c.AllOf(tuple(i))),
                            st.lists(inner, min_size=1, max_size=3).map(lambda i: c.AnyOf(tuple(i)))),
    max_leaves=6)


@st.composite
def value_dicts(draw):
    values = {}
    for path, type_name in FIELDS.items():
        if draw(st.booleans()):
            values[path] = draw(OPTIONAL[KIND[type_name]])
    return values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conditions, min_size=1, max_size=5), st.lists(value_dicts(), min_size=1,
                                                              max_size=5))
def test_matcher_agrees_with_the_reference(condition_list, cases):
    rules = [rule(f"R{i}", cond) for i, cond in enumerate(condition_list)]
    agree(rules, cases)


@settings(max_examples=300, deadline=None)
@given(numbers, numbers)
def test_number_encoding_preserves_order(a, b):
    ka, kb = encode_value(a, "decimal"), encode_value(b, "integer" if isinstance(b, int) else
                                                       "decimal")
    assert (ka < kb, ka == kb) == (a < b, a == b)


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_text_encoding_preserves_order(a, b):
    ka, kb = encode_value(a, "string"), encode_value(b, "enum")
    assert (ka < kb, ka == kb) == (a < b, a == b)
    assert re.fullmatch("[0-9a-f]*", ka + kb)   # nothing the engine would escape or cut at NUL
