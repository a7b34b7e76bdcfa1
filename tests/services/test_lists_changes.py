"""Anti-fraud list changes (app/services/lists.py): every change is recorded in the access log in
its own transaction, with who, which entry (masked value and keyed hash, never the value) and what
changed, or it is not made; a change that relaxes a control (a whitelist entry added or extended, a
blacklist or watchlist entry removed or shortened) waits for another person's approval, and one
that tightens applies at once. On the real test database (SQLite, or DATABASE_URL)."""
import datetime
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.language.resident_id import compose
from app.services.access import Principal
from app.services.access_audit import AuditSearch
from app.services.errors import Conflict, Forbidden, InvalidInput, Unavailable
from app.services.lists import NewEntry, relaxes
from support.audit_down import access_log_refusing

MAKER = Principal("admin-a", "admin")
CHECKER = Principal("approver-b", "approver")
OTHER_ADMIN = Principal("admin-c", "admin")
RING_DEVICE = "DEV-RING-000123"
ID = compose("110101", datetime.date(1990, 3, 7), 851)


def events(firefly, action=None):
    found, _ = firefly.access_audit.search(AuditSearch(action=action, limit=200))
    # in the order written (the test clock stands still: ids made in one millisecond are not ordered)
    return sorted((e for e in found if e["action"].startswith("lists.")), key=lambda e: e["seq"])


def entry(list_name="blacklist", kind="device", value=RING_DEVICE, reason="emulator farm", expires=None,
          source="manual"):
    return NewEntry(list_name, kind, value, reason, source, expires)


def all_entries(firefly):
    return {name: firefly.lists.entries(name)["items"] for name in ("blacklist", "watchlist", "whitelist")}


def test_each_change_is_recorded_with_who_which_entry_and_what_changed(firefly):
    lists, keyed = firefly.lists, firefly.personal.keyed_hash(RING_DEVICE)
    added = lists.add(entry(), MAKER)
    assert added["result"] == "added"
    ending = lists.add(entry(reason="emulator farm, confirmed", expires=datetime.date(2027, 6, 30)), MAKER)
    assert ending["result"] == "pending"  # a blacklist entry given an end is shortened: four eyes
    recorded = events(firefly)
    assert [e["action"] for e in recorded] == ["lists.add", "lists.change.propose"]
    first = recorded[0]
    assert (first["actor"], first["role"]) == ("admin-a", "admin")
    assert {k: first["details"][k] for k in ("list", "kind", "masked", "value_hash", "entry")} == {
        "list": "blacklist", "kind": "device", "masked": "****0123", "value_hash": keyed,
        "entry": added["entry"]["id"]}
    assert "before" not in first["details"]  # a new entry (the log leaves out empty values)
    assert first["details"]["after"] == {"reason": "emulator farm", "source": "manual", "expires_at": None}
    proposal = recorded[1]["details"]
    assert (proposal["change"], proposal["action"], proposal["entry"], proposal["maker"]) == (
        ending["change"]["id"], "add", added["entry"]["id"], "admin-a")
    assert proposal["before"]["expires_at"] is None
    assert proposal["proposed"]["expires_at"] == "2027-06-30T16:00:00+00:00"  # the end of the 30th in Beijing


def test_an_update_records_its_before_and_after(firefly):
    lists = firefly.lists
    lists.add(entry(expires=datetime.date(2027, 1, 31)), MAKER)
    updated = lists.add(entry(reason="confirmed by the police", source="notice 118",
                              expires=datetime.date(2027, 12, 31)), MAKER)  # later end: tightens
    assert updated["result"] == "updated"
    event = events(firefly, "lists.update")[0]
    assert event["details"]["before"] == {"reason": "emulator farm", "source": "manual",
                                          "expires_at": "2027-01-31T16:00:00+00:00"}
    assert event["details"]["after"] == {"reason": "confirmed by the police", "source": "notice 118",
                                         "expires_at": "2027-12-31T16:00:00+00:00"}
    assert lists.add(entry(reason="confirmed by the police", source="notice 118",
                           expires=datetime.date(2027, 12, 31)), MAKER)["result"] == "unchanged"
    assert len(events(firefly)) == 2  # nothing changed, nothing recorded


def test_a_removal_is_recorded_with_what_was_removed(firefly):
    lists = firefly.lists
    proposed = lists.add(entry("whitelist", reason="branch tablet"), MAKER)
    lists.approve(proposed["change"]["id"], CHECKER, "the branch's own tablet")
    entry_id = lists.entries("whitelist")["items"][0]["id"]
    assert lists.remove("whitelist", entry_id, OTHER_ADMIN) == {"result": "removed", "removed": entry_id}
    assert lists.entries("whitelist")["items"] == []
    removal = events(firefly, "lists.remove")[0]
    assert removal["actor"] == "admin-c"
    details = removal["details"]
    assert (details["entry"], details["list"], details["masked"]) == (entry_id, "whitelist", "****0123")
    assert details["value_hash"] == firefly.personal.keyed_hash(RING_DEVICE)
    assert details["removed"]["reason"] == "branch tablet"
    assert details["removed"]["added_by"] == "admin-a, approved by approver-b"


def test_no_record_holds_the_value_in_clear(firefly):
    lists = firefly.lists
    lists.add(entry(kind="resident_id", value=ID, reason="identity theft"), MAKER)
    lists.add(entry("whitelist", kind="phone", value="13912340001", reason="private banking"), MAKER)
    lists.import_csv(f"list,kind,value,reason\nwatchlist,resident_id,{ID},ring\n"
                     "whitelist,phone,13912340002,customer\n", MAKER)
    text = json.dumps(events(firefly), ensure_ascii=False)
    assert ID not in text and "13912340001" not in text and "13912340002" not in text
    assert firefly.personal.keyed_hash(ID) in text


def test_an_import_is_recorded_with_its_counts_and_each_entry(firefly):
    lists = firefly.lists
    csv = (f"list,kind,value,reason,expires\n"
           f"blacklist,resident_id,{ID},identity theft,\n"
           f"whitelist,device,DEV-TRUSTED-0001,branch tablet,\n"
           f"blacklist,phone,1380000,bad phone,\n"
           f"watchlist,employer,某某劳务派遣有限公司,intermediary,2027-06-30\n")
    report = lists.import_csv(csv, MAKER, "police notice 118")
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    assert [r["line"] for r in report.rejected] == [4]
    assert [(p["line"], p["list"], p["kind"], p["value"]) for p in report.pending] == [
        (3, "whitelist", "device", "****0001")]
    assert lists.entries("whitelist")["items"] == []  # pending: not in force
    event = events(firefly, "lists.import")[0]
    details = event["details"]
    assert (event["actor"], details["source"]) == ("admin-a", "police notice 118")
    assert {k: details[k] for k in ("added", "updated", "unchanged", "rejected", "pending")} == {
        "added": 2, "updated": 0, "unchanged": 0, "rejected": 1, "pending": 1}
    ids = {item["id"] for name in ("blacklist", "watchlist") for item in lists.entries(name)["items"]}
    assert {e["entry"] for e in details["entries"]} == ids
    assert [(e["line"], e["list"], e["kind"], e["result"]) for e in details["entries"]] == [
        (2, "blacklist", "resident_id", "added"), (5, "watchlist", "employer", "added")]
    assert [(c["line"], c["change"], c["list"]) for c in details["changes"]] == [
        (3, report.pending[0]["change"], "whitelist")]
    # importing again: the pending row is the same pending change, not a second one
    again = lists.import_csv(csv, MAKER, "police notice 118")
    assert (again.added, again.unchanged) == (0, 2) and again.pending == report.pending
    assert len(lists.changes()["items"]) == 1


CHANGES = {
    "add": lambda lists: lists.add(entry(value="DEV-BAD-0009"), MAKER),
    "update": lambda lists: lists.add(entry(reason="confirmed"), MAKER),
    "propose": lambda lists: lists.add(entry("whitelist", value="DEV-NEW-0001"), MAKER),
    "remove whitelist": lambda lists: lists.remove("whitelist", lists.entries("whitelist")["items"][0]["id"], MAKER),
    "propose removal": lambda lists: lists.remove("blacklist", lists.entries("blacklist")["items"][0]["id"], MAKER),
    "import": lambda lists: lists.import_csv("list,kind,value,reason\nwatchlist,device,DEV-X-0009,ring\n", MAKER),
    "approve": lambda lists: lists.approve(lists.changes()["items"][0]["id"], CHECKER, "ok"),
    "reject": lambda lists: lists.reject(lists.changes()["items"][0]["id"], CHECKER, "no"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_whose_record_cannot_be_written_is_not_made(firefly, database_url, change, caplog):
    lists = firefly.lists
    lists.add(entry(), MAKER)
    lists.approve(lists.add(entry("whitelist", value="DEV-OLD-0001"), MAKER)["change"]["id"], CHECKER, "ok")
    lists.add(entry("whitelist", value="DEV-PENDING-0001"), MAKER)
    before = (all_entries(firefly), lists.changes(None)["items"], events(firefly))
    with access_log_refusing(database_url):
        with pytest.raises(Unavailable, match="nothing was changed"):
            CHANGES[change](lists)
    assert (all_entries(firefly), lists.changes(None)["items"], events(firefly)) == before
    assert any(getattr(r, "event", None) == "list_change_not_recorded" for r in caplog.records)
    CHANGES[change](lists)  # with the log back, the same change is made
    assert events(firefly) != before[2]


def test_a_change_that_relaxes_a_control_waits_for_another_person(firefly, clock):
    lists = firefly.lists
    proposed = lists.add(entry("whitelist", reason="branch tablet"), MAKER)
    assert proposed["result"] == "pending"
    change = proposed["change"]
    assert (change["action"], change["list"], change["value"], change["maker"], change["state"]) == (
        "add", "whitelist", "****0123", "admin-a", "pending")
    assert lists.entries("whitelist")["items"] == []
    assert not lists.matches({"w": ("whitelist", RING_DEVICE, ("device",))}, clock())["w"]
    with pytest.raises(Forbidden) as own:
        lists.approve(change["id"], Principal("admin-a", "admin"), "mine")
    assert own.value.code == "own_change"
    with pytest.raises(Forbidden):
        lists.approve(change["id"], Principal("someone", "compliance"), "not a checker")
    with pytest.raises(InvalidInput):
        lists.approve(change["id"], CHECKER, "  ")
    assert lists.changes()["items"][0]["state"] == "pending"
    done = lists.approve(change["id"], CHECKER, "the branch's tablet")
    assert done["state"] == "approved" and done["checker"] == "approver-b" and done["applied"]["result"] == "added"
    assert lists.matches({"w": ("whitelist", RING_DEVICE, ("device",))}, clock())["w"]
    [item] = lists.entries("whitelist")["items"]
    assert item["added_by"] == "admin-a, approved by approver-b"
    with pytest.raises(Conflict) as twice:
        lists.approve(change["id"], OTHER_ADMIN, "again")
    assert twice.value.code == "list_change_not_pending"
    assert lists.changes()["items"] == []
    approval = events(firefly, "lists.change.approve")[0]
    assert (approval["actor"], approval["details"]["maker"], approval["details"]["checker"]) == (
        "approver-b", "admin-a", "approver-b")
    assert approval["details"]["reason"] == "the branch's tablet"


def test_a_rejected_or_withdrawn_change_is_never_applied(firefly):
    lists = firefly.lists
    lists.add(entry(), MAKER)
    blacklisted = lists.entries("blacklist")["items"][0]["id"]
    removal = lists.remove("blacklist", blacklisted, MAKER)["change"]
    whitelisting = lists.add(entry("whitelist"), MAKER)["change"]
    assert lists.reject(removal["id"], CHECKER, "still a ring")["state"] == "rejected"
    assert lists.reject(whitelisting["id"], MAKER, "withdrawn")["checker"] == "admin-a"  # the maker withdraws
    assert [i["id"] for i in lists.entries("blacklist")["items"]] == [blacklisted]
    assert lists.entries("whitelist")["items"] == []
    with pytest.raises(Conflict):
        lists.approve(removal["id"], OTHER_ADMIN, "late")
    assert [e["action"] for e in events(firefly)][-2:] == ["lists.change.reject", "lists.change.reject"]
    assert [c["state"] for c in lists.changes("rejected")["items"]] == ["rejected", "rejected"]


def test_removing_a_blacklist_or_watchlist_entry_or_shortening_it_waits(firefly):
    lists = firefly.lists
    for name in ("blacklist", "watchlist"):
        lists.add(entry(name, expires=datetime.date(2027, 12, 31)), MAKER)
        entry_id = lists.entries(name)["items"][0]["id"]
        assert lists.remove(name, entry_id, MAKER)["result"] == "pending"
        shorter = lists.add(entry(name, expires=datetime.date(2027, 1, 31)), MAKER)
        assert shorter["result"] == "pending" and shorter["change"]["before"]["expires_at"].startswith("2027-12-31T16")
        assert lists.entries(name)["items"][0]["expires_at"].startswith("2027-12-31T16")  # still in force
        removal = next(c for c in lists.changes()["items"] if c["list"] == name and c["action"] == "remove")
        assert lists.approve(removal["id"], CHECKER, "cleared")["applied"]["result"] == "removed"
        assert lists.entries(name)["items"] == []


def test_changes_that_tighten_apply_at_once(firefly):
    lists = firefly.lists
    assert lists.add(entry("blacklist"), MAKER)["result"] == "added"
    assert lists.add(entry("watchlist", expires=datetime.date(2027, 1, 1)), MAKER)["result"] == "added"
    assert lists.add(entry("watchlist", expires=None), MAKER)["result"] == "updated"  # extended
    lists.approve(lists.add(entry("whitelist"), MAKER)["change"]["id"], CHECKER, "ok")
    shortened = lists.add(entry("whitelist", expires=datetime.date(2027, 1, 1)), MAKER)
    assert shortened["result"] == "updated"
    assert lists.remove("whitelist", shortened["entry"]["id"], MAKER)["result"] == "removed"
    assert lists.changes()["items"] == []


def test_a_pending_removal_of_an_entry_gone_since_is_refused(firefly):
    lists = firefly.lists
    lists.add(entry(), MAKER)
    entry_id = lists.entries("blacklist")["items"][0]["id"]
    first = lists.remove("blacklist", entry_id, MAKER)["change"]
    second = lists.remove("blacklist", entry_id, OTHER_ADMIN)["change"]
    assert first["id"] != second["id"]
    lists.approve(first["id"], CHECKER, "cleared")
    with pytest.raises(Conflict) as gone:
        lists.approve(second["id"], MAKER, "cleared too")
    assert gone.value.code == "list_entry_gone"


def test_only_an_admin_changes_the_lists(firefly):
    for role in ("approver", "compliance", "channel", "author"):
        with pytest.raises(Forbidden):
            firefly.lists.add(entry(), Principal("x", role))
    assert events(firefly) == []


DAY = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)
ENDS = st.one_of(st.none(), st.integers(-3, 3).map(lambda d: DAY + datetime.timedelta(days=d)))


def _applies(exists, ends, at):
    return exists and (ends is None or at < ends)


@given(list_name=st.sampled_from(["blacklist", "watchlist", "whitelist"]), exists=st.booleans(),
       before=ENDS, after=ENDS)
def test_a_change_relaxes_exactly_when_it_lets_through_someone_at_some_moment(list_name, exists, before, after):
    """A whitelist entry relaxes a control where it applies; a blacklist or watchlist entry where it
    does not: writing the entry relaxes one when, at some moment, the whitelist applies where it did
    not, or the blacklist or watchlist stops applying where it did."""
    moments = [DAY + datetime.timedelta(days=d, hours=h) for d in range(-5, 6) for h in (0, 12)]
    moments.append(DAY + datetime.timedelta(days=10_000))
    if list_name == "whitelist":
        oracle = any(_applies(True, after, t) and not _applies(exists, before, t) for t in moments)
    else:
        oracle = any(_applies(exists, before, t) and not _applies(True, after, t) for t in moments)
    assert relaxes(list_name, exists, before, after) == oracle
