"""External model scores declared by a policy (`models:`): the expected model and versions, the
valid range, and REFER (or the policy's own effect) when a score cannot be used."""
from __future__ import annotations

import pytest

from engine.support import INPUT, codes, load, make_policy, run

MODEL_INPUT = dict(INPUT, scores={"credit": "integer", "model": "string", "version": "string"})
CREDIT = {"id": "MD-CREDIT", "name": {"zh": "外部信用评分", "en": "External credit score"},
          "score": "scores.credit", "model": "scores.model", "version": "scores.version",
          "expect": {"model": "BH-CREDIT", "version": ["3.1", "3.2"]}, "range": "[300, 900]"}
GOOD = {"credit": 700, "model": "BH-CREDIT", "version": "3.2"}


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return make_policy(tmp_path_factory.mktemp("models"), input=MODEL_INPUT,
                       extra={"models": [CREDIT]})


@pytest.mark.parametrize("scores, state", [
    (GOOD, "USABLE"),
    (dict(GOOD, credit=300), "USABLE"),                  # both ends included
    (dict(GOOD, credit=900), "USABLE"),
    ({"model": "BH-CREDIT", "version": "3.2"}, "ABSENT"),
    (dict(GOOD, credit=901), "OUT_OF_RANGE"),
    (dict(GOOD, credit=299), "OUT_OF_RANGE"),
    (dict(GOOD, model="OTHER"), "OTHER_MODEL"),
    ({"credit": 700, "version": "3.2"}, "OTHER_MODEL"),  # no model id sent: not the one expected
    (dict(GOOD, version="2.9"), "OTHER_VERSION"),
])
def test_a_model_score_is_used_only_when_present_in_range_and_from_the_expected_model(
        policy, scores, state):
    decision = run(policy, scores=scores)
    shown = decision.trace.to_dict()["models"][0]
    assert shown["state"] == state
    assert shown["model"] == scores.get("model") and shown["version"] == scores.get("version")
    assert shown["expected"] == {"model": "BH-CREDIT", "versions": ["3.1", "3.2"], "range": [300, 900]}
    if state == "USABLE":
        assert decision.outcome == "APPROVE" and "MD-CREDIT" not in decision.trace.hits()
    else:                       # REFER with the engine's reason by default, and a hit to search
        assert decision.outcome == "REFER" and decision.reason_codes == ["MODEL_SCORE_UNUSABLE"]
        assert decision.reasons[0].stage == "models" and decision.reasons[0].rule == "MD-CREDIT"
        assert decision.trace.hits()[0] == "MD-CREDIT" and decision.trace.matched()["MD-CREDIT"]
        assert decision.hits[0] == "MD-CREDIT"         # stored as a rule hit: searchable


def test_the_policy_may_decline_with_its_own_reason(tmp_path):
    policy = make_policy(tmp_path, input=MODEL_INPUT, extra={"models": [
        dict(CREDIT, **{"else": {"action": "DECLINE", "reason": "R1"}}, range="[300, ]")]})
    assert run(policy, scores=dict(GOOD, credit=5000)).outcome == "APPROVE"   # open top
    decision = run(policy, scores=dict(GOOD, credit=100))
    assert decision.outcome == "DECLINE" and decision.reason_codes == ["R1"]


@pytest.mark.parametrize("change, code", [
    ({"score": "scores.model"}, "MODEL_FIELD"),          # a score is a number
    ({"score": "scores.nothing"}, "MODEL_FIELD"),
    ({"range": "[900, 300]"}, "MODEL_RANGE"),
    ({"range": "300-900"}, "MODEL_RANGE"),
    ({"model": None}, "MODEL_EXPECT"),                   # expects a model id nobody sends
    ({"else": {"action": "REFER", "reason": "NO_SUCH"}}, "REASON_UNKNOWN"),
    ({"colour": "red"}, "UNKNOWN_KEY"),
])
def test_a_wrong_declaration_is_an_error_with_its_place(tmp_path, change, code):
    declared = {k: v for k, v in dict(CREDIT, **change).items() if v is not None}
    result = load(tmp_path, input=MODEL_INPUT, extra={"models": [declared]})
    assert code in codes(result)
