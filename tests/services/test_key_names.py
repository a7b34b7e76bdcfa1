"""A key's name scopes its Idempotency-Keys and velocity events (`<name>:<Idempotency-Key>`,
services/deciding.py), so two keys must never make the same scope.

Before, a stored key could be named anything: a key named `bank:app` sending Idempotency-Key
`7` and a key named `bank` sending `app:7` made one scoped key, so one channel's requests were
answered 409 (or with the other's stored decision) and their applications counted as one event;
a stored key named like a configured one shared its whole scope. A stored key's name is now
letters, digits, `.`, `_` and `-`, and no configured key's name."""
import pytest

from app.services.errors import Conflict, InvalidInput


@pytest.mark.parametrize("name", ["bank:app", "bank app", "", "x" * 65, "-lead", "ｂａｎｋ", "bank\x00"])
def test_a_name_that_could_share_a_scope_is_refused(firefly, name):
    with pytest.raises(InvalidInput):
        firefly.access.create(name, "channel")
    assert firefly.access.stored() == []


def test_a_configured_keys_name_is_taken(firefly):
    with pytest.raises(Conflict):
        firefly.access.create("test-channel", "channel")


@pytest.mark.parametrize("name", ["branch-app", "partner_a.v2", "B1"])
def test_plain_names_are_taken(firefly, name):
    key = firefly.access.create(name, "channel")
    assert firefly.access.authenticate(key).name == name
