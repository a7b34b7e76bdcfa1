"""Personal data at rest: keyed hashes for search, masked forms for display, sealed values for replay.

A resident ID or phone number is never stored or logged in clear. The decision row keeps
- an HMAC-SHA256 of the normalised value (keyed by FIREFLY_HMAC_KEY) to find an applicant's decisions,
- the masked form (3301**********1234, 138****5678) inside the stored input and trace, by the one
  masking rule of the engine (app/engine/privacy.py),
- the clear values sealed with AES-GCM (a key derived from FIREFLY_HMAC_KEY), so that a replay can
  give the engine exactly the input it saw (the resident-ID rules read the birth date and check digit).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any, Mapping

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.engine.privacy import SEARCHABLE_KINDS, mask


def normalise(value: Any) -> str:
    return "".join(str(value).split()).upper()


class PersonalData:
    """Keyed hashing and sealing with one configured secret."""

    def __init__(self, secret: str) -> None:
        key = secret.encode("utf-8")
        self._hash_key = hmac.new(key, b"firefly/pii-hash/v1", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(key, b"firefly/pii-seal/v1", hashlib.sha256).digest())

    def keyed_hash(self, value: Any) -> str:
        """HMAC-SHA256 hex of the normalised value (the search key)."""
        return hmac.new(self._hash_key, normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()

    def search_hashes(self, clear: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, str]:
        """{kind: keyed hash} of the first value of each searchable kind (resident ID, phone)."""
        hashes: dict[str, str] = {}
        for path, value in clear.items():
            kind = kinds[path]
            if kind in SEARCHABLE_KINDS and kind not in hashes:
                hashes[kind] = self.keyed_hash(value)
        return hashes

    def seal(self, values: Mapping[str, Any]) -> str:
        """Encrypt a JSON-ready dict; returns url-safe text (nonce + ciphertext)."""
        nonce = os.urandom(12)
        data = json.dumps(values, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, data, b"firefly")).decode("ascii")

    def unseal(self, text: str) -> dict[str, Any]:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        return json.loads(self._aead.decrypt(raw[:12], raw[12:], b"firefly"))


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
        node, parts = result, path.split(".")
        for part in parts[:-1]:
            node[part] = dict(node[part])
            node = node[part]
        node[parts[-1]] = value
    return result


def scrub_json(text: str, clear: Mapping[str, Any], kinds: Mapping[str, str]) -> str:
    """Mask every clear personal value in a JSON text: a whole string value of any kind, and any
    occurrence inside a string of a resident ID or phone number (long digit runs that no key holds).
    The engine masks what it knows to be personal; this catches a value copied anywhere else."""
    for path, value in clear.items():
        value = str(value)
        masked = mask(kinds[path], value)
        escaped = json.dumps(value, ensure_ascii=False)[1:-1]
        text = text.replace(f'"{escaped}"', json.dumps(masked, ensure_ascii=False))
        if kinds[path] in SEARCHABLE_KINDS and len(value) >= 6:
            text = text.replace(escaped, json.dumps(masked, ensure_ascii=False)[1:-1])
    return text
