"""Personal data: keyed hashes for search, masked forms for display, sealed values for replay.

A resident ID or phone number is never stored or logged in clear. The decision row keeps
- an HMAC-SHA256 of the normalised value (keyed by FIREFLY_HMAC_KEY) to find an applicant's decisions,
- the masked form (3301**********1234, 138****5678) inside the stored input and trace,
- the clear values sealed with AES-GCM (a key derived from FIREFLY_HMAC_KEY), so that a replay can
  give the engine exactly the input it saw (the resident-ID rules read the birth date and check digit).
"""
import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KINDS = ("resident_id", "phone", "name")


def normalise(value):
    return "".join(str(value).split()).upper()


class Pii:
    """Keyed hashing, masking and sealing with one configured secret."""

    def __init__(self, secret):
        secret = secret.encode("utf-8")
        self._hash_key = hmac.new(secret, b"firefly/pii-hash/v1", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(secret, b"firefly/pii-seal/v1", hashlib.sha256).digest())

    def keyed_hash(self, value):
        """HMAC-SHA256 hex of the normalised value (the search key)."""
        return hmac.new(self._hash_key, normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, values):
        """Encrypt a JSON-ready dict; returns url-safe text (nonce + ciphertext)."""
        nonce = os.urandom(12)
        data = json.dumps(values, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, data, b"firefly")).decode("ascii")

    def unseal(self, text):
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        return json.loads(self._aead.decrypt(raw[:12], raw[12:], b"firefly"))


def mask(value, kind):
    """The display form of a personal value: enough to recognise, not enough to identify."""
    text = str(value)
    if kind == "resident_id":
        return text[:4] + "*" * max(len(text) - 8, 0) + text[-4:] if len(text) > 8 else "*" * len(text)
    if kind == "phone":
        return text[:3] + "*" * max(len(text) - 7, 0) + text[-4:] if len(text) > 7 else "*" * len(text)
    return text[:1] + "*" * max(len(text) - 1, 1)


def get_path(data, path):
    """The value at a dotted path in nested dicts, or None."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def set_path(data, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        data = data[part]
    data[parts[-1]] = value


def extract(raw, fields):
    """{path: clear value} for the personal fields present in a request body."""
    found = {}
    for path in fields:
        value = get_path(raw, path)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
            found[path] = value
    return found


def masked_copy(raw, clear, fields):
    """The request body with every personal field masked (the body itself is left untouched)."""
    return _replaced(raw, {path: mask(value, fields[path]) for path, value in clear.items()})


def restore(masked, clear):
    """The request body again: the masked copy with the sealed clear values put back."""
    return _replaced(masked, clear)


def _replaced(data, values):
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


def scrub_json(text, clear, fields):
    """Mask every clear personal value in a JSON text: a whole string value of any kind, and any
    occurrence inside a string of a resident ID or phone number (long digit runs that no key holds)."""
    for path, value in clear.items():
        value = str(value)
        masked = mask(value, fields[path])
        escaped = json.dumps(value, ensure_ascii=False)[1:-1]
        text = text.replace(f'"{escaped}"', json.dumps(masked, ensure_ascii=False))
        if fields[path] in ("resident_id", "phone") and len(value) >= 6:
            text = text.replace(escaped, json.dumps(masked, ensure_ascii=False)[1:-1])
    return text


def scrub(obj, clear, fields):
    """Replace every clear personal value found anywhere in a JSON-ready structure by its mask."""
    if not clear:
        return obj
    replacements = [(str(v), mask(v, fields[p])) for p, v in clear.items() if len(str(v)) >= 2]
    return _scrub(obj, replacements)


def _scrub(obj, replacements):
    if isinstance(obj, dict):
        return {k: _scrub(v, replacements) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_scrub(v, replacements) for v in obj]
    if isinstance(obj, str):
        for clear, masked in replacements:
            if clear in obj:
                obj = obj.replace(clear, masked)
        return obj
    if isinstance(obj, int) and not isinstance(obj, bool):
        for clear, masked in replacements:
            if str(obj) == clear:
                return masked
    return obj


def init_app(app):
    app.extensions["firefly_pii"] = Pii(app.config["FIREFLY_HMAC_KEY"])
