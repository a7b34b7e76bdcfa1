"""Console accounts: scrypt-hashed passwords, server-side sessions that end on sign-out, on a new
password and after the idle timeout; API keys of console roles exchanged for a session, never a
channel's."""
import datetime

import pytest

from app.services.errors import Conflict, InvalidInput, NotFound
from app.storage.models import ConsoleAccount
from support.keys import KEYS

PASSWORD = "correct horse battery"


def test_a_password_is_stored_as_a_scrypt_hash_and_signs_in(firefly):
    firefly.accounts.create("li.wei", "compliance", PASSWORD)
    with firefly.database.session() as session:
        stored = session.query(ConsoleAccount).filter_by(username="li.wei").one()
    assert stored.password_hash.startswith("scrypt:") and PASSWORD not in stored.password_hash
    token = firefly.accounts.sign_in("li.wei", PASSWORD)
    assert token and firefly.accounts.person(token).role == "compliance"
    assert firefly.accounts.sign_in("li.wei", PASSWORD + "x") is None
    assert firefly.accounts.sign_in("nobody", PASSWORD) is None


def test_accounts_refuse_weak_passwords_unknown_roles_and_taken_names(firefly):
    with pytest.raises(InvalidInput, match="12 characters"):
        firefly.accounts.create("li.wei", "compliance", "short")
    with pytest.raises(InvalidInput, match="no console role 'channel'"):
        firefly.accounts.create("li.wei", "channel", PASSWORD)
    with pytest.raises(InvalidInput, match="key:"):
        firefly.accounts.create("key:dev", "admin", PASSWORD)
    firefly.accounts.create("li.wei", "compliance", PASSWORD)
    with pytest.raises(Conflict):
        firefly.accounts.create("li.wei", "admin", PASSWORD)
    with pytest.raises(NotFound):
        firefly.accounts.set_password("nobody", PASSWORD)


def test_sign_out_and_a_new_password_end_sessions(firefly):
    firefly.accounts.create("li.wei", "compliance", PASSWORD)
    first = firefly.accounts.sign_in("li.wei", PASSWORD)
    second = firefly.accounts.sign_in("li.wei", PASSWORD)
    firefly.accounts.sign_out(first)
    assert firefly.accounts.person(first) is None
    assert firefly.accounts.person(second) is not None
    firefly.accounts.set_password("li.wei", "another long password")
    assert firefly.accounts.person(second) is None
    assert firefly.accounts.sign_in("li.wei", PASSWORD) is None


def test_a_session_ends_after_the_idle_timeout_and_use_keeps_it_alive(firefly, clock):
    firefly.accounts.create("li.wei", "compliance", PASSWORD)
    token = firefly.accounts.sign_in("li.wei", PASSWORD)
    idle = firefly.accounts.idle_timeout
    clock.now += idle - datetime.timedelta(seconds=1)
    assert firefly.accounts.person(token) is not None      # used: idle time starts again
    clock.now += idle - datetime.timedelta(seconds=1)
    assert firefly.accounts.person(token) is not None
    clock.now += idle + datetime.timedelta(seconds=1)
    assert firefly.accounts.person(token) is None
    clock.now += datetime.timedelta(seconds=1)
    assert firefly.accounts.person(token) is None          # ended, not only refused once


def test_a_compliance_key_opens_a_session_and_a_channel_key_does_not(firefly):
    token, person = firefly.accounts.sign_in_with_key(KEYS["compliance"])
    assert token and person.role == "compliance"
    assert firefly.accounts.person(token).username == person.username
    token, person = firefly.accounts.sign_in_with_key(KEYS["channel"])
    assert token is None and person.role == "channel"
    assert firefly.accounts.sign_in_with_key("not-a-key") == (None, None)
    # the account of a key has no password that could match
    assert firefly.accounts.sign_in(f"key:{firefly.access.authenticate(KEYS['compliance']).name}", "!") is None


def test_password_hashes_are_werkzeugs_scrypt_format():
    from werkzeug.security import check_password_hash, generate_password_hash

    from app.privacy import hash_password, password_matches
    made = hash_password(PASSWORD)
    assert check_password_hash(made, PASSWORD) and not check_password_hash(made, PASSWORD + "!")
    assert password_matches(generate_password_hash(PASSWORD, method="scrypt"), PASSWORD)
    assert not password_matches("!", PASSWORD) and not password_matches("pbkdf2:x$y$z", PASSWORD)


def test_a_failed_sign_in_costs_one_scrypt_whatever_the_username(firefly, monkeypatch):
    """Username enumeration by timing: a wrong password, a username that does not exist and the
    account of an API key (which has no password) all cost the same work, one scrypt derivation,
    so that no answer comes back sooner for one kind of name. (Counted, not timed: the real
    derivation runs each time.)"""
    from app import privacy
    firefly.accounts.create("li.wei", "compliance", PASSWORD)
    token, _ = firefly.accounts.sign_in_with_key(KEYS["compliance"])
    assert token                                     # the account key:test-compliance exists now
    derived = []
    real = privacy._scrypt
    monkeypatch.setattr(privacy, "_scrypt", lambda *args: derived.append(1) or real(*args))
    for username in ("li.wei", "nobody", "key:test-compliance"):
        derived.clear()
        assert firefly.accounts.sign_in(username, "a wrong password") is None
        assert len(derived) == 1, username


@pytest.fixture
def stuffed(database_url, redis_url, clean_state, clock):
    """The services with wrong console passwords counted per client address too (3 within one to
    two windows), on the test's clock."""
    from app.services import build
    from support.settings import make_settings
    services = build(make_settings(database_url, redis_url, FIREFLY_SIGN_IN_FAILURE_LIMIT="3"), clock=clock)
    yield services
    services.close()


STUFFER, NEIGHBOUR = "198.51.100.7", "203.0.113.9"


def test_credential_stuffing_from_one_address_is_held_back_whatever_the_username(stuffed, clock):
    """One common password tried against many usernames from one address: each username fails
    once (its own count never moves), but the address's count does; past the limit the address is
    refused before any password is checked, a right one too, until the window moves on; another
    address signs in as before."""
    from app.services.errors import TooManyAttempts
    from app.state import SIGN_IN_WINDOW
    stuffed.accounts.create("li.wei", "compliance", PASSWORD)
    for username in ("a.user", "b.user", "c.user"):
        assert stuffed.accounts.sign_in(username, "Password123!", STUFFER) is None
    with pytest.raises(TooManyAttempts) as held:
        stuffed.accounts.sign_in("d.user", "Password123!", STUFFER)
    assert held.value.code == "too_many_attempts_from_address"
    assert SIGN_IN_WINDOW < held.value.retry_after <= 2 * SIGN_IN_WINDOW + 1  # through the next window
    with pytest.raises(TooManyAttempts):                # the right password, from that address
        stuffed.accounts.sign_in("li.wei", PASSWORD, STUFFER)
    assert stuffed.accounts.sign_in("li.wei", PASSWORD, NEIGHBOUR)   # another address: its own count
    assert stuffed.accounts.sign_in("e.user", "Password123!", NEIGHBOUR) is None
    # a failure counts in its window and the next: two windows on, the address may try again
    clock.now += datetime.timedelta(seconds=SIGN_IN_WINDOW)
    with pytest.raises(TooManyAttempts):
        stuffed.accounts.sign_in("li.wei", PASSWORD, STUFFER)
    clock.now += datetime.timedelta(seconds=SIGN_IN_WINDOW)
    assert stuffed.accounts.sign_in("li.wei", PASSWORD, STUFFER)


@pytest.mark.parametrize("in_this_window", [3, 1])
def test_retry_after_is_when_the_address_is_let_in_again(stuffed, clock, in_this_window):
    """Three failures, all in this window (they count through the next one) or two in the one
    before and one in this (those two stop counting when this one ends): Retry-After is the moment
    the count falls below the limit, so a client that waits that long is let in, and one that
    comes back two seconds sooner is not."""
    from app.services.errors import TooManyAttempts
    from app.state import SIGN_IN_WINDOW
    stuffed.accounts.create("li.wei", "compliance", PASSWORD)
    stamp = clock.now.timestamp()  # 100 s into a window
    clock.now = datetime.datetime.fromtimestamp(stamp - stamp % SIGN_IN_WINDOW + 100, tz=clock.now.tzinfo)
    start = clock.now
    for n in range(3 - in_this_window):
        assert stuffed.accounts.sign_in(f"before.{n}", "Password123!", STUFFER) is None
    if in_this_window < 3:
        clock.now += datetime.timedelta(seconds=SIGN_IN_WINDOW)
    for n in range(in_this_window):
        assert stuffed.accounts.sign_in(f"now.{n}", "Password123!", STUFFER) is None
    with pytest.raises(TooManyAttempts) as held:
        stuffed.accounts.sign_in("li.wei", PASSWORD, STUFFER)
    wait = held.value.retry_after
    assert wait == SIGN_IN_WINDOW - 100 + 1 + (SIGN_IN_WINDOW if in_this_window == 3 else 0)
    asked = clock.now
    clock.now = asked + datetime.timedelta(seconds=wait - 2)
    with pytest.raises(TooManyAttempts):
        stuffed.accounts.sign_in("li.wei", PASSWORD, STUFFER)
    clock.now = asked + datetime.timedelta(seconds=wait)
    assert stuffed.accounts.sign_in("li.wei", PASSWORD, STUFFER)
    assert clock.now > start


def test_an_ipv6_address_is_counted_by_its_network(stuffed):
    from app.services.errors import TooManyAttempts
    stuffed.accounts.create("li.wei", "compliance", PASSWORD)
    for n, address in enumerate(("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9")):
        assert stuffed.accounts.sign_in(f"user.{n}", "Password123!", address) is None
    with pytest.raises(TooManyAttempts):
        stuffed.accounts.sign_in("li.wei", PASSWORD, "2001:db8:1:2::77")
    assert stuffed.accounts.sign_in("li.wei", PASSWORD, "2001:db8:1:3::1")


def test_without_the_address_limit_only_the_username_is_counted(firefly):
    firefly.accounts.create("li.wei", "compliance", PASSWORD)
    for n in range(30):
        assert firefly.accounts.sign_in(f"user.{n}", "Password123!", STUFFER) is None
    assert firefly.accounts.sign_in("li.wei", PASSWORD, STUFFER)
