"""A body nested deeper than any input is refused as it is read.

Before, the JSON parser took a body nested to just under Python's recursion limit (about 940
levels under Flask), and the service then wrote it again, two levels deeper and further down the
stack, for the Idempotency-Key fingerprint: a body in that narrow band was a 500 (RecursionError)
instead of a 400, with a traceback in the error log for every such request. No policy input nests
more than a few levels (sections, lists of records), so a body deeper than MAX_NESTING is a 400
at once, whatever the stack depth of the worker that reads it."""
import json
import sys

import pytest

from app.api.body import MAX_NESTING
from app.services.clock import business_date, utc_now
from support.applicants import as_of, examples
from support.http import URL


def application_with(value: str) -> bytes:
    """The salaried example with an undeclared member holding `value` (JSON text)."""
    body = json.dumps(as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now())))
    return (body[:-1] + ', "extra": {"note": ' + value + "}}").encode()


def nested(depth: int, shape: str) -> str:
    return '{"a":' * depth + "1" + "}" * depth if shape == "object" else "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize("shape", ["object", "list"])
def test_no_depth_of_nesting_is_a_500(client, auth, count_rows, shape):
    limit = sys.getrecursionlimit()
    statuses = {}
    for depth in [*range(MAX_NESTING - 4, MAX_NESTING + 4), *range(limit - 120, limit + 10)]:
        response = client.post(URL, data=application_with(nested(depth, shape)),
                               headers={**auth("channel"), "Content-Type": "application/json"})
        statuses[depth] = response.status_code
    assert set(statuses.values()) <= {400, 422}, {d: s for d, s in statuses.items() if s not in (400, 422)}
    assert count_rows() == 0


def test_a_body_nested_past_the_limit_is_400_saying_so(client, auth):
    # the member sits two levels down: the body is MAX_NESTING + 1 deep
    response = client.post(URL, data=application_with(nested(MAX_NESTING - 1, "list")),
                           headers={**auth("channel"), "Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "malformed_json" and f"{MAX_NESTING} levels" in error["message"]
    at_limit = client.post(URL, data=application_with(nested(MAX_NESTING - 2, "list")),
                           headers={**auth("channel"), "Content-Type": "application/json"})
    assert at_limit.status_code == 422  # read, then refused by the schema: "extra" is no input
    assert list(at_limit.get_json()["error"]["details"]) == ["extra"]
