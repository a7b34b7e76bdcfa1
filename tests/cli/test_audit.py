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


def test_an_entry_committed_past_the_window_is_shown_then_sealed_by_the_command(runner, client, auth, database_url,
                                                                                 monkeypatch, app):
    """The workers' passes look only at the last entries; one whose commit came later than that
    would stay unsealed, so verify says so and `flask audit seal` (the whole log) seals it."""
    from app.extensions import services
    monkeypatch.setattr("app.storage.chain.LATE_COMMIT_WINDOW", 1)
    ids = [client.post(URL, json=examples()["approve_salaried"], headers=auth("channel")).get_json()["decision_id"]
           for _ in range(4)]
    engine = create_engine(database_url)

    def run(statement, **params):
        with engine.begin() as conn:
            if not database_url.startswith("sqlite"):
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None

    seq = run("SELECT seq FROM decisions WHERE id = :i", i=ids[1])
    run("UPDATE decisions SET seq = NULL WHERE id = :i", i=ids[1])  # not committed yet, as it were
    assert services(app).audit_log.seal("decisions") == 3  # a worker's pass
    run("UPDATE decisions SET seq = :s WHERE id = :i", s=seq, i=ids[1])  # committed, now below the window
    assert services(app).audit_log.seal("decisions") == 0
    shown = runner.invoke(args=["audit", "verify", "--log", "decisions"])
    assert shown.exit_code == 0
    assert "1 not sealed yet (1 committed too late for the workers' sealing: `flask audit seal` seals them)" in shown.output
    assert runner.invoke(args=["audit", "seal"]).output.startswith("sealed ")  # every log: the access log too
    after = runner.invoke(args=["audit", "verify", "--log", "decisions"])
    assert "decisions: OK: 4 sealed entries checked, 0 not sealed yet;" in after.output
    engine.dispose()
