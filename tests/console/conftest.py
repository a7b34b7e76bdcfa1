"""Fixtures of the console tests: accounts, the example decisions stored through the API, and a
test client signed in through the real sign-in form (CSRF token and all)."""
import datetime
import re

import pytest

from app.extensions import services
from app.services.clock import business_date, utc_now
from support.applicants import as_of, examples
from support.http import URL
from support.keys import KEYS

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"|'
                   r'type="hidden" name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1) or found.group(2)


@pytest.fixture
def accounts(app):
    """One account per console role, named after it (compliance: li.wei)."""
    made = {"compliance": "li.wei", "underwriter": "zhao.min", "admin": "wang.fang", "author": "chen.jie"}
    for role, username in made.items():
        services(app).accounts.create(username, role, PASSWORD)
    return made


@pytest.fixture
def decided(client):
    """The examples decided today through the API: {example name: answer}."""
    return decided_examples(client)


def decided_examples(client):
    today = business_date(utc_now())
    answers = {}
    for name, body in examples().items():
        answer = client.post(URL, json=as_of(body, today), headers={"X-API-Key": KEYS["channel"]})
        assert answer.status_code == 201, answer.get_json()
        answers[name] = answer.get_json()
    return answers


def sign_in(client, username, password=PASSWORD):
    page = client.get("/console/sign-in")
    return client.post("/console/sign-in", data={
        "account-csrf_token": csrf_token(page.get_data(as_text=True)),
        "account-username": username, "account-password": password})


@pytest.fixture
def compliance(client, accounts):
    """The test client, signed in as the compliance account."""
    answer = sign_in(client, accounts["compliance"])
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client


def post_form(client, page_url, action, data):
    """Submit a form of `page_url` to `action` with that page's CSRF token."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


YESTERDAY = (business_date(utc_now()) - datetime.timedelta(days=1)).isoformat()


@pytest.fixture
def two_versions(app, policy_root):
    """The app serving a private copy of the policy folder: the examples are decided on it, then
    the 连三累六 threshold is raised to 4 months in a row in version 2099.12.2, which is served.
    Gives (decided answers, old hash, new hash)."""
    from support.http import set_parameter, set_version
    registry = services(app).registry
    registry.root, registry.run_tests = str(policy_root), False
    assert registry.reload().ok
    old = registry.current().policies["zhishandai.application"].hash
    answers = decided_examples(app.test_client())
    set_parameter(policy_root, "overdue_consecutive_decline", 4)
    set_version(policy_root, "2099.12.2")
    assert registry.reload().ok
    new = registry.current().policies["zhishandai.application"].hash
    services(app).policy_store.record(registry.current().policies["zhishandai.application"])
    assert old != new
    return answers, old, new
