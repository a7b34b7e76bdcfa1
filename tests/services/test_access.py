"""API keys without Flask: configured and stored keys authenticate, stored keys are created once
and revoked at once, the clear key is never kept."""
import pytest
from sqlalchemy import select

from app.config import DEV_API_KEYS, ConfigError
from app.services.access import Access, Principal, hash_key
from app.services.errors import Conflict, NotFound
from app.storage.models import ApiKey


def test_configured_keys_authenticate_to_their_principal(firefly):
    assert firefly.access.authenticate("test-channel-key") == Principal("test-channel", "channel")
    assert firefly.access.authenticate("not-a-key") is None


def test_a_created_key_works_until_it_is_revoked(firefly):
    key = firefly.access.create("branch-app", "channel")
    assert firefly.access.authenticate(key) == Principal("branch-app", "channel")
    with firefly.database.session() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.name == "branch-app"))
    assert stored.key_hash == hash_key(key) and key not in repr(vars(stored))
    assert [k.name for k in firefly.access.stored()] == ["branch-app"]
    firefly.access.revoke("branch-app")
    assert firefly.access.authenticate(key) is None


def test_a_name_is_taken_once(firefly):
    firefly.access.create("audit", "compliance")
    with pytest.raises(Conflict):
        firefly.access.create("audit", "admin")


def test_revoking_an_unknown_key_is_not_found(firefly):
    with pytest.raises(NotFound):
        firefly.access.revoke("nobody")


def test_production_refuses_the_development_keys(firefly):
    with pytest.raises(ConfigError, match="development keys"):
        Access(firefly.database, DEV_API_KEYS, production=True, personal=firefly.personal)
    assert Access(firefly.database, DEV_API_KEYS, production=False, personal=firefly.personal).uses_development_keys
