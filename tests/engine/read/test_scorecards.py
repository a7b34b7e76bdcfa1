"""Reading scorecards: base points, bins, bands and max_reasons."""
from __future__ import annotations

import json

import pytest

from engine.support import SCORECARD, dump, load


@pytest.mark.parametrize("change, code", [
    (lambda c: c["characteristics"][0]["bins"][0].pop("reason"), "BIN_REASON"),
    (lambda c: c["bands"][-1].update(min=0), "BAND_LAST"),
    (lambda c: c["bands"][1].update(min=160), "BAND_ORDER"),
    (lambda c: c["characteristics"][0].update(input="a + 1"), "CHARACTERISTIC_INPUT"),
    (lambda c: c["characteristics"][0]["bins"][0].update(points="x"), "BIN_SHAPE"),
])
def test_scorecard_problems(tmp_path, change, code):
    broken = json.loads(json.dumps(SCORECARD))
    change(broken)
    result = load(tmp_path, {"card": dump(broken)}, stages=[{"id": "score", "scorecard": "card"}])
    assert code in [d.code for d in result.diagnostics if d.severity == "error"]
    assert not result.ok


def test_scorecard_max_reasons_must_be_a_whole_number(tmp_path):
    broken = dict(SCORECARD, max_reasons="x")
    result = load(tmp_path, {"card": dump(broken)}, stages=[{"id": "score", "scorecard": "card"}])
    assert not result.ok
    assert [d.location.file for d in result.diagnostics if d.severity == "error"] == \
        ["rules/card.yaml"]


def test_band_min_must_be_a_number(tmp_path):
    broken = json.loads(json.dumps(SCORECARD))
    broken["bands"][0]["min"] = "x"
    result = load(tmp_path, {"card": dump(broken)}, stages=[{"id": "score", "scorecard": "card"}])
    assert not result.ok
    assert {d.location.file for d in result.diagnostics if d.severity == "error"} == \
        {"rules/card.yaml"}
