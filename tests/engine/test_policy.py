"""Deciding: properties of generated applicants on the reference policy and on a small policy
with list fields."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app.engine import canonical_json, load_policy_files, load_policy_root
from engine.strategies import (POLICY_NAME, PROPERTY_SETTINGS, REPO, SALARIED, applicants,
                               developed_cities, reference_applicants, region_cap)
from engine.support import INPUT, make_policy, ruleset
from support.applicants import CLEAN_SHARED


@pytest.fixture(scope="module")
def reference_again():
    """The same policy from a second, independent load of the root."""
    return load_policy_root(REPO).policies.get(POLICY_NAME)


def test_reference_region_caps_are_the_product_caps(reference):
    params = reference.parts.parameters
    assert (params["region_cap_developed"], params["region_cap_other"]) == (500000, 300000)
    # ...and the policy applies them as a limit cap
    assert "CAP-REGION" in [cap.id for cap in reference.parts.limit.caps]
    assert {"110100", "310100", "440100"} <= developed_cities(reference)


def _decide(policy, raw):
    typed = policy.parse_input(raw)  # the strategy makes only valid inputs: this must not raise
    # a first application on no list (what the service computes for a clean applicant)
    return typed, policy.decide(typed, shared=CLEAN_SHARED if policy.parts.shared else None)


def test_a_strong_applicant_is_approved_within_the_region_cap(reference):
    _, decision = _decide(reference, SALARIED)
    assert decision.outcome == "APPROVE", decision.reason_codes
    assert decision.reasons == []
    assert 0 < decision.limit <= region_cap(reference, "330100") == 500000
    other = dict(SALARIED, residence=dict(SALARIED["residence"], city_code="331100",
                                          hukou_city_code="331100"),
                 device=dict(SALARIED["device"], gps_city_code="331102", ip_city_code="330100"))
    _, decision = _decide(reference, other)
    assert decision.outcome == "APPROVE" and decision.limit <= 300000


@PROPERTY_SETTINGS
@given(data=st.data())
def test_reference_policy_properties(reference, data):
    raw = data.draw(reference_applicants(reference), label="applicant")
    typed, decision = _decide(reference, raw)

    # evaluation did not raise, and gave a known outcome
    assert decision.outcome in ("APPROVE", "REFER", "DECLINE")
    event(decision.outcome)
    event("limit computed" if decision.trace.limit.limit is not None else "no limit")
    actions = {r.action for r in decision.reasons}
    if decision.outcome == "APPROVE":
        assert decision.reasons == []
    else:
        # every DECLINE and REFER carries at least one reason, and the outcome follows them
        assert decision.reasons, f"{decision.outcome} without a reason"
        assert decision.outcome == ("DECLINE" if "DECLINE" in actions else "REFER")
        assert decision.limit is None

    # the limit never exceeds the region cap (500,000 developed / 300,000 other)
    cap = region_cap(reference, raw["residence"]["city_code"])
    limit_trace = decision.trace.to_dict()["limit"]
    if decision.limit is not None:
        assert decision.outcome == "APPROVE"
        assert 0 < decision.limit <= cap
        assert decision.limit % 1000 == 0
        assert decision.limit >= reference.parts.parameters["minimum_limit"]
    if limit_trace["limit"] is not None:
        assert limit_trace["limit"] <= cap
    region = [c for c in limit_trace["caps"] if c["id"] == "CAP-REGION"]
    assert region == [{"id": "CAP-REGION", "value": cap}]

    # the trace explains every rule set: selections are matches, conflicts are reported
    trace = decision.trace.to_dict()
    stage_ids = [stage.id for stage in reference.parts.stages]
    assert [s["id"] for s in trace["stages"]] == stage_ids
    for stage in trace["stages"]:
        if stage["kind"] != "ruleset":
            continue
        matched = [r["id"] for r in stage["rules"] if r["matched"]]
        assert set(stage["selected"]) <= set(matched)
        if stage["conflict"] is not None:
            assert stage["conflict"] == matched and len(matched) > 1
            assert "RULESET_CONFLICT" in decision.reason_codes
    for reason in decision.reasons:
        assert reason.zh and reason.en and reason.stage in stage_ids + ["requires", "limit"]
        assert reason.customer_zh and reason.customer_en

    # an approval has a customer group and a priced band
    if decision.outcome == "APPROVE":
        assert decision.customer_group is not None
        assert decision.score_band in ("A", "B", "C")
        assert decision.outputs["price_tier"] is not None

    # reasons are ordered: every DECLINE before every REFER
    ranks = [0 if r.action == "DECLINE" else 1 for r in decision.reasons]
    assert ranks == sorted(ranks)
    assert len(set(decision.reason_codes)) == len(decision.reason_codes)

    # deterministic: byte-identical JSON for a second evaluation...
    first = canonical_json({"decision": decision.to_dict(), "trace": decision.trace.to_dict()})
    again = reference.decide(reference.parse_input(raw), shared=CLEAN_SHARED)
    assert canonical_json({"decision": again.to_dict(), "trace": again.trace.to_dict()}) == first

    # personal data never appears in clear
    id_number = (raw.get("applicant") or {}).get("id_number")
    mobile = (raw.get("applicant") or {}).get("mobile")
    # (hypothesis may draw the same digits for a non-personal field, e.g. a consent
    # reference, which the trace rightly shows: only a value found nowhere else must be absent)
    # (or the digits of a number: 1000000000000 months of residence holds a mobile of eleven zeros)
    elsewhere = [str(v) for section, fields in raw.items() if isinstance(fields, dict)
                 for name, v in fields.items()
                 if isinstance(v, (str, int)) and not isinstance(v, bool) and (section, name) not in
                 {("applicant", "id_number"), ("applicant", "mobile")}]
    for clear, length in ((id_number, 18), (mobile, 11)):
        if clear and len(clear) == length and not any(clear in v for v in elsewhere):
            assert clear not in first


@PROPERTY_SETTINGS
@given(data=st.data())
def test_reference_policy_is_deterministic_across_loads(reference, reference_again, data):
    assert reference_again is not None and reference_again is not reference
    assert reference_again.hash == reference.hash
    raw = data.draw(reference_applicants(reference), label="applicant")
    one = reference.decide(reference.parse_input(raw))
    two = reference_again.decide(reference_again.parse_input(raw))
    assert canonical_json(one.to_dict()) == canonical_json(two.to_dict())
    assert canonical_json(one.trace.to_dict()) == canonical_json(two.trace.to_dict())


def test_reference_policy_round_trips_through_its_files(reference):
    rebuilt = load_policy_files(POLICY_NAME, reference.files)
    assert rebuilt.hash == reference.hash
    for raw in (SALARIED, {"decision_date": "2026-11-28",
                           "applicant": {"id_number": "110105194912310021"},
                           "residence": {"city_code": "110100"}}):
        left, right = _decide(reference, raw)[1], _decide(rebuilt, raw)[1]
        assert canonical_json([left.to_dict(), left.trace.to_dict()]) == \
            canonical_json([right.to_dict(), right.trace.to_dict()])


def test_reference_policy_with_a_unicode_digit_in_the_id_number(reference):
    """Regression: the resident_id_valid feature raised ValueError on '²'."""
    raw = dict(SALARIED, applicant=dict(SALARIED["applicant"], id_number="33010619900517²13X"))
    decision = reference.decide(reference.parse_input(raw))
    assert decision.outcome == "DECLINE"


# --- a small policy with list fields ------------------------------------------------------------
@pytest.fixture(scope="module")
def list_policy(tmp_path_factory):
    rules = {"r": ruleset("r", [
        {"id": "L-1", "when": '"vip" in tags', "then": {"action": "REFER", "reason": "R1"}},
        {"id": "L-2", "when": "a in nums", "then": {"action": "DECLINE", "reason": "R2"}},
        {"id": "L-3", "when": '"RED" not in colours and n > 2',
         "then": {"action": "REFER", "reason": "R3"}},
        {"id": "L-4", "when": "not (ratio > 1)", "then": {"action": "REFER", "reason": "R4"}},
        {"id": "L-5", "when": 'missing(person.name) or s == "张三"',
         "then": {"action": "REFER", "reason": "R5"}},
    ])}
    return make_policy(tmp_path_factory.mktemp("lists"), rules, stages=[{"id": "r",
                                                                         "ruleset": "r"}],
                       features={"n": "len(tags) + len(nums)", "ratio": "d / a"})


@PROPERTY_SETTINGS
@given(data=st.data())
def test_list_policy_properties(list_policy, data):
    raw = data.draw(applicants(list_policy), label="input")
    typed, decision = _decide(list_policy, raw)
    matched = decision.trace.matched()
    # membership on a missing list or item never matches; on present data it is Python's `in`
    assert matched["L-1"] == (raw.get("tags") is not None and "vip" in raw["tags"])
    assert matched["L-2"] == (raw.get("a") is not None and raw.get("nums") is not None
                              and raw["a"] in raw["nums"])
    if raw.get("tags") is None or raw.get("nums") is None or raw.get("colours") is None:
        assert matched["L-3"] is False
    else:
        assert matched["L-3"] == ("RED" not in raw["colours"]
                                  and len(raw["tags"]) + len(raw["nums"]) > 2)
    if raw.get("a") in (None, 0) or raw.get("d") is None:
        assert matched["L-4"] is False  # missing, or divided by zero: neither side fires
    else:
        assert matched["L-4"] == (Decimal(str(raw["d"])) / raw["a"] <= 1)
    assert decision.outcome == ("DECLINE" if matched["L-2"] else
                                "REFER" if any(matched.values()) else "APPROVE")
    assert (decision.outcome == "APPROVE") == (decision.reasons == [])
    again = list_policy.decide(list_policy.parse_input(raw))
    assert canonical_json(again.trace.to_dict()) == canonical_json(decision.trace.to_dict())


def test_strategy_covers_the_schema(list_policy):
    """The generated inputs really do include the cases the properties are meant to exercise."""
    seen = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(applicants(list_policy))
    def collect(raw):
        if raw.get("tags") == []:
            seen.add("empty list")
        if "a" not in raw:
            seen.add("absent")
        if "a" in raw and raw["a"] is None:
            seen.add("null")
        if any("\u4e00" <= ch <= "\u9fa5" for ch in str(raw.get("s"))):
            seen.add("chinese")
        if len((raw.get("person") or {}).get("id_number") or "") == 18:
            seen.add("id")
        list_policy.parse_input(raw)

    collect()
    assert seen == {"empty list", "absent", "null", "chinese", "id"}
    assert set(INPUT) <= set(list_policy.input_schema.tree)
