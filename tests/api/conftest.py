"""Fixtures of the API tests: the reference policy, generated applicants, row counts."""
import pytest
from sqlalchemy import func, select

from app.extensions import services
from app.storage.models import Decision
from support.applicants import applicants
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
