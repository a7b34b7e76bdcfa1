"""Personal data at rest: keyed hashes for search, masked forms for display, sealed values for replay.

A resident ID, phone number or birth date is never stored or logged in clear. The decision row keeps
- an HMAC-SHA256 of the normalised ID and phone (keyed by FIREFLY_HMAC_KEY) to find an applicant's
  decisions,
- the masked form (33**************71, 138****5678, ****-**-**) inside the stored input and trace,
  by the one masking rule of the engine (app/engine/privacy.py),
- the clear values sealed with AES-GCM (a key derived from FIREFLY_HMAC_KEY), so that a replay can
  give the engine exactly the input it saw (the resident-ID rules read the birth date and check digit),
- the request's fingerprint for Idempotency-Key, an HMAC too: an unkeyed hash of the body gave its
  name and phone back to anyone who could guess them (docs/controls.md).

Every keyed value names the key that made it (a key id, the first hex digits of an HMAC of the key:
it identifies the key without revealing it), so FIREFLY_HMAC_KEY can be rotated: the old keys stay
listed in FIREFLY_HMAC_OLD_KEYS, searches look for the hashes under every key and a sealed value
opens with the key it names.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import threading
import unicodedata
from typing import Any, Callable, Iterable, Mapping

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.engine.privacy import SEARCHABLE_KINDS, TEXT, embedded, mask


def normalise(value: Any, folded: bool = True) -> str:
    """A value as it is hashed: compatibility characters folded (NFKC: full-width digits and
    letters are the ASCII ones), white space removed, upper case. The same number typed in
    full-width digits is the same key for velocity, links, lists and search. An IP address is
    written one way first: `::ffff:10.1.2.3` is `10.1.2.3`, and `2001:0DB8:0:0::1` is `2001:db8::1`,
    and a port or URL brackets are dropped (`10.1.2.3:50123`, `[2001:db8::1]:443`), so that a
    channel (or a client behind it) writing one address two ways counts once.
    Characters that show nothing are removed too (control and format characters such as the
    zero-width space, the soft hyphen and the byte order mark; variation selectors, fillers): NFKC
    keeps them, and one inside a device id or an employer's name made a new key that no screen
    shows, so a burst from one device counted once per "device" and a listed name was not on the list.
    Dashes and middle dots that look alike are written as one (`_DASHES_AND_DOTS`): NFKC folds the
    full-width hyphen but not the typeset hyphen, the en or em dash or the minus sign, so a device
    id pasted from a document or an employer's name typed with another input method's dash (or
    middle dot) was another key. Traditional characters are written as simplified ones (OpenCC's
    t2s): `某某勞務派遣有限公司` is the employer `某某劳务派遣有限公司`, for its counts and on the
    lists. Letters of other alphabets that show as Latin letters or digits are those
    (`_lookalikes`): `DEV-ВАD-0002` typed with the Cyrillic В and А is the device
    `DEV-BAD-0002`. (`folded=False`: the form values were hashed in before 2026-11-30, with their
    dashes, dots, letters and traditional characters as written: `earlier_form`.)"""
    text = unicodedata.normalize("NFKC", str(value))
    if not text.isascii() or not text.isprintable():
        text = _visible(text)
        if folded:
            text = _simplified(text.translate(_lookalikes()))
    text = "".join(text.split())
    if ("." in text or ":" in text) and len(text) <= 64:
        text = _ip_address(text)
    text = text.upper()
    if folded and not text.isascii():
        # capitals that only upper case made (ᲀ, a Cyrillic small ve, is the capital В: B)
        text = text.translate(_lookalikes())
    return text


# Control (Cc) and format (Cf) characters, and the other default-ignorable code points of Unicode
# (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation
# selectors, variation selectors, tags): characters a renderer shows as nothing.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f"
                        "\uffa0\U000e0000-\U000e0fff]")


# Characters that show as the ASCII hyphen or the Chinese interpunct (间隔号, U+00B7) and that NFKC
# leaves apart: the hyphen (U+2010), figure dash, en and em dashes, horizontal bar and minus sign
# (the separators app/engine/privacy.py reads inside numbers); the katakana middle dot (U+30FB, what
# NFKC makes of the half-width one), the hyphenation point, the bullet and the bullet and dot
# operators.
_DASHES_AND_DOTS = str.maketrans({**dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
                                  **dict.fromkeys("\u30fb\u2027\u2022\u2219\u22c5", "\u00b7")})


@functools.cache
def _lookalikes() -> dict[int, str]:
    """The one translation table of characters written as another that looks the same: the dashes
    and dots (`_DASHES_AND_DOTS`), and the letters and signs of other scripts that Unicode's
    confusables (UTS #39, as the confusable-homoglyphs package keeps them) name as looking like one
    ASCII letter or digit, written as that character in capitals: the Cyrillic А, В, Е, О, Р, С,
    Т, Х, the Greek Α, Β, Ο, Ρ, the Armenian օ, Cherokee letters. A device id typed with them was
    another key, counted apart and on no list, while a screen showed the listed one.
    - ASCII is left alone (no key of digits and Latin letters hashes otherwise), as is what NFKC
      already folds.
    - Keys are compared in capitals, so a small letter whose capital looks Latin is that letter
      too: the Cyrillic в shows as no Latin letter, its capital В as B.
    - Unicode's prototype of a lone vertical stroke (І, Ӏ, Ι) is the small l; among capitals it
      reads as I."""
    from confusable_homoglyphs import confusables  # 900 KB of JSON: read once, when PersonalData is made
    table = {}
    for char, lookalikes in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii() or unicodedata.normalize("NFKC", char) != char:
            continue
        latin = [other["c"] for other in lookalikes
                 if len(other["c"]) == 1 and other["c"].isascii() and other["c"].isalnum()]
        if len(latin) == 1:
            table[ord(char)] = "I" if latin[0] == "l" else latin[0].upper()
    for capital, latin in list(table.items()):
        small = chr(capital).lower()
        if len(small) == 1 and ord(small) not in table and small.upper() == chr(capital):
            table[ord(small)] = latin
    return {**table, **_DASHES_AND_DOTS}


def forms(value: Any) -> list[str]:
    """The normalised texts a stored hash of the value may be of: its form now, then, when it
    differs, the form it was hashed in before look-alike dashes, middle dots, letters and
    traditional characters were folded (2026-11-30). A list entry or a row stored before then
    holds the hash of that earlier form (`PersonalData.search_keys` looks under both)."""
    now = normalise(value)
    if str(value).isascii():  # no folding touches ASCII
        return [now]
    return list(dict.fromkeys((now, normalise(value, folded=False))))


def earlier_form(value: Any) -> bool:
    """Whether the value was hashed otherwise before 2026-11-30 (`forms`): it holds one of them."""
    return len(forms(value)) > 1


_converters = threading.local()


def _simplified(text: str) -> str:
    """`text` with traditional Chinese characters written as simplified ones (OpenCC t2s, one
    converter per thread: the serving threads convert at once)."""
    converter = getattr(_converters, "t2s", None)
    if converter is None:
        import opencc  # loaded at the first non-ASCII key: its dictionaries take a moment
        converter = _converters.t2s = opencc.OpenCC("t2s")
    return converter.convert(text)


def _visible(text: str) -> str:
    """`text` without the characters that show nothing."""
    text = "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)
    return _IGNORABLE.sub("", text)


# An address as a socket or a URL writes it: `10.9.8.7:50123`, `[2408:8207::1]:443`, `[2408:8207::1]`.
_WITH_PORT = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([0-9]{1,3}(?:\.[0-9]{1,3}){3}))(?::([0-9]{1,5}))?$")


def _ip_address(text: str) -> str:
    """`text` in the one form of its IP address, or as it is when it is none. An address with a
    port (`10.9.8.7:50123`) or in brackets (`[2408:8207::1]:443`) is the address alone: a channel
    passing the client's socket address sent a new port, so a new key, on every connection."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        written = _WITH_PORT.match(text)
        if written is None or int(written.group(3) or 0) > 65535:
            return text
        try:
            address = ipaddress.ip_address(written.group(1) or written.group(2))
        except ValueError:
            return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def counted_as(value: Any) -> str:
    """A value as the anti-fraud memory counts, links and tells it apart (app/services/velocity.py):
    normalised, and an IPv6 address by its /64 network (`2001:db8:1:2::/64`). A home line or a
    phone on an IPv6 network is given a /64 and picks any address in it at will (a new temporary
    address a day, or one per connection: RFC 8981), so a count per address counts nothing a
    fraud ring would send twice. IPv4 addresses (and IPv4 written as IPv6) count per address."""
    text = normalise(value)
    if ":" in text and len(text) <= 64:
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return text
        network = ipaddress.IPv6Network((int(address) >> 64 << 64, 64))
        return str(network).upper()
    return text


def key_id(secret: str) -> str:
    """The id of a key: 8 hex digits of an HMAC under it (names the key, reveals nothing of it)."""
    return hmac.new(secret.encode("utf-8"), b"firefly/key-id", hashlib.sha256).hexdigest()[:8]


class _Key:
    """One secret and the keys derived from it for each purpose. (hmac.digest is HMAC-SHA256 in
    one call: the same digest as hmac.new(...).digest(), without building an object per hash.)"""

    def __init__(self, secret: str) -> None:
        raw = secret.encode("utf-8")
        self.id = key_id(secret)
        self.hash_key = hmac.new(raw, b"firefly/pii-hash/v1", hashlib.sha256).digest()
        self.request_key = hmac.new(raw, b"firefly/request-hash/v1", hashlib.sha256).digest()
        self.aead = AESGCM(hmac.new(raw, b"firefly/pii-seal/v1", hashlib.sha256).digest())
        self.log_key = hmac.new(raw, b"firefly/log-mac/v1", hashlib.sha256).digest()

    def keyed_hash(self, value: Any, folded: bool = True) -> str:
        return self.hash_of(normalise(value, folded))

    def hash_of(self, normalised: str) -> str:
        return hmac.digest(self.hash_key, normalised.encode("utf-8"), "sha256").hex()


class PersonalData:
    """Keyed hashing and sealing with the configured secret; older secrets still open and find
    what they made."""

    def __init__(self, secret: str, previous: Iterable[str] = ()) -> None:
        self._current = _Key(secret)
        self._keys = {self._current.id: self._current}
        for old in previous:
            self._keys.setdefault(key_id(old), _Key(old))
        # the look-alike table is read from the package's 900 KB of JSON: 92 ms, measured, paid
        # here (once a process, at start) rather than by the first application with a Chinese name
        _lookalikes()

    @property
    def key_id(self) -> str:
        """The id of the key that hashes and seals now."""
        return self._current.id

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def keyed_hash(self, value: Any, folded: bool = True) -> str:
        """HMAC-SHA256 hex of the normalised value under the current key (the search key)."""
        return self._current.keyed_hash(value, folded)

    def hashers(self) -> list[tuple[str, Callable[[Any], str]]]:
        """(key id, keyed hash) of every configured key: the current key first, then the old ones
        as FIREFLY_HMAC_OLD_KEYS lists them (the anti-fraud counters write under old keys for a
        while after a rotation: app/services/velocity.py)."""
        return [(kid, key.keyed_hash) for kid, key in self._keys.items()]

    def search_keys(self, value: Any) -> list[str]:
        """The value's keyed hash under every known key: a search finds rows hashed before a rotation.
        A value that was hashed otherwise before 2026-11-30 (`forms`: it holds a dash, a middle dot
        or a letter of another script that looks like another, or a traditional character) is
        looked for in that form too, so that a blacklist entry added before then still matches: on
        the lists, not matching fails open."""
        return [key.hash_of(text) for text in forms(value) for key in self._keys.values()]

    def search_hashes(self, clear: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, str]:
        """{kind: keyed hash} of the first value of each searchable kind (resident ID, phone)."""
        hashes: dict[str, str] = {}
        for path, value in clear.items():
            kind = kinds[path]
            if kind in SEARCHABLE_KINDS and kind not in hashes:
                hashes[kind] = self.keyed_hash(value)
        return hashes

    def request_hash(self, policy_name: str, raw: Mapping[str, Any], kid: str | None = None) -> str:
        """`key id:HMAC` of a request (the policy and the body's canonical JSON), for Idempotency-Key;
        under the key named by `kid` (to compare with a stored one), else the current key."""
        key = self._key(kid) if kid else self._current
        # default=str: a body's Decimal numbers (api/body.py) hash as their text, as the same number
        # sent as a string does; a decimal input reads both as one value, any other input refuses one
        text = json.dumps([policy_name, raw], sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str)
        return f"{key.id}:" + hmac.digest(key.request_key, text.encode("utf-8"), "sha256").hex()

    def same_request(self, stored: str, policy_name: str, raw: Mapping[str, Any]) -> bool:
        """Whether a stored request hash is this request's (under the key that made it)."""
        kid = stored.split(":", 1)[0] if ":" in stored else None
        if kid is None or kid not in self._keys:
            return False
        return hmac.compare_digest(stored, self.request_hash(policy_name, raw, kid))

    def knows(self, kid: str | None) -> bool:
        """Whether the key with this id is configured (None: made before key ids, by a key unknown)."""
        return kid is None or kid in self._keys

    def mac(self, text: str) -> str:
        """`key id:HMAC` of a chained log's text (an entry's content hash, a link of the chain)."""
        key = self._current
        return f"{key.id}:" + hmac.digest(key.log_key, text.encode("utf-8"), "sha256").hex()

    def mac_matches(self, mac: str | None, text: str) -> bool:
        """Whether a stored MAC is the text's, under the key it names (False for an unknown key)."""
        kid = (mac or "").split(":", 1)[0]
        key = self._keys.get(kid)
        if key is None:
            return False
        expected = f"{kid}:" + hmac.digest(key.log_key, text.encode("utf-8"), "sha256").hex()
        return hmac.compare_digest(mac or "", expected)

    def seal(self, values: Mapping[str, Any]) -> str:
        """Encrypt a JSON-ready dict; returns `key id.` and url-safe text (nonce + ciphertext)."""
        nonce = os.urandom(12)
        data = json.dumps(values, ensure_ascii=False, sort_keys=True).encode("utf-8")
        sealed = base64.urlsafe_b64encode(nonce + self._current.aead.encrypt(nonce, data, b"firefly"))
        return f"{self._current.id}." + sealed.decode("ascii")

    def unseal(self, text: str) -> dict[str, Any]:
        """The sealed dict; KeyError when its key is not configured any more."""
        kid, _, body = text.rpartition(".")
        keys = [self._key(kid)] if kid else list(self._keys.values())  # unnamed: sealed before key ids
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
        for key in keys:
            try:
                return json.loads(key.aead.decrypt(raw[:12], raw[12:], b"firefly"))
            except Exception:  # noqa: BLE001 - InvalidTag: try the next older key
                if key is keys[-1]:
                    raise
        raise KeyError(kid)

    def _key(self, kid: str) -> _Key:
        key = self._keys.get(kid)
        if key is None:
            raise KeyError(f"no configured key has the id {kid!r} (FIREFLY_HMAC_OLD_KEYS)")
        return key


_LINE_PATH = re.compile(r"^(/v1/lines/)([^/]*)")


def path_for_log(path: str | None) -> str | None:
    """A request path as the access logs write it: a line id in it (`/v1/lines/<line id>/...`,
    personal data) masked like everywhere else."""
    if not path:
        return path
    return _LINE_PATH.sub(lambda m: m.group(1) + mask("line", m.group(2)), path, count=1)


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path in nested dicts, or None."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def extract(raw: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """{path: clear value} for the personal fields present in a request body."""
    found = {}
    for path in kinds:
        value = get_path(raw, path)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
            found[path] = value
    return found


def free_text(raw: Mapping[str, Any], paths: Iterable[str]) -> dict[str, str]:
    """{path: clear text} of the free-text values of a request body that hold personal data typed
    inside them (app/engine/privacy.py's `embedded`). They are stored as the personal fields are:
    masked (kind TEXT: only the numbers inside are) and sealed whole, so that a replay gives the
    engine the text it read. A field of a list of records (`list[].field`) is found per item, at
    `list[i].field`."""
    found: dict[str, str] = {}
    for path in paths:
        head, marker, field = path.partition("[].")
        if not marker:
            value = get_path(raw, path)
            if isinstance(value, str) and embedded(value):
                found[path] = value
            continue
        items = get_path(raw, head)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            value = item.get(field) if isinstance(item, dict) else None
            if isinstance(value, str) and embedded(value):
                found[f"{head}[{index}].{field}"] = value
    return found


def masked_copy(raw: Mapping[str, Any], clear: Mapping[str, Any], kinds: Mapping[str, str]) -> dict:
    """The request body with every personal field masked (the body itself is left untouched)."""
    return _replaced(raw, {path: mask(kinds[path], str(value)) for path, value in clear.items()})


def restore(masked: Mapping[str, Any], clear: Mapping[str, Any]) -> dict:
    """The request body again: the masked copy with the sealed clear values put back."""
    return _replaced(masked, clear)


def _replaced(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict:
    """A copy of nested dicts with the values at some paths replaced; only the dicts on those
    paths are copied."""
    result = dict(data)
    for path, value in values.items():
        node: Any = result
        steps = _steps(path)
        for step in steps[:-1]:
            child = node[step]
            node[step] = list(child) if isinstance(child, list) else dict(child)
            node = node[step]
        node[steps[-1]] = value
    return result


_ITEM = re.compile(r"^(.*)\[(\d+)\]$")


def _steps(path: str) -> list[str | int]:
    """The keys and list indexes of a path: `bureau.accounts[2].lender` is
    ["bureau", "accounts", 2, "lender"]."""
    steps: list[str | int] = []
    for part in path.split("."):
        item = _ITEM.match(part) if part.endswith("]") else None
        steps.extend((item.group(1), int(item.group(2))) if item else (part,))
    return steps


def scrub_json(text: str, clear: Mapping[str, Any], kinds: Mapping[str, str]) -> str:
    """Mask every clear personal value in a canonical JSON text: a whole string value of any kind,
    and any occurrence inside a string of a resident ID or phone number (long digit runs that no
    key holds). The engine masks what it knows to be personal; this catches a value copied
    anywhere else. It works on the parsed values, not the text: a value such as "," or '":"'
    replaced in the text would match across tokens and break the JSON.

    `text` is canonical JSON (canonical_json's form). When no clear value can be in it, the text is
    returned as it is (parsing and writing it again would give the same text): a value made only
    of characters that JSON writes as themselves (no quote, backslash, slash or control
    character) that is not a substring of a text without \\u escapes is in none of its strings.
    Otherwise the text is parsed, scrubbed and written again."""
    if not clear:
        return text
    whole: dict[str, str] = {}
    inside: list[tuple[str, str]] = []
    for path, value in clear.items():
        value = str(value)
        masked = mask(kinds[path], value)
        whole[value] = masked
        if kinds[path] in SEARCHABLE_KINDS and len(value) >= 6:
            inside.append((value, masked))
        elif kinds[path] == TEXT:  # a free text's numbers, as typed and as digits, wherever copied
            for start, end, kind, number in embedded(value):
                shown = mask(kind, number)
                inside.extend((form, shown) for form in dict.fromkeys((value[start:end], number)))
    if "\\u" not in text and not any(_may_occur(value, text) for value in whole) \
            and not any(value in text for value, _ in inside):
        return text
    return _scrub_parsed(text, whole, inside)


def _may_occur(value: str, text: str) -> bool:
    """Whether a string of the JSON text may hold `value` (True unless it certainly does not)."""
    return value in text or not value or _ESCAPED.search(value) is not None


_ESCAPED = re.compile(r'[\x00-\x1f"\\/]')  # characters JSON text may write as an escape


def _scrub_parsed(text: str, whole: Mapping[str, str], inside: list[tuple[str, str]]) -> str:
    """scrub_json on the parsed values: every string equal to a clear value masked whole, every
    searchable clear value inside a string masked there; written again canonically."""

    def scrub(node: Any) -> Any:
        if node.__class__ is str:
            if node in whole:
                return whole[node]
            for value, masked in inside:
                if value in node:
                    node = node.replace(value, masked)
            return node
        if node.__class__ is dict:
            return {key: scrub(item) for key, item in node.items()}
        if node.__class__ is list:
            return [scrub(item) for item in node]
        return node

    # The same form as the engine's canonical_json: sorted keys, no spaces, UTF-8 kept.
    return json.dumps(scrub(json.loads(text)), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# Console passwords: scrypt (stdlib hashlib) in werkzeug.security's format, "scrypt:N:r:p$salt$hex",
# so that werkzeug's check_password_hash reads these hashes too. N=2**15, r=8: about 32 MiB and
# 0.1 s per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_urlsafe(12)
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}${salt}${_scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)}"


def password_matches(stored: str, password: str) -> bool:
    """The password is the one `stored` was made from (a malformed hash matches nothing)."""
    try:
        method, salt, expected = stored.split("$", 2)
        name, n, r, p = method.split(":")
        if name != "scrypt":
            return False
        actual = _scrypt(password, salt, int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt.encode("utf-8"), n=n, r=r, p=p,
                          maxmem=132 * n * r * p, dklen=64).hex()
