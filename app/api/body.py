"""Reading a JSON request body strictly: 415 for another content type, 413 when too large, 400 when
it is not a JSON object."""
from __future__ import annotations

import json
from typing import Any

from flask import request

from app.api.errors import ApiError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_object(required: bool = True) -> dict[str, Any]:
    """The request body as a dict, or {} when optional and empty."""
    if not request.content_length and not request.data and not required:
        return {}
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    data = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not data and not required:
        return {}
    try:
        body = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ApiError(400, "malformed_json", f"the body is not valid UTF-8 JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    if b"\\ud" in data.lower():
        _reject_lone_surrogates(body)
    return body


def _reject_lone_surrogates(body: dict[str, Any]) -> None:
    """JSON may escape half of a UTF-16 pair (\\ud800) alone; that is no character and cannot be
    stored or hashed, so it is the client's error, not the server's."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "malformed_json", "the body holds a lone UTF-16 surrogate escape "
                       "(such as \\ud800), which is not a character") from None
