"""`flask audit seal|verify|vouch|purge`: the operator's view of the tamper-evident logs."""
import json

from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import services
from support.applicants import examples
from support.http import URL
from support.tamper import as_insider
from support.keys import KEYS
from support.settings import make_config


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


def _rows(output):
    """{key id: (configured, decisions, sealed, MACs, list entries)} from `flask audit keys`."""
    found = {}
    for line in output.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 6 and parts[-1].isdigit():
            found[parts[0]] = (" ".join(parts[1:-4]), *map(int, parts[-4:]))
    return found


def test_audit_keys_says_what_each_hashing_key_is_still_needed_for(app, runner, client, auth,
                                                                  database_url, redis_url, tmp_path):
    for _ in range(2):
        assert client.post(URL, json=examples()["approve_salaried"], headers=auth("channel")).status_code == 201
    entries = tmp_path / "lists.csv"
    entries.write_text("list,kind,value,reason,source\nblacklist,device,DEV-KEYS-1,test,test\n", encoding="utf-8")
    assert runner.invoke(args=["lists", "import", str(entries), "--key", KEYS["admin"]]).exit_code == 0
    runner.invoke(args=["audit", "seal"])
    old_kid = services(app).personal.key_id
    one = runner.invoke(args=["audit", "keys"])
    assert one.exit_code == 0, one.output
    configured, decisions, sealed, macs, lists = _rows(one.output)[old_kid]
    assert (configured, decisions, sealed, lists) == ("current", 2, 2, 1)
    assert macs >= 4  # two decisions' rows and their two links, at least
    assert ("anti-fraud memory: one key configured" if redis_url else
            "anti-fraud memory: in each worker's process (no REDIS_URL)") in one.output

    # rotated: the old key is still needed for all of that; the anti-fraud dates are given once
    # the new key has written
    new_secret = "a-brand-new-hmac-key-" + "y" * 20
    rotated = create_app(make_config(database_url, redis_url, FIREFLY_HMAC_KEY=new_secret,
                                     FIREFLY_HMAC_OLD_KEYS=services(app).settings.hmac_key))
    try:
        rotated_runner = rotated.test_cli_runner()
        before = rotated_runner.invoke(args=["audit", "keys"])
        if redis_url:
            assert "cannot say when the current key first wrote" in before.output
        assert rotated.test_client().post(URL, json=examples()["approve_salaried"],
                                          headers=auth("channel")).status_code == 201
        after = rotated_runner.invoke(args=["audit", "keys"])
        assert after.exit_code == 0, after.output
        rows = _rows(after.output)
        assert rows[old_kid][:3] == ("old", 2, 2) and rows[old_kid][4] == 1
        assert rows[services(rotated).personal.key_id][:3] == ("current", 1, 1)
        if redis_url:  # the worker and the command share the counters' store
            assert "(counts and links)" in after.output and "(last-seen facts)" in after.output
        else:
            assert "starts afresh at every restart" in after.output
    finally:
        services(rotated).close()

    # the old key dropped from the configuration: what it made is named, exit status 1
    forgotten = create_app(make_config(database_url, redis_url, FIREFLY_HMAC_KEY=new_secret))
    try:
        result = forgotten.test_cli_runner().invoke(args=["audit", "keys"])
        assert result.exit_code == 1
        assert _rows(result.output)[old_kid][:3] == ("not configured", 2, 2)
        assert f"FINDING: key {old_kid} made 2 decisions (2 sealed)" in result.output
    finally:
        services(forgotten).close()


def test_verify_names_an_edited_release_and_vouch_gives_a_legacy_release_its_mac(runner, app, database_url):
    """`flask audit verify` checks the rules too: every release and stored policy version. A
    release stored before releases had MACs has none: verify names it, `flask audit vouch` (an
    admin's key and a reason) gives it one (its files as they are now), and verify passes."""
    release_id = services(app).releases.active_id()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "rules: OK: 1 releases and 3 policy versions checked" in ok.output  # application, drawdown, review
    engine = create_engine(database_url)
    with engine.begin() as conn:
        as_insider(conn)
        conn.execute(text("UPDATE releases SET row_mac = NULL WHERE id = :i"), {"i": release_id})
    legacy = runner.invoke(args=["audit", "verify"])
    assert legacy.exit_code == 1 and f"releases: {release_id} has no MAC" in legacy.output
    vouch = ["audit", "vouch", "--reason", "verify named only rows without a MAC", "--key"]
    refused = runner.invoke(args=vouch + [KEYS["compliance"]])
    assert refused.exit_code == 1 and "needs an admin key" in refused.output
    vouched = runner.invoke(args=vouch + [KEYS["admin"]])
    assert vouched.exit_code == 0 and f"release\t{release_id}" in vouched.output
    assert "vouched for 1 releases, 0 API keys, 0 console accounts and 0 list entries" in vouched.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with engine.begin() as conn:  # now the files edited, the unkeyed hash left as it was
        as_insider(conn)
        files = conn.execute(text("SELECT files FROM releases WHERE id = :i"), {"i": release_id}).scalar_one()
        files = files if isinstance(files, str) else __import__("json").dumps(files)
        conn.execute(text("UPDATE releases SET files = :f WHERE id = :i"),
                     {"f": files.replace("500000", "900000"), "i": release_id})
    engine.dispose()
    edited = runner.invoke(args=["audit", "verify"])
    assert edited.exit_code == 1
    assert f"releases: {release_id} its files do not hash to its content hash" in edited.output
    assert "rules: FAILED (1 findings)" in edited.output
    assert "vouched for 0 releases" in runner.invoke(args=vouch + [KEYS["admin"]]).output  # an edited one is not


def test_verify_keeps_a_signed_checkpoint_of_the_heads_and_names_a_log_cut_off_behind_it(
        runner, client, auth, database_url, tmp_path):
    """A hash chain cannot see its newest entries cut off with their seals. `verify --checkpoint
    FILE` (kept where the database's insiders cannot write) records each log's head under the log
    key after it verified clean, and the next run names a log that no longer reaches it; a log's
    head is not moved on past a finding, and a file edited or forged is refused."""
    checkpoint = tmp_path / "heads.json"
    ids = [client.post(URL, json=examples()["approve_salaried"], headers=auth("channel")).get_json()["decision_id"]
           for _ in range(3)]
    runner.invoke(args=["audit", "seal"])
    first = runner.invoke(args=["audit", "verify", "--checkpoint", str(checkpoint)])
    assert first.exit_code == 0, first.output
    assert f"checkpoint: none at {checkpoint} yet" in first.output
    assert "decisions: OK: 3 sealed entries checked, 0 not sealed yet; head " in first.output
    assert "(position 3)" in first.output and f"checkpoint: heads written to {checkpoint}" in first.output
    recorded = json.loads(checkpoint.read_text())
    assert recorded["heads"]["decisions"]["position"] == 3
    engine = create_engine(database_url)
    with engine.begin() as conn:  # the newest decision cut off, with its seal
        as_insider(conn)
        conn.execute(text("DELETE FROM log_seals WHERE log = 'decisions' AND position = 3"))
        conn.execute(text("DELETE FROM decisions WHERE id = :i"), {"i": ids[2]})
    engine.dispose()
    assert runner.invoke(args=["audit", "verify", "--log", "decisions"]).exit_code == 0  # the chain alone
    cut = runner.invoke(args=["audit", "verify", "--checkpoint", str(checkpoint)])
    assert cut.exit_code == 1
    assert "decisions: TRUNCATED: entry 3" in cut.output and "the log ends at position 2" in cut.output
    # the cut log's recorded head stays until someone looks (the other logs' move on)
    assert json.loads(checkpoint.read_text())["heads"]["decisions"] == recorded["heads"]["decisions"]
    recorded = json.loads(checkpoint.read_text())
    assert runner.invoke(args=["audit", "verify", "--checkpoint", str(checkpoint)]).exit_code == 1
    sealing = runner.invoke(args=["audit", "seal", "--checkpoint", str(checkpoint)])
    assert sealing.exit_code == 1 and "not sealing" in sealing.output
    # a checkpoint edited to fit the cut log is not this service's
    recorded["heads"]["decisions"]["position"] = 2
    checkpoint.write_text(json.dumps(recorded))
    forged = runner.invoke(args=["audit", "verify", "--checkpoint", str(checkpoint)])
    assert forged.exit_code == 1 and "checkpoint: FORGED" in forged.output
