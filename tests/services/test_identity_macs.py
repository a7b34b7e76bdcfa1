"""A stored key, console account or console session authenticates only if this service made it
(app/services/identity.py).

The attack: someone who can write the database (a DBA, a stolen database password) but holds no
approver key inserts one: a name, the role `approver` and the SHA-256 of a key they chose (no
secret is needed to compute it). Maker-checker then let them approve their own release under the
second name. Likewise a console account with a scrypt hash of a chosen password, a session row for
someone else's account, or a channel key's role edited to admin."""
import hashlib

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text, update

from app.privacy import hash_password
from app.services.access import Principal
from app.services.errors import Forbidden
from app.services.releases import ReleaseFiles
from app.storage.models import ApiKey, ConsoleAccount, ConsoleSession
from support.http import set_version

CHOSEN_KEY = "ff_a-key-the-insider-chose-0123456789"
PASSWORD = "correct horse battery"


def insert(firefly, row):
    with firefly.database.session() as session:
        session.add(row)
        session.commit()


def sha256(text_):
    return hashlib.sha256(text_.encode()).hexdigest()


def test_an_approver_key_inserted_in_the_database_approves_nothing(firefly, policy_root):
    insert(firefly, ApiKey(name="second-approver", role="approver", key_hash=sha256(CHOSEN_KEY)))
    before = REGISTRY.get_sample_value("firefly_tampering_detected_total", {"kind": "api_key"}) or 0
    assert firefly.access.authenticate(CHOSEN_KEY) is None
    assert REGISTRY.get_sample_value("firefly_tampering_detected_total", {"kind": "api_key"}) == before + 1
    # what the key was for: approving a release the insider submitted under their own key
    own = firefly.access.create("insider", "approver")
    insider = firefly.access.authenticate(own)
    assert insider == Principal("insider", "approver")
    set_version(policy_root, "2099.1")
    release = firefly.releases.submit(ReleaseFiles.from_folder(policy_root), insider, "mine")
    with pytest.raises(Forbidden):
        firefly.releases.approve(release["id"], insider, "approving my own")
    assert firefly.access.authenticate(CHOSEN_KEY) is None
    findings = firefly.identities.verify()["findings"]
    assert findings == [{"api_key": "second-approver",
                         "problem": "has no MAC (stored before 2026-11-30: `flask audit vouch` gives one)"}]


def test_a_stored_keys_role_edited_in_the_database_authenticates_nobody(firefly):
    key = firefly.access.create("partner-app", "channel")
    assert firefly.access.authenticate(key).role == "channel"
    with firefly.database.session() as session:
        session.execute(update(ApiKey).where(ApiKey.name == "partner-app").values(role="admin"))
        session.commit()
    assert firefly.access.authenticate(key) is None
    assert [f["api_key"] for f in firefly.identities.verify()["findings"]] == ["partner-app"]


def test_a_console_account_or_session_made_in_the_database_signs_in_nobody(firefly):
    insert(firefly, ConsoleAccount(username="ghost", role="approver", password_hash=hash_password(PASSWORD)))
    assert firefly.accounts.sign_in("ghost", PASSWORD) is None

    firefly.accounts.create("li.wei", "compliance", PASSWORD)
    token = firefly.accounts.sign_in("li.wei", PASSWORD)
    assert firefly.accounts.person(token).username == "li.wei"
    # a session for li.wei whose token the insider chose
    with firefly.database.session() as session:
        account_id = session.execute(text("SELECT id FROM console_accounts WHERE username = 'li.wei'")).scalar_one()
    now = firefly.accounts.clock()
    insert(firefly, ConsoleSession(token_hash=sha256("chosen-token"), account_id=account_id,
                                   started_at=now, last_seen=now))
    assert firefly.accounts.person("chosen-token") is None
    # li.wei's role raised in the database: her password no longer signs her in, her session ends
    with firefly.database.session() as session:
        session.execute(update(ConsoleAccount).where(ConsoleAccount.username == "li.wei").values(role="admin"))
        session.commit()
    assert firefly.accounts.sign_in("li.wei", PASSWORD) is None and firefly.accounts.person(token) is None


def test_keys_and_accounts_stored_before_macs_work_once_sealed(firefly):
    key = firefly.access.create("old-key", "compliance")
    firefly.accounts.create("old.account", "underwriter", PASSWORD)
    with firefly.database.session() as session:  # as the upgrade finds them: no MAC
        session.execute(update(ApiKey).values(row_mac=None))
        session.execute(update(ConsoleAccount).values(row_mac=None))
        session.commit()
    assert firefly.access.authenticate(key) is None
    assert firefly.accounts.sign_in("old.account", PASSWORD) is None
    assert len(firefly.identities.verify()["findings"]) == 2
    with pytest.raises(Forbidden):
        firefly.identities.vouch(Principal("ops", "compliance"), "checked")
    # `flask audit vouch`: an admin vouches for them as they are, recorded with the reason
    assert firefly.identities.vouch(Principal("ops", "admin"), "verify named only these") == {
        "api_keys": ["old-key"], "accounts": ["old.account"]}
    with firefly.database.session() as session:
        actor, details = session.execute(text("SELECT actor, details FROM access_events "
                                              "WHERE action = 'identities.vouch'")).one()
    assert actor == "ops" and "verify named only these" in str(details)
    assert firefly.access.authenticate(key) == Principal("old-key", "compliance")
    assert firefly.accounts.sign_in("old.account", PASSWORD) is not None
    assert firefly.identities.verify()["findings"] == []


def test_changes_to_keys_and_accounts_are_in_the_access_log(firefly):
    firefly.access.create("ops-key", "admin")
    firefly.access.revoke("ops-key")
    firefly.accounts.create("zhao.min", "underwriter", PASSWORD)
    firefly.accounts.set_password("zhao.min", PASSWORD + "!")
    firefly.accounts.remove("zhao.min")
    with firefly.database.session() as session:
        rows = session.execute(text("SELECT action, details FROM access_events ORDER BY created_at")).all()
    actions = [row[0] for row in rows]
    assert actions == ["key.create", "key.revoke", "account.create", "account.set_password", "account.remove"]
    assert PASSWORD not in str(rows)
