"""Keys and roles: 401 without a valid key and 403 for the wrong role, on every route."""
import pytest

from support.http import URL
from support.keys import KEYS

DECISION = "0" * 32
ROUTES = [  # method, path, roles allowed
    ("POST", URL, {"channel"}),
    ("GET", "/v1/decisions", {"compliance"}),
    ("GET", f"/v1/decisions/{DECISION}", {"compliance"}),
    ("POST", f"/v1/decisions/{DECISION}/replay", {"compliance"}),
    ("GET", "/v1/policies", {"channel", "compliance", "admin"}),
    ("POST", "/v1/policies/reload", {"admin"}),
    ("GET", "/v1/audit", {"approver", "compliance"}),
    ("POST", "/v1/releases", {"author", "approver"}),
    ("GET", "/v1/releases", {"author", "approver", "admin", "compliance"}),
    ("GET", f"/v1/releases/{DECISION}", {"author", "approver", "admin", "compliance"}),
    ("GET", f"/v1/releases/{DECISION}/diff", {"author", "approver", "admin", "compliance"}),
    ("POST", f"/v1/releases/{DECISION}/approve", {"approver"}),
    ("POST", f"/v1/releases/{DECISION}/reject", {"approver"}),
    ("POST", f"/v1/releases/{DECISION}/activate", {"approver", "admin"}),
    ("POST", "/v1/releases/rollback", {"approver", "admin"}),
    ("POST", f"/v1/decisions/{DECISION}/review", {"underwriter"}),
    ("POST", f"/v1/decisions/{DECISION}/requests", {"compliance", "underwriter"}),
    ("POST", f"/v1/decisions/{DECISION}/requests/{DECISION}/answer", {"compliance", "underwriter"}),
    ("GET", "/v1/comparisons", {"compliance"}),
    ("GET", "/v1/lines/ZSD0000000000001/decisions", {"compliance"}),
    ("POST", "/v1/backtests", {"author", "compliance"}),
    ("GET", f"/v1/backtests/{DECISION}", {"author", "compliance"}),
    ("GET", f"/v1/backtests/{DECISION}/report", {"author", "compliance"}),
    ("GET", f"/v1/backtests/{DECISION}/changes", {"author", "compliance"}),
    ("GET", f"/v1/backtests/{DECISION}/report.html", {"author", "compliance"}),
    ("POST", f"/v1/backtests/{DECISION}/rerun", {"author", "compliance"}),
    ("GET", "/v1/lists/blacklist/entries", {"admin", "compliance"}),
    ("POST", "/v1/lists/blacklist/entries", {"admin"}),
    ("DELETE", "/v1/lists/blacklist/entries/1", {"admin"}),
    ("POST", "/v1/lists/import", {"admin"}),
    ("GET", "/v1/lists/changes", {"approver", "admin", "compliance"}),
    ("GET", "/v1/lists/changes/1", {"approver", "admin", "compliance"}),
    ("POST", "/v1/lists/changes/1/approve", {"approver", "admin"}),
    ("POST", "/v1/lists/changes/1/reject", {"approver", "admin"}),
]
# open routes, by rule: a path to try each with (None: Flask's static folder, which is empty)
OPEN = {"/healthz": "/healthz", "/readyz": "/readyz", "/metrics": "/metrics",
        "/openapi.json": "/openapi.json", "/docs": "/docs", "/docs/explorer.js": "/docs/explorer.js",
        '/docs/assets/<any("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"):name>':
            "/docs/assets/swagger-ui.css",
        "/static/<path:filename>": None}
RULES = {"/v1/decisions/<policy_name:policy_name>": URL,
         "/v1/lines/<line_id:line_id>/decisions": "/v1/lines/ZSD0000000000001/decisions", "/v1/decisions/<decision_id:decision_id>": f"/v1/decisions/{DECISION}",
         "/v1/decisions/<decision_id:decision_id>/replay": f"/v1/decisions/{DECISION}/replay",
         "/v1/decisions/<decision_id:decision_id>/review": f"/v1/decisions/{DECISION}/review",
         "/v1/decisions/<decision_id:decision_id>/requests": f"/v1/decisions/{DECISION}/requests",
         "/v1/decisions/<decision_id:decision_id>/requests/<request_ref>/answer":
             f"/v1/decisions/{DECISION}/requests/{DECISION}/answer",
         **{f"/v1/releases/<ref>{tail}": f"/v1/releases/{DECISION}{tail}"
            for tail in ("", "/diff", "/approve", "/reject", "/activate")},
         **{f"/v1/backtests/<backtest_id>{tail}": f"/v1/backtests/{DECISION}{tail}"
            for tail in ("", "/report", "/changes", "/report.html", "/rerun")},
         "/v1/lists/<name>/entries": "/v1/lists/blacklist/entries",
         "/v1/lists/<name>/entries/<int:entry_id>": "/v1/lists/blacklist/entries/1",
         **{f"/v1/lists/changes{tail}": f"/v1/lists/changes{tail.replace('<int:change_id>', '1')}"
            for tail in ("", "/<int:change_id>", "/<int:change_id>/approve", "/<int:change_id>/reject")}}


def call(client, method, path, headers):
    return client.open(path, method=method, json={} if method == "POST" else None, headers=headers)


@pytest.mark.parametrize("method, path, allowed", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "not-a-key"}, {"X-API-Key": ""},
                                     {"Authorization": "Bearer test-channel-key"}])
def test_no_valid_key_is_401(client, method, path, allowed, headers):
    response = call(client, method, path, headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("method, path, allowed", ROUTES)
@pytest.mark.parametrize("role", sorted(KEYS))
def test_role_matrix(client, auth, method, path, allowed, role):
    response = call(client, method, path, auth(role))
    if role in allowed:
        assert response.status_code not in (401, 403), response.get_json()
    else:
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"


def test_every_route_is_in_the_matrix(app):
    covered = {(method, path) for method, path, _ in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.rule in OPEN or rule.endpoint.startswith("console."):
            continue  # the console's pages take a session, not a key: tests/console
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, RULES.get(rule.rule, rule.rule)) in covered, rule.rule


@pytest.mark.parametrize("path", sorted(p for p in OPEN.values() if p))
def test_open_routes_need_no_key(client, path):
    assert client.get(path).status_code in (200, 503)
