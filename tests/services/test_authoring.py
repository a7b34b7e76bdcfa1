"""Authoring without Flask: check, rule tests, backend verification and a trial decision."""
import pytest

from app.services import authoring
from app.services.errors import InvalidInput, NotFound
from support.applicants import examples, generate
from support.http import POLICY
from support.settings import POLICY_ROOT


def test_the_reference_folder_checks_clean():
    loaded = authoring.check(POLICY_ROOT)
    assert loaded.ok and POLICY in loaded.policies


def test_a_broken_folder_reports_located_errors(policy_root):
    path = policy_root / "rules" / "segmentation.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("hit_policy:", "hit_polcy:", 1), encoding="utf-8")
    loaded = authoring.check(policy_root)
    assert not loaded.ok
    assert any(d.location and d.location.file == "rules/segmentation.yaml" and d.location.line
               for d in loaded.errors)


def test_every_rule_test_passes_on_both_backends():
    run = authoring.run_rule_tests(POLICY_ROOT, POLICY_ROOT, ("compiled", "durable"))
    assert run.results and run.failed == []
    assert {r.backend for r in run.results} == {"compiled", "durable"}


def test_rule_tests_can_be_limited_to_a_folder(policy_root):
    tests = policy_root / "policies" / "zhishandai" / "tests"
    everything = authoring.run_rule_tests(policy_root, policy_root)
    one_file = authoring.run_rule_tests(policy_root, tests / "eligibility.yaml")
    assert 0 < len(one_file.results) < len(everything.results)
    assert {r.case.location.file for r in one_file.results} == {"policies/zhishandai/tests/eligibility.yaml"}


def test_the_backends_agree_on_the_rule_tests_and_on_applications():
    found = authoring.verify(POLICY_ROOT, POLICY_ROOT, generate(40, 3), "zhishandai.application")
    assert found.cases > 0 and found.applications == 40
    assert found.checked == found.cases + 40 - len(found.rejected)
    assert found.disagreements == []


def test_applications_for_an_unnamed_policy_among_several_are_refused(policy_root):
    second = policy_root / "policies" / "zhishandai" / "copy.yaml"
    text = (policy_root / "policies" / "zhishandai" / "application.yaml").read_text(encoding="utf-8")
    second.write_text(text.replace("policy: zhishandai.application", "policy: zhishandai.copy", 1),
                      encoding="utf-8")
    with pytest.raises(InvalidInput):
        authoring.verify(policy_root, policy_root, [examples()["approve_salaried"]])


def test_a_trial_decision_stores_nothing_and_says_why():
    body = authoring.try_decision(POLICY_ROOT, POLICY, examples()["decline_overdue_pattern"], trace=True)
    assert body["outcome"] == "DECLINE" and body["trace"]["stages"]
    assert "BUREAU_OVERDUE_PATTERN" in [r["code"] for r in body["reasons"]]
    with pytest.raises(NotFound):
        authoring.try_decision(POLICY_ROOT, "no.such", {})
    with pytest.raises(InvalidInput) as raised:
        authoring.try_decision(POLICY_ROOT, POLICY, {"requested_amount": "lots"})
    assert "requested_amount" in raised.value.details
