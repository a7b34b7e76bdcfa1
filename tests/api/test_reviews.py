"""Human decisions: an underwriter closes a REFER (once, with a complete review), shown with the
decision and chained; an applicant's PIPL art. 24 request and its answer are recorded."""
import json

import pytest

from app.extensions import services
from app.services.errors import InvalidInput
from app.services.reviews import Review, _within_policy
from support.applicants import examples
from support.tamper import tamper


def refer_id(decide):
    answer = decide(examples()["refer_thin_file"]).get_json()
    assert answer["outcome"] == "REFER"
    return answer["decision_id"]


def test_an_underwriter_closes_a_referral_once(client, auth, decide, app):
    decision_id = refer_id(decide)
    url = f"/v1/decisions/{decision_id}/review"
    review = {"outcome": "APPROVE", "limit": 50000, "reason_codes": ["MANUAL_INCOME_VERIFIED"],
              "comment": "payslips checked by phone"}
    assert client.post(url, json=review, headers=auth("compliance")).status_code == 403
    done = client.post(url, json=review, headers=auth("underwriter"))
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["outcome"] == "APPROVE" and done.get_json()["actor"] == "test-underwriter"
    again = client.post(url, json={**review, "outcome": "DECLINE", "limit": None}, headers=auth("underwriter"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_reviewed"
    shown = client.get(f"/v1/decisions/{decision_id}", headers=auth("compliance")).get_json()
    assert shown["outcome"] == "REFER"  # the automatic decision stays what it was
    assert [(n["kind"], n["outcome"], n["limit"]) for n in shown["reviews"]] == [("review", "APPROVE", 50000)]
    audit = services(app).audit_log
    audit.seal()
    assert audit.verify("reviews").ok and audit.verify("reviews").checked == 1


def test_an_underwriter_approves_within_the_policys_caps_and_may_lift_only_the_unverified_income_cap(
        client, auth, decide):
    """Before, an approval on review took any limit: 5,000,000 on a product capped at 500,000. Now
    at most what the policy would compute without the caps marked `review_may_lift` (the reference
    policy: CAP-UNVERIFIED, which an underwriter who verified the income lifts): here the base
    (200,000) binds, not the unverified-income cap (50,000) the automatic decision applied."""
    body = examples()["approve_salaried"]
    body["bank"]["payroll"] = False  # no source verifies the income ...
    body["employment"].update(provident_fund_months=0, social_insurance_months=3)
    body["applicant"]["mobile_in_service_months"] = 3  # ... and a new mobile number is referred
    answer = decide(body).get_json()
    assert answer["outcome"] == "REFER" and answer["outputs"]["indicative_limit"] == 50000
    url = f"/v1/decisions/{answer['decision_id']}/review"
    review = {"outcome": "APPROVE", "reason_codes": ["MANUAL_INCOME_VERIFIED"], "comment": "payslips seen"}
    for limit in (5_000_000, 200_001):
        refused = client.post(url, json={**review, "limit": limit}, headers=auth("underwriter"))
        assert refused.status_code == 422, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == "limit_above_policy"
        assert error["details"]["limit"] == ["at most 200000 (its base); a larger limit needs the application "
                                             "decided again"]
    done = client.post(url, json={**review, "limit": 200_000}, headers=auth("underwriter"))
    assert done.status_code == 201, done.get_json()


def test_an_approval_on_review_needs_a_limit_the_policy_could_compute():
    """The bound, on the stored trace's limit: none computed (a base that was missing: the
    referral says LIMIT_UNDETERMINED) is no approval; a policy without a limit bounds nothing;
    the bound is rounded down as the policy rounds."""
    approve = Review("APPROVE", 10_000, ("MANUAL",), "checked")
    with pytest.raises(InvalidInput) as refused:
        _within_policy(approve, {"limit": {"base": None, "caps": [], "round_down_to": 1000, "limit": None}},
                       frozenset())
    assert refused.value.code == "limit_undetermined"
    _within_policy(Review("APPROVE", 10**9, ("MANUAL",), "x"), {"stages": []}, frozenset())  # no limit: none
    trace = {"limit": {"base": 300000, "round_down_to": 1000, "limit": 50000,
                       "caps": [{"id": "CAP-DTI", "value": "123456.78"}, {"id": "CAP-UNVERIFIED", "value": 50000}]}}
    _within_policy(Review("APPROVE", 123_000, ("MANUAL",), "x"), trace, frozenset({"CAP-UNVERIFIED"}))
    with pytest.raises(InvalidInput) as above:
        _within_policy(Review("APPROVE", 123_001, ("MANUAL",), "x"), trace, frozenset({"CAP-UNVERIFIED"}))
    assert above.value.details == {"limit": ["at most 123000 (under CAP-DTI); a larger limit needs the "
                                             "application decided again"]}
    with pytest.raises(InvalidInput):  # not liftable in the version that decided: it binds
        _within_policy(Review("APPROVE", 50_001, ("MANUAL",), "x"), trace, frozenset())


def test_only_a_refer_is_reviewed_and_the_review_is_complete(client, auth, decide):
    approved = decide(examples()["approve_salaried"]).get_json()["decision_id"]
    response = client.post(f"/v1/decisions/{approved}/review", headers=auth("underwriter"),
                           json={"outcome": "DECLINE", "reason_codes": ["X"], "comment": "no"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_referred"
    decision_id = refer_id(decide)
    incomplete = client.post(f"/v1/decisions/{decision_id}/review", headers=auth("underwriter"),
                             json={"outcome": "APPROVE", "reason_codes": [], "comment": " "})
    assert incomplete.status_code == 422
    assert set(incomplete.get_json()["error"]["details"]) == {"limit", "reason_codes", "comment"}
    malformed = client.post(f"/v1/decisions/{decision_id}/review", headers=auth("underwriter"),
                            json={"outcome": "MAYBE", "limit": "lots"})
    assert malformed.status_code == 400
    assert {"outcome", "limit", "reason_codes", "comment"} <= set(malformed.get_json()["error"]["details"])


def test_an_applicants_request_and_its_answer_are_recorded(client, auth, decide):
    decision_id = decide(examples()["decline_overdue_pattern"]).get_json()["decision_id"]
    asked = client.post(f"/v1/decisions/{decision_id}/requests", headers=auth("compliance"),
                        json={"kind": "explanation", "text": "申请人来电要求说明拒绝原因"})
    assert asked.status_code == 201, asked.get_json()
    request_id = asked.get_json()["id"]
    url = f"/v1/decisions/{decision_id}/requests/{request_id}/answer"
    answered = client.post(url, headers=auth("underwriter"), json={"answer": "已书面说明：征信逾期记录"})
    assert answered.status_code == 201 and answered.get_json()["answers"] == request_id
    assert client.post(url, headers=auth("underwriter"), json={"answer": "again"}).status_code == 409
    unknown = client.post(f"/v1/decisions/{decision_id}/requests/{'0' * 32}/answer", headers=auth("compliance"),
                          json={"answer": "x"})
    assert unknown.status_code == 404
    shown = client.get(f"/v1/decisions/{decision_id}", headers=auth("compliance")).get_json()
    assert [n["kind"] for n in shown["reviews"]] == ["request", "answer"]


def test_a_review_edited_or_forged_in_the_database_is_shown_as_altered(client, auth, decide, database_url):
    """What the bank finally decided is the underwriter's review: an insider who raises its limit
    (50,000 to 800,000) or inserts a closing review of their own must not have compliance read it
    as the underwriter's. Each note says whether it is what the service wrote."""
    decision_id = refer_id(decide)
    review = {"outcome": "APPROVE", "limit": 50000, "reason_codes": ["MANUAL_INCOME_VERIFIED"],
              "comment": "payslips checked by phone"}
    note = client.post(f"/v1/decisions/{decision_id}/review", json=review, headers=auth("underwriter")).get_json()
    asked = client.post(f"/v1/decisions/{decision_id}/requests", headers=auth("compliance"),
                        json={"kind": "explanation", "text": "why"}).get_json()
    shown = client.get(f"/v1/decisions/{decision_id}", headers=auth("compliance")).get_json()
    assert [n["intact"] for n in shown["reviews"]] == [True, True]
    body = json.dumps({**review, "limit": 800000})
    tamper(database_url, ("UPDATE decision_reviews SET body = :b WHERE id = :i", {"b": body, "i": note["id"]}))
    shown = client.get(f"/v1/decisions/{decision_id}", headers=auth("compliance")).get_json()
    assert [(n["id"], n["limit"], n["intact"]) for n in shown["reviews"] if n["kind"] == "review"] == [
        (note["id"], 800000, False)]
    assert [n["intact"] for n in shown["reviews"] if n["id"] == asked["id"]] == [True]


def test_an_access_event_edited_in_the_database_is_shown_as_altered(client, auth, decide, database_url):
    """The access log answers "who looked at this person": an insider who renames the actor of
    their own read must not have compliance read the new name as the log's."""
    decision_id = decide(examples()["decline_overdue_pattern"]).get_json()["decision_id"]
    assert client.get(f"/v1/decisions/{decision_id}", headers=auth("compliance")).status_code == 200
    page = client.get(f"/v1/audit?action=decision.read&decision_id={decision_id}",
                      headers=auth("compliance")).get_json()
    assert [(e["actor"], e["intact"]) for e in page["items"]] == [("test-compliance", True)]
    tamper(database_url, ("UPDATE access_events SET actor = 'someone-else' WHERE id = :i",
                          {"i": page["items"][0]["id"]}))
    page = client.get(f"/v1/audit?action=decision.read&decision_id={decision_id}",
                      headers=auth("compliance")).get_json()
    assert [(e["actor"], e["intact"]) for e in page["items"]] == [("someone-else", False)]


def test_a_referral_declined_on_review_starts_the_cooling_off_and_links_its_keys(client, auth, decide):
    """An underwriter's DECLINE closes a referral: it is the bank's decline of that application.
    Before, only the automatic outcome marked the anti-fraud memory (REFER: nothing), so an
    impostor found out by the underwriter's call applied again minutes later with the same resident
    ID from another device and phone and was approved (no cooling-off, AF-37), and the device and
    mobile of that application were linked to no fraud decline (AF-35, AF-36). The review's
    DECLINE marks the keys now, at the review's moment, with the review's reasons."""
    from api.test_anti_fraud import applicant, shared
    referred = examples()["refer_thin_file"]
    answer = decide(referred).get_json()
    assert answer["outcome"] == "REFER"
    review = {"outcome": "DECLINE", "limit": None, "reason_codes": ["IDENTITY_NOT_VERIFIED"],
              "comment": "the person on the phone did not know the applicant's employer"}
    done = client.post(f"/v1/decisions/{answer['decision_id']}/review", json=review, headers=auth("underwriter"))
    assert done.status_code == 201, done.get_json()
    # the same resident ID again, from another device and mobile: within the cooling-off
    again = applicant(1, device="DEV-REVIEWED-AGAIN", mobile="13900007771")
    again["applicant"].update(id_number=referred["applicant"]["id_number"],
                              birth_date=referred["applicant"]["birth_date"])
    second = decide(again, query="?trace=true").get_json()
    assert shared(second["trace"])["shared.days_since_decline"]["value"] == 0
    assert second["outcome"] == "DECLINE" and "COOLING_OFF" in [r["code"] for r in second["reasons"]]
    # someone else on the declined application's device: linked to a fraud decline
    other = decide(applicant(2, device=referred["device"]["device_id"], mobile="13900007772"),
                   query="?trace=true").get_json()
    assert shared(other["trace"])["shared.fraud_links_30d"]["value"] == 1
    assert "FRAUD_LINK" in [r["code"] for r in other["reasons"]]


def test_a_referral_approved_or_declined_without_a_fraud_reason_on_review_links_nothing(client, auth, decide):
    """Only a DECLINE marks the cooling-off, and only one with a fraud reason the policy lists links
    the application's keys."""
    from api.test_anti_fraud import applicant, shared
    referred = examples()["refer_thin_file"]
    answer = decide(referred).get_json()
    review = {"outcome": "DECLINE", "limit": None, "reason_codes": ["THIN_FILE"], "comment": "no history to go on"}
    assert client.post(f"/v1/decisions/{answer['decision_id']}/review", json=review,
                       headers=auth("underwriter")).status_code == 201
    other = decide(applicant(3, device=referred["device"]["device_id"], mobile="13900007773"),
                   query="?trace=true").get_json()
    assert shared(other["trace"])["shared.fraud_links_30d"]["value"] == 0
    again = applicant(4, device="DEV-REVIEWED-AGAIN-2", mobile="13900007774")
    again["applicant"].update(id_number=referred["applicant"]["id_number"],
                              birth_date=referred["applicant"]["birth_date"])
    assert shared(decide(again, query="?trace=true").get_json()["trace"])["shared.days_since_decline"]["value"] == 0
