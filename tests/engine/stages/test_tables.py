"""Decision tables: cells, hit policies, conflicts and when_none."""
from __future__ import annotations

import pytest

from engine.support import TIERS, run, table, table_policy, table_trace


# --- decision tables ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cells")
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


@pytest.fixture(scope="module")
def unique_table(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("unique_table")
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
