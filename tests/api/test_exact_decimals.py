"""A JSON number sent to a decimal input is read exactly as written.

The published schema says a decimal input is exact, at most 18 digits before and 18 after the
point, never rounded (app/engine/validation.py ExactDecimal reads a number through its text).
Before, the request body was parsed with floats, so the text was gone before validation saw it:
12345678901234567.25 was decided (and stored) as 12345678901234568, and a number with 22
digits after the point, which the schema refuses, was taken as 0.1. The body is parsed with
exact decimals now, as the batch files are (app/files.py)."""
import json
from pathlib import Path

import pytest

from app.extensions import services
from app.services.clock import business_date, utc_now
from support.applicants import as_of, examples
from support.http import POLICY_FILE, URL


@pytest.fixture
def with_decimal_input(app, policy_root):
    """The reference policy with a decimal input, `quoted_rate`, served."""
    path = Path(policy_root) / POLICY_FILE
    text = path.read_text(encoding="utf-8")
    anchor = "  requested_term_months: {type: integer, min: 1, max: 36}\n"
    assert anchor in text
    text = text.replace(anchor, anchor + "  quoted_rate: decimal\n", 1).replace(
        'version: "2026.12.6"', 'version: "2099.7"')
    path.write_text(text, encoding="utf-8")
    assert services(app).registry.reload(str(policy_root)).ok


def post_with_rate(client, auth, number: str):
    body = json.dumps(as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now())))
    return client.post(URL + "?trace=full", data=(body[:-1] + ', "quoted_rate": ' + number + "}").encode(),
                       headers={**auth("channel"), "Content-Type": "application/json"})


@pytest.mark.parametrize("number", ["12345678901234567.25", "0.123456789012345678", "0.1", "35.5",
                                    "100", "-0.000000000000000001"])
def test_a_decimal_input_is_decided_on_the_number_as_written(client, auth, with_decimal_input, number):
    response = post_with_rate(client, auth, number)
    assert response.status_code == 201, response.get_json()
    from decimal import Decimal
    assert Decimal(str(response.get_json()["trace"]["input"]["quoted_rate"])) == Decimal(number)


@pytest.mark.parametrize("number", ["0.1000000000000000000001", "1e400", "1234567890123456789.5",
                                    "1e999999999999999999999", "-1E-999999999999999999999"])
def test_a_decimal_input_beyond_18_digits_is_422_naming_it(client, auth, with_decimal_input, count_rows, number):
    response = post_with_rate(client, auth, number)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["error"]["details"]) == ["quoted_rate"]
    assert count_rows() == 0


def test_a_fraction_for_an_integer_input_is_still_422(client, auth, count_rows):
    body = as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now()))
    text = json.dumps(body).replace(f'"requested_amount": {body["requested_amount"]}', '"requested_amount": 1.0', 1)
    response = client.post(URL, data=text.encode(), headers={**auth("channel"), "Content-Type": "application/json"})
    assert response.status_code == 422
    assert list(response.get_json()["error"]["details"]) == ["requested_amount"]
    assert count_rows() == 0


def test_a_decimal_beside_an_escaped_character_pair_is_decided(client, auth, with_decimal_input):
    # an escaped UTF-16 pair makes the body be checked for lone surrogates, written again whole
    body = as_of(examples("approve_salaried")["approve_salaried"], business_date(utc_now()))
    body["employment"]["employer_name"] = "\U0001F600 Ltd"
    text = json.dumps(body)  # ASCII: the emoji as the pair \ud83d\ude00
    assert "\\ud83d" in text
    response = client.post(URL, data=(text[:-1] + ', "quoted_rate": 0.25}').encode(),
                           headers={**auth("channel"), "Content-Type": "application/json"})
    assert response.status_code == 201, response.get_json()


def test_a_decision_on_an_exact_decimal_replays_identical(client, auth, with_decimal_input):
    decided = post_with_rate(client, auth, "12345678901234567.25").get_json()
    replayed = client.post(f"/v1/decisions/{decided['decision_id']}/replay", headers=auth("compliance"))
    assert replayed.status_code == 200, replayed.get_json()
    assert replayed.get_json()["identical"] is True
