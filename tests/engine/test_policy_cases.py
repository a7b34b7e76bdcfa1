"""The YAML rule tests beside the reference policies, run by the suite on every engine backend."""
from pathlib import Path

import pytest

from app.engine import load_policy_root
from app.engine.testing import load_cases, read_test_files, run_case

ROOT = Path(__file__).resolve().parents[2]
LOADED = load_policy_root(ROOT)
CASES, PROBLEMS = load_cases(read_test_files(ROOT))
BACKENDS = ["compiled", "durable"]  # every rule test runs on both engine backends


def test_reference_policies_load_without_errors():
    assert LOADED.ok, "\n".join(str(d) for d in LOADED.errors)
    assert "zhishandai.application" in LOADED.policies


def test_rule_test_files_are_valid():
    assert not PROBLEMS, "\n".join(str(d) for d in PROBLEMS)
    assert len(CASES) >= 40


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_case(case, backend):
    policy = LOADED.policies[case.policy]
    result = run_case(policy, case, backend)
    assert result.passed, f"{case.location} {case.id} {case.name}\n" + "\n".join(
        result.differences)


def _rules_of(stage_id):
    policy = LOADED.policies["zhishandai.application"]
    stage = next(s for s in policy.parts.stages if s.id == stage_id)
    return [rule.id for rule in stage.target.rules]


@pytest.mark.parametrize("stage_id", ["anti_fraud", "eligibility"])
def test_every_rule_has_a_case_that_hits_it(stage_id):
    expected_hits = {rule for case in CASES for rule in case.expect.get("hits") or []}
    unhit = [rule for rule in _rules_of(stage_id) if rule not in expected_hits]
    assert len(_rules_of(stage_id)) >= 12
    assert not unhit, f"rules of {stage_id} no case expects to hit: {unhit}"


def test_every_customer_group_has_an_approving_case():
    groups = {case.expect.get("customer_group") for case in CASES
              if case.expect.get("outcome") == "APPROVE"}
    assert {"PREMIUM", "SALARIED", "BUSINESS_OWNER", "LOCAL_RESIDENT", "NEW_CITIZEN"} <= groups


def test_reference_policy_uses_every_hit_policy():
    policy = LOADED.policies["zhishandai.application"]
    used = {s.target.hit_policy for s in policy.parts.stages if s.kind in ("ruleset", "table")}
    assert {"first", "unique", "priority", "collect", "any"} <= used


def test_durable_engine_rejects_a_computing_condition_at_load_time(tmp_path):
    """A rule the durable backend cannot match is a load-time error naming the rule and place,
    when the policy (or the service) selects that backend; the compiled backend only warns."""
    import shutil

    for folder in ("policies", "rules"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    eligibility = tmp_path / "rules" / "eligibility.yaml"
    text = eligibility.read_text(encoding="utf-8")
    assert "bureau.overdue_months_24m >= 6" in text
    eligibility.write_text(text.replace("bureau.overdue_months_24m >= 6",
                                        "bureau.overdue_months_24m * 2 >= 12", 1),
                           encoding="utf-8")
    durable = load_policy_root(tmp_path, engine="durable")
    assert not durable.ok
    [error] = durable.errors
    assert error.code == "DURABLE_UNSUPPORTED"
    assert error.location.file == "rules/eligibility.yaml" and error.location.line > 0
    assert "feature" in error.message
    compiled = load_policy_root(tmp_path)
    assert compiled.ok
    assert [d.code for d in compiled.diagnostics] == ["CONDITION_COMPUTES"]


def test_the_engine_override_is_recorded_in_decision_and_trace():
    policy = load_policy_root(ROOT, engine="durable").policies["zhishandai.application"]
    case = next(c for c in CASES if c.expect.get("outcome") == "APPROVE")
    decision = policy.decide(policy.parse_input(case.input))
    assert decision.to_dict()["engine"] == "durable"
    assert decision.trace.to_dict()["engine"] == "durable"
