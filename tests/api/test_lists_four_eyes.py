"""The insider attack on the anti-fraud lists, through the API: an admin who whitelists a fraud
ring's device, lets the ring through and deletes the entry left no trace, and one admin could take
a blacklist entry off alone. Now every list change is in the access log (GET /v1/audit), a
whitelist entry applies only once another person approved it (never its maker: 403 own_change),
and a blacklist entry stays in force until its removal is approved."""
import pytest

from support.audit_down import access_log_refusing
from tests.api.test_anti_fraud import applicant

RING = "DEV-RING-7788"
BAD = "DEV-BAD-4455"


def reasons(answer):
    return [r["code"] for r in answer.get_json()["reasons"]]


def audit(client, auth, action):
    return client.get("/v1/audit", query_string={"action": action}, headers=auth("compliance")).get_json()["items"]


def test_an_admin_alone_can_neither_whitelist_a_ring_nor_take_a_blacklist_entry_off(client, auth, decide):
    # admin A whitelists the ring's device: pending, not in force
    proposed = client.post("/v1/lists/whitelist/entries", headers=auth("admin"), json={
        "kind": "device", "value": RING, "reason": "branch tablet", "source": "ops"})
    assert proposed.status_code == 202, proposed.get_json()
    change = proposed.get_json()["change"]
    assert (change["state"], change["maker"], change["value"]) == ("pending", "test-admin", "****7788")
    assert RING not in proposed.get_data(as_text=True)
    # the ring's burst is still declined
    burst = [decide(applicant(200 + n, device=RING)) for n in range(3)]
    assert burst[2].get_json()["outcome"] == "DECLINE" and "DEVICE_BURST" in reasons(burst[2])
    assert client.get("/v1/lists/whitelist/entries", headers=auth("admin")).get_json()["items"] == []
    # A cannot approve their own change
    own = client.post(f"/v1/lists/changes/{change['id']}/approve", headers=auth("admin"), json={"reason": "fine"})
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "own_change"
    pending = client.get("/v1/lists/changes", query_string={"state": "pending"}, headers=auth("approver"))
    assert [c["id"] for c in pending.get_json()["items"]] == [change["id"]]
    # B approves: now the device is whitelisted and its burst passes the device rules
    approved = client.post(f"/v1/lists/changes/{change['id']}/approve", headers=auth("approver"),
                           json={"reason": "checked with the branch"})
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    [entry] = client.get("/v1/lists/whitelist/entries", headers=auth("admin")).get_json()["items"]
    assert entry["added_by"] == "test-admin, approved by test-approver"
    assert "DEVICE_BURST" not in reasons(decide(applicant(203, device=RING)))
    # the audit log shows maker and approver to compliance
    [proposal] = audit(client, auth, "lists.change.propose")
    assert proposal["actor"] == "test-admin" and proposal["details"]["masked"] == "****7788"
    [approval] = audit(client, auth, "lists.change.approve")
    assert (approval["actor"], approval["details"]["maker"], approval["details"]["checker"]) == (
        "test-approver", "test-admin", "test-approver")
    assert approval["details"]["entry"] == entry["id"]
    # A removes the whitelist entry (that tightens: at once), and the log keeps what it was
    gone = client.delete(f"/v1/lists/whitelist/entries/{entry['id']}", headers=auth("admin"))
    assert gone.status_code == 200 and gone.get_json() == {"result": "removed", "removed": entry["id"]}
    [removal] = audit(client, auth, "lists.remove")
    assert removal["details"]["removed"]["added_by"] == "test-admin, approved by test-approver"
    assert removal["details"]["value_hash"] == approval["details"]["value_hash"]

    # a blacklist entry: added by A at once, but A alone cannot take it off
    added = client.post("/v1/lists/blacklist/entries", headers=auth("admin"), json={
        "kind": "device", "value": BAD, "reason": "emulator farm"})
    assert added.status_code == 200 and added.get_json()["result"] == "added"
    bad_id = added.get_json()["entry"]["id"]
    removal = client.delete(f"/v1/lists/blacklist/entries/{bad_id}", headers=auth("admin"))
    assert removal.status_code == 202 and removal.get_json()["change"]["action"] == "remove"
    assert "LIST_BLACKLIST" in reasons(decide(applicant(300, device=BAD)))
    shortened = client.post("/v1/lists/blacklist/entries", headers=auth("admin"), json={
        "kind": "device", "value": BAD, "reason": "emulator farm", "expires": "2020-01-01"})
    assert shortened.status_code == 202
    assert "LIST_BLACKLIST" in reasons(decide(applicant(301, device=BAD)))
    assert [i["id"] for i in client.get("/v1/lists/blacklist/entries", headers=auth("admin")).get_json()["items"]] == [bad_id]
    # once B approves the removal, it is off; the shortening, rejected, never applies
    done = client.post(f"/v1/lists/changes/{removal.get_json()['change']['id']}/approve",
                       headers=auth("approver"), json={"reason": "the device was a bank's own"})
    assert done.status_code == 200 and done.get_json()["applied"]["result"] == "removed"
    rejected = client.post(f"/v1/lists/changes/{shortened.get_json()['change']['id']}/reject",
                           headers=auth("approver"), json={"reason": "superseded"})
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    assert "LIST_BLACKLIST" not in reasons(decide(applicant(302, device=BAD)))
    assert [e["actor"] for e in audit(client, auth, "lists.change.reject")] == ["test-approver"]


def test_an_import_applies_rows_that_tighten_and_holds_those_that_relax(client, auth):
    csv = ("list,kind,value,reason\n"
           "blacklist,device,DEV-IMP-0001,ring\n"
           "whitelist,device,DEV-IMP-0002,trusted\n"
           "whitelist,employer,某某银行股份有限公司,payroll partner\n")
    answer = client.post("/v1/lists/import", headers=auth("admin"), json={"csv": csv})
    assert answer.status_code == 200
    report = answer.get_json()
    assert report["added"] == 1
    assert [(p["line"], p["list"], p["kind"]) for p in report["pending"]] == [
        (3, "whitelist", "device"), (4, "whitelist", "employer")]
    assert client.get("/v1/lists/whitelist/entries", headers=auth("admin")).get_json()["items"] == []
    changes = client.get("/v1/lists/changes", headers=auth("compliance")).get_json()["items"]
    assert [c["id"] for c in changes] == [p["change"] for p in report["pending"]]
    one = client.get(f"/v1/lists/changes/{changes[0]['id']}", headers=auth("compliance")).get_json()
    assert one["value"] == "****0002" and one["state"] == "pending"
    [event] = audit(client, auth, "lists.import")
    assert event["actor"] == "test-admin" and event["details"]["pending"] == 2
    assert [(e["list"], e["kind"]) for e in event["details"]["entries"]] == [("blacklist", "device")]


@pytest.mark.parametrize("body, fields", [({}, {"reason"}), ({"reason": ""}, {"reason"}),
                                          ({"reason": "ok", "extra": 1}, {"extra"}),
                                          ({"reason": 5}, {"reason"})])
def test_a_bad_approval_body_is_400_with_field_paths(client, auth, body, fields):
    proposed = client.post("/v1/lists/whitelist/entries", headers=auth("admin"), json={
        "kind": "device", "value": RING, "reason": "tablet"}).get_json()["change"]
    for step in ("approve", "reject"):
        answer = client.post(f"/v1/lists/changes/{proposed['id']}/{step}", headers=auth("approver"), json=body)
        assert answer.status_code == 400 and set(answer.get_json()["error"]["details"]) == fields
    assert client.get("/v1/lists/changes", headers=auth("approver")).get_json()["items"][0]["state"] == "pending"


def test_bad_queries_and_unknown_changes(client, auth):
    bad = client.get("/v1/lists/changes", query_string={"state": "maybe", "limit": "0"}, headers=auth("approver"))
    assert bad.status_code == 400 and set(bad.get_json()["error"]["details"]) == {"state", "limit"}
    assert client.post("/v1/lists/changes/99/approve", headers=auth("approver"),
                       json={"reason": "x"}).status_code == 404
    assert client.get("/v1/lists/changes/99", headers=auth("approver")).status_code == 404
    assert client.post("/v1/lists/changes/1/approve", headers=auth("approver"), data="reason",
                       content_type="text/plain").status_code == 415


def test_a_change_the_access_log_cannot_record_is_not_made(client, auth, database_url, decide):
    with access_log_refusing(database_url):
        answer = client.post("/v1/lists/blacklist/entries", headers=auth("admin"), json={
            "kind": "device", "value": BAD, "reason": "emulator farm"})
        assert answer.status_code == 503 and "nothing was changed" in answer.get_json()["error"]["message"]
    assert client.get("/v1/lists/blacklist/entries", headers=auth("admin")).get_json()["items"] == []
    assert "LIST_BLACKLIST" not in reasons(decide(applicant(400, device=BAD)))


def test_an_id_beyond_what_the_database_holds_is_not_found(client, auth):
    """Schemathesis found it on PostgreSQL: an id past 2**31 - 1 made the query fail (503)."""
    big = 2**31
    assert client.get(f"/v1/lists/changes/{big}", headers=auth("approver")).status_code == 404
    for step in ("approve", "reject"):
        assert client.post(f"/v1/lists/changes/{big}/{step}", headers=auth("approver"),
                           json={"reason": "x"}).status_code == 404
    assert client.delete(f"/v1/lists/blacklist/entries/{big}", headers=auth("admin")).status_code == 404
