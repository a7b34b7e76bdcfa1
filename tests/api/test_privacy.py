"""Personal data: resident ID and phone never stored or logged in clear; masked and keyed-hashed."""
import io
import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from app.engine.privacy import mask
from app.logs import JsonFormatter
from app.privacy import PersonalData
from app.storage.models import Base


@pytest.fixture
def log_text():
    """Everything logged during the test, as the JSON lines the service writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream.getvalue
    root.removeHandler(handler)
    root.setLevel(old_level)


def database_text(url):
    """Every byte the database holds for our tables: the SQLite files, or every PostgreSQL row as text."""
    if url.startswith("sqlite"):
        path = Path(url[len("sqlite:///"):])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*")).decode("latin-1")
    engine = create_engine(url)
    with engine.connect() as conn:
        dump = "\n".join(str(row[0]) for table in Base.metadata.sorted_tables
                         for row in conn.execute(text(f'SELECT t::text FROM "{table.name}" t')))
    engine.dispose()
    return dump


def test_clear_values_are_not_stored_or_logged(client, auth, decide, bodies, database_url, log_text):
    secrets = []
    for body in bodies:
        response = decide(body, query="?trace=true")
        assert response.status_code == 201
        assert body["applicant"]["id_number"] not in response.get_data(as_text=True)
        secrets.append(body["applicant"]["id_number"])
        if body["applicant"].get("mobile"):
            secrets.append(body["applicant"]["mobile"])
        if body["applicant"].get("birth_date"):  # beside a masked ID it narrowed the ID to one
            secrets.append(body["applicant"]["birth_date"])
    id_number = bodies[0]["applicant"]["id_number"]
    found = client.get("/v1/decisions", query_string={"id_number": id_number, "trace": "true"},
                       headers=auth("compliance"))
    assert len(found.get_json()["items"]) == 1
    decision_id = found.get_json()["items"][0]["decision_id"]
    assert client.post(f"/v1/decisions/{decision_id}/replay", headers=auth("compliance")).get_json()["identical"]
    stored, logged = database_text(database_url), log_text()
    assert "request" in logged and decision_id[:8] in stored
    for secret in secrets:
        assert secret not in stored, "a clear personal value is in the database"
        assert secret not in logged, "a clear personal value is in the logs"
        assert secret not in found.get_data(as_text=True)


def test_stored_input_is_masked(client, auth, decide, bodies):
    body = bodies[0]
    answer = decide(body, query="?trace=true").get_json()
    shown = answer["trace"]["input"]["applicant"]["id_number"]
    number = body["applicant"]["id_number"]
    assert shown == number[:2] + "*" * 14 + number[-2:]


def test_keyed_hash_depends_on_the_secret():
    one, two = PersonalData("secret-one"), PersonalData("secret-two")
    assert one.keyed_hash("330106199001011234") == one.keyed_hash(" 330106199001011234 ")
    assert one.keyed_hash("33010619900101123x") == one.keyed_hash("33010619900101123X")
    assert one.keyed_hash("330106199001011234") != two.keyed_hash("330106199001011234")


def test_sealed_values_open_only_with_the_key():
    sealed = PersonalData("secret-one").seal({"applicant.id_number": "330106199001011234"})
    assert "330106" not in sealed
    assert PersonalData("secret-one").unseal(sealed) == {"applicant.id_number": "330106199001011234"}
    with pytest.raises(Exception):
        PersonalData("secret-two").unseal(sealed)


@pytest.mark.parametrize("value, kind, masked", [("330106199001011234", "resident_id", "33**************34"),
                                                 ("13812345678", "phone", "138****5678"),
                                                 ("张三", "name", "张*")])
def test_masks(value, kind, masked):
    assert mask(kind, value) == masked


def test_log_lines_are_json_with_request_ids(client, log_text):
    client.get("/healthz", headers={"X-Request-Id": "trace-me-1"})
    lines = [json.loads(line) for line in log_text().splitlines()]
    access = [line for line in lines if line.get("logger") == "firefly.access"]
    assert access and access[-1]["request_id"] == "trace-me-1" and access[-1]["status"] == 200


@pytest.mark.parametrize("id_number", ["policy", "outcome", "reasons"])
def test_a_personal_value_that_reads_like_a_field_name_renames_no_field(decide, bodies, id_number):
    """Masking replaces the clear value where it is a value, never where it is a key: an applicant
    whose 'ID number' was `policy` must still get an answer with a `policy` field."""
    body = {**bodies[0], "applicant": {**bodies[0]["applicant"], "id_number": id_number}}
    response = decide(body, query="?trace=true")
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert {"policy", "outcome", "reasons", "outputs"} <= set(answer)
    assert answer["trace"]["input"]["applicant"]["id_number"] != id_number
    assert id_number not in json.dumps(answer["trace"]["input"]["applicant"])


def test_scrub_json_masks_values_and_leaves_keys():
    from app.privacy import scrub_json
    text = json.dumps({"policy": "policy", "list": ["policy"], "note": "see 13812345678 here"})
    scrubbed = json.loads(scrub_json(text, {"a.id": "policy", "a.phone": "13812345678"},
                                     {"a.id": "resident_id", "a.phone": "phone"}))
    assert set(scrubbed) == {"policy", "list", "note"}
    assert scrubbed["policy"] != "policy" and scrubbed["list"] != ["policy"]
    assert "13812345678" not in scrubbed["note"]


def test_a_personal_value_made_of_json_punctuation_leaves_the_stored_json_whole():
    """Regression: scrub_json replaced '","' in the text, which matched between two tokens of an
    array and broke the JSON (a 500 found by the schemathesis run)."""
    import json

    from app.privacy import scrub_json
    text = json.dumps({"a": ["x", "y"], "name": ",", "note": "tel 13812345678", "n": 13812345678},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    scrubbed = json.loads(scrub_json(text, {"applicant.name": ",", "applicant.mobile": "13812345678"},
                                     {"applicant.name": "name", "applicant.mobile": "phone"}))
    assert scrubbed["a"] == ["x", "y"] and scrubbed["n"] == 13812345678
    assert scrubbed["name"] != "," and "13812345678" not in scrubbed["note"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30))
def test_a_value_in_full_width_characters_hashes_as_its_ascii_form(value):
    """Velocity, links, lists and search find a value whatever width its characters were typed in
    (NFKC folds U+FF01..U+FF5E to ASCII); case and white space never mattered."""
    personal = PersonalData("secret-one")
    wide = value.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    assert personal.keyed_hash(wide) == personal.keyed_hash(value) == personal.keyed_hash(f" {value.lower()} ")
