"""Replay without Flask: identical on the version that decided; differences on another version."""
import pytest

from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.services.errors import Conflict, NotFound
from app.services.replay import Target, diff
from support.applicants import examples
from support.http import POLICY, set_parameter, set_version

CHANNEL = Principal("test-channel", "channel")


def decide(firefly, name):
    return firefly.deciding.decide(DecisionRequest(POLICY, examples()[name], CHANNEL, "r")).answer


def test_replay_on_the_stored_version_is_identical(firefly):
    for name in examples():
        answer = decide(firefly, name)
        replayed = firefly.replaying.replay(answer["decision_id"], Target())
        assert replayed["identical"] and replayed["trace_identical"], (name, replayed["differences"])
        assert replayed["stored_policy"] == replayed["replayed_policy"] == answer["policy"]


def test_replay_on_another_version_shows_what_changes(firefly, policy_root):
    answer = decide(firefly, "approve_salaried")
    set_version(policy_root, "2099.1")
    set_parameter(policy_root, "minimum_limit", 450000)
    firefly.registry.reload(str(policy_root))
    replayed = firefly.replaying.replay(answer["decision_id"], Target(version="2099.1"))
    assert not replayed["identical"]
    assert replayed["replayed_policy"]["version"] == "2099.1"
    paths = {d["path"] for d in replayed["differences"]}
    assert {"outcome", "limit"} <= paths


def test_a_hash_prefix_names_a_version(firefly):
    answer = decide(firefly, "approve_premium")
    replayed = firefly.replaying.replay(answer["decision_id"], Target(hash=answer["policy"]["hash"][:8]))
    assert replayed["identical"]


def test_unknown_version_is_not_found(firefly):
    answer = decide(firefly, "approve_premium")
    with pytest.raises(NotFound) as raised:
        firefly.replaying.replay(answer["decision_id"], Target(version="1900.1"))
    assert raised.value.code == "unknown_policy_version"


def test_several_matching_versions_are_a_conflict(firefly, policy_root):
    answer = decide(firefly, "approve_premium")
    set_version(policy_root, "2099.2")
    firefly.registry.reload(str(policy_root))
    set_parameter(policy_root, "minimum_limit", 30000)
    firefly.registry.reload(str(policy_root))  # same version string, other content
    with pytest.raises(Conflict) as raised:
        firefly.replaying.replay(answer["decision_id"], Target(version="2099.2"))
    assert raised.value.code == "ambiguous_policy_version" and len(raised.value.details) == 2


def test_unknown_decision_is_not_found(firefly):
    with pytest.raises(NotFound):
        firefly.replaying.replay("f" * 32, Target())


def test_diff_names_every_changed_leaf():
    stored = {"outcome": "APPROVE", "limit": 90000, "reasons": [{"code": "A"}], "outputs": {"x": 1}}
    replayed = {"outcome": "DECLINE", "limit": None, "reasons": [{"code": "B"}], "outputs": {"x": 1, "y": 2}}
    assert diff(stored, replayed) == [
        {"path": "outcome", "stored": "APPROVE", "replayed": "DECLINE"},
        {"path": "limit", "stored": 90000, "replayed": None},
        {"path": "reasons[0].code", "stored": "A", "replayed": "B"},
        {"path": "outputs.y", "stored": None, "replayed": 2}]
