"""The small policy of bench/mini (issue 11's comparison with peer engines) is the same policy in
all four of its forms: Firefly's YAML, the hand-written function, the JDM graph zen-engine
evaluates and the durable_rules rule set. So bench/mini/run.py can never time different
policies. zen-engine and durable_rules really run here. bench/ is not a package: the twins are
loaded from their paths."""
from __future__ import annotations

import importlib.util
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import load_policy_root
from app.engine.testing import load_cases, read_test_files, run_case
from engine.support import REPO

MINI = REPO / "bench" / "mini"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_mini_{name}", MINI / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HAND, APPLICANTS, ZEN, DURABLE = (_load(n) for n in ("hand", "applicants", "zen_twin",
                                                     "durable_twin"))


@pytest.fixture(scope="module")
def mini():
    loaded = load_policy_root(MINI)
    assert loaded.ok, "\n".join(str(d) for d in loaded.diagnostics)
    return loaded.policies["mini.application"]


@pytest.fixture(scope="module")
def twins():
    return ZEN.ZenMini(), DURABLE.DurableMini("test")


def _all_four(policy, twins, raw: dict) -> dict:
    zen, durable = twins
    headline = policy.decide(policy.parse_input(raw)).headline()
    firefly = {k: headline[k] for k in ("outcome", "limit", "reasons")}
    expected = HAND.decide(raw)
    assert firefly == expected, f"firefly {firefly} hand {expected} on {raw}"
    assert zen.decide(raw) == expected, f"zen {zen.decide(raw)} hand {expected} on {raw}"
    assert durable.decide(raw) == expected, f"durable {durable.decide(raw)} hand {expected} on {raw}"
    return expected


def test_the_policy_checks_clean_and_its_rule_tests_pass(mini):
    loaded = load_policy_root(MINI)
    assert loaded.diagnostics == []
    cases, problems = load_cases(read_test_files(MINI))
    assert problems == [] and len(cases) >= 5
    for case in cases:
        for backend in ("compiled", "durable"):
            result = run_case(mini, case, backend)
            assert result.passed, (case.id, backend, result.differences)


def test_the_policy_is_the_size_the_comparison_says(mini):
    stages = {s.id: s for s in mini.parts.stages}
    rules = sum(len(stages[name].target.rules) for name in ("eligibility", "credit", "fraud"))
    assert rules == 29 == len(DURABLE.RULES)
    assert len(stages["base_limit"].target.rows) == 30 == len(DURABLE.MATRIX)


def test_all_four_agree_on_the_benchmark_sample(mini, twins):
    outcomes: Counter = Counter()
    fired: set[int] = set()
    for raw in APPLICANTS.generate(1500, 7):
        outcomes[_all_four(mini, twins, raw)["outcome"]] += 1
        fired.update(twins[1].matched(raw))
    # every outcome common, every rule and every matrix row met somewhere in the sample
    assert min(outcomes.values()) > 150 and set(outcomes) == {"APPROVE", "DECLINE", "REFER"}
    assert fired == set(range(29)) | {1000 + n for n in range(30)}


def _section(**fields):
    return st.fixed_dictionaries(fields)


def _around(*points: int, low: int = 0, high: int = 10**6):
    """Integers on and next to the thresholds, and anywhere in the declared range."""
    near = [p + d for p in points for d in (-1, 0, 1) if low <= p + d <= high]
    return st.one_of(st.sampled_from(near), st.integers(low, high))


APPLICATIONS = st.fixed_dictionaries({
    "applicant": _section(
        age=_around(22, 25, 55, 60, low=18, high=100),
        employment=st.sampled_from(["SALARIED", "SELF_EMPLOYED", "UNEMPLOYED"]),
        months_employed=_around(6, 24, high=600),
        monthly_income=_around(3000, 5000, 833, 1000, high=10**7),
        city_tier=st.sampled_from(["TIER1", "TIER2", "TIER3"])),
    "bureau": _section(
        credit_score=_around(550, 600, 650, 700, 750, low=300, high=900),
        overdue_months_24m=_around(3, 6, high=24),
        max_dpd_12m=_around(30, 90, high=400),
        hard_inquiries_6m=_around(6, 10, high=50),
        open_loans=_around(5, 8, high=50)),
    "application": _section(
        channel=st.sampled_from(["APP", "BRANCH", "PARTNER"]),
        requested_amount=_around(1000, 200000, high=10**7)),
    "device": _section(
        device_age_days=_around(1, high=5000),
        phone_months=_around(3, 6, high=600),
        applications_30d=_around(3, 5, high=100),
        ip_risk=st.sampled_from(["LOW", "MEDIUM", "HIGH"]),
        on_blacklist=st.booleans()),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=APPLICATIONS)
def test_all_four_agree_on_drawn_applications(mini, twins, raw):
    _all_four(mini, twins, raw)


def test_a_changed_twin_is_caught(mini, twins, monkeypatch):
    """The comparison can fail: a threshold moved in the hand-written function shows."""
    monkeypatch.setattr(HAND, "MIN_INCOME", 3001)
    raw = APPLICANTS.generate(1, 7)[0]
    raw["applicant"]["monthly_income"] = 3000
    with pytest.raises(AssertionError, match="firefly"):
        _all_four(mini, twins, raw)
