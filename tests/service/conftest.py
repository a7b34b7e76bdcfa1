"""Fixtures of the service tests: the reference policy, generated applicants, row counts."""
import pytest
from sqlalchemy import func, select

from app.storage.models import Decision
from service.applicants import applicants

POLICY = "zhishandai.application"
URL = f"/v1/decisions/{POLICY}"


@pytest.fixture
def policy(app):
    return app.extensions["firefly_policies"].current().policies[POLICY]


@pytest.fixture
def bodies(policy):
    """A few generated request bodies (seeded)."""
    return applicants(policy, 12)


@pytest.fixture
def count_rows(app):
    def count():
        with app.extensions["firefly_db"].sessions() as session:
            return session.scalar(select(func.count()).select_from(Decision))
    return count


@pytest.fixture
def decide(client, auth):
    """decide(body, **kwargs) -> the response of POST /v1/decisions/<reference policy>."""
    def post(body, headers=None, query="", role="channel"):
        return client.post(URL + query, json=body, headers={**auth(role), **(headers or {})})
    return post


@pytest.fixture
def policy_root(tmp_path, app):
    """A private copy of the served policy folder (policies/ and rules/) to edit in a test."""
    import shutil
    from pathlib import Path
    source = Path(app.config["FIREFLY_POLICY_ROOT"])
    root = tmp_path / "root"
    for folder in ("policies", "rules"):
        shutil.copytree(source / folder, root / folder)
    return root


def set_version(root, version):
    """Rewrite the version line of the reference policy file."""
    import re
    path = root / "policies" / "zhishandai" / "application.yaml"
    text = re.sub(r'(?m)^version: .*$', f'version: "{version}"', path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")


def set_parameter(root, name, value):
    import re
    path = root / "policies" / "zhishandai" / "application.yaml"
    text, count = re.subn(rf'(?m)^(\s+{name}:)\s*[^#\n]+', rf'\g<1> {value}   ', path.read_text(encoding="utf-8"))
    assert count == 1, name
    path.write_text(text, encoding="utf-8")
