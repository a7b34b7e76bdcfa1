"""The served policy set without Flask: validated and tested before a swap, never half swapped,
recorded in the database, and the last recorded versions when a worker starts on a broken folder."""
import pytest

from app.services import build
from app.services.errors import InvalidInput, NotFound
from support.http import POLICY, set_parameter, set_version
from support.settings import make_settings


def break_folder(root):
    path = root / "rules" / "eligibility.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n  - {id: [unclosed\n", encoding="utf-8")


def test_served_names_the_known_policies_when_asked_for_another(firefly):
    assert firefly.registry.served(POLICY).name == POLICY
    with pytest.raises(NotFound) as raised:
        firefly.registry.served("other.flow")
    assert raised.value.code == "unknown_policy" and POLICY in raised.value.message


def test_replace_swaps_in_a_valid_folder_records_it_and_tells_the_other_workers(firefly, policy_root):
    told = []
    firefly.registry.announce = lambda: told.append(True)
    set_version(policy_root, "2099.7")
    result = firefly.registry.replace(str(policy_root))
    assert result.ok and firefly.registry.served(POLICY).version == "2099.7"
    assert told == [True]
    versions = firefly.policy_store.matching(POLICY, version="2099.7")
    assert [v.hash for v in versions] == [firefly.registry.served(POLICY).hash]


def test_a_broken_folder_is_refused_with_located_diagnostics_and_the_old_set_serves(firefly, policy_root):
    told = []
    firefly.registry.announce = lambda: told.append(True)
    before = firefly.registry.current()
    break_folder(policy_root)
    with pytest.raises(InvalidInput) as raised:
        firefly.registry.replace(str(policy_root))
    assert raised.value.code == "policy_rejected"
    errors = [d for d in raised.value.details["diagnostics"] if d["severity"] == "error"]
    assert any(d["file"] == "rules/eligibility.yaml" and d["line"] > 0 for d in errors), errors
    assert firefly.registry.current() is before and told == []


def test_failing_rule_tests_refuse_the_folder(firefly, policy_root):
    firefly.registry.run_tests = True
    before = firefly.registry.current()
    set_parameter(policy_root, "minimum_limit", 450000)
    result = firefly.registry.reload(str(policy_root))
    assert not result.ok and result.test_failures
    assert all(f["differences"] for f in result.test_failures if "differences" in f)
    assert firefly.registry.current() is before


def test_a_worker_starting_on_a_broken_folder_serves_the_active_release(
        firefly, policy_root, database_url, redis_url, clock):
    set_version(policy_root, "2099.8")
    assert firefly.registry.reload(str(policy_root)).ok
    break_folder(policy_root)
    restarted = build(make_settings(database_url, redis_url, FIREFLY_POLICY_ROOT=str(policy_root)), clock=clock)
    try:
        active = firefly.releases.active_id()
        assert restarted.registry.current().release_id == active and active is not None
        assert restarted.registry.served(POLICY).version == "2099.8"
        assert restarted.readiness().ready
    finally:
        restarted.close()


def test_a_worker_with_no_folder_and_no_record_is_not_ready(database_url, redis_url, clean_state, tmp_path, clock):
    empty = build(make_settings(database_url, redis_url, FIREFLY_POLICY_ROOT=str(tmp_path)), clock=clock)
    try:
        assert empty.registry.current().policies == {}
        readiness = empty.readiness()
        assert not readiness.ready and readiness.checks["policies"] == "none loaded"
    finally:
        empty.close()


def test_the_same_files_compile_once(firefly, policy_root):
    """A reload of unchanged files reuses the compiled policies (content-keyed cache)."""
    first = firefly.registry.reload(str(policy_root)).policy_set.policies[POLICY]
    second = firefly.registry.reload(str(policy_root)).policy_set.policies[POLICY]
    assert first is second
    set_version(policy_root, "2099.9")
    assert firefly.registry.reload(str(policy_root)).policy_set.policies[POLICY] is not first
