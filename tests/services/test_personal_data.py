"""Personal data hardened: the re-identification attacks of issue 9 fail on a stored row, and a
rotated FIREFLY_HMAC_KEY keeps search, replay and idempotency of the decisions made before."""
import datetime
import hashlib
import json
import re

import pytest
from sqlalchemy import select

from app.engine.language.resident_id import check_character
from app.services import build
from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.services.errors import Conflict
from app.services.records import Search
from app.services.replay import Target
from app.storage.models import Decision
from support.applicants import examples
from support.http import POLICY
from support.settings import make_settings

CHANNEL = Principal("test-channel", "channel")


def decide(services, body, key=None):
    return services.deciding.decide(DecisionRequest(POLICY, body, CHANNEL, "req-1", idempotency_key=key))


def stored_row(services, decision_id):
    with services.database.session() as session:
        return session.scalar(select(Decision).where(Decision.id == decision_id))


def row_text(row):
    """Everything an attacker reading the row sees, as text."""
    return json.dumps({c.key: getattr(row, c.key) for c in Decision.__table__.columns},
                      default=str, ensure_ascii=False)


def candidate_ids(masked, region6, decision_date, age, clear_dates):
    """Every well-formed resident ID consistent with what the row shows, for an attacker who even
    knows the applicant's county (region6): the characters the mask keeps, the birth dates shown in
    clear (else every date that gives the age the trace shows), and the check digit."""
    births = [d for d in clear_dates if age is None or _age(d, decision_date) == age]
    if not births:
        start = decision_date.replace(year=decision_date.year - (age or 18) - 1)
        births = [start + datetime.timedelta(days=n) for n in range(367 if age is not None else 365 * 60)]
        births = [d for d in births if age is None or _age(d, decision_date) == age]
    found = []
    for born in births:
        for sequence in range(1000):
            first17 = f"{region6}{born:%Y%m%d}{sequence:03d}"
            number = first17 + check_character(first17)
            if all(m == "*" or m == c for m, c in zip(masked, number)):
                found.append(number)
    return found


def _age(born, on):
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_the_stored_row_leaves_thousands_of_candidate_ids(firefly):
    body = examples()["approve_salaried"]
    true_id = body["applicant"]["id_number"]
    row = stored_row(firefly, decide(firefly, body).decision_id)
    text = row_text(row)
    masked = row.input_masked["applicant"]["id_number"]
    age = row.trace["features"]["age"] if isinstance(row.trace, dict) else json.loads(row.trace)["features"]["age"]
    clear_dates = {datetime.date.fromisoformat(d) for d in re.findall(r"\d{4}-\d{2}-\d{2}", text)}
    clear_dates |= {datetime.date(int(d[:4]), int(d[4:6]), int(d[6:]))
                    for d in re.findall(r"(?<!\d)(19\d{6}|20[0-2]\d{5})(?!\d)", text)
                    if d[4:6] <= "12" and "01" <= d[6:] <= "31" and d[4:6] != "00"}
    assert "1990-05-14" not in text and "19900514" not in text
    candidates = candidate_ids(masked, true_id[:6], row.decision_date, age, clear_dates)
    assert true_id in candidates
    assert len(candidates) >= 1000, f"only {len(candidates)} candidates: the row identifies the applicant"


def test_the_same_attack_succeeds_on_the_old_mask_and_clear_birth_date():
    """The attack above is real: on main's row (4+4 digits, birth date in clear) it finds the ID."""
    true_id, decision_date = "330106199005143571", datetime.date(2026, 11, 29)
    old_mask = true_id[:4] + "*" * 10 + true_id[-4:]
    found = candidate_ids(old_mask, true_id[:6], decision_date, 36, {datetime.date(1990, 5, 14)})
    assert found == [true_id]


def test_name_and_phone_cannot_be_guessed_from_the_request_hash(firefly):
    """Main stored an unkeyed SHA-256 of the clear body: guessing the name and phone (and here even
    being handed the true ones) against it found them. The keyed hash matches no guess."""
    body = examples()["approve_salaried"]
    row = stored_row(firefly, decide(firefly, body, key="attack-1").decision_id)
    assert "13812345678" not in row_text(row) and body["applicant"]["name"] not in row_text(row)
    stored_digest = row.request_hash.split(":")[-1]
    for name in ("张三", body["applicant"]["name"], "李娜"):
        for mobile in ("13812340000", body["applicant"]["mobile"], "13812349999"):
            guess = {**body, "applicant": {**body["applicant"], "name": name, "mobile": mobile}}
            text = json.dumps([POLICY, guess], sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False, default=str)
            assert hashlib.sha256(text.encode("utf-8")).hexdigest() != stored_digest
    assert row.request_hash.startswith(firefly.personal.key_id + ":")


def test_a_rotated_key_keeps_search_replay_and_idempotency(firefly, database_url, redis_url):
    body = examples()["approve_salaried"]
    first = decide(firefly, body, key="rotate-1")
    old_key = firefly.settings.hmac_key
    rotated = build(make_settings(database_url, redis_url, FIREFLY_HMAC_KEY="a-brand-new-hmac-key-" + "x" * 20,
                                  FIREFLY_HMAC_OLD_KEYS=old_key))
    try:
        assert rotated.personal.key_id != firefly.personal.key_id
        found = rotated.records.search(Search(id_number=body["applicant"]["id_number"]))
        assert [item["decision_id"] for item in found.items] == [first.decision_id]
        assert rotated.replaying.replay(first.decision_id, Target())["identical"] is True
        again = decide(rotated, body, key="rotate-1")
        assert again.replayed and again.decision_id == first.decision_id
        second = decide(rotated, body)
        assert stored_row(rotated, second.decision_id).key_id == rotated.personal.key_id
        assert len(rotated.records.search(Search(phone=body["applicant"]["mobile"])).items) == 2
    finally:
        rotated.close()
    forgotten = build(make_settings(database_url, redis_url, FIREFLY_HMAC_KEY="a-brand-new-hmac-key-" + "x" * 20))
    try:
        assert forgotten.records.search(Search(id_number=body["applicant"]["id_number"])).items[0][
            "decision_id"] != first.decision_id
        with pytest.raises(Conflict) as raised:
            forgotten.replaying.replay(first.decision_id, Target())
        assert raised.value.code == "sealing_key_missing"
    finally:
        forgotten.close()


def test_consent_references_are_stored_with_the_decision_and_searchable(firefly):
    body = examples()["approve_salaried"]
    decided = decide(firefly, body)
    consent = body["consent"]
    assert decided.answer["consent"] == consent
    row = stored_row(firefly, decided.decision_id)
    assert (row.pipl_consent_id, row.bureau_authorisation_id) == (consent["pipl_consent_id"],
                                                                    consent["bureau_authorisation_id"])
    decide(firefly, {**body, "consent": {"pipl_consent_id": "PIPL-OTHER", "bureau_authorisation_id": "CRA-OTHER"}})
    by_consent = firefly.records.search(Search(consent_id=consent["pipl_consent_id"]))
    assert [item["decision_id"] for item in by_consent.items] == [decided.decision_id]
    by_authorisation = firefly.records.search(Search(bureau_authorisation_id="CRA-OTHER"))
    assert [item["consent"]["pipl_consent_id"] for item in by_authorisation.items] == ["PIPL-OTHER"]


def test_hashes_and_macs_are_hmac_sha256_under_the_keys_derived_for_each_purpose():
    """The keyed hash, the request hash and the logs' MAC are HMAC-SHA256 hex under the key
    derived for their purpose: what every stored hash, search and MAC was made with."""
    import hmac

    from app.privacy import PersonalData
    secret = "a-secret-of-thirty-two-characters-or-more"
    personal = PersonalData(secret)

    def derived(purpose):
        return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()

    def reference(key, text):
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    kid = personal.key_id
    assert personal.keyed_hash(" 11010119900307 851x ") == reference(derived(b"firefly/pii-hash/v1"),
                                                                     "11010119900307851X")
    body = {"b": "张三", "a": 1}
    assert personal.request_hash("p", body) == f"{kid}:" + reference(
        derived(b"firefly/request-hash/v1"), '["p",{"a":1,"b":"张三"}]')
    assert personal.mac("decisions|x|h") == f"{kid}:" + reference(derived(b"firefly/log-mac/v1"), "decisions|x|h")
    assert personal.mac_matches(personal.mac("t"), "t") and not personal.mac_matches(personal.mac("t"), "u")
