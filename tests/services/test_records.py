"""Reading stored decisions back without Flask: one by id, searches a page at a time."""
import datetime

import pytest

from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.services.errors import NotFound
from app.services.records import Search, answer, new_decision_id, with_decision_date
from engine.support import INPUT, make_policy
from support.applicants import applicants, examples
from support.http import POLICY


@pytest.fixture
def stored(firefly, clock):
    """Twelve generated applications decided a minute apart: [(body, answer)]."""
    policy = firefly.registry.served(POLICY)
    found = []
    for index, body in enumerate(applicants(policy, 12)):
        clock.now += datetime.timedelta(minutes=1)
        caller = Principal("bank-app" if index % 3 else "partner", "channel")
        decided = firefly.deciding.decide(DecisionRequest(POLICY, body, caller, f"r{index}"))
        found.append((body, decided.answer))
    return found


def test_get_gives_the_answer_and_its_trace(firefly, stored):
    _, first = stored[0]
    got = firefly.records.get(first["decision_id"])
    assert {k: v for k, v in got.items() if k not in ("trace", "record")} == first
    assert got["record"]["intact"] is True
    assert got["trace"]["policy"]["hash"] == first["policy"]["hash"]


@pytest.mark.parametrize("decision_id", ["0" * 32, "x" * 65, ""])
def test_unknown_decisions_are_not_found(firefly, decision_id):
    with pytest.raises(NotFound) as raised:
        firefly.records.get(decision_id)
    assert raised.value.code == "unknown_decision"


def test_pages_are_newest_first_and_complete(firefly, stored):
    seen, cursor = [], None
    while True:
        page = firefly.records.search(Search(limit=5, cursor=cursor))
        seen += [item["decision_id"] for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted((a["decision_id"] for _, a in stored), reverse=True)


def test_filters_combine(firefly, stored):
    partner = [a for i, (_, a) in enumerate(stored) if i % 3 == 0]
    items = firefly.records.search(Search(channel="partner", limit=200)).items
    assert sorted(i["decision_id"] for i in items) == sorted(a["decision_id"] for a in partner)
    outcome = partner[0]["outcome"]
    both = firefly.records.search(Search(channel="partner", outcome=outcome, limit=200)).items
    assert {i["decision_id"] for i in both} == {a["decision_id"] for a in partner if a["outcome"] == outcome}


def test_time_window_is_half_open(firefly, stored):
    start = datetime.datetime.fromisoformat(stored[3][1]["created_at"].replace("Z", "+00:00"))
    end = datetime.datetime.fromisoformat(stored[6][1]["created_at"].replace("Z", "+00:00"))
    items = firefly.records.search(Search(created_from=start, created_to=end, limit=200)).items
    assert {i["decision_id"] for i in items} == {a["decision_id"] for _, a in stored[3:6]}


def test_personal_data_is_searched_by_its_keyed_hash(firefly, stored):
    body, first = stored[0]
    items = firefly.records.search(Search(id_number=body["applicant"]["id_number"])).items
    assert [i["decision_id"] for i in items] == [first["decision_id"]]
    assert firefly.records.search(Search(id_number="110101199001011237")).items == []


def test_the_answer_holds_no_trace_unless_asked(firefly):
    decided = firefly.deciding.decide(DecisionRequest(POLICY, examples()["approve_premium"],
                                                      Principal("c", "channel"), "r"))
    row = firefly.records.row(decided.decision_id)
    assert "trace" not in answer(row, "none")
    assert answer(row, "full")["trace"]["stages"]


def test_decision_ids_sort_by_creation_time():
    earlier = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    later = earlier + datetime.timedelta(milliseconds=1)
    assert new_decision_id(earlier) < new_decision_id(later)
    assert len(new_decision_id(earlier)) == 32


def test_the_service_sets_the_decision_time_in_china_never_the_caller(tmp_path):
    policy = make_policy(tmp_path, input={**INPUT, "decision_time": "datetime"},
                         features={"h": "hour(decision_time)"})
    moment = datetime.datetime(2026, 11, 28, 18, 30, tzinfo=datetime.timezone.utc)
    raw = with_decision_date(policy, {"decision_time": "2000-01-01T00:00:00Z"},
                             datetime.date(2026, 11, 29), moment)
    assert raw == {"decision_date": "2026-11-29", "decision_time": "2026-11-29T02:30:00+08:00"}
    assert policy.decide(policy.parse_input(raw)).trace.values["h"] == 2
    naive = with_decision_date(policy, {}, datetime.date(2026, 11, 29), moment.replace(tzinfo=None))
    assert naive["decision_time"] == "2026-11-29T02:30:00+08:00"  # read back from SQLite: UTC


def test_counts_cover_every_page_and_follow_the_filters(firefly, stored):
    everything = firefly.records.counts(Search(limit=1))
    assert sum(everything.values()) == len(stored)
    for outcome, number in everything.items():
        assert firefly.records.counts(Search(outcome=outcome)) == {outcome: number}
        assert len(firefly.records.search(Search(outcome=outcome, limit=200)).items) == number
    assert firefly.records.counts(Search(channel="nobody")) == {}


def test_an_interface_may_search_by_the_hash_it_made(firefly, stored):
    body, answer_ = stored[3]
    for clear, field, value in (("id_number", "id_number_hash", body["applicant"]["id_number"]),
                                ("phone", "phone_hash", body["applicant"]["mobile"])):
        by_hash = firefly.records.search(Search(**{field: firefly.records.search_hash(value)})).items
        assert [a["decision_id"] for a in by_hash] == \
            [a["decision_id"] for a in firefly.records.search(Search(**{clear: value})).items]
        assert answer_["decision_id"] in {a["decision_id"] for a in by_hash}
