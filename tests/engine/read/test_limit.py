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
