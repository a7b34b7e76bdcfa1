"""An insider with the database edits one column of a stored decision, or of an access event: the
compliance read says so, a replay refuses it, and `verify` names it. Every column the content hash
covers, one at a time (time backdated, outcome, limit, reasons, stored input, external values,
the policy version named), on SQLite and PostgreSQL alike."""
import pytest

from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.services.errors import Conflict
from app.services.replay import Target
from app.storage import chain
from support.applicants import examples
from support.http import POLICY
from support.tamper import tamper

CHANNEL = Principal("test-channel", "channel")
COMPLIANCE = Principal("test-compliance", "compliance")

# column -> an SQL expression giving it another value of its type (`other` is another decision)
EDITS = {
    "id": None,  # the primary key: a row under another id is a forged row (test_audit_log)
    "created_at": "created_at - INTERVAL '1 day'",
    "decision_date": "decision_date - 1",
    "policy_name": "'zhishandai.other'",
    "policy_version": "'1999.1.1'",
    "policy_hash": "(SELECT hash FROM policy_versions WHERE hash <> :hash ORDER BY hash LIMIT 1)",
    "engine": "'durable'",
    "outcome": "'REFER'",
    "limit": "500000",
    "customer_group": "'PREMIUM'",
    "score": "999",
    "score_band": "'Z'",
    "reason_codes": "'[\"FORGED\"]'",
    "rule_hits": "'[]'",
    "pii_digest": "CASE WHEN substr(pii_digest, 1, 1) = '0' THEN '1' ELSE '0' END || substr(pii_digest, 2)",
    "resident_id_hash": "(SELECT resident_id_hash FROM decisions WHERE id = :other)",
    "phone_hash": "CASE WHEN substr(phone_hash, 1, 1) = '0' THEN '1' ELSE '0' END || substr(phone_hash, 2)",
    "idempotency_key": "'another-key'",
    "request_hash": "(SELECT request_hash FROM decisions WHERE id = :other)",
    "request_id": "'req-other'",
    "channel": "'partner-a'",
    "key_id": "'00000000'",
    "pipl_consent_id": "'CONSENT-FORGED'",
    "bureau_authorisation_id": "'AUTH-FORGED'",
    "result": "(SELECT result FROM decisions WHERE id = :other)",
    "trace": "(SELECT trace FROM decisions WHERE id = :other)",
    "input_masked": "(SELECT input_masked FROM decisions WHERE id = :other)",
    "arm": "'challenger'",
    "shadow_of": ":other",
    "line_hash": "'f'",
    "granted_by": ":other",
    "pii_sealed": "(SELECT pii_sealed FROM decisions WHERE id = :other)",
}


def test_every_column_of_the_content_is_edited_here():
    assert set(EDITS) == {*chain.DECISION_COLUMNS, *chain.DECISION_DOCUMENTS, *chain.OPTIONAL_DECISION_COLUMNS,
                          "pii_sealed"}


def _sql(column, expression, postgres):
    if not postgres:  # SQLite: dates are text, intervals a function
        expression = (expression.replace("created_at - INTERVAL '1 day'", "datetime(created_at, '-1 day')")
                      .replace("decision_date - 1", "date(decision_date, '-1 day')"))
    return f'UPDATE decisions SET "{column}" = {expression} WHERE id = :i'


@pytest.mark.parametrize("column", sorted(c for c, e in EDITS.items() if e))
def test_a_decision_edited_in_one_column_is_seen_everywhere_it_is_read(firefly, database_url, column):
    body, other_body = examples()["approve_salaried"], examples()["decline_overdue_pattern"]
    decided = firefly.deciding.decide(DecisionRequest(POLICY, body, CHANNEL, "req-1", idempotency_key="k-1"))
    other = firefly.deciding.decide(DecisionRequest(POLICY, other_body, CHANNEL, "req-2")).decision_id
    firefly.audit_log.seal()
    assert firefly.records.get(decided.decision_id, COMPLIANCE)["record"]["intact"] is True
    tamper(database_url, (_sql(column, EDITS[column], not database_url.startswith("sqlite")),
                          {"i": decided.decision_id, "other": other, "hash": decided.answer["policy"]["hash"]}))
    assert firefly.records.get(decided.decision_id, COMPLIANCE)["record"]["intact"] is False
    with pytest.raises(Conflict) as raised:
        firefly.replaying.replay(decided.decision_id, Target(), COMPLIANCE)
    assert raised.value.code == "record_altered"
    assert {(f.kind, f.entry_id) for f in firefly.audit_log.verify("decisions").findings} == {
        ("edited", decided.decision_id)}
    assert firefly.replaying.replay(other, Target(), COMPLIANCE)["identical"] is True


@pytest.mark.parametrize("column, expression", [
    ("created_at", "created_at - INTERVAL '1 day'"), ("actor", "'someone-else'"), ("role", "'admin'"),
    ("action", "'decision.search'"), ("decision_ids", "'[]'"), ("details", "'{\"x\": 1}'"), ("request_id", "'req-x'")])
def test_an_access_event_edited_in_one_column_is_named(firefly, database_url, column, expression):
    decided = firefly.deciding.decide(DecisionRequest(POLICY, examples()["approve_salaried"], CHANNEL, "req-1"))
    firefly.records.get(decided.decision_id, COMPLIANCE, "req-read")
    firefly.audit_log.seal()
    postgres = not database_url.startswith("sqlite")
    if not postgres:
        expression = expression.replace("created_at - INTERVAL '1 day'", "datetime(created_at, '-1 day')")
    tamper(database_url, (f"UPDATE access_events SET {column} = {expression} WHERE action = 'decision.read'", {}))
    findings = firefly.audit_log.verify("access").findings
    assert [f.kind for f in findings] == ["edited"]


def test_a_forged_decision_with_a_plausible_id_is_read_as_altered_and_not_replayed(firefly, database_url):
    """A row inserted by hand (a genuine row's columns, MAC included, under an id that sorts among
    the others) is not what the service wrote: the read says so, replay refuses it, the sealer
    leaves it out and verify names it."""
    genuine = firefly.deciding.decide(DecisionRequest(POLICY, examples()["approve_salaried"], CHANNEL, "r")).decision_id
    forged = genuine[:-1] + ("0" if genuine[-1] != "0" else "1")
    columns = ", ".join(f'"{c}"' for c in (*chain.DECISION_COLUMNS[1:], *chain.DECISION_DOCUMENTS, "pii_sealed",
                                           "content_hash", "row_mac") if c != "idempotency_key")
    tamper(database_url, (f"INSERT INTO decisions (id, seq, {columns}) SELECT :f, seq + 1, {columns} "
                          "FROM decisions WHERE id = :g", {"f": forged, "g": genuine}))
    assert firefly.records.get(forged, COMPLIANCE)["record"]["intact"] is False
    with pytest.raises(Conflict) as raised:
        firefly.replaying.replay(forged, Target(), COMPLIANCE)
    assert raised.value.code == "record_altered"
    assert firefly.audit_log.seal("decisions") == 1  # the genuine one only
    assert {(f.kind, f.entry_id) for f in firefly.audit_log.verify("decisions").findings} == {("inserted", forged)}


def test_a_sealed_decision_deleted_in_the_database_is_said_deleted_not_unknown(firefly, database_url):
    """Compliance asks for a decision an insider deleted: "no such decision" would let the insider
    say it never existed. Its seal is still in the chained log, so the read says it was deleted."""
    from app.services.errors import NotFound
    decision_id = firefly.deciding.decide(DecisionRequest(POLICY, examples()["approve_salaried"], CHANNEL, "r")).decision_id
    firefly.audit_log.seal("decisions")
    tamper(database_url, ("DELETE FROM decisions WHERE id = :i", {"i": decision_id}))
    for read in (lambda: firefly.records.get(decision_id, COMPLIANCE),
                 lambda: firefly.replaying.replay(decision_id, Target(), COMPLIANCE)):
        with pytest.raises(NotFound) as raised:
            read()
        assert raised.value.code == "record_deleted" and "deleted in the database" in raised.value.message
    with pytest.raises(NotFound) as unknown:
        firefly.records.get("0" * 32, COMPLIANCE)
    assert unknown.value.code == "unknown_decision"
