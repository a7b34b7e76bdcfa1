"""A body whose meaning depends on the parser is refused.

JSON lets an object name a member twice and leaves what that means to the reader: Python's json
keeps the last value, many gateways, WAFs and channel-side audit logs (and other languages'
parsers) keep the first. Before, `{"requested_amount": 10000, ..., "requested_amount": 900000}`
was decided on 900000 while a component in front of the service (or the channel's own record of
what it sent) read 10000, and an `applicant.id_number` given twice was checked against the lists
as the second while a reviewer of the raw request saw the first. The service cannot know which
value the channel meant: it answers 400 naming the member, and decides nothing."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.clock import business_date, utc_now
from support.applicants import as_of, examples
from support.http import URL


def application() -> dict:
    return as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now()))


def post_text(client, auth, text: str):
    return client.post(URL, data=text.encode("utf-8"), headers={**auth("channel"), "Content-Type": "application/json"})


@pytest.mark.parametrize("where", ["top", "nested", "list item"])
def test_a_member_named_twice_is_400_naming_it_and_nothing_is_decided(client, auth, count_rows, where):
    body = application()
    text = json.dumps(body, ensure_ascii=False)
    if where == "top":
        text = text.replace('"requested_amount": ', '"requested_amount": 10000, "requested_amount": ', 1)
        name = "requested_amount"
    elif where == "nested":
        text = text.replace('"id_number": ', '"id_number": "110105194912310029", "id_number": ', 1)
        name = "id_number"
    else:
        text = text.replace('"balance": ', '"balance": 0, "balance": ', 1)
        name = "balance"
    response = post_text(client, auth, text)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "malformed_json" and name in error["message"]
    assert "110105194912310029" not in response.get_data(as_text=True)  # names, never values
    assert count_rows() == 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.integers(0, 10 ** 6), min_size=2, max_size=4))
def test_any_repeated_member_is_refused_whatever_its_values(client, auth, count_rows, values):
    body = application()
    sent = f'"requested_amount": {body["requested_amount"]}'
    text = json.dumps(body)
    assert sent in text
    members = ", ".join(f'"requested_amount": {value}' for value in values)
    response = post_text(client, auth, text.replace(sent, members, 1))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_json"
    assert count_rows() == 0


def test_a_body_with_every_member_once_is_decided(client, auth):
    response = post_text(client, auth, json.dumps(application(), ensure_ascii=False))
    assert response.status_code == 201 and response.get_json()["outcome"] == "APPROVE"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "identity, gzip"])
def test_a_body_in_a_content_coding_is_415_and_nothing_is_decided(client, auth, count_rows, coding):
    """The service reads no content coding: a body marked gzip was read as plain JSON, so a body
    that a gateway could not decompress (and so did not inspect) was decided on as sent."""
    response = client.post(URL, data=json.dumps(application()).encode(),
                           headers={**auth("channel"), "Content-Type": "application/json",
                                    "Content-Encoding": coding})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert "Content-Encoding" in response.get_json()["error"]["message"]
    assert count_rows() == 0


def test_a_body_marked_identity_is_read(client, auth):
    response = client.post(URL, data=json.dumps(application()).encode(),
                           headers={**auth("channel"), "Content-Type": "application/json",
                                    "Content-Encoding": "identity"})
    assert response.status_code == 201
