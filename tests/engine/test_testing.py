"""The YAML rule tests beside the reference policies, run by the suite on every engine backend,
and the comparison of the two backends on one input."""
from types import SimpleNamespace

import pytest

from app.engine import BACKENDS, HEADLINE, load_policy_root
from app.engine.testing import (COMPARED_FIELDS, backend_disagreements, disagreements, load_cases,
                                read_test_files, run_case)
from engine.support import REPO as ROOT
from engine.support import reference_root

LOADED = reference_root()
CASES, PROBLEMS = load_cases(read_test_files(ROOT))


def test_reference_policies_load_without_errors():
    assert LOADED.ok, "\n".join(str(d) for d in LOADED.errors)
    assert "zhishandai.application" in LOADED.policies


def test_rule_test_files_are_valid():
    assert not PROBLEMS, "\n".join(str(d) for d in PROBLEMS)
    assert len(CASES) >= 40


@pytest.mark.parametrize("backend", BACKENDS)  # every rule test runs on both engine backends
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
    written = "overdue_months_24m >= params.overdue_total_decline"
    assert written in text
    eligibility.write_text(text.replace(written, "overdue_months_24m * 2 >= 12", 1),
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


# --- comparing the backends -------------------------------------------------------------------------
def test_the_backends_agree_on_every_rule_case():
    for case in CASES:   # every policy's cases (application, drawdown, review) on their policy
        policy = LOADED.policies[case.policy]
        assert backend_disagreements(policy, policy.parse_input(case.input)) == [], case.id


def test_the_fields_compared_are_the_headline():
    assert COMPARED_FIELDS == ("outcome", "limit", "customer_group", "score", "score_band",
                               "reason_codes")
    assert HEADLINE[:-1] == COMPARED_FIELDS[:-1] and HEADLINE[-1] == "reasons"


class _Trace:
    def __init__(self, matched, shown):
        self._matched, self._shown = matched, shown

    def matched(self):
        return self._matched

    def shown(self, path):
        return self._shown[path]


def _decision(matched, shown, **fields):
    headline = dict(outcome="REFER", limit=None, customer_group="SALARIED", score=700,
                    score_band="B", reason_codes=["DTI_HIGH"])
    headline.update(fields)
    return SimpleNamespace(trace=_Trace(matched, shown), **headline)


def test_a_disagreement_names_the_rule_and_the_values_it_read_then_the_fields():
    shown = {"dti": "0.56", "applicant.name": "张*"}
    compiled = _decision({"EL-1": True, "EL-2": False}, shown)
    durable = _decision({"EL-1": False, "EL-2": False}, shown, outcome="APPROVE", limit=50000,
                        reason_codes=[])
    lines = disagreements(compiled, durable, {"EL-1": ("dti", "applicant.name")})
    assert lines == [
        'rule EL-1: compiled matched=True, durable matched=False; values read '
        '{"applicant.name":"张*","dti":"0.56"}',
        "outcome: compiled 'REFER', durable 'APPROVE'",
        "limit: compiled None, durable 50000",
        "reason_codes: compiled ['DTI_HIGH'], durable []",
    ]
    assert disagreements(compiled, compiled, {}) == []


def test_every_data_requirement_has_a_case_that_finds_it_unmet():
    policy = LOADED.policies["zhishandai.application"]
    expected_hits = {rule for case in CASES for rule in case.expect.get("hits") or []}
    requirements = [r.id for r in policy.parts.requirements]
    assert len(requirements) >= 10
    assert [r for r in requirements if r not in expected_hits] == []
