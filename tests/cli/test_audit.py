"""`flask audit seal|verify|purge`: the operator's view of the tamper-evident logs."""
from sqlalchemy import create_engine, text

from support.applicants import examples
from support.http import URL


def test_verify_reports_ok_then_names_the_edited_entry(runner, client, auth, database_url):
    ids = [client.post(URL, json=examples()["approve_salaried"], headers=auth("channel")).get_json()["decision_id"]
           for _ in range(2)]
    assert runner.invoke(args=["audit", "seal"]).output.startswith("sealed ")
    ok = runner.invoke(args=["audit", "verify", "--log", "decisions"])
    assert ok.exit_code == 0 and "decisions: OK: 2 sealed entries checked" in ok.output
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if not database_url.startswith("sqlite"):
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE decisions SET outcome = 'DECLINE' WHERE id = :i"), {"i": ids[1]})
    engine.dispose()
    failed = runner.invoke(args=["audit", "verify", "--from", "1", "--to", "2"])
    assert failed.exit_code == 1
    assert f"EDITED: entry 2 (id {ids[1]}" in failed.output and "FAILED (1 findings)" in failed.output


def test_unknown_log_and_purge_without_retention_are_refused(runner):
    unknown = runner.invoke(args=["audit", "verify", "--log", "nope"])
    assert unknown.exit_code == 1 and "no chained log 'nope'" in unknown.output
    purge = runner.invoke(args=["audit", "purge"])
    assert purge.exit_code == 1 and "FIREFLY_PII_RETENTION_DAYS" in purge.output
    assert runner.invoke(args=["audit", "purge", "--days", "30"]).output.startswith("purged the sealed")
