"""The OpenAPI 3 document, generated with apispec from the marshmallow schemas: the API's own and
each served policy's input schema (the same object that validates the requests)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.api import schemas
from app.services import records
from app.services.registry import PolicySet

ERRORS = {
    400: "malformed JSON or invalid parameters", 401: "missing or unknown API key",
    403: "the key's role may not do this (or, for a decision, a key bound to input values sent "
         "another value of a bound field: field_not_allowed, the field named in details)",
    404: "not found",
    409: "conflict: for a decision, the Idempotency-Key was used with another body "
         "(idempotency_conflict), or the request deciding under it took longer than the wait "
         "(idempotency_in_progress: retry after Retry-After seconds)",
    405: "method not allowed here (Allow lists the methods served; under /v1/decisions/ a name that is "
         "not a 32-hex decision id names a policy, which takes POST only)",
    408: "the body did not arrive whole within FIREFLY_READ_TIMEOUT seconds of silence (request_timeout): "
         "nothing was read or decided; the connection is closed (Connection: close). Send the body "
         "whole and promptly, then retry on a new connection",
    413: "body too large", 415: "body is not application/json", 422: "the input does not fit the schema",
    429: "too many requests: this API key sent more than its request limit (too_many_requests: "
         "FIREFLY_RATE_LIMIT, FIREFLY_RATE_LIMITS_BY_KEY), or this client address sent too many wrong "
         "API keys (too_many_attempts: FIREFLY_AUTH_FAILURE_LIMIT; refused whatever key it sends, a "
         "right one too); nothing was read, counted or decided. Retry after Retry-After seconds",
    503: "database unavailable: nothing was stored",
}
# A route that takes a key can answer these, whatever else it does: 401 (no key, a wrong key), 429
# (app/api/auth.py: the key's request limit, the address's wrong keys) and 503 (stored keys and the
# access log are in the database). One that reads a JSON body can also answer 400 (not a JSON
# object), 413 (too large) and 415 (another content type or a content coding): app/api/body.py.
# Added to every such operation once, by _answers_of_every_guarded_route, never route by route.
GUARDED = (401, 429, 503)
READS_BODY = (400, 408, 413, 415)
# What the server itself (gunicorn) answers before the app sees a request, on any path: a request it
# cannot read as HTTP/1.1 within its limits (gunicorn.conf.py). The same error envelope (codes in
# app/api/server.py, GUNICORN_CODES), always with Connection: close. Added to every operation once,
# by _answers_of_the_server; a 400 the operation already lists keeps its own text and gains this.
BEFORE_THE_APP = {
    400: "bad_request: the request line or a header is malformed (a method, version or header "
         "name gunicorn refuses, a header given twice that must be given once)",
    414: "uri_too_long: the request line (method, path with its query, version) is longer than "
         "8190 bytes",
    417: "expectation_failed: an Expect header other than 100-continue",
    431: "request_header_fields_too_large: more than 100 header fields, or one longer than 8190 bytes",
}
SERVER_NOTE = ("answered by the server (gunicorn) before the app sees the request, on any path, "
               "with the error envelope and Connection: close (no request_id: the app never saw it)")
CLOSES = {"description": "close: the server closes the connection after this answer; send the next "
                         "request on a new one",
          "schema": {"type": "string", "enum": ["close"]}}
# A status both the server and the app answer (400): the app's own answer keeps the connection.
SHARED_CONNECTION = {"description": "close when the server answered (the connection ends: send the "
                                    "next request on a new one); keep-alive when the app did",
                     "required": False, "schema": {"type": "string", "enum": ["close", "keep-alive"]}}
RETRY_AFTER = {"description": "seconds after which trying again may succeed (429: always sent; "
                              "409 idempotency_in_progress, 503)",
               "schema": {"type": "integer", "minimum": 0}}


def _resolver(schema: Any) -> str | None:
    """Name the API's schemas; inline the nested parts of policy input schemas."""
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__ if cls.__module__ == schemas.__name__ else None


def _responses(ok_status: int, ok_schema: Any, ok_text: str, *errors: int) -> dict[str, Any]:
    responses = {str(ok_status): {"description": ok_text,
                                  "content": {"application/json": {"schema": ok_schema}}}}
    for status in errors:
        responses[str(status)] = {"description": ERRORS[status],
                                  "content": {"application/json": {"schema": "Error"}}}
        if status in (409, 429, 503):
            responses[str(status)]["headers"] = {"Retry-After": dict(RETRY_AFTER, required=status == 429)}
    return responses


def _answers_of_every_guarded_route(document: dict[str, Any]) -> None:
    """Every operation that takes an API key lists 401, 429 and 503, and every one that reads a
    JSON body 400, 413 and 415, each with the error envelope (and Retry-After where sent): the
    answers of authentication (app/api/auth.py) and of reading a body (app/api/body.py) that no
    route states itself, so that a client generated from this document knows them all."""
    for operations in document["paths"].values():
        for operation in operations.values():
            statuses = GUARDED if operation.get("security") else ()
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                statuses += READS_BODY
            for status in statuses:
                if str(status) in operation["responses"]:
                    continue
                answer = {"description": ERRORS[status],
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                if status in (429, 503):
                    answer["headers"] = {"Retry-After": dict(RETRY_AFTER, required=status == 429)}
                if status == 408:
                    answer["headers"] = {"Connection": dict(CLOSES, required=True)}
                operation["responses"][str(status)] = answer


def _answers_of_the_server(document: dict[str, Any]) -> None:
    """Every operation lists what gunicorn answers before the app (BEFORE_THE_APP: app/api/server.py
    writes them), each with the error envelope and Connection: close, and the document's description
    says so: a client generated from this document, or a developer reading it, knows that a request
    line too long (414), headers too large (431) or a malformed request (400) is answered by the
    server itself and ends the connection. A 400 the app also answers keeps its text, gains this one,
    and lists Connection as not required (the app's own 400 keeps the connection)."""
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            for status, text in BEFORE_THE_APP.items():
                answer = responses.setdefault(str(status), {
                    "description": "",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
                ours = f"{SERVER_NOTE}. Code {text}"
                answer["description"] = f"{answer['description']}; or {ours}" if answer["description"] else ours
                headers = answer.setdefault("headers", {})
                only_ours = answer["description"] == ours
                headers["Connection"] = dict(CLOSES, required=True) if only_ours else SHARED_CONNECTION
    statuses = ", ".join(f"{status} ({text.split(':')[0]})" for status, text in BEFORE_THE_APP.items())
    document["info"]["description"] += (
        f"\n\nBefore the app: the server itself may answer any request, on any path, with {statuses}, "
        "when it cannot read the request as HTTP/1.1 within its limits (request line 8190 bytes, "
        "100 header fields of 8190 bytes each). These answers carry the same error envelope as "
        "the API's errors ({\"error\": {\"code\": ..., \"message\": ...}}, no request_id) and "
        "Connection: close: the server closes the connection, so send the next request on a new "
        "one. Every operation lists them. A JSON body that stops arriving for FIREFLY_READ_TIMEOUT "
        "seconds is answered 408 (request_timeout), also with Connection: close.")


def _op(summary: str, roles: list[str], responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    op = {"summary": summary, "description": f"Roles: {', '.join(roles)}." if roles else "No key needed.",
          "responses": responses}
    if roles:
        op["security"] = [{"ApiKey": []}]
        op["x-roles"] = list(roles)
    op.update(extra)
    return op


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 64}}


def _decision_id_param() -> dict[str, Any]:
    return {"name": "decision_id", "in": "path", "required": True, "description": "the decision id",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}


def _list_paths(spec: APISpec) -> None:
    """The anti-fraud lists (docs/anti_fraud.md)."""
    for name in ("ListEntryOut", "ListEntryResult", "ListPage", "ListImportOut", "ListChangeOut",
                 "ListChangePending", "ListChangePage", "ListChangeDone"):
        spec.components.schema(name, schema=getattr(schemas, name))
    name = {"name": "name", "in": "path", "required": True, "description": "the list",
            "schema": {"type": "string", "enum": schemas.LIST_NAMES}}
    spec.path(path="/v1/lists/{name}/entries", operations={
        "get": _op("A page of a list's entries (values masked), oldest first", ["admin", "compliance"],
                   _responses(200, "ListPage", "a page of entries", 400, 401, 403, 404),
                   parameters=[name, {"in": "query", "schema": schemas.ListPageQuery}]),
        "post": _op("Add an entry to a list, or bring the one for the same value up to date; recorded "
                    "in the access log. A whitelist entry added or extended, or a blacklist or watchlist "
                    "entry shortened, waits for another person's approval (202)", ["admin"],
                    {**_responses(200, "ListEntryResult", "the entry and what happened", 400, 401, 403, 404,
                                  413, 415, 422, 503), **_pending()},
                    parameters=[name],
                    requestBody={"required": True,
                                 "content": {"application/json": {"schema": schemas.ListEntryBody}}})})
    spec.path(path="/v1/lists/{name}/entries/{entry_id}", operations={"delete": _op(
        "Remove an entry from a list (recorded in the access log with what was removed); a blacklist or "
        "watchlist entry stays in force until another person approves its removal (202)", ["admin"],
        {**_responses(200, {"type": "object", "properties": {"result": {"type": "string", "enum": ["removed"]},
                                                             "removed": {"type": "integer"}}}, "removed",
                      401, 403, 404, 503), **_pending()},
        parameters=[name, {"name": "entry_id", "in": "path", "required": True, "description": "the entry id",
                           "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}])})
    spec.path(path="/v1/lists/import", operations={"post": _op(
        "Import a CSV file of entries: bad rows reported by line and left out, good rows written at once; "
        "a file without the columns list, kind, value and reason imports nothing (422)", ["admin"],
        _responses(200, "ListImportOut", "what was added, updated, unchanged, rejected, and the rows "
                   "that relax a control, pending for another person's approval", 400, 401, 403,
                   413, 415, 422, 503),
        requestBody={"required": True, "content": {"application/json": {"schema": schemas.ListImportBody}}})})
    change_id = {"name": "change_id", "in": "path", "required": True, "description": "the list change id",
                 "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}
    readers = ["approver", "admin", "compliance"]
    spec.path(path="/v1/lists/changes", operations={"get": _op(
        "List changes that relax a control, by state (pending by default), oldest first", readers,
        _responses(200, "ListChangePage", "a page of changes", 400, 401, 403),
        parameters=[{"in": "query", "schema": schemas.ListChangeQuery}])})
    spec.path(path="/v1/lists/changes/{change_id}", operations={"get": _op(
        "One list change", readers, _responses(200, "ListChangeOut", "the change", 401, 403, 404),
        parameters=[change_id])})
    reason = {"required": True, "content": {"application/json": {"schema": schemas.ReasonBody}}}
    spec.path(path="/v1/lists/changes/{change_id}/approve", operations={"post": _op(
        "Approve and apply a pending list change: never its maker's (403 own_change); recorded in the "
        "access log", ["approver", "admin"],
        _responses(200, "ListChangeDone", "the change, approved, and what it did", 400, 401, 403, 404,
                   409, 413, 415, 422, 503),
        parameters=[change_id], requestBody=reason)})
    spec.path(path="/v1/lists/changes/{change_id}/reject", operations={"post": _op(
        "Reject a pending list change (its maker may withdraw it); recorded in the access log",
        ["approver", "admin"],
        _responses(200, "ListChangeOut", "the change, rejected", 400, 401, 403, 404, 409, 413, 415, 422, 503),
        parameters=[change_id], requestBody=reason)})


def _pending() -> dict[str, Any]:
    return {"202": {"description": "the change relaxes a control: stored as pending, applied once another "
                                   "person (approver or admin) approves it",
                    "content": {"application/json": {"schema": "ListChangePending"}}}}


def _list_limit(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """A policy's list field says its length limit (the engine's BoundedList refuses longer lists)."""
    limit = getattr(field, "max_items", None)
    return {"maxItems": limit} if isinstance(limit, int) else {}


def _trace_level(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """`?trace=` takes a level (or the true/false it took before levels)."""
    if isinstance(field, schemas.TraceLevel):
        return {"type": "string", "enum": list(schemas.TraceLevel.LEVELS), "default": "none",
                "description": TRACE_DESCRIPTION}
    return {}


TRACE_DESCRIPTION = ("the trace in the answer: full, hits (each rule set's matched rules only) or none; "
                     "true means full, false none. The stored decision keeps the full trace.")


def build_spec(policy_set: PolicySet) -> dict[str, Any]:
    plugin = MarshmallowPlugin(schema_name_resolver=_resolver)
    spec = APISpec(title="Firefly credit decisions", version="1.0.0", openapi_version="3.0.3",
                   plugins=[plugin],
                   info={"description": "Explainable credit decisions. Send the API key in X-API-Key."})
    plugin.converter.add_attribute_function(_list_limit)
    plugin.converter.add_attribute_function(_trace_level)
    spec.components.security_scheme("ApiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    for name in ("Error", "DecisionOut", "DecisionPage", "ReplayOut", "PolicyList", "Health",
                 "AccessEventPage", "ReleaseOut", "ReleaseList", "ReleaseDiff", "ReviewOut", "LineHistory"):
        spec.components.schema(name, schema=getattr(schemas, name))
    trace_param = {"name": "trace", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": list(schemas.TraceLevel.LEVELS), "default": "none"},
                   "description": TRACE_DESCRIPTION}
    idem_param = {"name": "Idempotency-Key", "in": "header", "required": False,
                  "schema": {"type": "string", "pattern": "^[\\x20-\\x7e]{1,255}$"},
                  "description": "same key and body: the stored decision; another body: 409"}
    for policy_name, policy in sorted(policy_set.policies.items()):
        component = f"{policy_name}.input"
        spec.components.schema(component, schema=policy.request_schema())
        spec.path(path=f"/v1/decisions/{policy_name}", operations={"post": _op(
            f"Decide with {policy_name} {policy.version}", ["channel"],
            _responses(201, "DecisionOut", "the stored decision", 400, 401, 403, 404, 409, 413, 415, 422, 503),
            parameters=[trace_param, idem_param],
            requestBody={"required": True, "content": {"application/json": {"schema": component}}})})
    spec.path(path="/v1/decisions", operations={"get": _op(
        "Search stored decisions (newest first, paginated by cursor)", ["compliance"],
        _responses(200, "DecisionPage", "a page of decisions", 400, 401, 403),
        parameters=[{"in": "query", "schema": schemas.SearchQuery}])})
    spec.path(path="/v1/decisions/{decision_id}", operations={"get": _op(
        "One stored decision with its trace", ["compliance"],
        _responses(200, "DecisionOut", "the decision", 400, 401, 403, 404, 405),
        parameters=[_decision_id_param()])})
    spec.path(path="/v1/decisions/{decision_id}/replay", operations={"post": _op(
        "Replay a decision on its stored policy version, or on another version", ["compliance"],
        _responses(200, "ReplayOut", "the replay and its differences", 400, 401, 403, 404, 409, 413, 415),
        parameters=[_decision_id_param()],
        requestBody={"required": False, "content": {"application/json": {"schema": schemas.ReplayRequest}}})})
    spec.path(path="/v1/lines/{line_id}/decisions", operations={"get": _op(
        "A credit line's decisions: the application that granted it, its drawdowns and reviews, in order",
        ["compliance"], _responses(200, "LineHistory", "the line's history", 400, 401, 403, 404),
        parameters=[{"name": "line_id", "in": "path", "required": True,
                     "description": "the line id (personal data: masked in logs and answers)",
                     "schema": {"type": "string", "pattern": "^[0-9A-Za-z-]{1,64}$"}}])})
    spec.path(path="/v1/policies", operations={"get": _op(
        "Policies served, with versions and hashes", ["channel", "compliance", "admin"],
        _responses(200, "PolicyList", "the served policies", 400, 401, 403))})
    spec.path(path="/v1/policies/reload", operations={"post": _op(
        "Reload the policy folder: validated and tested before it replaces the served set", ["admin"],
        _responses(200, "PolicyList", "the new set", 400, 401, 403, 422))})
    spec.path(path="/v1/audit", operations={"get": _op(
        "The access log: who read, searched or replayed which decisions (newest first)",
        ["approver", "compliance"], _responses(200, "AccessEventPage", "a page of access events", 400, 401, 403),
        parameters=[{"in": "query", "schema": schemas.AuditQuery}])})
    ref = _path_param("ref", "a release id or content hash (6 characters or more)")
    readers = ["author", "approver", "admin", "compliance"]
    reason = {"required": True, "content": {"application/json": {"schema": schemas.ReasonBody}}}
    spec.path(path="/v1/releases", operations={
        "get": _op("Every policy release with its state", readers,
                   _responses(200, "ReleaseList", "the releases", 401, 403)),
        "post": _op("Submit a release: its files are checked and rule-tested, the report stored",
                    ["author", "approver"],
                    _responses(201, "ReleaseOut", "the submitted release", 400, 401, 403, 409, 413, 415, 422),
                    requestBody={"required": True,
                                 "content": {"application/json": {"schema": schemas.ReleaseSubmit}}})})
    spec.path(path="/v1/releases/{ref}", operations={"get": _op(
        "One release: state, check report, events", readers,
        _responses(200, "ReleaseOut", "the release", 401, 403, 404, 409), parameters=[ref])})
    spec.path(path="/v1/releases/{ref}/diff", operations={"get": _op(
        "Files and rule ids added, removed, changed against another release", readers,
        _responses(200, "ReleaseDiff", "the differences", 400, 401, 403, 404, 409),
        parameters=[ref, {"in": "query", "schema": schemas.DiffQuery}])})
    for step, roles, text_ in (("approve", ["approver"], "Approve a submitted release (not one's own)"),
                               ("reject", ["approver"], "Reject a submitted release"),
                               ("activate", ["approver", "admin"], "Make an approved release active")):
        spec.path(path=f"/v1/releases/{{ref}}/{step}", operations={"post": _op(
            text_, roles, _responses(200, "ReleaseOut", "the release", 400, 401, 403, 404, 409, 413, 415, 422),
            parameters=[ref], requestBody=reason)})
    spec.path(path="/v1/releases/rollback", operations={"post": _op(
        "Activate again the release active before the current one", ["approver", "admin"],
        _responses(200, "ReleaseOut", "the release now active", 400, 401, 403, 409, 413, 415, 422),
        requestBody=reason)})
    decision = _path_param("decision_id", "the decision id")
    spec.path(path="/v1/decisions/{decision_id}/review", operations={"post": _op(
        "Close a referred application: the underwriter's outcome, limit, reason codes and comment",
        ["underwriter"], _responses(201, "ReviewOut", "the review", 400, 401, 403, 404, 409, 413, 415, 422),
        parameters=[decision],
        requestBody={"required": True, "content": {"application/json": {"schema": schemas.ReviewBody}}})})
    spec.path(path="/v1/decisions/{decision_id}/requests", operations={"post": _op(
        "Record an applicant's request for an explanation or a human review (PIPL art. 24)",
        ["compliance", "underwriter"],
        _responses(201, "ReviewOut", "the request recorded", 400, 401, 403, 404, 413, 415, 422),
        parameters=[decision],
        requestBody={"required": True, "content": {"application/json": {"schema": schemas.ApplicantRequestBody}}})})
    spec.path(path="/v1/decisions/{decision_id}/requests/{request_ref}/answer", operations={"post": _op(
        "Record the answer given to an applicant's request", ["compliance", "underwriter"],
        _responses(201, "ReviewOut", "the answer recorded", 400, 401, 403, 404, 409, 413, 415, 422),
        parameters=[decision, _path_param("request_ref", "the request's id")],
        requestBody={"required": True, "content": {"application/json": {"schema": schemas.RequestAnswerBody}}})})
    spec.path(path="/v1/comparisons", operations={"get": _op(
        "Champion/challenger: outcomes per arm and the swap matrix over decision dates", ["compliance"],
        _responses(200, {"type": "object"}, "the comparison", 400, 401, 403, 404),
        parameters=[{"in": "query", "schema": schemas.ComparisonQuery}])})
    _backtest_paths(spec)
    _list_paths(spec)
    health = {"description": "status", "content": {"application/json": {"schema": "Health"}}}
    spec.path(path="/healthz", operations={"get": _op("The process is up", [], {"200": health})})
    spec.path(path="/readyz", operations={"get": _op(
        "Ready to decide: database and policies (200; degraded when Redis is down); else 503", [],
        {"200": health, "503": health})})
    text = {"description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    spec.path(path="/metrics", operations={"get": _op("Prometheus metrics", [], {"200": text})})
    spec.path(path="/openapi.json", operations={"get": _op(
        "This document", [], {"200": {"description": "OpenAPI 3",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}})})
    html = {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
    spec.path(path="/docs", operations={"get": _op(
        "This API, explorable: Swagger UI (try an operation with your key)", [], {"200": html})})
    document = _object_sizes(_numbers(spec.to_dict()))
    _replay_names_one_version(document)
    _answers_of_every_guarded_route(document)
    _answers_of_the_server(document)
    for policy_name, policy in policy_set.policies.items():
        _date_is_the_services(document["components"]["schemas"][f"{policy_name}.input"], policy)
        _consent_without_nul(document["components"]["schemas"][f"{policy_name}.input"])
    return document


def _consent_without_nul(body: dict[str, Any]) -> None:
    """A consent reference is stored in a text column of its own, which cannot hold the NUL
    character: the service refuses it (422, services/records.make), and so does the document."""
    for path in records.CONSENT_FIELDS.values():
        node: Any = body
        for name in path.split("."):
            node = node.get("properties", {}).get(name) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get("type") == "string":
            node["pattern"] = "^[^\\u0000]*$"


def _object_sizes(value: Any) -> Any:
    """apispec writes a mapping's Length as minLength/maxLength, which JSON Schema ignores on an
    object: say minProperties/maxProperties, so the document refuses what the service refuses."""
    if isinstance(value, dict):
        value = {k: _object_sizes(v) for k, v in value.items()}
        if value.get("type") == "object":
            for old, new in (("minLength", "minProperties"), ("maxLength", "maxProperties")):
                if old in value:
                    value[new] = value.pop(old)
        return value
    if isinstance(value, list):
        return [_object_sizes(v) for v in value]
    return value


def _date_is_the_services(body: dict[str, Any], policy: Any) -> None:
    """The policy's decision-date input is the service's to set: read-only in the document."""
    name = records.decision_date_field(policy)
    if name is not None and name in body.get("properties", {}):
        body["properties"][name].update(readOnly=True, description=(
            "set by the service to the date of the request in China; a value sent is kept in the "
            "stored input and not used"))


def _replay_names_one_version(document: dict[str, Any]) -> None:
    """A replay body names the other version by hash or by version, never both (the schema's
    cross-field rule, which marshmallow states in code and apispec cannot)."""
    for method in document["paths"]["/v1/decisions/{decision_id}/replay"].values():
        content = method["requestBody"]["content"]["application/json"]
        content["schema"] = {"allOf": [content["schema"], {"not": {"required": ["hash", "version"]}}]}


def _backtest_paths(spec: APISpec) -> None:
    """Backtests (app/api/backtests.py): a job, its status, its report, changes and page."""
    from app.api.backtests import BacktestIn, BacktestOut, ROLES
    spec.components.schema("BacktestOut", schema=BacktestOut)
    job = [_path_param("backtest_id", "the backtest id")]
    anything = {"description": "the report (report.json)", "content": {"application/json": {"schema": {"type": "object"}}}}
    spec.path(path="/v1/backtests", operations={"post": _op(
        "Backtest a candidate on stored decisions (a background job)", list(ROLES),
        _responses(202, "BacktestOut", "the job, queued", 400, 401, 403, 404, 409, 413, 415, 422),
        requestBody={"required": True, "content": {"application/json": {"schema": BacktestIn}}})})
    spec.path(path="/v1/backtests/{backtest_id}", operations={"get": _op(
        "A backtest's status and progress", list(ROLES),
        _responses(200, "BacktestOut", "the job", 401, 403, 404), parameters=job)})
    spec.path(path="/v1/backtests/{backtest_id}/rerun", operations={"post": _op(
        "Run a failed backtest again as a new job (the same candidate and period)", list(ROLES),
        _responses(202, "BacktestOut", "the new job, queued", 401, 403, 404, 409), parameters=job)})
    for suffix, summary, content in (
            ("report", "The finished backtest's report", anything),
            ("changes", "The finished backtest's changed decisions",
             {"description": "changed decisions", "content": {"application/json": {"schema": {"type": "object"}}}}),
            ("report.html", "The finished backtest's report page",
             {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}})):
        responses = {"200": content, **{k: v for k, v in _responses(200, "Error", "", 401, 403, 404, 409).items()
                                        if k != "200"}}
        spec.path(path=f"/v1/backtests/{{backtest_id}}/{suffix}", operations={"get": _op(
            summary, list(ROLES), responses, parameters=job)})


def _numbers(value: Any) -> Any:
    """Decimal bounds from the input schemas as JSON numbers."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
