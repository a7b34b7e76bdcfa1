"""The access log: every read, search (by personal data too) and replay is recorded with who, when,
what and which decisions; GET /v1/audit shows it to approver and compliance; it is chained."""
from sqlalchemy import create_engine, text

from app.extensions import services
from support.applicants import examples


def test_every_access_is_recorded_and_shown(client, auth, decide):
    body = examples()["approve_salaried"]
    decision_id = decide(body).get_json()["decision_id"]
    compliance = auth("compliance")
    assert client.get(f"/v1/decisions/{decision_id}", headers=compliance).status_code == 200
    number = body["applicant"]["id_number"]
    assert client.get("/v1/decisions", query_string={"id_number": number}, headers=compliance).status_code == 200
    assert client.get("/v1/decisions", query_string={"outcome": "DECLINE"}, headers=compliance).status_code == 200
    assert client.post(f"/v1/decisions/{decision_id}/replay", headers=compliance).status_code == 200

    response = client.get("/v1/audit", headers=auth("approver"))
    assert response.status_code == 200, response.get_json()
    events = response.get_json()["items"]
    assert [(e["actor"], e["action"], e["decision_ids"]) for e in reversed(events)] == [
        ("test-compliance", "decision.read", [decision_id]),
        ("test-compliance", "decision.search_personal", [decision_id]),
        ("test-compliance", "decision.search", []),
        ("test-compliance", "decision.replay", [decision_id]),
    ]
    personal = next(e for e in events if e["action"] == "decision.search_personal")
    assert "id_number" not in personal["details"] and len(personal["details"]["id_number_hash"]) == 64
    assert number not in response.get_data(as_text=True)

    only = client.get("/v1/audit", query_string={"decision_id": decision_id, "action": "decision.replay"},
                      headers=compliance).get_json()["items"]
    assert [e["action"] for e in only] == ["decision.replay"]
    # Reading the log is recorded too.
    mine = client.get("/v1/audit", query_string={"actor": "test-approver"}, headers=compliance).get_json()
    assert [e["action"] for e in mine["items"]] == ["audit.search"]


def test_bad_filters_are_400_with_field_paths(client, auth):
    response = client.get("/v1/audit", query_string={"limit": "0", "decision_id": "x"}, headers=auth("compliance"))
    assert response.status_code == 400
    assert set(response.get_json()["error"]["details"]) == {"limit", "decision_id"}


def test_the_access_log_is_chained(app, client, auth, decide, database_url):
    decision_id = decide(examples()["approve_salaried"]).get_json()["decision_id"]
    for _ in range(3):
        client.get(f"/v1/decisions/{decision_id}", headers=auth("compliance"))
    audit = services(app).audit_log
    audit.seal()
    assert audit.verify("access").ok and audit.verify("access").checked == 3
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if not database_url.startswith("sqlite"):
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        gone = conn.execute(text("SELECT id FROM access_events ORDER BY seq LIMIT 1 OFFSET 1")).scalar_one()
        conn.execute(text("DELETE FROM access_events WHERE id = :i"), {"i": gone})
    engine.dispose()
    assert [(f.kind, f.entry_id) for f in audit.verify("access").findings] == [("deleted", gone)]
