"""Scorecards: bins, points, bands and the reasons a low score gives."""
from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.support import SCORECARD, dump, make_policy, run, table


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("card")
    return make_policy(tmp_path, {"card": dump(SCORECARD)}, stages=[{"id": "score", "scorecard": "card"}],
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
    policy = make_policy(tmp_path, {"card": dump(SCORECARD), "t": table("t", ["score_band"], [
        {"id": "S-1", "when": [["A", "B"]], "then": {"tier": "T1"}},
        {"id": "S-2", "when": ["-"], "then": {"tier": "T2"}}])},
        stages=[{"id": "score", "scorecard": "card"}, {"id": "tab", "table": "t"}],
        outputs=["tier"])
    assert run(policy, a=25, e="RED", d="0.1").outputs == {"tier": "T1"}
    assert run(policy, a=5).outputs == {"tier": "T2"}


def test_two_scorecards_name_their_outputs_by_stage(tmp_path):
    other = dict(SCORECARD, scorecard="card2", characteristics=[
        {"id": "CH-Z", "input": "b", "bins": [{"id": "Z-1", "when": "else", "points": 60}]}])
    policy = make_policy(tmp_path, {"card": dump(SCORECARD), "card2": dump(other)},
                         stages=[{"id": "s1", "scorecard": "card"},
                                 {"id": "s2", "scorecard": "card2"}],
                         outputs=["s1_score", "s1_band", "s2_score", "s2_band"])
    decision = run(policy, a=25, e="RED", d="0.1")
    assert decision.outputs == {"s1_score": 155, "s1_band": "A", "s2_score": 160, "s2_band": "A"}


def test_decimal_points_give_an_exact_decimal_score(tmp_path):
    text = (dump(SCORECARD).replace("base_points: 100", "base_points: 100.125")
            .replace("points: 30", "points: 30.1").replace("min: 150", "min: 150.5"))
    policy = make_policy(tmp_path, {"card": text}, stages=[{"id": "score", "scorecard": "card"}],
                         outputs=["score", "score_band"])
    decision = run(policy, a=25, e="RED", d="0.1")
    assert decision.score == Decimal("155.225") and decision.score_band == "A"  # 100.125+30.1+15+10
    assert policy.parts.stages[0].outputs["score"].name == "decimal"
    decision = run(policy, a=25, e="RED", d="0.5")                               # 150.225 < 150.5
    assert decision.score == Decimal("150.225") and decision.score_band == "B"


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("scaled")
    card = dict(SCORECARD, scaling={"pdo": 20, "odds": 50, "points": 150})
    return make_policy(tmp_path, {"card": dump(card)}, stages=[{"id": "score", "scorecard": "card"}],
                       outputs=["score", "score_band", "pd"])


@pytest.mark.parametrize("fields", [{"a": 25, "e": "RED", "d": "0.1"}, {"a": 5, "e": "GREEN", "d": "0.6"},
                                    {"e": "BLUE", "d": "0.6"}, {"a": 15, "e": "RED", "d": "2"}])
def test_scaling_gives_the_probability_of_default_of_the_closed_form(scaled, fields):
    decision = run(scaled, **fields)
    odds = 50 * 2 ** ((decision.score - 150) / 20)          # good:bad odds, doubled every 20 points
    assert math.isclose(float(decision.outputs["pd"]), 1 / (1 + odds), rel_tol=1e-12)
    shown = next(s for s in decision.trace.to_dict()["stages"] if s["id"] == "score")
    assert shown["pd"] == decision.outputs["pd"] and shown["scaling"]["pdo"] == 20


def test_at_the_scaling_points_the_odds_are_the_scaling_odds(scaled):
    decision = run(scaled, a=25, e="RED", d="0.5")               # 100 + 30 + 15 + 5 = 150
    assert decision.score == 150 and decision.outputs["pd"] == Decimal(1) / Decimal(51)


def test_a_pd_cut_off_reads_the_probability(tmp_path):
    card = dict(SCORECARD, scaling={"pdo": 20, "odds": 50, "points": 150})
    cut = {"ruleset": "cut", "hit_policy": "collect", "rules": [
        {"id": "PD-1", "when": "pd >= 0.05", "then": {"action": "DECLINE", "reason": "R1"}}]}
    policy = make_policy(tmp_path, {"card": dump(card), "cut": dump(cut)},
                         stages=[{"id": "score", "scorecard": "card"}, {"id": "cut", "ruleset": "cut"}])
    assert "R1" not in run(policy, a=25, e="RED", d="0.1").reason_codes      # 155: pd 1.4%
    assert "R1" in run(policy, e="BLUE", d="0.6").reason_codes               # 90: pd 13.6%


@pytest.mark.parametrize("scaling, message", [
    ({"pdo": 0, "odds": 50, "points": 600}, "pdo as a positive number"),
    ({"pdo": 20, "odds": -1, "points": 600}, "odds as a positive number"),
    ({"pdo": 20, "odds": 50}, "points as a number"),
    ("600", "scaling is a mapping"),
])
def test_bad_scaling_is_an_error_with_its_place(tmp_path, scaling, message):
    from engine.support import load
    result = load(tmp_path, {"card": dump(dict(SCORECARD, scaling=scaling))},
                  stages=[{"id": "score", "scorecard": "card"}])
    found = [d for d in result.diagnostics if d.code == "SCORECARD_SCALING"]
    assert found and message in found[0].message and found[0].location.line


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-2000, max_value=3000),
       st.sampled_from([(20, 50, 150), (40, 50, 760), ("40.0", "50", "760.00"), ("12.5", "1.5", 0)]))
def test_a_whole_score_gives_the_pd_computed_afresh_every_time(score, figures):
    """Whole scores' PDs are kept once computed: the kept one is the very Decimal a fresh
    computation gives (digits and exponent), for every scaling, however often it is asked for."""
    from app.engine.model import Scaling
    from app.engine.stages import _probability_of_default, probability_of_default
    scaling = Scaling(*(Decimal(str(x)) for x in figures))
    fresh = _probability_of_default(score, scaling)
    for _ in range(2):
        kept = probability_of_default(score, scaling)
        assert kept == fresh and str(kept) == str(fresh)
    other = Scaling(*(Decimal(str(x)) for x in figures))  # an equal scaling of another policy
    assert str(probability_of_default(score, other)) == str(_probability_of_default(score, other))
