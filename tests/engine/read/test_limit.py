"""Reading a policy's limit."""
from __future__ import annotations

from engine.support import LIMIT, load


def test_limit_needs_its_effects(tmp_path):
    limit = {k: v for k, v in LIMIT.items() if k != "when_missing"}
    result = load(tmp_path, limit=limit, parameters={"minimum_limit": 1000},
                  features={"region_cap": "300000"})
    assert "LIMIT_EFFECTS" in [d.code for d in result.diagnostics]
    result = load(tmp_path / "2", limit=dict(LIMIT, base="s"),
                  parameters={"minimum_limit": 1000}, features={"region_cap": "300000"})
    assert "LIMIT_TYPE" in [d.code for d in result.diagnostics]


def test_limit_result_and_cap_conditions_are_checked(tmp_path):
    from engine.support import LIMIT, load

    limit = dict(LIMIT, result="Bad Name", caps=[
        {"id": "CAP-X", "name": {"en": "x"}, "when": "a + 1", "value": "b"},
        {"id": "CAP-Y", "name": {"en": "y"}, "when": "a > 1", "value": "b", "if": "a > 2"}])
    result = load(tmp_path, limit=limit, parameters={"minimum_limit": 1, "cap": 1},
                  features={"region_cap": "params.cap"})
    found = {d.code: d for d in result.diagnostics if d.severity == "error"}
    assert {"LIMIT_RESULT", "CONDITION_TYPE", "UNKNOWN_KEY"} <= set(found)
    assert "unknown key 'if' in a cap" in found["UNKNOWN_KEY"].message
    result = load(tmp_path / "taken", limit=dict(LIMIT, result="a"),
                  parameters={"minimum_limit": 1, "cap": 1}, features={"region_cap": "params.cap"})
    assert "NAME_TAKEN" in [d.code for d in result.diagnostics]


def test_a_cap_an_underwriter_may_lift_says_so_with_true_or_false(tmp_path):
    """`review_may_lift` (app/services/reviews.py): true marks a cap an underwriter closing a
    referral may approve above; anything but a boolean is a located error, not taken as true."""
    caps = [{"id": "CAP-A", "name": {"en": "a"}, "value": "b", "review_may_lift": True},
            {"id": "CAP-B", "name": {"en": "b"}, "value": "b"}]
    result = load(tmp_path, limit=dict(LIMIT, caps=caps), parameters={"minimum_limit": 1},
                  features={"region_cap": "300000"})
    [policy] = result.policies.values()
    assert [(c.id, c.review_may_lift) for c in policy.parts.limit.caps] == [("CAP-A", True), ("CAP-B", False)]
    wrong = [dict(caps[0], review_may_lift="yes")]
    result = load(tmp_path / "wrong", limit=dict(LIMIT, caps=wrong), parameters={"minimum_limit": 1},
                  features={"region_cap": "300000"})
    [error] = [d for d in result.diagnostics if d.code == "CAP_REVIEW"]
    assert "review_may_lift is true or false" in error.message and error.location.line > 0
