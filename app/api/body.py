"""Reading a JSON request body strictly: 415 for another content type or a content coding, 413
when too large (also a chunked body, which announces no length), 408 when the client stops sending
before the end, 400 when it is not a JSON object (or names a member of an object twice, or nests
deeper than any input)."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, g, request

from app.api.errors import ApiError

# Levels of objects and lists a body may nest (the body itself is level 1). An input nests a
# few levels (sections, lists of records); a body nested near Python's recursion limit was read,
# then failed as a 500 when written again for the request's fingerprint, further down the stack.
MAX_NESTING = 32


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _NamedTwice(ValueError):
    """An object of the body gives a member's name more than once."""


def _number(text: str) -> Decimal:
    """A JSON number with a point or an exponent, exactly as written. One whose exponent is beyond
    what Decimal holds (1e999999999999999999999) is infinite: no input takes it (422 naming the
    field), as none took the float infinity it was read as before."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("-Infinity" if text.startswith("-") else "Infinity")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose members each have their own name. A name given twice means what the
    reader makes of it (Python keeps the last value; many gateways, WAFs and other parsers the
    first), so the service could decide on a value that a component in front of it, or the
    channel's own record of the request, reads differently: refused, naming the member (never
    its values)."""
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _NamedTwice(ascii(name[:64]))
            seen.add(name)
    return members


def json_object(required: bool = True) -> dict[str, Any]:
    """The request body as a dict, or {} when optional and empty."""
    data = body_bytes()
    if not data and not required:
        return {}
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    codings = [c.strip().lower() for c in request.headers.get("Content-Encoding", "").split(",")]
    if any(coding not in ("", "identity") for coding in codings):
        # Read as it came, a body marked gzip was decided on as plain JSON: one a gateway could not
        # decompress (so did not inspect) reached the engine. No coding is read here.
        raise ApiError(415, "unsupported_media_type", "send the body without a Content-Encoding "
                       "(identity): the service decodes none", headers={"Accept-Encoding": "identity"})
    try:
        # A number with a point or an exponent is read as the Decimal it writes, never a float: a
        # decimal input is exact to 18 digits either side of the point (engine/validation.py), and a
        # float had rounded 12345678901234567.25 before validation saw it. An integer input still
        # refuses it (1.0 is no JSON integer), as it refused the float.
        body = json.loads(data.decode("utf-8"), parse_constant=_reject_constant, parse_float=_number,
                          object_pairs_hook=_object)
    except _NamedTwice as error:
        raise ApiError(400, "malformed_json", f"the body gives the member {error} more than once in one "
                       "object; which value is meant depends on the reader: send each member once") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ApiError(400, "malformed_json", f"the body is not valid UTF-8 JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    if _deeper_than(body, MAX_NESTING):
        raise ApiError(400, "malformed_json", f"the body nests objects and lists more than {MAX_NESTING} "
                       "levels deep")
    if b"\\ud" in data.lower():
        _reject_lone_surrogates(body)
    return body


def _deeper_than(body: Any, most: int) -> bool:
    """Whether objects and lists nest more than `most` levels (walked without recursion)."""
    level = [body]
    for _ in range(most):
        level = [child for node in level
                 for child in (node.values() if node.__class__ is dict else node)
                 if child.__class__ is dict or child.__class__ is list]
        if not level:
            return False
    return True


def body_bytes() -> bytes:
    """The whole body, at most MAX_CONTENT_LENGTH bytes, read once from the server's stream (not
    through werkzeug's, which cuts a chunked body at the limit in silence and reports a read that
    timed out as a disconnect)."""
    if "firefly_body" in g:
        return g.firefly_body
    limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
    announced = request.content_length
    if announced is not None and announced > limit:
        raise _too_large(limit)
    if announced is None and "wsgi.input_terminated" not in request.environ:
        data = b""  # no length and a server that does not end the stream: nothing to read safely
    else:
        data = _read(request.environ["wsgi.input"], limit + 1 if announced is None else announced)
        if len(data) > limit:
            raise _too_large(limit)
        if announced is not None and len(data) < announced:
            raise ApiError(400, "incomplete_body", f"the body ended after {len(data)} of the "
                           f"{announced} bytes announced in Content-Length")
    g.firefly_body = data
    return data


def _read(stream: Any, most: int) -> bytes:
    chunks, size = [], 0
    try:
        while size < most:
            chunk = stream.read(min(64 * 1024, most - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except TimeoutError:
        raise ApiError(408, "request_timeout", "the body did not arrive in time; send it whole "
                       "and promptly", headers={"Connection": "close"}) from None
    except Exception as error:  # noqa: BLE001 - the server's stream fails in its own ways (bad chunk framing)
        raise ApiError(400, "malformed_body", f"the body could not be read: {type(error).__name__}",
                       headers={"Connection": "close"}) from None
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than {limit} bytes",
                    headers={"Connection": "close"})


def _reject_lone_surrogates(body: dict[str, Any]) -> None:
    """JSON may escape half of a UTF-16 pair (\\ud800) alone; that is no character and cannot be
    stored or hashed, so it is the client's error, not the server's."""
    try:
        json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")  # default: Decimal numbers
    except UnicodeEncodeError:
        raise ApiError(400, "malformed_json", "the body holds a lone UTF-16 surrogate escape "
                       "(such as \\ud800), which is not a character") from None
