"""Decision tables, scorecards, the limit, and what the trace shows (with personal data masked)."""
from __future__ import annotations

import json

import pytest

from app.engine import canonical_json
from app.engine.privacy import mask
from helpers import dump, load, make_policy, ruleset, run

TIERS = {"type": "enum", "values": ["T1", "T2", "T3", "T4", "T5", "T6"]}


def table(name: str, inputs: list[str], rows: list[dict], hit_policy: str = "first",
          outputs=None, **extra) -> str:
    doc = {"table": name, "hit_policy": hit_policy, "inputs": inputs,
           "outputs": outputs or {"tier": TIERS}}
    doc.update(extra)
    doc["rows"] = rows
    return dump(doc)


def table_policy(tmp_path, text: str, name: str = "t", outputs=("tier",)):
    return make_policy(tmp_path, {name: text}, stages=[{"id": "tab", "table": name}],
                       outputs=list(outputs))


def table_trace(decision) -> dict:
    return next(s for s in decision.trace.to_dict()["stages"] if s["id"] == "tab")


# --- decision tables ----------------------------------------------------------------------------
@pytest.fixture
def cells(tmp_path):
    return table_policy(tmp_path, table("t", ["a", "e", "d"], [
        {"id": "T-1", "when": [">= 700", "RED", "-"], "then": {"tier": "T1"}},
        {"id": "T-2", "when": ["[600, 700)", ["RED", "GREEN"], "-"], "then": {"tier": "T2"}},
        {"id": "T-3", "when": ["(0, 600)", "-", "(0.3, 0.5]"], "then": {"tier": "T3"}},
        {"id": "T-4", "when": ["missing", "-", "-"], "then": {"tier": "T4"}},
        {"id": "T-5", "when": ["-", "BLUE", "< 0.3"], "then": {"tier": "T5"}},
        {"id": "T-6", "when": [0, "-", "-"], "then": {"tier": "T6"}},
    ], when_none={"action": "REFER", "reason": "NONE"}))


@pytest.mark.parametrize("fields, row", [
    ({"a": 700, "e": "RED"}, "T-1"),           # closed lower bound of >=
    ({"a": 699, "e": "RED"}, "T-2"),           # [600, 700): 699 in
    ({"a": 600, "e": "GREEN"}, "T-2"),         # [600, ...: 600 in
    ({"a": 700, "e": "GREEN"}, None),          # ..., 700): 700 out; no other row
    ({"a": 300, "d": "0.5"}, "T-3"),           # (0.3, 0.5]: 0.5 in
    ({"a": 300, "d": "0.3"}, None),            # (0.3, ...: 0.3 out
    ({"a": 300, "d": "0.31"}, "T-3"),
    ({"a": 300, "d": "0.29", "e": "BLUE"}, "T-5"),
    ({"a": 300}, None),                        # comparisons on a missing d are false
    ({}, "T-4"),                               # 'missing' matches, '-' matches missing too
    ({"e": "RED"}, "T-4"),
    ({"a": 0}, "T-6"),                         # (0, 600) excludes 0; a plain value is equality
    ({"a": 700}, None),                        # a value cell on a missing e is false
])
def test_table_cells(cells, fields, row):
    decision = run(cells, **fields)
    trace = table_trace(decision)
    assert trace["rows"] == ([row] if row else [])
    assert decision.outputs == {"tier": {"T-1": "T1", "T-2": "T2", "T-3": "T3", "T-4": "T4",
                                         "T-5": "T5", "T-6": "T6", None: None}[row]}
    assert decision.reason_codes == ([] if row else ["NONE"])
    assert decision.outcome == ("APPROVE" if row else "REFER")


def test_table_trace_shows_the_inputs_read(cells):
    trace = table_trace(run(cells, a=650, e="GREEN", d="0.25"))
    assert trace["read"] == {"a": 650, "e": "GREEN", "d": "0.25"}
    assert trace["table"] == "t" and trace["hit_policy"] == "first" and trace["conflict"] is False
    assert trace["outputs"] == {"tier": "T2"}


def test_first_hit_table_uses_the_first_row_even_if_later_rows_match(tmp_path):
    policy = table_policy(tmp_path, table("t", ["a"], [
        {"id": "R-1", "when": ["> 10"], "then": {"tier": "T1"}},
        {"id": "R-2", "when": ["> 5"], "then": {"tier": "T2"}},
    ]))
    assert table_trace(run(policy, a=11))["rows"] == ["R-1"]
    assert run(policy, a=11).outputs == {"tier": "T1"}
    assert run(policy, a=6).outputs == {"tier": "T2"}
    # no when_none: nothing matches, nothing is added to the outcome
    decision = run(policy, a=1)
    assert decision.outcome == "APPROVE" and decision.outputs == {"tier": None}


@pytest.fixture
def unique_table(tmp_path):
    return table_policy(tmp_path, table("t", ["a", "e"], [
        {"id": "U-1", "when": ["> 10", "-"], "then": {"tier": "T1"}},
        {"id": "U-2", "when": ["-", "RED"], "then": {"tier": "T2"}},
        {"id": "U-3", "when": ["<= 10", "BLUE"], "then": {"tier": "T3"}},
    ], hit_policy="unique", when_none={"action": "REFER", "reason": "NONE"}))


def test_unique_table_single_row(unique_table):
    decision = run(unique_table, a=11)
    assert table_trace(decision)["rows"] == ["U-1"] and decision.outputs == {"tier": "T1"}
    assert decision.outcome == "APPROVE"


def test_unique_table_two_rows_is_a_conflict(unique_table):
    decision = run(unique_table, a=11, e="RED")
    trace = table_trace(decision)
    assert trace["rows"] == ["U-1", "U-2"] and trace["conflict"] is True
    assert decision.outcome == "REFER" and decision.reason_codes == ["RULESET_CONFLICT"]
    assert decision.outputs == {"tier": None}


def test_unique_table_no_row_uses_when_none(unique_table):
    decision = run(unique_table, a=1, e="GREEN")
    assert decision.reason_codes == ["NONE"] and table_trace(decision)["rows"] == []


def test_any_table_with_agreeing_and_disagreeing_rows(tmp_path):
    policy = table_policy(tmp_path, table("t", ["a", "e"], [
        {"id": "Y-1", "when": ["> 10", "-"], "then": {"tier": "T1"}},
        {"id": "Y-2", "when": ["-", "RED"], "then": {"tier": "T1"}},
        {"id": "Y-3", "when": ["-", "BLUE"], "then": {"tier": "T2"}},
    ], hit_policy="any"))
    agree = run(policy, a=11, e="RED")
    assert table_trace(agree)["rows"] == ["Y-1", "Y-2"] and not table_trace(agree)["conflict"]
    assert agree.outputs == {"tier": "T1"} and agree.outcome == "APPROVE"
    disagree = run(policy, a=11, e="BLUE")
    assert table_trace(disagree)["conflict"] is True
    assert disagree.reason_codes == ["RULESET_CONFLICT"] and disagree.outputs == {"tier": None}


def test_table_cells_for_dates_booleans_and_several_outputs(tmp_path):
    policy = table_policy(tmp_path, table("t", ["day", "flag"], [
        {"id": "D-1", "when": ["[2026-01-01, 2026-12-31]", True], "then": {"tier": "T1", "n": 1}},
        {"id": "D-2", "when": ["< 2026-01-01", "-"], "then": {"tier": "T2", "n": 2}},
        {"id": "D-3", "when": ["-", False], "then": {"tier": "T3", "n": 3}},
    ], outputs={"tier": TIERS, "n": {"type": "integer"}}), outputs=("tier", "n"))
    assert run(policy, day="2026-12-31", flag=True).outputs == {"tier": "T1", "n": 1}
    assert run(policy, day="2027-01-01", flag=True).outputs == {"tier": None, "n": None}
    assert run(policy, day="2025-12-31").outputs == {"tier": "T2", "n": 2}
    assert run(policy, flag=False).outputs == {"tier": "T3", "n": 3}
    assert run(policy).outputs == {"tier": None, "n": None}


@pytest.mark.parametrize("cell, message", [
    ("REDD", "did you mean 'RED'"),
    ("> RED", "is not a test of e"),
    ("[1, 2)", "is not a test of e"),
])
def test_bad_enum_cells(tmp_path, cell, message):
    result = load(tmp_path, {"t": table("t", ["e"], [
        {"id": "B-1", "when": [cell], "then": {"tier": "T1"}},
        {"id": "B-2", "when": ["-"], "then": {"tier": "T2"}}])},
        stages=[{"id": "tab", "table": "t"}])
    [error] = [d for d in result.diagnostics if d.severity == "error"]
    assert error.code == "CELL" and message in error.message
    assert error.location.file == "rules/t.yaml"


@pytest.mark.parametrize("cell", ["< 0.5", "'700'", "[a, b)", "abc"])
def test_bad_integer_cells(tmp_path, cell):
    result = load(tmp_path, {"t": table("t", ["a"], [
        {"id": "B-1", "when": [cell], "then": {"tier": "T1"}},
        {"id": "B-2", "when": ["-"], "then": {"tier": "T2"}}])},
        stages=[{"id": "tab", "table": "t"}])
    assert [d.code for d in result.diagnostics if d.severity == "error"] == ["CELL"]


def test_row_with_the_wrong_number_of_cells_and_missing_output(tmp_path):
    result = load(tmp_path, {"t": table("t", ["a", "e"], [
        {"id": "B-1", "when": ["-"], "then": {"tier": "T1"}},
        {"id": "B-2", "when": ["-", "-"], "then": {"tier": "T1"}},
        {"id": "B-3", "when": ["-", "-"], "then": {"n": 1}},
    ], outputs={"tier": TIERS, "n": {"type": "integer"}})},
        stages=[{"id": "tab", "table": "t"}])
    codes = sorted(d.code for d in result.diagnostics if d.severity == "error")
    assert codes == ["ROW_CELLS", "ROW_OUTPUTS", "ROW_OUTPUTS"]


# --- scorecards ---------------------------------------------------------------------------------
CARD = {
    "scorecard": "card", "name": {"zh": "评分卡", "en": "Card"}, "base_points": 100,
    "max_reasons": 2,
    "characteristics": [
        {"id": "CH-A", "input": "a", "bins": [
            {"id": "A-1", "when": "< 10", "points": 0, "reason": "SC_A"},
            {"id": "A-2", "when": "[10, 20)", "points": 20, "reason": "SC_A"},
            {"id": "A-3", "when": ">= 20", "points": 30},
            {"id": "A-M", "when": "missing", "points": -10, "reason": "SC_A_MISSING"}]},
        {"id": "CH-B", "input": "e", "bins": [
            {"id": "B-1", "when": "RED", "points": 15},
            {"id": "B-2", "when": ["GREEN"], "points": 5, "reason": "SC_B"},
            {"id": "B-E", "when": "else", "points": -5, "reason": "SC_B"}]},
        {"id": "CH-C", "input": "d", "bins": [
            {"id": "C-1", "when": "< 0.5", "points": 10},
            {"id": "C-2", "when": "[0.5, 1)", "points": 5, "reason": "SC_C"},
            {"id": "C-3", "when": ">= 1", "points": 0, "reason": "SC_C"}]},
    ],
    "bands": [
        {"band": "A", "min": 150},
        {"band": "B", "min": 130},
        {"band": "C", "min": 110, "action": "REFER", "reason": "SCORE_MID"},
        {"band": "D", "action": "DECLINE", "reason": "SCORE_LOW"},
    ],
}


@pytest.fixture
def card(tmp_path):
    return make_policy(tmp_path, {"card": dump(CARD)}, stages=[{"id": "score", "scorecard": "card"}],
                       outputs=["score", "score_band"])


@pytest.mark.parametrize("fields, score, band, outcome, reasons", [
    ({"a": 25, "e": "RED", "d": "0.1"}, 155, "A", "APPROVE", []),
    ({"a": 25, "e": "RED", "d": "0.5"}, 150, "A", "APPROVE", []),          # band min is inclusive
    ({"a": 15, "e": "RED", "d": "0.1"}, 145, "B", "APPROVE", []),          # lost points, no action
    ({"a": 15, "e": "GREEN", "d": "0.6"}, 130, "B", "APPROVE", []),
    # C refers: reasons ranked by points lost against the best bin, capped at max_reasons (2)
    ({"a": 5, "e": "GREEN", "d": "0.6"}, 110, "C", "REFER", ["SCORE_MID", "SC_A", "SC_B"]),
    ({"a": 15, "e": "GREEN", "d": "1"}, 125, "C", "REFER", ["SCORE_MID", "SC_A", "SC_B"]),
    ({"a": 25, "e": "BLUE", "d": "1"}, 125, "C", "REFER", ["SCORE_MID", "SC_B", "SC_C"]),
    # D declines; the missing bin lost most (40), then else (20); SC_C (10) is cut by the cap
    ({"e": "BLUE", "d": "0.6"}, 90, "D", "DECLINE", ["SCORE_LOW", "SC_A_MISSING", "SC_B"]),
])
def test_scorecard_bins_bands_and_reasons(card, fields, score, band, outcome, reasons):
    decision = run(card, **fields)
    assert (decision.score, decision.score_band) == (score, band)
    assert decision.outputs == {"score": score, "score_band": band}
    assert decision.outcome == outcome
    assert decision.reason_codes == reasons
    for reason in decision.reasons:
        assert reason.stage == "score" and reason.action == outcome


def test_scorecard_reason_records_name_the_characteristic(card):
    decision = run(card, a=5, e="GREEN", d="0.6")
    assert [(r.code, r.rule) for r in decision.reasons] == [
        ("SCORE_MID", None), ("SC_A", "CH-A"), ("SC_B", "CH-B")]


def test_scorecard_value_matching_no_bin_scores_zero_and_is_traced(card):
    decision = run(card, a=25, e="RED")  # d is missing and CH-C has no missing bin
    assert decision.score == 145
    trace = next(s for s in decision.trace.to_dict()["stages"] if s["id"] == "score")
    assert trace["characteristics"] == [
        {"id": "CH-A", "value": 25, "bin": "A-3", "points": 30, "lost": 0},
        {"id": "CH-B", "value": "RED", "bin": "B-1", "points": 15, "lost": 0},
        {"id": "CH-C", "value": None, "bin": None, "points": 0, "lost": 10},
    ]
    assert (trace["score"], trace["band"], trace["base_points"]) == (145, "B", 100)
    assert trace["scorecard"] == "card" and trace["kind"] == "scorecard"


def test_scorecard_unmatched_characteristic_gives_no_reason(card):
    decision = run(card, a=5, e="GREEN")  # 100 + 0 + 5 + 0 (no bin) = 105: band D
    assert decision.score_band == "D"
    assert decision.reason_codes == ["SCORE_LOW", "SC_A", "SC_B"]


def test_score_band_feeds_a_later_table(tmp_path):
    policy = make_policy(tmp_path, {"card": dump(CARD), "t": table("t", ["score_band"], [
        {"id": "S-1", "when": [["A", "B"]], "then": {"tier": "T1"}},
        {"id": "S-2", "when": ["-"], "then": {"tier": "T2"}}])},
        stages=[{"id": "score", "scorecard": "card"}, {"id": "tab", "table": "t"}],
        outputs=["tier"])
    assert run(policy, a=25, e="RED", d="0.1").outputs == {"tier": "T1"}
    assert run(policy, a=5).outputs == {"tier": "T2"}


def test_two_scorecards_name_their_outputs_by_stage(tmp_path):
    other = dict(CARD, scorecard="card2", characteristics=[
        {"id": "CH-Z", "input": "b", "bins": [{"id": "Z-1", "when": "else", "points": 60}]}])
    policy = make_policy(tmp_path, {"card": dump(CARD), "card2": dump(other)},
                         stages=[{"id": "s1", "scorecard": "card"},
                                 {"id": "s2", "scorecard": "card2"}],
                         outputs=["s1_score", "s1_band", "s2_score", "s2_band"])
    decision = run(policy, a=25, e="RED", d="0.1")
    assert decision.outputs == {"s1_score": 155, "s1_band": "A", "s2_score": 160, "s2_band": "A"}


@pytest.mark.parametrize("change, code", [
    (lambda c: c["characteristics"][0]["bins"][0].pop("reason"), "BIN_REASON"),
    (lambda c: c["bands"][-1].update(min=0), "BAND_LAST"),
    (lambda c: c["bands"][1].update(min=160), "BAND_ORDER"),
    (lambda c: c["characteristics"][0].update(input="a + 1"), "CHARACTERISTIC_INPUT"),
    (lambda c: c["characteristics"][0]["bins"][0].update(points="x"), "BIN_SHAPE"),
])
def test_scorecard_problems(tmp_path, change, code):
    broken = json.loads(json.dumps(CARD))
    change(broken)
    result = load(tmp_path, {"card": dump(broken)}, stages=[{"id": "score", "scorecard": "card"}])
    assert code in [d.code for d in result.diagnostics if d.severity == "error"]
    assert not result.ok


# --- the limit ----------------------------------------------------------------------------------
LIMIT = {
    "base": "a",
    "caps": [
        {"id": "CAP-INCOME", "name": {"zh": "收入上限", "en": "Income cap"}, "value": "b * 10"},
        {"id": "CAP-REGION", "name": {"zh": "地区上限", "en": "Region cap"}, "value": "region_cap"},
    ],
    "round_down_to": 1000,
    "minimum": "params.minimum_limit",
    "below_minimum": {"action": "DECLINE", "reason": "BELOW_MIN"},
    "when_missing": {"action": "REFER", "reason": "NO_LIMIT"},
}


@pytest.fixture
def limited(tmp_path):
    rules = {"dev": dump({"list": "dev", "type": "string", "values": ["110100", "310100"]}),
             "r": ruleset("r", [{"id": "NO", "when": "flag == true",
                                 "then": {"action": "DECLINE", "reason": "R1"}}])}
    return make_policy(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], limit=LIMIT,
                       parameters={"minimum_limit": 10000, "cap_dev": 500000, "cap_other": 300000},
                       features={"region_cap": "params.cap_dev if s in lists.dev else "
                                               "params.cap_other"})


@pytest.mark.parametrize("fields, limit, binding, before", [
    ({"a": 123456, "s": "110100"}, 123000, None, 123456),                 # rounds down
    ({"a": 123999, "s": "999999"}, 123000, None, 123999),
    ({"a": 600000, "s": "110100"}, 500000, "CAP-REGION", 500000),          # developed cap
    ({"a": 600000, "s": "999999"}, 300000, "CAP-REGION", 300000),          # other region cap
    ({"a": 200000, "b": 15555, "s": "110100"}, 155000, "CAP-INCOME", 155550),
    ({"a": 200000, "b": 20000, "s": "110100"}, 200000, None, 200000),      # a cap equal to base
    ({"a": 900000, "b": 40000, "s": "999999"}, 300000, "CAP-REGION", 300000),  # lowest cap binds
    ({"a": 10000, "s": "110100"}, 10000, None, 10000),                      # exactly the minimum
])
def test_limit_caps_and_rounding(limited, fields, limit, binding, before):
    decision = run(limited, **fields)
    assert decision.outcome == "APPROVE"
    assert decision.limit == limit
    trace = decision.trace.to_dict()["limit"]
    assert trace["binding_cap"] == binding
    assert trace["before_rounding"] == before
    assert trace["limit"] == limit and trace["round_down_to"] == 1000
    assert trace["minimum"] == 10000 and trace["base"] == fields["a"]
    assert [c["id"] for c in trace["caps"]] == ["CAP-INCOME", "CAP-REGION"]
    assert trace["caps"][0]["value"] == (fields["b"] * 10 if "b" in fields else None)


def test_limit_below_minimum_declines(limited):
    decision = run(limited, a=200000, b=999, s="110100")  # 9990 -> 9000 < 10000
    assert decision.outcome == "DECLINE" and decision.limit is None
    assert decision.reason_codes == ["BELOW_MIN"]
    assert (decision.reasons[0].stage, decision.reasons[0].rule) == ("limit", None)
    trace = decision.trace.to_dict()["limit"]
    assert (trace["limit"], trace["binding_cap"]) == (9000, "CAP-INCOME")


def test_limit_just_below_minimum_after_rounding(limited):
    decision = run(limited, a=10999, s="110100")
    assert decision.limit == 10000
    decision = run(limited, a=9999, s="110100")
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["BELOW_MIN"]


def test_missing_base_uses_when_missing(limited):
    decision = run(limited, s="110100")
    assert decision.outcome == "REFER" and decision.reason_codes == ["NO_LIMIT"]
    assert decision.limit is None
    trace = decision.trace.to_dict()["limit"]
    assert trace["base"] is None and trace["limit"] is None


def test_limit_is_reported_for_approve_only(limited):
    decision = run(limited, a=50000, s="110100", flag=True)
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["R1"]
    assert decision.limit is None and decision.to_dict()["limit"] is None
    assert decision.trace.to_dict()["limit"]["limit"] == 50000  # the computation is still shown


def test_limit_from_a_decimal_base_rounds_down(tmp_path):
    limit = dict(LIMIT, base="d * 1000", caps=[])
    policy = make_policy(tmp_path, limit=limit, parameters={"minimum_limit": 1000})
    decision = run(policy, d="12.9996")
    assert decision.limit == 12000
    assert decision.trace.to_dict()["limit"]["before_rounding"] == "12999.6000"


def test_limit_negative_cap_gives_zero_and_declines(tmp_path):
    limit = dict(LIMIT, caps=[{"id": "CAP-NEG", "value": "b - 5000"}])
    policy = make_policy(tmp_path, limit=limit, parameters={"minimum_limit": 1000})
    decision = run(policy, a=50000, b=100)
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["BELOW_MIN"]
    assert decision.trace.to_dict()["limit"]["limit"] == 0


def test_limit_needs_its_effects(tmp_path):
    limit = {k: v for k, v in LIMIT.items() if k != "when_missing"}
    result = load(tmp_path, limit=limit, parameters={"minimum_limit": 1000},
                  features={"region_cap": "300000"})
    assert "LIMIT_EFFECTS" in [d.code for d in result.diagnostics]
    result = load(tmp_path / "2", limit=dict(LIMIT, base="s"),
                  parameters={"minimum_limit": 1000}, features={"region_cap": "300000"})
    assert "LIMIT_TYPE" in [d.code for d in result.diagnostics]


def test_limit_with_a_huge_base_does_not_raise(tmp_path):
    """Regression: rounding raised decimal.InvalidOperation beyond 28 digits."""
    policy = make_policy(tmp_path, limit=dict(LIMIT, base="a * a * a", caps=[]),
                         parameters={"minimum_limit": 1000})
    decision = run(policy, a=10**13)
    assert decision.limit == 10**39


# --- the trace ----------------------------------------------------------------------------------
VALID_ID = "11010519491231002X"


@pytest.fixture
def traced(tmp_path):
    rules = {"r": ruleset("r", [
        {"id": "ID-1", "when": f'person.id_number == "{VALID_ID}"',
         "then": {"action": "REFER", "reason": "R1"}},
        {"id": "PH-1", "when": 'person.mobile != "13800000000"',
         "then": {"action": "REFER", "reason": "R2"}},
        {"id": "NM-1", "when": "exists(person.name) and a > 1",
         "then": {"action": "REFER", "reason": "R3"}},
        {"id": "NM-2", "when": "len(person.name) > 5", "then": {"action": "REFER", "reason": "R4"}},
        {"id": "AG-1", "when": "age < 18 or e == \"RED\"",
         "then": {"action": "DECLINE", "reason": "R5"}},
    ])}
    return make_policy(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}],
                       features={"age": "age_at(person.id_number, decision_date)"})


PERSON = {"id_number": VALID_ID, "mobile": "13812345678", "name": "张三丰"}


def test_trace_lists_every_rule_with_matched_and_values_read(traced):
    decision = run(traced, a=2, e="BLUE", person=PERSON)
    rules = next(s for s in decision.trace.to_dict()["stages"] if s["id"] == "r")["rules"]
    assert [(r["id"], r["matched"]) for r in rules] == [
        ("ID-1", True), ("PH-1", True), ("NM-1", True), ("NM-2", False), ("AG-1", False)]
    assert rules[2]["read"] == {"person.name": "张**", "a": 2}
    assert rules[4]["read"] == {"age": 76, "e": "BLUE"}
    missing = run(traced)
    rules = next(s for s in missing.trace.to_dict()["stages"] if s["id"] == "r")["rules"]
    assert all(not r["matched"] for r in rules)
    assert rules[4]["read"] == {"age": None, "e": None}


def test_personal_data_is_masked_in_trace_input_and_reads(traced):
    decision = run(traced, a=2, person=PERSON)
    trace = decision.trace.to_dict()
    assert trace["input"]["person"] == {"id_number": "1101**********002X",
                                        "mobile": "138****5678", "name": "张**"}
    rules = {r["id"]: r for r in trace["stages"][0]["rules"]}
    assert rules["ID-1"]["read"] == {"person.id_number": "1101**********002X"}
    assert rules["PH-1"]["read"] == {"person.mobile": "138****5678"}
    assert rules["NM-2"]["read"] == {"person.name": "张**"}
    text = canonical_json(trace) + canonical_json(decision.to_dict())
    for secret in (VALID_ID, "13812345678", "张三丰", "12345678", "三丰"):
        assert secret not in text


def test_trace_identifies_the_policy_and_engine(traced):
    decision = run(traced, person=PERSON)
    trace = decision.trace.to_dict()
    assert trace["policy"] == {"name": "p.x", "version": "1", "hash": traced.hash}
    assert trace["engine"] == decision.to_dict()["engine"] == "compiled"
    assert trace["features"] == {"age": 76}
    assert trace["input"]["decision_date"] == "2026-11-28"


def test_trace_json_is_deterministic(traced):
    one = run(traced, a=2, person=PERSON)
    two = run(traced, a=2, person=PERSON)
    assert canonical_json(one.trace.to_dict()) == canonical_json(two.trace.to_dict())
    assert canonical_json(one.to_dict()) == canonical_json(two.to_dict())
    json.loads(canonical_json(one.trace.to_dict()))  # valid JSON


@pytest.mark.parametrize("kind, value, expected", [
    ("resident_id", VALID_ID, "1101**********002X"),
    ("phone", "13812345678", "138****5678"),
    ("name", "张三", "张*"),
    ("name", "欧阳娜娜", "欧***"),
])
def test_mask(kind, value, expected):
    assert mask(kind, value) == expected


def test_a_seven_digit_phone_is_masked(tmp_path):
    """Regression: a 7-character phone was shown unchanged."""
    assert mask("phone", "1234567") != "1234567"
    assert "*" in mask("phone", "1234567")


def test_a_feature_copying_personal_data_is_not_shown_in_clear(tmp_path):
    """Regression: a feature copying a personal-data field was shown in clear."""
    policy = make_policy(tmp_path, features={"phone": 'coalesce(person.mobile, "")'})
    trace = run(policy, person=PERSON).trace.to_dict()
    assert "13812345678" not in canonical_json(trace)


def test_scorecard_max_reasons_must_be_a_whole_number(tmp_path):
    broken = dict(CARD, max_reasons="x")
    result = load(tmp_path, {"card": dump(broken)}, stages=[{"id": "score", "scorecard": "card"}])
    assert not result.ok
    assert [d.location.file for d in result.diagnostics if d.severity == "error"] == \
        ["rules/card.yaml"]


def test_band_min_must_be_a_number(tmp_path):
    broken = json.loads(json.dumps(CARD))
    broken["bands"][0]["min"] = "x"
    result = load(tmp_path, {"card": dump(broken)}, stages=[{"id": "score", "scorecard": "card"}])
    assert not result.ok
    assert {d.location.file for d in result.diagnostics if d.severity == "error"} == \
        {"rules/card.yaml"}


@pytest.mark.parametrize("row", [{"id": "X-1", "when": ["> 1"]},
                                 {"id": "X-1", "when": ["> 1"], "then": {}}])
def test_a_table_row_must_give_its_outputs(tmp_path, row):
    result = load(tmp_path, {"t": table("t", ["a"], [
        row, {"id": "X-2", "when": ["-"], "then": {"tier": "T1"}}])},
        stages=[{"id": "tab", "table": "t"}], outputs=["tier"])
    assert not result.ok
    [error] = [d for d in result.diagnostics if d.severity == "error"]
    assert error.location.file == "rules/t.yaml"


def test_a_policy_output_copying_personal_data_is_not_in_clear_in_the_decision(tmp_path):
    policy = make_policy(tmp_path, features={"phone": 'coalesce(person.mobile, "")',
                                             "idn": "person.id_number"},
                         outputs=["phone", "idn"])
    decision = run(policy, person=PERSON)
    assert decision.trace.to_dict()["features"]["phone"] == "138****5678"
    text = canonical_json(decision.to_dict())
    assert "13812345678" not in text and VALID_ID not in text
