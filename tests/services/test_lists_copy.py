"""Each worker's copy of the anti-fraud lists (app/services/lists.py): a list entry added, changed or
removed through another process is matched within FIREFLY_LIST_CHECK_SECONDS of its commit, one
made through the same Lists at once; expiry applies on the copy; the database down still means no
decision. Two Lists on the real test database stand for two workers; their clocks are the test's."""
import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.engine.language.resident_id import compose
from app.privacy import PersonalData
from app.services.access import Principal
from app.services.access_audit import AccessAudit
from app.services import lists as lists_module
from app.services.errors import Unavailable
from app.services.lists import Lists, NewEntry
from app.storage import lists as stored
from app.storage.db import Database

NOW = datetime.datetime(2026, 11, 28, 18, 30, tzinfo=datetime.timezone.utc)
IDS = [compose("110101", datetime.date(1990, 3, 7), n) for n in (851, 29, 469)]
BOUND = 1.0
HMAC_KEY = "lists-copy-test-key-0123456789abcdef"
OPS = Principal("ops", "admin")
CHECKER = Principal("risk-officer", "approver")


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.at = 1000.0

    def __call__(self):
        return self.at


@pytest.fixture
def database(database_url, clean_state):
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def ticks():
    return Ticks()


def worker(database, ticks, bound=BOUND):
    personal = PersonalData(HMAC_KEY)
    return Lists(database, personal, lambda: NOW, check_seconds=bound, monotonic=ticks,
                 audit=AccessAudit(database, personal, lambda: NOW))


def on_blacklist(lists, value, now=NOW):
    return lists.matches({"hit": ("blacklist", value, ("resident_id",))}, now)["hit"]


def applied(lists, result):
    """A change that relaxes a control (shortening or removing a blacklist entry) approved by a
    second person."""
    if result["result"] == "pending":
        lists.approve(result["change"]["id"], CHECKER, "checked")


def blacklist(value, expires=None):
    return NewEntry("blacklist", "resident_id", value, "fraud ring", expires=expires)


def test_an_entry_added_by_another_process_is_matched_within_the_bound(database, ticks):
    deciding, admin = worker(database, ticks), worker(database, ticks)
    assert not on_blacklist(deciding, IDS[0])  # the copy is made now
    admin.add(blacklist(IDS[0]), OPS)
    ticks.at += BOUND
    assert on_blacklist(deciding, IDS[0])


def test_the_copy_is_used_between_checks(database, ticks):
    """Within the bound the copy answers without the database: what makes it worth having."""
    deciding, admin = worker(database, ticks), worker(database, ticks)
    assert not on_blacklist(deciding, IDS[0])
    admin.add(blacklist(IDS[0]), OPS)
    ticks.at += BOUND / 2
    assert not on_blacklist(deciding, IDS[0])
    ticks.at += BOUND / 2
    assert on_blacklist(deciding, IDS[0])


def test_removal_and_an_earlier_expiry_reach_the_copy(database, ticks):
    deciding, admin = worker(database, ticks), worker(database, ticks)
    admin.add(blacklist(IDS[0]), OPS)
    admin.add(blacklist(IDS[1]), OPS)
    assert on_blacklist(deciding, IDS[0]) and on_blacklist(deciding, IDS[1])
    entry_id = admin.entries("blacklist")["items"][0]["id"]
    removal = admin.remove("blacklist", entry_id, OPS)  # relaxes a control: approved by another person
    admin.approve(removal["change"]["id"], CHECKER, "false positive")
    shortened = admin.add(blacklist(IDS[1], expires=datetime.date(2026, 11, 1)), OPS)  # ended before today
    admin.approve(shortened["change"]["id"], CHECKER, "paid back")
    ticks.at += BOUND
    assert not on_blacklist(deciding, IDS[0]) and not on_blacklist(deciding, IDS[1])


def test_an_import_reaches_the_copy(database, ticks):
    deciding, admin = worker(database, ticks), worker(database, ticks)
    assert not on_blacklist(deciding, IDS[2])
    report = admin.import_csv(f"list,kind,value,reason\nblacklist,resident_id,{IDS[2]},ring\n", OPS)
    assert report.added == 1
    ticks.at += BOUND
    assert on_blacklist(deciding, IDS[2])


def test_a_change_through_the_same_lists_is_seen_at_once(database, ticks):
    lists = worker(database, ticks, bound=3600)
    assert not on_blacklist(lists, IDS[0])
    lists.add(blacklist(IDS[0]), OPS)
    assert on_blacklist(lists, IDS[0])
    removal = lists.remove("blacklist", lists.entries("blacklist")["items"][0]["id"], OPS)
    lists.approve(removal["change"]["id"], CHECKER, "false positive")
    assert not on_blacklist(lists, IDS[0])


def test_an_entry_stops_applying_at_its_expiry_without_any_change(database, ticks):
    lists = worker(database, ticks, bound=3600)
    lists.add(blacklist(IDS[0], expires=datetime.date(2026, 11, 30)), OPS)  # ends 12-01 00:00 Beijing
    assert on_blacklist(lists, IDS[0])
    later = datetime.datetime(2026, 11, 30, 16, 0, tzinfo=datetime.timezone.utc)
    assert not on_blacklist(lists, IDS[0], now=later)


def test_a_table_emptied_and_written_again_is_a_new_version(database, database_url, ticks):
    """The version is a random token, not a counter that an emptied table would start again."""
    deciding, admin = worker(database, ticks), worker(database, ticks)
    admin.add(blacklist(IDS[0]), OPS)
    assert on_blacklist(deciding, IDS[0])
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM list_entries"))
        conn.execute(text("DELETE FROM lists_version"))
    admin.add(blacklist(IDS[1]), OPS)
    ticks.at += BOUND
    assert on_blacklist(deciding, IDS[1]) and not on_blacklist(deciding, IDS[0])


def test_more_entries_than_a_copy_holds_are_asked_of_the_database(database, ticks, monkeypatch):
    monkeypatch.setattr(lists_module, "MAX_COPIED_ENTRIES", 1)
    deciding, admin = worker(database, ticks, bound=3600), worker(database, ticks)
    admin.add(blacklist(IDS[0]), OPS)
    admin.add(blacklist(IDS[1]), OPS)
    assert on_blacklist(deciding, IDS[0])
    admin.add(blacklist(IDS[2]), OPS)  # within the bound, and still matched: no copy is kept
    assert on_blacklist(deciding, IDS[2])


def test_with_the_database_down_a_due_check_decides_nothing(tmp_path, ticks):
    down = Database(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    with pytest.raises(Unavailable):
        on_blacklist(worker(down, ticks), IDS[0])
    down.dispose()


operations = st.lists(st.tuples(st.sampled_from(["add", "expire", "remove", "look", "wait"]), st.sampled_from(IDS)),
                      min_size=1, max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_after_the_bound_the_copy_answers_as_the_database_does(database, steps):
    """Any sequence of changes by another process and look-ups: once the bound has passed since
    the last change, the copy and the database agree on every value."""
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM list_entries"))
        conn.execute(text("DELETE FROM lists_version"))
    ticks = Ticks()
    deciding, admin = worker(database, ticks), worker(database, ticks)
    for action, value in steps:
        if action == "add":
            admin.add(blacklist(value), OPS)
        elif action == "expire":
            applied(admin, admin.add(blacklist(value, expires=datetime.date(2026, 11, 1)), OPS))
        elif action == "remove":
            for item in admin.entries("blacklist")["items"]:
                applied(admin, admin.remove("blacklist", item["id"], OPS))
                break
        elif action == "look":
            on_blacklist(deciding, value)
        else:
            ticks.at += BOUND / 3
    ticks.at += BOUND
    personal = PersonalData(HMAC_KEY)
    with database.session() as session:
        found = stored.matching(session, [personal.keyed_hash(v) for v in IDS], NOW)
    for value in IDS:
        assert on_blacklist(deciding, value) == (("blacklist", "resident_id", personal.keyed_hash(value)) in found)


def test_an_entry_hashed_before_lookalike_dashes_were_folded_still_matches(database, ticks):
    """A blacklist entry added before 2026-11-30 holds the hash of its value with its dashes as
    written (an en dash); since then an en dash is a hyphen in every hash. The entry still matches
    what it matched then (the value as written), no less; an entry added since matches every dash."""
    from app.privacy import earlier_form
    personal = PersonalData(HMAC_KEY)
    device = "DEV\u2013BAD\u20130002"  # DEV–BAD–0002
    admin = worker(database, ticks)
    admin.add(NewEntry("blacklist", "device", device, "emulator farm"), OPS)
    with database.session() as session:  # the entry as it was stored before the folding
        session.execute(text("UPDATE list_entries SET value_hash = :old"),
                        {"old": personal.keyed_hash(device, folded=False)})
        session.commit()
    assert personal.keyed_hash(device, folded=False) != personal.keyed_hash(device)
    assert earlier_form(device) and not earlier_form("DEV-BAD-0002") and not earlier_form("某某商贸")
    deciding = worker(database, ticks)

    def listed(value):
        return deciding.matches({"hit": ("blacklist", value, ("device",))}, NOW)["hit"]
    assert listed(device)                      # as it was written when it was added
    assert listed("dev\u2013bad\u2013 0002")  # and as it matched then (case, spaces)
    assert not listed("DEV-BAD-0002")           # the hyphen's hash was never stored: added again, it is
    admin.add(NewEntry("blacklist", "device", "DEV-BAD-0002", "emulator farm"), OPS)
    ticks.at += BOUND
    assert listed("DEV-BAD-0002") and listed("dev\u2014bad\u20140002") and listed(device)
