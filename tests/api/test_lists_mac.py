"""A list entry's row MAC (app/services/lists.py): an entry inserted or altered straight in the
database is noticed. `flask audit verify` names it (MAC_FAILED, or NO_MAC for an entry without
one); matching takes it the safe way: a whitelist entry whose MAC fails matches nothing (logged), a
blacklist entry still matches. `flask audit vouch` gives entries made before migration 0026 theirs."""
import datetime

from sqlalchemy import delete, update

from app.extensions import services
from app.services.access_audit import AuditSearch
from app.storage import lists as stored
from app.storage.models import ListEntry
from support.keys import KEYS
from tests.api.test_anti_fraud import applicant, whitelist

RING, INSERTED, BAD = "DEV-RING-5501", "DEV-RING-5502", "DEV-BAD-5503"
NOW = datetime.datetime.now(datetime.timezone.utc)


def reasons(answer):
    return [r["code"] for r in answer.get_json()["reasons"]]


def insert_straight(app, list_name, value, row_mac=None):
    """What an insider with the database's password does: an entry without the service."""
    firefly = services(app)
    with firefly.database.session() as session:
        session.add(ListEntry(list_name=list_name, kind="device", value_hash=firefly.personal.keyed_hash(value),
                              key_id=firefly.personal.key_id, masked="****" + value[-4:], reason="trusted",
                              source="manual", added_by="test-admin", added_at=NOW, expires_at=None,
                              row_mac=row_mac))
        stored.changed(session)
        session.commit()


def alter_straight(app, list_name, **values):
    with services(app).database.session() as session:
        session.execute(update(ListEntry).where(ListEntry.list_name == list_name).values(**values))
        stored.changed(session)
        session.commit()


def burst(decide, device, first):
    return [decide(applicant(first + n, device=device)) for n in range(3)][-1]


def test_entries_written_or_altered_in_the_database_are_noticed_and_taken_the_safe_way(
        app, client, auth, decide, runner, caplog):
    whitelist(client, auth, {"kind": "device", "value": RING, "reason": "branch tablet"})
    client.post("/v1/lists/blacklist/entries", headers=auth("admin"),
                json={"kind": "device", "value": BAD, "reason": "emulator farm"})
    ok = runner.invoke(args=["audit", "verify", "--log", "lists"])
    assert ok.exit_code == 0 and "lists: OK: 2 entries checked" in ok.output
    assert "DEVICE_BURST" not in reasons(burst(decide, RING, 500))

    insert_straight(app, "whitelist", INSERTED)                                   # no MAC
    alter_straight(app, "whitelist", expires_at=datetime.datetime(2099, 12, 31, tzinfo=datetime.timezone.utc))
    alter_straight(app, "blacklist", expires_at=NOW + datetime.timedelta(days=1), reason="cleared")

    assert "DEVICE_BURST" in reasons(burst(decide, INSERTED, 510))  # the inserted entry is ignored
    assert "DEVICE_BURST" in reasons(decide(applicant(520, device=RING)))  # the altered one too
    assert "LIST_BLACKLIST" in reasons(decide(applicant(521, device=BAD)))  # a blacklist entry still matches
    assert any(getattr(r, "event", None) == "list_entry_mac_failed" for r in caplog.records)

    ids = {item["value"]: item["id"] for name in ("whitelist", "blacklist")
           for item in client.get(f"/v1/lists/{name}/entries", headers=auth("admin")).get_json()["items"]}
    found = runner.invoke(args=["audit", "verify", "--log", "lists"])
    assert found.exit_code == 1
    assert f"MAC_FAILED: entry {ids['****5501']} (whitelist device ****5501" in found.output
    assert f"MAC_FAILED: entry {ids['****5503']} (blacklist device ****5503" in found.output
    assert f"NO_MAC: entry {ids['****5502']} (whitelist device ****5502)" in found.output
    assert "FAILED (2 MAC failed, 1 without a MAC yet, 0 deleted outside the service): 3 entries checked" in found.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1  # every log, and the lists


def test_entries_made_before_the_migration_get_their_mac_once_recorded(app, decide, runner):
    insert_straight(app, "whitelist", INSERTED)  # as migration 0026 leaves an older entry: no MAC
    assert "DEVICE_BURST" in reasons(burst(decide, INSERTED, 600))
    assert runner.invoke(args=["audit", "vouch", "--key", KEYS["compliance"], "--reason", "x"]).exit_code == 1
    done = runner.invoke(args=["audit", "vouch", "--key", KEYS["admin"], "--reason", "lists checked after 0026"])
    assert done.exit_code == 0 and "and 1 list entries" in done.output
    events, _ = services(app).access_audit.search(AuditSearch(action="lists.mac"))
    [entry] = services(app).lists.entries("whitelist")["items"]
    assert [(e["actor"], [x["entry"] for x in e["details"]["entries"]]) for e in events] == [
        ("test-admin", [entry["id"]])]
    assert runner.invoke(args=["audit", "verify", "--log", "lists"]).exit_code == 0
    assert "DEVICE_BURST" not in reasons(decide(applicant(603, device=INSERTED)))


def test_an_entry_deleted_in_the_database_is_named_with_the_record_that_put_it_in_force(
        app, client, auth, decide, runner, tmp_path):
    """A row MAC cannot see a row that is gone: a DBA deletes a blacklist entry, and every worker
    forgets it at its next start. The access log, which records every list change in the change's
    own transaction, still says it is in force: verify names it. Entries removed through the
    service (a whitelist entry at once, a blacklist entry once its removal is approved) are not."""
    bad = client.post("/v1/lists/blacklist/entries", headers=auth("admin"),
                      json={"kind": "device", "value": BAD, "reason": "emulator farm"}).get_json()["entry"]
    entries = tmp_path / "entries.csv"
    entries.write_text("list,kind,value,reason\nblacklist,device,DEV-BAD-5504,ring device\n", encoding="utf-8")
    imported = runner.invoke(args=["lists", "import", str(entries), "--key", KEYS["admin"]])
    assert imported.exit_code == 0, imported.output
    whitelist(client, auth, {"kind": "device", "value": RING, "reason": "branch tablet"})
    ids = {item["value"]: item["id"] for name in ("whitelist", "blacklist")
           for item in client.get(f"/v1/lists/{name}/entries", headers=auth("admin")).get_json()["items"]}
    assert client.delete(f"/v1/lists/whitelist/entries/{ids['****5501']}", headers=auth("admin")).status_code == 200
    removal = client.delete(f"/v1/lists/blacklist/entries/{ids['****5504']}", headers=auth("admin")).get_json()
    assert client.post(f"/v1/lists/changes/{removal['change']['id']}/approve", headers=auth("approver"),
                       json={"reason": "not a ring device"}).status_code == 200
    assert runner.invoke(args=["audit", "verify", "--log", "lists"]).exit_code == 0  # removed through the service

    with services(app).database.session() as session:  # the insider
        session.execute(delete(ListEntry).where(ListEntry.id == bad["id"]))
        session.commit()
    # the lists copied after the deletion (as by any worker after its restart): forgotten
    assert "LIST_BLACKLIST" not in reasons(decide(applicant(700, device=BAD)))

    found = runner.invoke(args=["audit", "verify", "--log", "lists"])
    assert found.exit_code == 1
    assert (f"lists: DELETED: entry {bad['id']} (blacklist device ****5503): in force by the access log "
            "(lists.add by test-admin at ") in found.output
    assert "deleted outside the service" in found.output
    assert "FAILED (0 MAC failed, 0 without a MAC yet, 1 deleted outside the service): 0 entries checked" in found.output
