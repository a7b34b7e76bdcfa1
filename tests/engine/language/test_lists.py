"""Lists of records: quantifiers, aggregates, filter and map, the missing-data rule over items,
the input's length limit and the trace of the items a rule matched."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import InputError
from engine.support import INPUT, D, codes, date, load, make_policy, run, ruleset

ACCOUNTS = {"type": "list", "max_items": 5, "items": {"fields": {
    "kind": {"type": "enum", "values": ["CARD", "LOAN"], "required": True},
    "lender": {"type": "enum", "values": ["BANK", "NON_BANK"]},
    "opened": "date",
    "balance": {"type": "decimal", "required": True},
    "status": "string",
}}}
SCHEMA = {**INPUT, "accounts": ACCOUNTS}

CARD = {"kind": "CARD", "lender": "BANK", "opened": "2026-01-10", "balance": "100.50",
        "status": "NNN1N"}
LOAN = {"kind": "LOAN", "lender": "NON_BANK", "opened": "2026-09-01", "balance": "2000",
        "status": "NNNNN"}


def value(tmp_path, expression: str, accounts, **fields):
    policy = make_policy(tmp_path, features={"f": expression}, input=SCHEMA)
    raw = dict(fields) if accounts is None else {"accounts": accounts, **fields}
    return run(policy, raw).trace.values["f"]


def rule(tmp_path, when: str):
    return make_policy(tmp_path, {"r": ruleset("r", [
        {"id": "HIT", "when": when, "then": {"action": "DECLINE", "reason": "HIT"}}])},
        stages=[{"id": "r", "ruleset": "r"}], input=SCHEMA)


@pytest.mark.parametrize("expression, accounts, expected", [
    ('count(x for x in accounts if x.kind == "CARD")', [CARD, LOAN, CARD], 2),
    ("count(x for x in accounts)", [], 0),
    ("count(accounts)", [CARD, LOAN], 2),
    ('count(x for x in accounts if x.lender == "NON_BANK" '
     "and months_between(x.opened, decision_date) <= 6)", [CARD, LOAN], 1),
    ("sum(x.balance for x in accounts)", [CARD, LOAN], D("2100.50")),
    ("sum(x.balance for x in accounts)", [], D("0")),
    ('sum(x.balance for x in accounts if x.kind == "LOAN")', [CARD], D("0")),
    ("max(x.balance for x in accounts)", [CARD, LOAN], D("2000")),
    ("min(x.opened for x in accounts)", [CARD, LOAN], date("2026-01-10")),
    ("min(x.balance for x in accounts)", [], None),         # no smallest of nothing
    ("avg(x.balance for x in accounts)", [CARD, LOAN], D("1050.25")),
    ("avg(x.balance for x in accounts)", [], None),
    ('any("1" in x.status for x in accounts)', [CARD, LOAN], True),
    ('all(x.kind == "CARD" for x in accounts)', [CARD, LOAN], False),
    ('all(x.kind == "CARD" for x in accounts)', [], True),
    ('none(x.kind == "LOAN" for x in accounts)', [CARD], True),
    ('[x.balance for x in accounts if x.kind == "CARD"]', [CARD, LOAN, CARD],
     (D("100.50"), D("100.50"))),
    ("len([x for x in accounts if x.balance > 1000])", [CARD, LOAN], 1),
    ('["A", "B"]', [], ("A", "B")),
    ('[x.kind for x in accounts] + ["LOAN"]', [CARD], ("CARD", "LOAN")),
])
def test_over_lists(tmp_path, expression, accounts, expected):
    result = value(tmp_path, expression, accounts)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("expression", [
    "count(x for x in accounts)", "sum(x.balance for x in accounts)",
    'any(x.kind == "CARD" for x in accounts)', "[x.kind for x in accounts]"])
def test_an_absent_list_is_missing(tmp_path, expression):
    assert value(tmp_path, expression, None) is None


@pytest.mark.parametrize("expression, expected", [
    # a missing item field: the item's test is unknown, so the result is unknown unless another
    # item decides it; a filter that reads it does not select the item; an aggregate of values
    # of which one is missing is unknown, never a smaller figure
    ('any(x.lender == "NON_BANK" for x in accounts)', None),
    ('any(x.lender == "NON_BANK" or x.kind == "CARD" for x in accounts)', True),
    ('all(x.lender == "BANK" for x in accounts)', None),
    ('all(x.lender == "BANK" and x.kind == "LOAN" for x in accounts)', False),
    ('count(x for x in accounts if x.lender == "BANK")', 1),
    ('count(x for x in accounts if x.lender != "BANK")', 0),
    ("max(x.opened for x in accounts)", None),
])
def test_missing_item_fields(tmp_path, expression, expected):
    no_lender = {"kind": "CARD", "balance": "1", "opened": None}
    result = value(tmp_path, expression, [no_lender, CARD])
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("when", [
    'any(x.lender == "NON_BANK" for x in accounts)',
    'not any(x.lender == "NON_BANK" for x in accounts)',
    'all(x.lender == "BANK" for x in accounts)',
    'not all(x.lender == "BANK" for x in accounts)',
    'none(x.lender == "BANK" for x in accounts)',
    'not none(x.lender == "BANK" for x in accounts)',
])
def test_a_rule_never_fires_on_an_item_with_missing_data_either_way(tmp_path, when):
    policy = rule(tmp_path, when)
    decision = run(policy, {"accounts": [{"kind": "CARD", "balance": "1"}]})
    assert decision.trace.matched()["HIT"] is False


def test_the_trace_shows_the_items_a_rule_matched(tmp_path):
    policy = rule(tmp_path, 'any(x.kind == "CARD" for x in accounts) and '
                            'count(x for x in accounts if x.balance >= 1000) >= 1')
    decision = run(policy, {"accounts": [CARD, LOAN, CARD]})
    entry = decision.trace.to_dict()["stages"][0]["rules"][0]
    assert entry["matched"] is True
    assert entry["items"] == {'any(x.kind == "CARD" for x in accounts)': [0, 2],
                              "count(x for x in accounts if x.balance >= 1000)": [1]}
    assert entry["read"]["accounts"][1]["balance"] == "2000"
    absent = run(policy, {}).trace.to_dict()["stages"][0]["rules"][0]
    assert absent["items"] == {'any(x.kind == "CARD" for x in accounts)': None,
                               "count(x for x in accounts if x.balance >= 1000)": None}


def test_a_rule_without_lists_has_no_items_in_its_trace(tmp_path):
    policy = rule(tmp_path, "a > 1")
    assert "items" not in run(policy, a=2).trace.to_dict()["stages"][0]["rules"][0]


def test_a_quantifier_in_a_condition_is_no_computation_warning(tmp_path):
    result = load(tmp_path, {"r": ruleset("r", [
        {"id": "Q", "when": 'any(x.kind == "CARD" for x in accounts)',
         "then": {"action": "DECLINE", "reason": "HIT"}},
        {"id": "C", "when": "count(x for x in accounts) > 2",
         "then": {"action": "DECLINE", "reason": "HIT"}}])},
        stages=[{"id": "r", "ruleset": "r"}], input=SCHEMA)
    assert [d.code for d in result.diagnostics if d.code == "CONDITION_COMPUTES"] == \
        ["CONDITION_COMPUTES"]


def test_the_input_refuses_a_list_past_its_limit(tmp_path):
    policy = make_policy(tmp_path, input=SCHEMA)
    with pytest.raises(InputError) as raised:
        policy.parse_input({"decision_date": "2026-11-28", "accounts": [CARD] * 6})
    assert raised.value.errors == {"accounts": ["at most 5 items"]}
    policy.parse_input({"decision_date": "2026-11-28", "accounts": [CARD] * 5})


def test_a_list_without_max_items_has_the_default_limit(tmp_path):
    from app.engine.read.input_schema import DEFAULT_MAX_ITEMS
    policy = make_policy(tmp_path)
    with pytest.raises(InputError) as raised:
        policy.parse_input({"decision_date": "2026-11-28", "tags": ["x"] * (DEFAULT_MAX_ITEMS + 1)})
    assert "tags" in raised.value.errors


def test_item_errors_name_the_item_and_field(tmp_path):
    policy = make_policy(tmp_path, input=SCHEMA)
    with pytest.raises(InputError) as raised:
        policy.parse_input({"decision_date": "2026-11-28",
                            "accounts": [CARD, {"kind": "CAR", "balance": "x", "extra": 1}]})
    assert set(raised.value.errors) == {"accounts.1.kind", "accounts.1.balance",
                                        "accounts.1.extra"}


@pytest.mark.parametrize("expression, code, fragment", [
    ('any(x.knd == "CARD" for x in accounts)', "EXPR_ITEM_FIELD", "did you mean 'kind'"),
    ("any(x.balance for x in accounts)", "EXPR_TYPE", "true/false test"),
    ("sum(x.kind for x in accounts)", "EXPR_TYPE", "needs numbers"),
    ("count(x.balance for x in accounts)", "EXPR_CALL", "counts the items"),
    ("count(x for x in s)", "EXPR_TYPE", "goes over a list"),
    ("count(x for x in accounts for b in accounts)", "EXPR_COMPREHENSION", "one 'for'"),
    ("count(s for s in accounts)", "EXPR_COMPREHENSION", "already names"),
    ("sum(a)", "EXPR_CALL", "takes a list"),
    ('count(x for x in accounts if x.kind == "CARDS")', "EXPR_ENUM_VALUE", "CARD"),
    ("x.kind == \"CARD\"", "EXPR_UNKNOWN_NAME", "unknown name"),
])
def test_rejected(tmp_path, expression, code, fragment):
    result = load(tmp_path, features={"f": expression}, input=SCHEMA)
    assert code in codes(result)
    assert fragment in str([d.message for d in result.diagnostics])


def test_personal_data_inside_items_is_refused(tmp_path):
    schema = {**INPUT, "contacts": {"type": "list", "items": {"fields": {
        "mobile": {"type": "string", "pii": "phone"}, "relation": "string"}}}}
    assert "INPUT_PII" in codes(load(tmp_path, input=schema))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "kind": st.sampled_from(["CARD", "LOAN"]),
    "balance": st.decimals(min_value=0, max_value=10**6, places=2).map(str),
}, optional={"lender": st.sampled_from(["BANK", "NON_BANK"])}), max_size=5))
def test_quantifiers_agree_with_python(tmp_path_factory, accounts):
    """any/all/none/count/sum over generated lists agree with the same thing said in Python, with
    three-valued logic for an item whose lender is missing."""
    root = tmp_path_factory.mktemp("lists")
    policy = make_policy(root, features={
        "n": 'count(x for x in accounts if x.lender == "NON_BANK")',
        "total": 'sum(x.balance for x in accounts if x.kind == "CARD")',
        "some": 'any(x.lender == "NON_BANK" for x in accounts)',
        "every": 'all(x.lender == "BANK" for x in accounts)',
        "no": 'none(x.lender == "NON_BANK" for x in accounts)'}, input=SCHEMA)
    values = run(policy, {"accounts": accounts}).trace.values
    lenders = [x.get("lender") for x in accounts]
    assert values["n"] == lenders.count("NON_BANK")
    assert values["total"] == sum((D(x["balance"]) for x in accounts if x["kind"] == "CARD"),
                                  D(0))
    some = True if "NON_BANK" in lenders else (None if None in lenders else False)
    assert values["some"] is some
    assert values["no"] is (None if some is None else not some)
    every = False if "NON_BANK" in lenders else (None if None in lenders else True)
    assert values["every"] is every


def test_the_durable_engine_refuses_a_rule_over_a_list_and_takes_a_feature(tmp_path):
    rules = {"r": ruleset("r", [
        {"id": "Q", "when": 'any(x.kind == "CARD" for x in accounts)',
         "then": {"action": "DECLINE", "reason": "HIT"}}])}
    result = load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], input=SCHEMA,
                  extra={"engine": "durable"})
    found = [d for d in result.diagnostics if d.code == "DURABLE_UNSUPPORTED"]
    assert len(found) == 1 and "goes over the list 'accounts'" in found[0].message
    assert not result.ok
    rules = {"r": ruleset("r", [{"id": "Q", "when": "cards > 0",
                                 "then": {"action": "DECLINE", "reason": "HIT"}}])}
    policy = make_policy(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], input=SCHEMA,
                         features={"cards": 'count(x for x in accounts if x.kind == "CARD")'},
                         extra={"engine": "durable"})
    for accounts in ([CARD, LOAN], [LOAN], []):
        assert run(policy, {"accounts": accounts}).outcome == \
            ("DECLINE" if CARD in accounts else "APPROVE")
        decided = policy.decide(policy.parse_input(
            {"decision_date": "2026-11-28", "accounts": accounts}), backend="compiled")
        assert decided.outcome == run(policy, {"accounts": accounts}).outcome


NESTED_SCHEMA = {**SCHEMA, "others": ACCOUNTS}


@pytest.mark.parametrize("expression, expected", [
    ('any(any(y.kind == x.kind for y in others) for x in accounts)', True),
    ('all(any(y.kind == x.kind for y in others) for x in accounts)', False),
    ('sum(count(y for y in others if y.balance > x.balance) for x in accounts)', 2),
    ('max(count(y for y in others if y.kind == x.kind) for x in accounts)', 2),
    ('avg(count(y for y in others if y.kind == x.kind) for x in accounts)', D("1")),
    ('count(x for x in accounts if none(y.balance < x.balance for y in others))', 0),
    ('count(x for x in accounts if none(y.balance > x.balance * 2 for y in others))', 2),
])
def test_comprehensions_inside_comprehensions_read_the_outer_item(tmp_path, expression, expected):
    policy = make_policy(tmp_path, features={"f": expression}, input=NESTED_SCHEMA)
    accounts = [{"kind": "CARD", "balance": "5"}, {"kind": "LOAN", "balance": "7"}]
    others = [{"kind": "CARD", "balance": "9"}, {"kind": "CARD", "balance": "1"}]
    assert run(policy, {"accounts": accounts, "others": others}).trace.values["f"] == expected
