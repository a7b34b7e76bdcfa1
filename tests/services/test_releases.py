"""Policy releases: maker-checker, checks stored with the release, a failing release cannot be
approved, the diff, activation and rollback served from the database (never the folder), the
development bootstrap and its refusal in production."""
import pytest

from app.services import build
from app.services.access import Principal
from app.services.errors import Conflict, Forbidden
from app.services.releases import ReleaseFiles
from support.http import POLICY, set_version
from support.settings import make_settings

ALICE = Principal("alice", "author")
ANN = Principal("ann", "approver")
BOB = Principal("bob", "approver")


def served_version(services):
    return services.registry.served(POLICY).version


def test_an_empty_database_bootstraps_the_folder_as_the_active_release(firefly):
    [release] = firefly.releases.list()
    assert release["bootstrap"] and release["state"] == "active" and release["created_by"] == "bootstrap"
    assert firefly.registry.current().release_id == release["id"]
    events = firefly.releases.get(release["id"])["events"]
    assert [e["action"] for e in events] == ["submitted", "approved", "activated"]


def test_maker_checker_and_activation_served_from_the_database(firefly, policy_root, database_url, redis_url):
    bootstrap = firefly.releases.active_id()
    set_version(policy_root, "2099.1")
    with pytest.raises(Forbidden):
        firefly.releases.submit(ReleaseFiles.from_folder(policy_root), Principal("c", "channel"), "no")
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), ANN, "raise the version")
    assert release["state"] == "submitted" and release["checks_passed"]
    assert release["report"]["tests"]["cases"] > 100 and release["report"]["tests"]["failed"] == []
    with pytest.raises(Forbidden) as own:
        firefly.releases.approve(release["id"], ANN, "looks fine to me")
    assert own.value.code == "own_release"
    with pytest.raises(Forbidden):
        firefly.releases.approve(release["id"], ALICE, "authors do not approve")
    with pytest.raises(Conflict):
        firefly.releases.activate(release["id"], BOB, "not approved yet")
    assert firefly.releases.approve(release["content_hash"][:10], BOB, "checked the diff")["state"] == "approved"
    assert firefly.releases.activate(release["id"], BOB, "go live")["state"] == "active"
    assert firefly.releases.get(bootstrap)["state"] == "retired"

    firefly.registry.reload()
    assert served_version(firefly) == "2099.1"
    set_version(policy_root, "2099.2")  # a folder edit changes nothing served now
    firefly.registry.reload(str(policy_root))
    assert served_version(firefly) == "2099.1"

    assert firefly.releases.rollback(BOB, "back to the bootstrap")["id"] == bootstrap
    restarted = build(make_settings(database_url, redis_url))  # a worker that starts serves the active one
    try:
        assert restarted.registry.current().release_id == bootstrap
        assert served_version(restarted) != "2099.1"
    finally:
        restarted.close()


def test_a_release_that_fails_its_checks_cannot_be_approved(firefly, policy_root):
    eligibility = policy_root / "rules" / "eligibility.yaml"
    text = eligibility.read_text(encoding="utf-8")
    assert "when: overdue_current_amount > 0" in text  # (the edit below must change the file)
    eligibility.write_text(text.replace("when: overdue_current_amount > 0",
                                        "when: overdue_current_amountz > 0", 1), encoding="utf-8")
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), ALICE, "typo")
    assert not release["checks_passed"]
    problem = release["report"]["diagnostics"][0]
    assert problem["file"].endswith("eligibility.yaml") and problem["line"] > 0 and problem["column"] > 0
    with pytest.raises(Conflict) as raised:
        firefly.releases.approve(release["id"], BOB, "missed it")
    assert raised.value.code == "release_failed_checks"


def test_a_failing_rule_test_fails_the_release(firefly, policy_root):
    from support.http import set_parameter
    set_parameter(policy_root, "region_cap_developed", 400000)
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), ALICE, "lower the cap")
    assert not release["checks_passed"] and release["report"]["tests"]["failed"]


def test_a_failed_release_marked_passed_in_the_database_still_cannot_be_approved(firefly, policy_root, database_url):
    """The stored report and its `report_ok` sit beside the release's MAC, not under it: an insider
    who marks a release whose rule tests failed as passed must not have an approver, who reads
    "checks passed", approve rules that fail their own tests. The checks are run again on the
    approved files at approval."""
    import json
    from support.http import set_parameter
    from support.tamper import tamper
    set_parameter(policy_root, "region_cap_developed", 400000)
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), ALICE, "lower the cap")
    assert not release["checks_passed"]
    tamper(database_url, ("UPDATE releases SET report_ok = :t, report = :r WHERE id = :i",
                          {"t": True, "r": json.dumps({"ok": True, "diagnostics": []}), "i": release["id"]}))
    assert firefly.releases.get(release["id"])["checks_passed"]  # what the approver reads
    with pytest.raises(Conflict) as raised:
        firefly.releases.approve(release["id"], BOB, "the report says it passed")
    assert raised.value.code == "release_failed_checks"
    assert raised.value.details["tests"]["failed"]  # the report of the checks run now


def test_the_diff_names_files_and_rules(firefly, policy_root):
    eligibility = policy_root / "rules" / "eligibility.yaml"
    text = eligibility.read_text(encoding="utf-8")
    first_rule = text.split("- id: ", 1)[1].split()[0].strip(",")
    assert "when: overdue_current_amount > 0" in text  # (the edit below must change the file)
    eligibility.write_text(text.replace("when: overdue_current_amount > 0",
                                        "when: overdue_current_amount > 100", 1), encoding="utf-8")
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), ALICE, "strict")
    changes = firefly.releases.diff(release["id"])
    assert changes["files"] == {"added": [], "removed": [], "changed": ["rules/eligibility.yaml"]}
    assert changes["rules"]["changed"] and not changes["rules"]["added"] and first_rule


def test_the_diff_of_a_hostile_release_is_bounded_and_never_raises(firefly, policy_root):
    """Any author may submit files that fail their checks; the diff of such a release (a reader's
    API call, and the console's page of the release) must still answer. It read the files with
    yaml.safe_load: aliases expanded without bound (each level below multiplies by ten: 10**6
    rules here, 10**9 with three levels more) and 2026-02-30 raised ValueError (a 500)."""
    bomb = "a: &a [{id: BOMB-1, when: a > 1}]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6))
    (policy_root / "rules" / "bomb.yaml").write_text(bomb, encoding="utf-8")
    (policy_root / "rules" / "dated.yaml").write_text(
        "ruleset: dated\nrules:\n  - {id: DATED-1, when: a > 1, starts: 2026-02-30}\n", encoding="utf-8")
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), ALICE, "hostile")
    assert not release["checks_passed"]
    changes = firefly.releases.diff(release["id"])
    assert changes["files"]["added"] == ["rules/bomb.yaml", "rules/dated.yaml"]
    assert changes["rules"]["added"] == ["DATED-1"]  # the bomb is refused unexpanded, as the engine refuses it


def test_production_refuses_the_bootstrap(firefly, database_url, redis_url, clean_state):
    production = build(make_settings(database_url, redis_url, FIREFLY_ENV="production"))
    try:
        with pytest.raises(Forbidden):
            production.releases.bootstrap(production.settings.policy_root)
    finally:
        production.close()


def test_backend_verification_runs_at_submit_where_configured(database_url, redis_url, clean_state, policy_root):
    verifying = build(make_settings(database_url, redis_url, FIREFLY_RELEASE_VERIFY_BACKENDS=True))
    try:
        set_version(policy_root, "2099.3")
        release = verifying.releases.submit(ReleaseFiles.from_folder(policy_root), ALICE, "verify both")
        backends = release["report"]["backends"]
        assert backends["checked"] > 100 and backends["disagreements"] == [] and release["checks_passed"]
    finally:
        verifying.close()
