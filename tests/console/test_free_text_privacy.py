"""Personal data typed inside free text (an ID, a mobile or a card number in the employer's name) is
masked in everything stored and shown: the stored input, trace and result, the API's answers, the
console's pages and its print export. The engine still reads the text as sent (the replay, which
unseals it, is identical), and an ordinary employer's name is stored as it was typed."""
import io
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.engine.privacy import embedded, luhn_valid, redact, resident_id_valid
from app.extensions import services
from app.storage.models import Decision
from support.applicants import as_of, examples
from support.http import URL
from support.keys import KEYS

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
FULL_WIDTH = {ord(d): ord(d) + 0xFEE0 for d in "0123456789"}
def _runs(size):
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


@st.composite
def resident_ids(draw):
    """An 18-character ID with its check character right, 17 digits and X, or a 15-digit old ID."""
    shape = draw(st.sampled_from(["checked", "x", "old"]))
    area = draw(st.sampled_from(["110101", "330106", "440305", "510104"]))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    if shape == "old":
        return f"{area}{draw(st.integers(40, 99))}{month:02d}{day:02d}{draw(_runs(3))}"
    body = f"{area}{draw(st.integers(1940, 2008))}{month:02d}{day:02d}{draw(_runs(3))}"
    if shape == "x":
        return body + "X"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


@st.composite
def mobiles(draw):
    return "1" + draw(st.sampled_from("3456789")) + draw(_runs(9))


@st.composite
def cards(draw):
    """A 13- to 19-digit number that passes the Luhn check."""
    body = draw(st.sampled_from(["622202", "621700", "436742", "622848"])) + draw(_runs(draw(st.integers(6, 12))))
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("some check digit passes")


@st.composite
def written(draw, number):
    """A number as a channel may type it: plain, in full-width digits, in groups split by spaces
    or dashes (half- or full-width), or with a zero-width space inside."""
    style = draw(st.sampled_from(["plain", "wide", "groups", "wide groups", "invisible"]))
    text = number.translate(FULL_WIDTH) if "wide" in style else number
    if "groups" in style:
        separator = draw(st.sampled_from([" ", "-", "\u3000", "\uff0d", " - "]))
        cuts = sorted(draw(st.sets(st.integers(1, len(text) - 1), min_size=1, max_size=4)))
        text = separator.join(text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)]))
    if style == "invisible":
        at = draw(st.integers(1, len(text) - 1))
        text = text[:at] + "\u200b" + text[at:]
    return text


# Words around the number: Chinese and Latin letters, spaces and punctuation, never a digit (a
# digit beside the number would make it part of a longer run) nor an X (an ID's check character).
WORDS = st.text(alphabet="某某科技有限公司北京上海分行 ACMEBankLtdcorp()（）,，.", max_size=20)
PERSONAL = st.one_of(resident_ids(), mobiles(), cards())


def forms(number):
    """The forms in which a number must not be found: as sent and as plain digits."""
    return {number, number.translate(FULL_WIDTH)}


@pytest.fixture
def store(app):
    def stored(decision_id):
        with services(app).database.session() as session:
            row = session.scalar(select(Decision).where(Decision.id == decision_id))
            return json.dumps([row.input_masked, row.trace, row.result], ensure_ascii=False, default=str)
    return stored


@pytest.fixture
def application():
    from app.services.clock import business_date, utc_now
    base = examples()
    name = next(n for n, b in base.items() if b.get("employment", {}).get("type") == "EMPLOYEE")
    return as_of(base[name], business_date(utc_now()))


def decide_with(client, application, employer_name):
    body = json.loads(json.dumps(application))
    body["employment"]["employer_name"] = employer_name
    answer = client.post(URL + "?trace=full", json=body, headers={"X-API-Key": KEYS["channel"]})
    assert answer.status_code == 201, answer.get_json()
    return answer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), number=PERSONAL, before=WORDS, after=WORDS)
def test_a_personal_number_in_free_text_is_masked_wherever_stored_or_shown(
        compliance, application, store, data, number, before, after):
    typed = data.draw(written(number))
    employer_name = before + typed + after   # at most 20 + 41 + 20 characters: within max_length 100
    assert embedded(employer_name), employer_name  # the detector finds what the generator made
    answer = decide_with(compliance, application, employer_name)
    decision_id = answer.get_json()["decision_id"]
    shown = [answer.get_data(as_text=True), store(decision_id),
             compliance.get(f"/v1/decisions/{decision_id}?trace=full",
                            headers={"X-API-Key": KEYS["compliance"]}).get_data(as_text=True),
             compliance.get(f"/console/decisions/{decision_id}").get_data(as_text=True),
             compliance.get(f"/console/decisions/{decision_id}/print").get_data(as_text=True)]
    for text in shown:
        assert typed not in text
        for form in forms(number):
            assert form not in text, (form, employer_name)
    masked = answer.get_json()["trace"]["input"]["employment"]["employer_name"]
    assert masked == redact(employer_name) and "*" in masked
    replay = compliance.post(f"/v1/decisions/{decision_id}/replay", headers={"X-API-Key": KEYS["compliance"]})
    assert replay.status_code == 200 and replay.get_json()["identical"], replay.get_json()


ORDINARY = ["中国工商银行股份有限公司北京分行", "杭州阿里巴巴网络技术有限公司", "Acme Trading Co., Ltd.",
            "北京市第101中学", "深圳市腾讯计算机系统有限公司 2019年入职", "上海浦东发展银行 95528",
            "No. 88 Building 3, Room 1301", "中铁十八局集团有限公司", "京东方科技集团 000725.SZ"]


@pytest.mark.parametrize("employer_name", ORDINARY)
def test_an_ordinary_employer_name_is_stored_as_typed(compliance, application, store, employer_name):
    answer = decide_with(compliance, application, employer_name)
    assert answer.get_json()["trace"]["input"]["employment"]["employer_name"] == employer_name
    assert employer_name in json.loads(store(answer.get_json()["decision_id"]))[0]["employment"]["employer_name"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Nd", "No", "Cs"]), max_size=60))
def test_text_without_digits_is_never_changed(text):
    assert redact(text) == text


@settings(max_examples=300, deadline=None)
@given(number=PERSONAL, before=WORDS, after=WORDS, data=st.data())
def test_the_detector_finds_every_generated_number(number, before, after, data):
    typed = data.draw(written(number))
    redacted = redact(before + typed + after)
    assert number not in redacted and typed not in redacted
    assert redacted.startswith(before) and redacted.endswith(after)


@pytest.mark.parametrize("text", [
    "138123456789",            # a mobile's digits inside a longer run are no mobile
    "1381234567",              # ten digits
    "12812345678",             # 12 is no mobile prefix
    "110101199003071230",      # an 18-digit run whose check character is wrong
    "6222021234567890121",     # a card number failing the Luhn check
])
def test_runs_that_are_no_personal_number_are_left(text):
    assert not resident_id_valid(text) and not (13 <= len(text) <= 19 and luhn_valid(text))
    assert redact(f"单位{text}号") == f"单位{text}号"


MOBILE, CARD, RESIDENT_ID = "13912345678", "6222021234567890128", "11010519491231002X"


def test_no_free_text_field_keeps_a_personal_number_anywhere_in_the_database_or_logs(
        compliance, application, database_url):
    """Every free-text field of the reference policy, the list of records' too, and the consent
    references' own search columns: the database holds none of the numbers, nor do the logs; the
    consent reference is still found by what the channel sent; the replay is identical."""
    from api.test_privacy import database_text
    from app.logs import JsonFormatter
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root, level = logging.getLogger(), logging.getLogger().level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        check_nothing_kept_in_clear(compliance, application, database_url, database_text, stream.getvalue)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def check_nothing_kept_in_clear(compliance, application, database_url, database_text, log_text):
    assert luhn_valid(CARD) and resident_id_valid(RESIDENT_ID)
    body = json.loads(json.dumps(application))
    body["employment"]["employer_name"] = f"某某公司（联系人 {MOBILE[:3]} {MOBILE[3:7]} {MOBILE[7:]}）"
    body["device"]["device_id"] = f"card:{CARD}"
    body["consent"] = {"pipl_consent_id": f"PIPL-{RESIDENT_ID}", "bureau_authorisation_id": f"BA {MOBILE}"}
    body["bureau"]["accounts"] = [{**body["bureau"]["accounts"][0], "lender": f"L{CARD}"}] \
        if body.get("bureau", {}).get("accounts") else [
        {"type": "LOAN", "lender": f"L{CARD}", "lender_type": "BANK", "opened": "2020-01-01"}]
    body["bureau"]["has_record"] = True
    answer = compliance.post(URL + "?trace=full", json=body, headers={"X-API-Key": KEYS["channel"]})
    assert answer.status_code == 201, answer.get_json()
    decision_id = answer.get_json()["decision_id"]
    stored, logged = database_text(database_url), log_text()
    assert decision_id[:8] in stored and "zhishandai.application" in logged   # both were read
    for number in (MOBILE, CARD, RESIDENT_ID):
        assert number not in stored and number not in logged and number not in answer.get_data(as_text=True)
    shown = answer.get_json()["trace"]["input"]
    assert shown["device"]["device_id"] == "card:622202*********0128"
    assert shown["bureau"]["accounts"][0]["lender"] == "L622202*********0128"
    assert shown["consent"]["pipl_consent_id"] == "PIPL-11**************2X"
    found = compliance.get("/v1/decisions", query_string={"consent_id": f"PIPL-{RESIDENT_ID}"},
                           headers={"X-API-Key": KEYS["compliance"]})
    assert found.status_code == 200, found.get_json()
    assert [item["decision_id"] for item in found.get_json()["items"]] == [decision_id]
    replay = compliance.post(f"/v1/decisions/{decision_id}/replay", headers={"X-API-Key": KEYS["compliance"]})
    assert replay.get_json()["identical"], replay.get_json()


def test_the_engine_reads_the_text_as_sent_and_only_the_stored_copy_is_masked(app, application):
    """The decision is made on the text the channel sent (its rules and anti-fraud counts read it);
    the stored copy is masked and the clear text goes only into the sealed values."""
    import datetime

    from app.services import records
    policy = services(app).registry.current().policies[URL.rsplit("/", 1)[1]]
    body = json.loads(json.dumps(application))
    text = f"某某公司 {MOBILE}"
    body["employment"]["employer_name"] = text
    made = records.make(policy, body, datetime.date.fromisoformat(body["decision_date"]) if body.get(
        "decision_date") else datetime.date.today())
    assert made.typed["employment"]["employer_name"] == text
    assert made.input_masked["employment"]["employer_name"] == "某某公司 139****5678"
    assert made.clear["employment.employer_name"] == text and made.kinds["employment.employer_name"] == "text"
    assert body["employment"]["employer_name"] == text   # the body itself is left as it was


@pytest.mark.parametrize("text, shown", [
    ("某某科技有限公司13812345678", "某某科技有限公司138****5678"),
    ("ACME 138 1234 5678 ltd", "ACME 138****5678 ltd"),        # groups split by spaces
    ("１３８１２３４５６７８", "138****5678"),                    # full-width digits
    ("138\u200b12345678", "138****5678"),                      # a zero-width space inside
    ("13812345678 0", "138****5678 0"),                        # a digit set apart is no longer run
    ("13812345678x", "138****5678x"),                          # an X after a mobile is a letter
    ("1 10 1 0119400102000 X", "11**************0X"),          # an ID's X set apart
    ("2026-11-30 13812345678", "2026-11-30 138****5678"),
    ("1-" * 60 + "1", "****"),                                 # digit soup: masked whole
])
def test_how_numbers_inside_text_are_shown(text, shown):
    assert redact(text) == shown
