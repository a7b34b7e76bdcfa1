"""Anti-fraud lists (blacklist, watchlist, whitelist): entries added, paged, removed and imported
by an administrator; values travel in clear only in the request and are stored as keyed hashes.
Every change is recorded in the access log (or not made); a change that relaxes a control (a
whitelist entry added or extended, a blacklist or watchlist entry removed or shortened) waits as a
pending change until another person (approver or admin) approves it: 202 with the change."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, ValidationError

from app.api.auth import caller, require_role
from app.api.body import json_object
from app.api.errors import ApiError
from app.api.requests import only_query, request_id
from app.api.schemas import (ListChangeQuery, ListEntryBody, ListImportBody, ListPageQuery,
                             ReasonBody)
from app.extensions import services
from app.services.lists import LISTS, NewEntry

bp = Blueprint("lists", __name__, url_prefix="/v1/lists")
KEEPERS = ("admin",)
CHECKERS = ("approver", "admin")
MAX_ID = 2**31 - 1


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(400, "invalid_body", "the body is invalid", details=error.messages)


def _list(name: str) -> str:
    if name not in LISTS:
        raise ApiError(404, "unknown_list", f"no list {name!r}; the lists are {', '.join(LISTS)}")
    return name


def _id(number: int, what: str) -> int:
    """An id from the path: one the database can hold (a 32-bit integer), else nothing is there."""
    if number > MAX_ID:
        raise ApiError(404, f"unknown_{what}", f"no {what.replace('_', ' ')} {number}")
    return number


def _answer(result: dict[str, Any]) -> Response | tuple[Response, int]:
    """200 with what was done; 202 with the pending change when it waits for a second person."""
    response = jsonify(result)
    return (response, 202) if result["result"] == "pending" else response


@bp.get("/<name>/entries")
@require_role("admin", "compliance")
def list_entries(name: str) -> Response:
    """A page of a list's entries, values masked, oldest first (after: the last id seen)."""
    only_query("after", "limit")
    query = _load(ListPageQuery(), request.args.to_dict())
    return jsonify(services().lists.entries(_list(name), query.get("after"), query["limit"]))


@bp.post("/<name>/entries")
@require_role(*KEEPERS)
def add_entry(name: str) -> Response | tuple[Response, int]:
    """Add an entry to a list (or bring the one for the same value up to date)."""
    body = _load(ListEntryBody(), json_object())
    entry = NewEntry(_list(name), body["kind"], body["value"], body["reason"],
                     body.get("source", "manual"), body.get("expires"))
    return _answer(services().lists.add(entry, caller(), request_id()))


@bp.delete("/<name>/entries/<int:entry_id>")
@require_role(*KEEPERS)
def remove_entry(name: str, entry_id: int) -> Response | tuple[Response, int]:
    """Remove an entry from a list (a blacklist or watchlist entry: once approved)."""
    return _answer(services().lists.remove(_list(name), _id(entry_id, "list_entry"), caller(), request_id()))


@bp.post("/import")
@require_role(*KEEPERS)
def import_entries() -> Response:
    """Import a CSV file's entries: bad rows reported by line, good rows written all at once,
    rows that relax a control pending (reported by line)."""
    body = _load(ListImportBody(), json_object())
    report = services().lists.import_csv(body["csv"], caller(), body.get("source", "import"), request_id())
    return jsonify(report.to_dict())


@bp.get("/changes")
@require_role("approver", "admin", "compliance")
def list_changes() -> Response:
    """A page of list changes waiting for (or given) a second person's approval, oldest first."""
    only_query("state", "after", "limit")
    query = _load(ListChangeQuery(), request.args.to_dict())
    state = query.get("state", "pending")
    return jsonify(services().lists.changes(None if state == "all" else state, query.get("after"),
                                            query["limit"]))


@bp.get("/changes/<int:change_id>")
@require_role("approver", "admin", "compliance")
def get_change(change_id: int) -> Response:
    return jsonify(services().lists.change(_id(change_id, "list_change")))


@bp.post("/changes/<int:change_id>/approve")
@require_role(*CHECKERS)
def approve_change(change_id: int) -> Response:
    """Apply a pending change: never by its maker (403 own_change)."""
    body = _load(ReasonBody(), json_object())
    return jsonify(services().lists.approve(_id(change_id, "list_change"), caller(), body["reason"], request_id()))


@bp.post("/changes/<int:change_id>/reject")
@require_role(*CHECKERS)
def reject_change(change_id: int) -> Response:
    """Reject a pending change (its maker may withdraw it)."""
    body = _load(ReasonBody(), json_object())
    return jsonify(services().lists.reject(_id(change_id, "list_change"), caller(), body["reason"], request_id()))
