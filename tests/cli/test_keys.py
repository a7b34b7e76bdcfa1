"""`flask keys ...`: stored keys are kept hashed, work at once in the API and stop at once."""
from sqlalchemy import select

from app.extensions import services
from app.storage.models import ApiKey
from support.http import URL


def test_created_key_is_stored_hashed_and_works(runner, client, app):
    result = runner.invoke(args=["keys", "create", "audit-desk", "compliance"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    with services(app).database.session() as session:
        stored = session.scalars(select(ApiKey)).one()
    assert (stored.name, stored.role) == ("audit-desk", "compliance")
    assert key not in stored.key_hash and len(stored.key_hash) == 64
    assert client.get("/v1/decisions", headers={"X-API-Key": key}).status_code == 200
    assert client.post(URL, json={}, headers={"X-API-Key": key}).status_code == 403


def test_a_key_name_is_taken_once(runner):
    assert runner.invoke(args=["keys", "create", "desk", "admin"]).exit_code == 0
    again = runner.invoke(args=["keys", "create", "desk", "channel"])
    assert again.exit_code == 1 and "exists already" in again.output


def test_revoked_key_stops_working(runner, client):
    key = runner.invoke(args=["keys", "create", "old-desk", "compliance"]).output.strip()
    assert client.get("/v1/decisions", headers={"X-API-Key": key}).status_code == 200
    listed = runner.invoke(args=["keys", "list"]).output
    assert "old-desk\tcompliance" in listed and key not in listed
    assert runner.invoke(args=["keys", "revoke", "old-desk"]).exit_code == 0
    assert client.get("/v1/decisions", headers={"X-API-Key": key}).status_code == 401
    assert runner.invoke(args=["keys", "revoke", "old-desk"]).exit_code == 1


def test_dev_info_says_where_keys_come_from(runner):
    result = runner.invoke(args=["keys", "dev-info"])
    assert result.exit_code == 0 and "FIREFLY_API_KEYS" in result.output
