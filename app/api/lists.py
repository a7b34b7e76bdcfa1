"""Anti-fraud lists (blacklist, watchlist, whitelist): entries added, paged, removed and imported
by an administrator; values travel in clear only in the request and are stored as keyed hashes."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, ValidationError

from app.api.auth import caller, require_role
from app.api.body import json_object
from app.api.errors import ApiError
from app.api.requests import only_query
from app.api.schemas import ListEntryBody, ListImportBody, ListPageQuery
from app.extensions import services
from app.services.lists import LISTS, NewEntry

bp = Blueprint("lists", __name__, url_prefix="/v1/lists")


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(400, "invalid_body", "the body is invalid", details=error.messages)


def _list(name: str) -> str:
    if name not in LISTS:
        raise ApiError(404, "unknown_list", f"no list {name!r}; the lists are {', '.join(LISTS)}")
    return name


@bp.get("/<name>/entries")
@require_role("admin", "compliance")
def list_entries(name: str) -> Response:
    """A page of a list's entries, values masked, oldest first (after: the last id seen)."""
    only_query("after", "limit")
    query = _load(ListPageQuery(), request.args.to_dict())
    return jsonify(services().lists.entries(_list(name), query.get("after"), query["limit"]))


@bp.post("/<name>/entries")
@require_role("admin")
def add_entry(name: str) -> Response:
    """Add an entry to a list (or bring the one for the same value up to date)."""
    body = _load(ListEntryBody(), json_object())
    entry = NewEntry(_list(name), body["kind"], body["value"], body["reason"],
                     body.get("source", "manual"), body.get("expires"))
    shown, result = services().lists.add(entry, caller().name)
    return jsonify(entry=shown, result=result)


@bp.delete("/<name>/entries/<int:entry_id>")
@require_role("admin")
def remove_entry(name: str, entry_id: int) -> Response:
    """Remove an entry from a list."""
    services().lists.remove(_list(name), entry_id)
    return jsonify(removed=entry_id)


@bp.post("/import")
@require_role("admin")
def import_entries() -> Response:
    """Import a CSV file's entries: bad rows reported by line, good rows written all at once."""
    body = _load(ListImportBody(), json_object())
    report = services().lists.import_csv(body["csv"], caller().name, body.get("source", "import"))
    return jsonify(report.to_dict())
