"""The compiled and durable backends agree on the reference policy: identical decisions and
identical matched flags for every rule, table row and scorecard bin.

Two sources of applicants: one built from the policy's own input schema (every field absent, null
or valid, boundary values, Chinese text, empty lists) and the realistic generator of
tests/support/applicants.py with random fields removed (missing data in realistic files)."""
from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import canonical_json
from app.engine.backends.durable import check_expressible
from engine.strategies import reference_applicants
from support.applicants import generate, without_some_fields

DIFFERENTIAL = settings(max_examples=1500, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_backends_agree(policy, raw) -> None:
    typed = policy.parse_input(raw)
    compiled = policy.decide(typed, backend="compiled")
    durable = policy.decide(typed, backend="durable")
    assert durable.backend == "durable" and compiled.backend == "compiled"
    left, right = compiled.trace.matched(), durable.trace.matched()
    assert left.keys() == right.keys()
    differing = {key: (left[key], right[key]) for key in left if left[key] != right[key]}
    assert differing == {}, f"rules that differ (compiled, durable): {differing}"
    assert (durable.outcome, durable.limit, [r.code for r in durable.reasons]) == \
        (compiled.outcome, compiled.limit, [r.code for r in compiled.reasons])
    # everything but the engine's name is identical, down to the serialised trace
    for a, b in ((compiled.to_dict(), durable.to_dict()),
                 (compiled.trace.to_dict(), durable.trace.to_dict())):
        assert (a.pop("engine"), b.pop("engine")) == ("compiled", "durable")
        assert canonical_json(a) == canonical_json(b)


def test_the_durable_backend_is_used_and_every_rule_set_is_expressible(reference):
    matchers = reference._durable_matchers()
    ruleset_stages = [s.id for s in reference.parts.stages if s.kind == "ruleset"]
    assert sorted(matchers) == sorted(ruleset_stages)
    assert all(m.hosts_built == 1 for m in matchers.values())
    for stage in reference.parts.stages:
        if stage.kind == "ruleset":
            assert check_expressible(stage.target.rules) == [], stage.id


@DIFFERENTIAL
@given(data=st.data())
def test_backends_agree_on_schema_generated_applicants(reference, data):
    assert_backends_agree(reference, data.draw(reference_applicants(reference)))


@settings(max_examples=1000, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2 ** 32 - 1), drop=st.booleans())
def test_backends_agree_on_realistic_applicants(reference, seed, drop):
    [raw] = generate(1, seed)
    if drop:
        raw = without_some_fields(raw, random.Random(seed))
        raw.setdefault("decision_date", "2026-11-28")
    try:
        reference.parse_input(raw)
    except Exception:
        raw = generate(1, seed)[0]      # a removed required field: use the file as generated
    assert_backends_agree(reference, raw)
