"""What is served and shown is what was approved: a release or a stored policy version edited in
the database is refused, not served, replayed or quoted.

The attack (an insider with write access to the database, such as a DBA): maker-checker approved a
release, and the release events are a MAC-chained log, but the events named the release by its id
only. Its files were a JSON column beside an unkeyed SHA-256 of them: edit a threshold in the
files, recompute the hash (anyone can), restart the workers, and they served rules nobody
approved, recorded as a new policy version under the approved version string. Likewise the files
of a stored policy version, which compliance reads to see the rules that decided (the console
quotes them) and replay compiles: the decision rows' MACs name the version's hash, but nothing
checked that the files still hash to it."""
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.engine.read.documents import policy_hash
from app.services import build, compiling
from app.services.access import Principal
from app.services.errors import Conflict
from app.services.releases import ReleaseFiles
from app.storage.models import PolicyVersion, Release, ReleaseEvent
from support.http import POLICY, set_parameter, set_version
from support.tamper import as_insider, edit_version_files
from support.settings import make_settings

ANN = Principal("ann", "approver")
BOB = Principal("bob", "approver")
APPLICATION = "policies/zhishandai/application.yaml"
APPROVED_CAP, EDITED_CAP = "region_cap_developed: 500000", "region_cap_developed: 900000"


def tampering(kind):
    return REGISTRY.get_sample_value("firefly_tampering_detected_total", {"kind": kind}) or 0


def approve_and_activate(firefly, policy_root, version):
    set_version(policy_root, version)
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), ANN, version)
    firefly.releases.approve(release["id"], BOB, "checked")
    firefly.releases.activate(release["id"], BOB, "go live")
    firefly.registry.reload()
    return release


def edit_release_files(firefly, release_id, rehash=True):
    """What the insider does: raise a cap in the files and, unless told not to, write the
    content hash of the edited files (an unkeyed SHA-256: anyone can compute it)."""
    with firefly.database.session() as session:
        as_insider(session)
        row = session.get(Release, release_id)
        files = dict(row.files)
        assert APPROVED_CAP in files[APPLICATION]
        files[APPLICATION] = files[APPLICATION].replace(APPROVED_CAP, EDITED_CAP)
        row.files = files
        if rehash:
            row.content_hash = compiling.content_hash({**files, **row.test_files})
        session.commit()


@pytest.mark.parametrize("rehash", [True, False], ids=["hash recomputed", "hash left"])
def test_an_approved_release_edited_in_the_database_is_not_served(firefly, policy_root, database_url,
                                                                  redis_url, rehash):
    release = approve_and_activate(firefly, policy_root, "2099.1")
    approved = release["policies"][POLICY]["hash"]
    assert firefly.registry.served(POLICY).hash == approved

    edit_release_files(firefly, release["id"], rehash)
    refused_before = tampering("release")
    restarted = build(make_settings(database_url, redis_url))  # a worker that starts
    try:
        # nothing is served (not the edited files, and no older version standing in for the
        # approved one): the worker is not ready, decisions answer 503
        assert restarted.registry.current().policies == {}
        assert restarted.registry.last_result.diagnostics[0]["code"] == "release_altered"
        assert not restarted.readiness().ready
        assert tampering("release") > refused_before  # firefly_tampering_detected_total: alert on it
        with pytest.raises(Conflict) as refused:
            restarted.releases.files_of(release["id"])
        assert refused.value.code == "record_altered"
        # an operator rolls back to the release before, which is intact: served again
        restarted.releases.rollback(BOB, "the active release was edited in the database")
        assert restarted.registry.reload().ok
        assert restarted.registry.served(POLICY).hash != approved
    finally:
        restarted.close()
    findings = firefly.integrity.verify()
    assert [f["release"] for f in findings["releases"]] == [release["id"]]


def test_a_rollback_to_an_edited_release_is_refused_and_the_approved_rules_serve_on(firefly, policy_root):
    first = approve_and_activate(firefly, policy_root, "2099.1")
    approve_and_activate(firefly, policy_root, "2099.2")
    serving = firefly.registry.served(POLICY).hash
    edit_release_files(firefly, first["id"])
    with pytest.raises(Conflict) as refused:
        firefly.releases.rollback(BOB, "back to 2099.1")
    assert refused.value.code == "record_altered"
    for step in (firefly.releases.activate, firefly.releases.approve):
        with pytest.raises(Conflict):
            step(first["id"], Principal("carl", "approver"), "again")
    assert firefly.registry.reload().ok and firefly.registry.served(POLICY).hash == serving


def test_an_activation_inserted_in_the_database_activates_nothing(firefly, policy_root):
    """The events are MAC-chained; a row inserted by hand has no MAC of this service's key, so the
    release it names is not made active (nor would an "approved" inserted so count)."""
    first = approve_and_activate(firefly, policy_root, "2099.1")
    approve_and_activate(firefly, policy_root, "2099.2")
    serving = firefly.registry.served(POLICY).hash
    with firefly.database.session() as session:
        latest = max(session.scalars(select(ReleaseEvent)).all(), key=lambda e: e.seq or 0)
        forged = ReleaseEvent(id="f" * 32, release_id=first["id"], action="activated", actor="bob",
                              role="approver", reason="forged", created_at=latest.created_at,
                              seq=latest.seq + 1, content_hash="0" * 64, row_mac="0" * 16)
        session.add(forged)
        session.commit()
    assert firefly.releases.active_id() != first["id"]
    assert firefly.registry.reload().ok and firefly.registry.served(POLICY).hash == serving


def test_the_active_release_is_found_past_forged_activations_without_reading_the_whole_history(
        firefly, policy_root, monkeypatch):
    """Every worker asks for the active release on each poll (every 2 s): the answer is the newest
    genuine activation, however many forged ones sit above it, and finding it checks the newest
    events only, not a history that grows with every release."""
    first = approve_and_activate(firefly, policy_root, "2099.1")
    second = approve_and_activate(firefly, policy_root, "2099.2")
    for turn in range(12):  # a long history: the two releases activated in turn
        firefly.releases.activate((first if turn % 2 == 0 else second)["id"], BOB, f"turn {turn}")
    assert firefly.releases.active_id() == second["id"]
    checked = []
    real = firefly.releases.personal.mac_matches
    monkeypatch.setattr(firefly.releases.personal, "mac_matches",
                        lambda *args: checked.append(args) or real(*args))
    assert firefly.releases.active_id() == second["id"]
    assert len(checked) <= 8  # one page of activations, newest first, out of 14
    with firefly.database.session() as session:  # ten forged activations of the other release above it
        latest = max(session.scalars(select(ReleaseEvent)).all(), key=lambda e: e.seq or 0)
        for n in range(10):
            session.add(ReleaseEvent(id=f"{n:x}" * 32, release_id=first["id"], action="activated",
                                     actor="bob", role="approver", reason="forged",
                                     created_at=latest.created_at, seq=latest.seq + 1 + n,
                                     content_hash="0" * 64, row_mac="0" * 16))
        session.commit()
    assert firefly.releases.active_id() == second["id"]
    assert firefly.releases.active().id == second["id"]


def test_a_stored_policy_version_edited_in_the_database_is_not_shown_nor_replayed(firefly, policy_root):
    served = firefly.registry.served(POLICY)
    with firefly.database.session() as session:
        row = session.get(PolicyVersion, served.hash)
        assert policy_hash(dict(row.files), row.version) == row.hash  # as stored: intact
    edit_version_files(firefly, served.hash, APPROVED_CAP, EDITED_CAP)
    for read in (firefly.versions.files, lambda h: firefly.versions.diff(h, h),
                 # what replay, backtest and the rebuild read the version by
                 lambda h: firefly.policy_store.matching(POLICY, policy_hash=h)):
        with pytest.raises(Conflict) as refused:
            read(served.hash)
        assert refused.value.code == "record_altered"
    written = firefly.versions.written(served.hash)  # the console quotes no rule of it, and says why
    assert written.items == {} and "edited in the database" in written.altered
    findings = firefly.integrity.verify()
    assert [f["hash"] for f in findings["policy_versions"]] == [served.hash]


def test_intact_releases_and_versions_verify_clean(firefly, policy_root):
    approve_and_activate(firefly, policy_root, "2099.1")
    set_parameter(policy_root, "minimum_limit", 10000)
    findings = firefly.integrity.verify()
    assert findings == {"releases": [], "policy_versions": [], "checked": findings["checked"]}
    assert findings["checked"]["releases"] == 2 and findings["checked"]["policy_versions"] >= 2
    with firefly.database.session() as session:
        assert session.scalars(select(Release.row_mac)).all() and all(
            mac for mac in session.scalars(select(Release.row_mac)).all())


def test_a_policy_version_deleted_in_the_database_is_named_by_verify(firefly, database_url):
    """Every decision names its version under its own MAC; an insider who deletes the version's
    row (the foreign key switched off with the triggers) leaves decisions that can no longer be
    replayed nor their rules shown. Verify names the versions decisions name that are not stored."""
    from app.services.deciding import DecisionRequest
    from support.applicants import examples
    from support.tamper import tamper
    decided = firefly.deciding.decide(DecisionRequest(POLICY, examples()["approve_salaried"],
                                                      Principal("test-channel", "channel"), "req-1"))
    version = decided.answer["policy"]["hash"]
    assert firefly.integrity.verify()["policy_versions"] == []
    tamper(database_url, ("DELETE FROM policy_versions WHERE hash = :h", {"h": version}))
    found = firefly.integrity.verify()["policy_versions"]
    assert [(f["hash"], f["problem"]) for f in found] == [
        (version, "is named by 1 decisions but not stored (deleted in the database): they cannot be replayed")]


def test_an_activation_deleted_in_the_database_rolls_nothing_back(firefly, policy_root, database_url, redis_url):
    """The active release is the one activated last: an insider who deletes the newest activation
    (its seal left in place) would have every worker switch back to the release before, unrecorded
    (a tightened policy quietly undone). A sealed release event missing from the table means the
    history is incomplete: nothing is switched to, approved, activated or rolled back on it, and
    a worker that starts is not ready."""
    from support.tamper import tamper
    first = approve_and_activate(firefly, policy_root, "2099.1")
    second = approve_and_activate(firefly, policy_root, "2099.2")
    serving = firefly.registry.served(POLICY).hash
    firefly.audit_log.seal("releases")
    with firefly.database.session() as session:
        activation = max((e for e in session.scalars(select(ReleaseEvent)) if e.release_id == second["id"]
                          and e.action == "activated"), key=lambda e: e.seq)
    before = tampering("release_event")
    tamper(database_url, ("DELETE FROM release_events WHERE id = :i", {"i": activation.id}))
    with pytest.raises(Conflict) as refused:
        firefly.releases.active_id()
    assert refused.value.code == "record_altered"
    assert tampering("release_event") > before
    assert not firefly.registry.reload().ok and firefly.registry.served(POLICY).hash == serving
    for step in (lambda: firefly.releases.activate(first["id"], BOB, "again"),
                 lambda: firefly.releases.rollback(BOB, "back")):
        with pytest.raises(Conflict):
            step()
    restarted = build(make_settings(database_url, redis_url))  # a worker that starts
    try:
        assert restarted.registry.current().policies == {} and not restarted.readiness().ready
    finally:
        restarted.close()
    assert [r["id"] for r in firefly.releases.list()]  # compliance can still list them to look
