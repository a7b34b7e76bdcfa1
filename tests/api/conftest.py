"""Fixtures of the API tests: the reference policy, generated applicants, row counts."""
import pytest
from sqlalchemy import func, select

from app.extensions import services
from app.storage.models import Decision
from support.applicants import applicants
from support.documented import PAGE_RESOURCES, documented_path
from support.http import POLICY, URL


@pytest.fixture
def policy(app):
    return services(app).registry.current().policies[POLICY]


@pytest.fixture
def bodies(policy):
    """A few generated request bodies (seeded)."""
    return applicants(policy, 12)


@pytest.fixture
def count_rows(app):
    def count():
        with services(app).database.session() as session:
            return session.scalar(select(func.count()).select_from(Decision))
    return count


@pytest.fixture
def decide(client, auth):
    """decide(body, **kwargs) -> the response of POST /v1/decisions/<reference policy>."""
    def post(body, headers=None, query="", role="channel"):
        return client.post(URL + query, json=body, headers={**auth(role), **(headers or {})})
    return post


@pytest.fixture(autouse=True)
def answers_as_documented():
    """Every answer an API route gives during any API test has its status documented for that
    operation in /openapi.json, with the error envelope, and every header the document requires
    (Retry-After on a 429): every request of the API tests is also a check of the published document
    that channels generate their clients from (a 500 is a fault, left to the test that made it)."""
    from flask import request, request_finished

    from app.api.openapi import build_spec
    seen = []

    def record(sender, response, **extra):
        rule = request.url_rule
        if rule is None or rule.endpoint.startswith("console.") or rule.endpoint in PAGE_RESOURCES:
            return   # routing's own 404/405, the console's pages, a page's files
        if request.method in ("HEAD", "OPTIONS") or response.status_code == 500:
            return   # a 500 is a fault (a planted one in tests/api/test_hostile_input.py), not an answer
        seen.append((sender, rule, dict(request.view_args or {}), request.method.lower(),
                     response.status_code, dict(response.headers), response.is_json))

    request_finished.connect(record)
    yield seen
    request_finished.disconnect(record)
    specs, problems = {}, []
    for sender, rule, view_args, method, status, headers, is_json in seen:
        if id(sender) not in specs:
            specs[id(sender)] = build_spec(services(sender).registry.current())
        spec = specs[id(sender)]
        path = documented_path(rule, view_args, spec["paths"])
        operation = spec["paths"].get(path, {}).get(method)
        if operation is None:
            problems.append(f"{method.upper()} {path}: not documented")
            continue
        answer = operation["responses"].get(str(status))
        if answer is None:
            problems.append(f"{method.upper()} {path}: {status} not documented "
                            f"(documented: {', '.join(sorted(operation['responses']))})")
            continue
        if status >= 400 and is_json and answer.get("content", {}).get("application/json", {}).get(
                "schema") not in ({"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/Health"}):
            problems.append(f"{method.upper()} {path}: {status} documented without the error envelope")
        for name, header in answer.get("headers", {}).items():
            if header.get("required") and name not in headers:
                problems.append(f"{method.upper()} {path}: {status} without its {name} header")
    assert not problems, "answers the published document does not list:\n" + "\n".join(sorted(set(problems)))
