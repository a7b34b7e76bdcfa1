"""Model monitoring over stored decisions: PSI on hand-computed examples, and the report of a
period whose external credit scores fell against a baseline period, decided through the service."""
import datetime
import math
from collections import Counter

import pytest
from sqlalchemy import select

from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.services.errors import InvalidInput, NotFound
from app.services.monitoring import EMPTY_SHARE, psi, score_bin, score_edges, status
from app.storage.models import Decision
from support.applicants import generate
from support.http import POLICY

CHANNEL = Principal("test-channel", "channel")
BASELINE_DAY, PERIOD_DAY = datetime.date(2026, 10, 10), datetime.date(2026, 11, 10)


def test_psi_of_two_bins_by_hand():
    # shares 0.5/0.5 -> 0.6/0.4: 0.1 ln(1.2) + (-0.1) ln(0.8) = 0.040546...
    assert psi(Counter(a=50, b=50), Counter(a=60, b=40)) == pytest.approx(
        0.1 * math.log(1.2) - 0.1 * math.log(0.8), rel=1e-12)
    assert psi(Counter(a=50, b=50), Counter(a=60, b=40)) == pytest.approx(0.0405465, abs=1e-7)


def test_psi_of_an_empty_bin_counts_it_at_the_small_share():
    expected = (0.5 - EMPTY_SHARE) * math.log(0.5 / EMPTY_SHARE) + (0.5 - 1) * math.log(0.5)
    assert psi(Counter(a=10, b=0), Counter(a=5, b=5)) == pytest.approx(expected, rel=1e-12)


def test_psi_is_zero_for_the_same_mix_and_thresholds_flag_drift():
    assert psi(Counter(a=3, b=7), Counter(a=30, b=70)) == 0
    assert [status(x) for x in (0.0999, 0.1, 0.2499, 0.25)] == ["stable", "watch", "watch", "act"]


def test_score_deciles_of_the_baseline():
    edges = score_edges(list(range(1, 101)))
    assert edges == [11, 21, 31, 41, 51, 61, 71, 81, 91]
    assert score_bin(10, edges) == "[-inf, 11)" and score_bin(11, edges) == "[11, 21)"
    assert score_bin(100, edges) == "[91, inf)" and score_bin(None, edges) == "missing"


def _decide(firefly, clock, day, applications):
    clock.now = datetime.datetime.combine(day, datetime.time(4), tzinfo=datetime.timezone.utc)
    for index, body in enumerate(applications):
        firefly.deciding.decide(DecisionRequest(policy_name=POLICY, body=body, caller=CHANNEL,
                                                request_id=f"req-{day}-{index}"))


def _lowered(applications, points):
    for body in applications:
        scores = body.get("scores")
        if scores and scores.get("credit_score") is not None:
            scores["credit_score"] = max(300, scores["credit_score"] - points)
    return applications


@pytest.fixture
def stored(firefly, clock):
    _decide(firefly, clock, BASELINE_DAY, generate(80, 1))
    _decide(firefly, clock, PERIOD_DAY, _lowered(generate(80, 2), 150))
    return firefly


def test_a_fall_in_external_scores_is_flagged_where_it_happened(stored):
    report = stored.monitoring.monitor(POLICY, PERIOD_DAY, PERIOD_DAY, BASELINE_DAY, BASELINE_DAY)
    assert report["period"]["decisions"] == report["baseline"]["decisions"] == 80
    external = next(c for c in report["characteristics"] if c["characteristic"] == "SC-EXT")
    assert external["status"] == "act" and external["csi"] >= 0.25
    assert report["score"]["psi"] >= 0.1 and any("SC-EXT CSI" in f for f in report["flags"])
    assert len(report["characteristics"]) == 15           # every characteristic of the card
    assert sum(b["share"] for b in report["score"]["bins"]) == pytest.approx(1)
    assert sum(b["baseline_share"] for b in report["score"]["bins"]) == pytest.approx(1)


def test_band_mix_and_approval_rates_are_those_of_the_stored_rows(stored):
    report = stored.monitoring.monitor(POLICY, PERIOD_DAY, PERIOD_DAY, BASELINE_DAY, BASELINE_DAY)
    with stored.database.session() as session:
        rows = session.execute(select(Decision.score_band, Decision.outcome)
                               .where(Decision.decision_date == PERIOD_DAY)).all()
    for band in report["bands"]:
        mine = [outcome for b, outcome in rows if b == band["band"]]
        assert band["decisions"] == len(mine)
        assert band["share"] == pytest.approx(len(mine) / len(rows), abs=1e-6)
        if mine:
            assert band["approval_rate"] == pytest.approx(mine.count("APPROVE") / len(mine), abs=1e-6)


def test_a_period_against_itself_shows_no_drift_and_the_default_baseline_is_the_period_before(stored):
    same = stored.monitoring.monitor(POLICY, PERIOD_DAY, PERIOD_DAY, PERIOD_DAY, PERIOD_DAY)
    assert same["score"]["psi"] == 0 and same["flags"] == []
    assert all(c["csi"] == 0 for c in same["characteristics"])
    with pytest.raises(NotFound, match="baseline"):                 # the day before: nothing stored
        stored.monitoring.monitor(POLICY, PERIOD_DAY, PERIOD_DAY)
    with pytest.raises(InvalidInput):
        stored.monitoring.monitor(POLICY, PERIOD_DAY, BASELINE_DAY)
