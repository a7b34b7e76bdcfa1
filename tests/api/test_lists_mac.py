"""A list entry's row MAC (app/services/lists.py): an entry inserted or altered straight in the
database is noticed. `flask audit verify` names it (MAC_FAILED, or NO_MAC for an entry without
one); matching takes it the safe way: a whitelist entry whose MAC fails matches nothing (logged), a
blacklist entry still matches. `flask audit vouch` gives entries made before migration 0026 theirs."""
import datetime

from sqlalchemy import update

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
    assert "FAILED (2 MAC failed, 1 without a MAC yet): 3 entries checked" in found.output
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
