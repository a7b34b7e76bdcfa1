"""Fraud-ring signals of the reference policy (2026.12.5) through the API, on the service's own
counts: a payout bank card given by several people (AF-40 refers the second, AF-41 declines from the
third on, and that decline marks the card as a fraud link), one emergency contact named by several
applicants (AF-38), one resident ID applying with several mobile numbers (AF-39). Without a card
or a contact the values are missing and nothing fires. Runs on the in-process store (SQLite run)
and on Redis (PostgreSQL + Redis run)."""
from api.test_anti_fraud import applicant, services_kind, shared

CARD = "6222021202001234567"
CONTACT = "13700009999"


def codes(answer: dict) -> list[str]:
    return [r["code"] for r in answer["reasons"]]


def rules(answer: dict) -> dict:
    return {r["id"]: r for stage in answer["trace"]["stages"] if stage["kind"] == "ruleset"
            for r in stage["rules"]}


def one_of_many(n: int, tag: str) -> dict:
    """Applicant n with a device and a mobile of their own: only what the test shares is shared."""
    return applicant(n, device=f"DEV-{tag}-{n:04d}", mobile=f"1390000{n:04d}")


def test_a_payout_card_given_by_three_people_refers_the_second_and_declines_the_third(decide):
    answers = []
    for n in range(1, 5):
        body = one_of_many(n, "CARD")
        body["applicant"]["bank_card"] = CARD
        answers.append(decide(body, query="?trace=true").get_json())
    assert [a["outcome"] for a in answers] == ["APPROVE", "REFER", "DECLINE", "DECLINE"]
    assert codes(answers[1]) == ["CARD_SHARED"]
    assert codes(answers[2]) == ["CARD_MANY_IDS"]
    # the card's decline is a fraud decline: the fourth is also linked to it through the card
    assert codes(answers[3]) == ["CARD_MANY_IDS", "FRAUD_LINK"]
    assert [shared(a["trace"])["shared.ids_per_card_30d"]["value"] for a in answers] == [1, 2, 3, 4]
    entry = shared(answers[2]["trace"])["shared.ids_per_card_30d"]
    assert entry["kind"] == "distinct" and entry["distinct"] == "applicant.id_number"
    assert entry["window"] == "30d" and entry["source"] == services_kind()
    [(field, key)] = entry["key"].items()
    assert field == "applicant.bank_card" and "*" in key and key != CARD
    assert CARD not in str(answers[2]["trace"]["shared"])  # the card is never shown in clear
    third = rules(answers[2])
    assert third["AF-41"]["matched"] and not third["AF-40"]["matched"]
    assert shared(answers[3]["trace"])["shared.fraud_links_30d"]["value"] == 1


def test_an_application_without_a_card_or_contact_reads_them_missing_and_is_approved(decide):
    answer = decide(one_of_many(1, "NOCARD"), query="?trace=true").get_json()
    assert answer["outcome"] == "APPROVE", codes(answer)
    values = shared(answer["trace"])
    for name in ("shared.ids_per_card_30d", "shared.contact_applications_7d"):
        assert values[name]["value"] is None and values[name]["source"] == "key missing"
    assert values["shared.phones_per_id_30d"]["value"] == 1
    found = rules(answer)
    assert not any(found[rule]["matched"] for rule in ("AF-38", "AF-39", "AF-40", "AF-41"))


def test_three_applicants_naming_one_contact_phone_are_referred_from_the_third(decide):
    answers = []
    for n in range(1, 4):
        body = one_of_many(n, "CONTACT")
        body["applicant"]["contact_mobile"] = CONTACT
        answers.append(decide(body, query="?trace=true").get_json())
    assert [a["outcome"] for a in answers] == ["APPROVE", "APPROVE", "REFER"]
    assert codes(answers[2]) == ["CONTACT_VELOCITY_7D"]
    entry = shared(answers[2]["trace"])["shared.contact_applications_7d"]
    assert entry["value"] == 3 and entry["kind"] == "count" and entry["window"] == "7d"
    assert list(entry["key"]) == ["applicant.contact_mobile"]
    assert rules(answers[2])["AF-38"]["read"]["shared.contact_applications_7d"] == 3
    # the contact's own applications are counted apart: the contact applying reads 1
    contact = applicant(50, device="DEV-CONTACT-0050", mobile=CONTACT)
    answer = decide(contact, query="?trace=true").get_json()
    assert shared(answer["trace"])["shared.phone_applications_24h"]["value"] == 1


def test_one_resident_id_applying_with_a_third_mobile_number_is_referred(decide):
    answers = []
    for n in range(1, 4):
        body = applicant(7, device=f"DEV-PHONES-{n:04d}", mobile=f"1370000{n:04d}")
        answers.append(decide(body, query="?trace=true").get_json())
    assert [a["outcome"] for a in answers] == ["APPROVE", "APPROVE", "REFER"]
    assert codes(answers[2]) == ["ID_MANY_PHONES"]
    assert [shared(a["trace"])["shared.phones_per_id_30d"]["value"] for a in answers] == [1, 2, 3]
    # the same mobile again does not add a phone
    again = applicant(7, device="DEV-PHONES-0004", mobile="13700000003")
    answer = decide(again, query="?trace=true").get_json()
    assert shared(answer["trace"])["shared.phones_per_id_30d"]["value"] == 3
