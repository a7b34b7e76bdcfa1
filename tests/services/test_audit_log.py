"""The tamper-evident decision log: sealing off the hot path, `verify` naming every entry edited,
deleted, inserted or reordered (on SQLite and PostgreSQL alike), what compliance reads from an
edited row, the append-only trigger on PostgreSQL, and the retention purge."""
import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from prometheus_client import REGISTRY
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from app.services import build
from app.services.access import Principal
from app.services.audit_log import Anchor, AuditLog
from app.services.deciding import DecisionRequest
from app.services.errors import Conflict
from app.services.access_audit import AuditSearch as AccessSearch
from app.services.records import Search
from app.services.replay import Target
from support.applicants import examples
from support.http import POLICY
from support.settings import make_settings
from support.tamper import tamper

CHANNEL = Principal("test-channel", "channel")


def decide_many(firefly, count, name="decline_overdue_pattern"):
    body = examples()[name]
    return [firefly.deciding.decide(DecisionRequest(POLICY, body, CHANNEL, f"req-{n}")).decision_id
            for n in range(count)]


def findings(firefly, **kwargs):
    return {(f.kind, f.entry_id) for f in firefly.audit_log.verify("decisions", **kwargs).findings}


def seq_of(database_url, decision_id):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        seq = conn.execute(text("SELECT seq FROM decisions WHERE id = :i"), {"i": decision_id}).scalar_one()
    engine.dispose()
    return seq


def test_an_untouched_log_verifies_and_sealing_is_idempotent(firefly):
    ids = decide_many(firefly, 4)
    before = firefly.audit_log.verify("decisions")
    assert before.ok and before.checked == 0 and before.unsealed == 4  # decided, not sealed yet
    assert firefly.audit_log.seal("decisions") == 4
    assert firefly.audit_log.seal("decisions") == 0
    after = firefly.audit_log.verify("decisions")
    assert after.ok and after.checked == 4 and after.unsealed == 0 and after.head
    decide_many(firefly, 2)
    assert firefly.audit_log.seal("decisions") == 2
    assert firefly.audit_log.verify("decisions").checked == 6
    assert firefly.audit_log.verify("decisions", first=5, last=6).checked == 2
    assert len(ids) == 4


def test_an_edited_row_is_named_and_compliance_sees_it(firefly, database_url):
    ids = decide_many(firefly, 3)
    firefly.audit_log.seal()
    tamper(database_url, ('UPDATE decisions SET outcome = \'APPROVE\', "limit" = 500000 WHERE id = :i',
                          {"i": ids[1]}))
    assert findings(firefly) == {("edited", ids[1])}
    found = firefly.records.search(Search(outcome="APPROVE"))
    assert [item["record"]["intact"] for item in found.items] == [False]
    with pytest.raises(Conflict) as raised:
        firefly.replaying.replay(ids[1], Target())
    assert raised.value.code == "record_altered"
    assert firefly.replaying.replay(ids[0], Target())["identical"] is True


def test_a_deleted_row_is_named(firefly, database_url):
    ids = decide_many(firefly, 3)
    firefly.audit_log.seal()
    tamper(database_url, ("DELETE FROM decisions WHERE id = :i", {"i": ids[1]}))
    assert findings(firefly) == {("deleted", ids[1])}


def test_reordered_rows_are_named(firefly, database_url):
    ids = decide_many(firefly, 3)
    firefly.audit_log.seal()
    one, two = seq_of(database_url, ids[0]), seq_of(database_url, ids[2])
    tamper(database_url,
           ("UPDATE decisions SET seq = -1 WHERE id = :i", {"i": ids[0]}),
           ("UPDATE decisions SET seq = :s WHERE id = :i", {"s": one, "i": ids[2]}),
           ("UPDATE decisions SET seq = :s WHERE id = :i", {"s": two, "i": ids[0]}))
    assert findings(firefly) == {("reordered", ids[0]), ("reordered", ids[2])}


def test_an_inserted_row_is_named(firefly, database_url):
    ids = decide_many(firefly, 2)
    firefly.audit_log.seal()
    columns = "created_at, decision_date, policy_name, policy_version, policy_hash, engine, outcome, " \
              '"limit", customer_group, score, score_band, reason_codes, rule_hits, result, trace, ' \
              "input_masked, request_hash, request_id, channel, key_id, content_hash, row_mac"
    tamper(database_url, (f"INSERT INTO decisions (id, seq, {columns}) SELECT 'f' || substr(id, 2), "
                          f"seq + 100, {columns} FROM decisions WHERE id = :i", {"i": ids[0]}))
    forged = "f" + ids[0][1:]
    assert firefly.audit_log.seal("decisions") == 0  # the sealer refuses a row that fails its MAC
    assert findings(firefly) == {("inserted", forged)}


def test_a_removed_seal_breaks_the_chain(firefly, database_url):
    decide_many(firefly, 3)
    firefly.audit_log.seal()
    tamper(database_url, ("DELETE FROM log_seals WHERE log = 'decisions' AND position = 2", {}))
    result = firefly.audit_log.verify("decisions")
    assert [(f.kind, f.position) for f in result.findings] == [("seal_missing", 2)]
    assert result.unsealed == 1  # its entry, intact but no longer sealed


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(st.sampled_from(["keep", "edit", "delete"]), min_size=3, max_size=6))
def test_verify_names_exactly_the_entries_tampered_with(firefly, database_url, operations):
    """Whatever is edited or deleted, verify names those entries and no other."""
    # a sealer of its own per example: the log is emptied after each, which the workers' sealer
    # (remembering the head it sealed) would rightly refuse to seal after
    audit_log = AuditLog(firefly.database, firefly.personal)
    audit_log.seal()
    ids = decide_many(firefly, len(operations))
    audit_log.seal()
    statements, expected = [], set()
    for decision_id, operation in zip(ids, operations):
        if operation == "edit":
            statements.append(("UPDATE decisions SET customer_group = 'PREMIUM' WHERE id = :i", {"i": decision_id}))
            expected.add(("edited", decision_id))
        elif operation == "delete":
            statements.append(("DELETE FROM decisions WHERE id = :i", {"i": decision_id}))
            expected.add(("deleted", decision_id))
    if statements:
        tamper(database_url, *statements)
    found = findings(firefly)
    assert {item for item in found if item[1] in ids} == expected
    # Put the log back in order for the next example: drop what this example made.
    tamper(database_url, ("DELETE FROM log_seals", {}), ("DELETE FROM decisions", {}))


def test_the_purge_removes_sealed_personal_data_and_the_chain_still_verifies(firefly, clock):
    ids = decide_many(firefly, 2)
    firefly.audit_log.seal()
    clock.now += datetime.timedelta(days=31)
    assert firefly.audit_log.purge_personal_data(30) == 2
    assert firefly.audit_log.purge_personal_data(30) == 0
    assert firefly.audit_log.verify("decisions").ok
    with pytest.raises(Conflict) as raised:
        firefly.replaying.replay(ids[0], Target())
    assert raised.value.code == "personal_data_purged"
    assert firefly.records.get(ids[0])["record"]["intact"] is True


def test_postgresql_refuses_updates_and_deletes_but_the_purge(firefly, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no roles or triggers to protect the log with; the chain shows changes")
    ids = decide_many(firefly, 1)
    firefly.audit_log.seal()
    engine = create_engine(database_url)
    for statement in ("UPDATE decisions SET outcome = 'APPROVE'", "DELETE FROM decisions",
                      "UPDATE log_seals SET seq = 7", "DELETE FROM log_seals", "TRUNCATE decisions CASCADE",
                      "UPDATE decisions SET pii_sealed = NULL, outcome = 'APPROVE'"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    with engine.begin() as conn:
        assert conn.execute(text("UPDATE decisions SET pii_sealed = NULL WHERE id = :i"), {"i": ids[0]}).rowcount == 1
    engine.dispose()
    # the chain still verifies (it covers the digest), but no recorded purge covers this row
    assert {(f.kind, f.entry_id) for f in firefly.audit_log.verify("decisions").findings} == {("purged", ids[0])}


def test_one_call_seals_every_pending_entry_batch_after_batch(firefly, monkeypatch):
    monkeypatch.setattr("app.services.audit_log.BATCH", 3)
    decide_many(firefly, 7)
    assert firefly.audit_log.seal("decisions") == 7  # batches of 3, 3 and 1
    result = firefly.audit_log.verify("decisions")
    assert result.ok and result.checked == 7 and result.unsealed == 0


@pytest.mark.parametrize("window, sealed_late", [(3, True), (1, False)])
def test_an_entry_committed_after_later_ones_is_sealed_within_the_window(firefly, database_url, monkeypatch,
                                                                         window, sealed_late):
    """A sequence number is taken before the commit, so an entry can commit after entries with
    higher numbers were sealed: the next pass seals it if it lies within the late-commit window
    below the head (and only the seals of that window are read to tell)."""
    monkeypatch.setattr("app.storage.chain.LATE_COMMIT_WINDOW", window)
    ids = decide_many(firefly, 4)
    late = ids[1]
    seq = seq_of(database_url, late)
    # the entry is not yet visible to the sealer, as if its transaction had not committed
    tamper(database_url, ("UPDATE decisions SET seq = NULL WHERE id = :i", {"i": late}))
    assert firefly.audit_log.seal("decisions") == 3
    tamper(database_url, ("UPDATE decisions SET seq = :s WHERE id = :i", {"s": seq, "i": late}))
    assert firefly.audit_log.seal("decisions") == (1 if sealed_late else 0)
    result = firefly.audit_log.verify("decisions")
    assert result.ok
    assert (result.unsealed, result.behind_window) == ((0, 0) if sealed_late else (1, 1))
    # below the window, the command's seal (the whole log) seals it, in its place in the chain
    assert firefly.audit_log.seal("decisions", whole=True) == (0 if sealed_late else 1)
    after = firefly.audit_log.verify("decisions")
    assert after.ok and after.checked == 4 and after.unsealed == 0 and after.behind_window == 0


def _rows_read_from(plan, table):
    """Rows a query plan's nodes on `table` produced, over all their loops (EXPLAIN ANALYZE)."""
    own = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1) if plan.get("Relation Name") == table else 0
    return own + sum(_rows_read_from(child, table) for child in plan.get("Plans", []))


def test_a_sealing_pass_reads_only_the_seals_of_its_window_however_long_the_log(firefly, database_url):
    """The pass's look for pending entries once read every seal the log ever had (a cost growing
    with the log, paid every pass); it reads only the seals above the window's floor now."""
    if database_url.startswith("sqlite"):
        pytest.skip("the plan that read every seal was PostgreSQL's")
    from app.storage import chain
    first = decide_many(firefly, 3)[0]
    firefly.audit_log.seal()
    old_seals = 5000  # a long log's earlier seals, far below the window
    tamper(database_url, ("INSERT INTO log_seals (log, position, entry_id, seq, content_hash, prev_hash, "
                          "entry_hash, sealed_at) SELECT 'decisions', -g, 'old' || g, -g, 'h', 'p', 'e', now() "
                          "FROM generate_series(1, :n) AS g", {"n": old_seals}))
    decide_many(firefly, 2)
    engine = create_engine(database_url)
    query = chain.pending_query("decisions", seq_of(database_url, first), 500)  # a window's floor: the first entry
    compiled = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + compiled)).scalar_one()[0]["Plan"]
        found = conn.execute(query).all()
    engine.dispose()
    assert len(found) == 2  # the two new entries, and no other
    assert _rows_read_from(plan, "log_seals") <= 2  # the window's seals, not the 5,003 of the log
    tamper(database_url, ("DELETE FROM log_seals WHERE position < 0", {}))


@pytest.mark.parametrize("page", [1, 2, 3, 500])
def test_verify_reads_the_log_a_page_at_a_time_and_finds_the_same(firefly, database_url, monkeypatch, page):
    """verify reads seals and entries a page at a time (a long log's entries, some 25 KB each, do
    not fit in memory at once); what it finds does not depend on where the pages break."""
    monkeypatch.setattr("app.services.audit_log.VERIFY_PAGE", page)
    ids = decide_many(firefly, 7)
    firefly.audit_log.seal()
    late = decide_many(firefly, 1)  # decided after the seal: unsealed, and counted as such
    tamper(database_url,
           ("UPDATE decisions SET customer_group = 'PREMIUM' WHERE id = :i", {"i": ids[1]}),
           ("DELETE FROM decisions WHERE id = :i", {"i": ids[2]}),
           ("DELETE FROM log_seals WHERE log = 'decisions' AND position = 5", {}))
    result = firefly.audit_log.verify("decisions")
    assert {(f.kind, f.entry_id or f.position) for f in result.findings} == {
        ("edited", ids[1]), ("deleted", ids[2]), ("seal_missing", 5)}
    assert result.checked == 6 and result.unsealed == 2  # entry 5 lost its seal; the late one has none
    ranged = firefly.audit_log.verify("decisions", first=3, last=7)
    assert {(f.kind, f.entry_id or f.position) for f in ranged.findings} == {("deleted", ids[2]), ("seal_missing", 5)}
    assert ranged.checked == 4 and len(late) == 1


def test_an_entry_renumbered_after_sealing_neither_stops_the_sealer_nor_goes_unnoticed(firefly, database_url,
                                                                                      monkeypatch):
    """An attacker who moves a sealed entry's sequence number above the sealed head makes it look
    pending to the window's query (its seal lies below the window): the sealer must not try to
    seal it again (its seal exists, and the failed INSERT would stop every pass after), and verify
    names it."""
    monkeypatch.setattr("app.storage.chain.LATE_COMMIT_WINDOW", 1)  # a long log, in short
    ids = decide_many(firefly, 3)
    firefly.audit_log.seal()
    tamper(database_url, ("UPDATE decisions SET seq = seq + 100 WHERE id = :i", {"i": ids[0]}))
    later = decide_many(firefly, 2)
    assert firefly.audit_log.seal("decisions") == 2  # the two new entries, and not the renumbered one
    result = firefly.audit_log.verify("decisions")
    assert result.checked == 5 and result.unsealed == 0
    assert {(f.kind, f.entry_id) for f in result.findings} == {("reordered", ids[0])}
    assert len(later) == 2


def test_an_entry_deleted_with_every_seal_after_it_is_not_chained_again_by_a_sealer_that_remembers(
        firefly, database_url):
    """An insider deletes a decision and every seal from its position on: the entries after it look
    pending, and a sealer that trusted the table would chain them again, one position earlier, so
    that verify found a whole, shorter log. A sealer remembers the head it sealed last: it refuses
    a head that went back or changed (critical log, tampering counter) and seals nothing."""
    ids = decide_many(firefly, 5)
    assert firefly.audit_log.seal("decisions") == 5
    tamper(database_url, ("DELETE FROM log_seals WHERE log = 'decisions' AND position >= 3", {}),
           ("DELETE FROM decisions WHERE id = :i", {"i": ids[2]}))
    before = REGISTRY.get_sample_value("firefly_tampering_detected_total", {"kind": "log_head"}) or 0
    assert firefly.audit_log.seal("decisions") == 0
    assert firefly.audit_log.head_lost("decisions")
    assert REGISTRY.get_sample_value("firefly_tampering_detected_total", {"kind": "log_head"}) == before + 1
    assert firefly.audit_log.seal("decisions") == 0  # nor on the passes after (counted once)
    result = firefly.audit_log.verify("decisions")
    assert result.checked == 2 and result.unsealed == 2  # left as the insider left it, for verify to name


def test_a_head_anchored_elsewhere_names_a_truncated_or_rechained_log(firefly, database_url):
    """The chain alone cannot see its newest entries cut off with their seals (or an entry deleted
    and the rest chained again by a sealer that did not remember): against a head recorded
    elsewhere (position and link hash) verify names it."""
    ids = decide_many(firefly, 5)
    firefly.audit_log.seal("decisions")
    anchor = firefly.audit_log.verify("decisions").anchor()
    assert anchor == Anchor(5, firefly.audit_log.verify("decisions").head)
    assert firefly.audit_log.verify("decisions", anchor=anchor).ok
    # the newest two cut off with their seals
    tamper(database_url, ("DELETE FROM log_seals WHERE log = 'decisions' AND position >= 4", {}),
           ("DELETE FROM decisions WHERE id IN (:a, :b)", {"a": ids[3], "b": ids[4]}))
    assert firefly.audit_log.verify("decisions").ok  # the chain alone: a whole log of 3
    truncated = firefly.audit_log.verify("decisions", anchor=anchor)
    assert [(f.kind, f.position) for f in truncated.findings] == [("truncated", 5)]
    # one in the middle deleted, the rest chained again by a sealer without memory (a new process)
    more = decide_many(firefly, 3)
    fresh = build(make_settings(database_url, None))
    try:
        fresh.audit_log.seal("decisions")
        anchor = fresh.audit_log.verify("decisions").anchor()
        tamper(database_url, ("DELETE FROM log_seals WHERE log = 'decisions' AND position >= 4", {}),
               ("DELETE FROM decisions WHERE id = :i", {"i": more[0]}))
        decide_many(firefly, 1)  # and the log grows on past the recorded head
        again = build(make_settings(database_url, None))
        try:
            assert again.audit_log.seal("decisions") == 3  # no memory: it chains the rest again
            assert again.audit_log.verify("decisions").ok
            rechained = again.audit_log.verify("decisions", anchor=anchor)
            assert [(f.kind, f.position) for f in rechained.findings] == [("rewritten", 6)]
        finally:
            again.close()
    finally:
        fresh.close()


def test_an_idempotent_retry_is_not_answered_from_a_row_edited_since(firefly, database_url):
    """The channel retries with the same Idempotency-Key and is answered from the stored row: an
    insider who turned that DECLINE into an APPROVE at 500,000 must not have the channel's system
    book the loan. The retry is refused (409 record_altered), counted as tampering."""
    body = examples()["decline_overdue_pattern"]
    request = DecisionRequest(POLICY, body, CHANNEL, "req-1", idempotency_key="loan-42")
    first = firefly.deciding.decide(request)
    assert first.answer["outcome"] == "DECLINE"
    assert firefly.deciding.decide(request).answer["outcome"] == "DECLINE"  # an honest retry
    tamper(database_url, ('UPDATE decisions SET outcome = \'APPROVE\', "limit" = 500000, '
                          "result = :r WHERE id = :i",
                          {"i": first.decision_id,
                           "r": __import__("json").dumps({**first.answer, "outcome": "APPROVE", "limit": 500000})}))
    before = REGISTRY.get_sample_value("firefly_tampering_detected_total", {"kind": "decision"}) or 0
    with pytest.raises(Conflict) as raised:
        firefly.deciding.decide(request)
    assert raised.value.code == "record_altered"
    assert REGISTRY.get_sample_value("firefly_tampering_detected_total", {"kind": "decision"}) == before + 1


def test_sealed_personal_data_removed_without_a_recorded_purge_is_named(firefly, database_url, clock):
    """The append-only trigger lets anyone who may update decisions (the application's role, no
    superuser needed) set a row's sealed personal data to NULL, the one update a retention purge
    makes: a decision made yesterday could no longer be replayed, and the chain (which covers the
    digest, not the data) still verified. A purge is now recorded in the access log with its
    cutoff, and verify names a row emptied that no recorded purge (nor the configured retention)
    covers."""
    old = decide_many(firefly, 2)
    clock.now += datetime.timedelta(days=31)
    assert firefly.audit_log.purge_personal_data(30) == 2
    events, _ = firefly.access_audit.search(AccessSearch(action="decisions.purge"))
    assert [(e["details"]["retention_days"], e["details"]["rows"]) for e in events] == [(30, 2)]
    recent = decide_many(firefly, 2)
    firefly.audit_log.seal()
    assert firefly.audit_log.verify("decisions").ok
    engine = create_engine(database_url)
    with engine.begin() as conn:  # no trigger to switch off: the purge's own update
        conn.execute(text("UPDATE decisions SET pii_sealed = NULL WHERE id = :i"), {"i": recent[1]})
    engine.dispose()
    result = firefly.audit_log.verify("decisions")
    assert {(f.kind, f.entry_id) for f in result.findings} == {("purged", recent[1])}
    assert len(old) == 2
    # a purge event forged in the database (no MAC) covers nothing
    tamper(database_url, ("INSERT INTO access_events (id, created_at, actor, role, action, decision_ids, details) "
                          "VALUES ('f' || substr(:i, 2), :t, 'service', 'internal', 'decisions.purge', '[]', :d)",
                          {"i": events[0]["id"], "t": clock.now,
                           "d": '{"cutoff": "2099-01-01T00:00:00+00:00", "retention_days": 1, "rows": 1}'}))
    assert {(f.kind, f.entry_id) for f in firefly.audit_log.verify("decisions").findings} == {("purged", recent[1])}
