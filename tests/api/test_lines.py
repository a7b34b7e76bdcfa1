"""The product's three flows through the API: an application granted, drawdowns on its line and a
periodic review, each stored and linked, the line's history in order (compliance), replayable; the
line id is personal data: hashed for the look-up, masked in what is stored and shown."""
import json

from sqlalchemy import select

from app.extensions import services
from app.services.clock import business_date, utc_now
from app.storage.models import Decision
from support.applicants import as_of, examples
from support.http import URL
from support.portfolio import drawdown_body, review_body

DRAWDOWN, REVIEW = "/v1/decisions/zhishandai.drawdown", "/v1/decisions/zhishandai.review"
LINE = "ZSD2026112900315"


def granted(client, auth) -> str:
    """An application approved now: its decision id."""
    body = as_of(examples()["approve_salaried"], business_date(utc_now()))
    response = client.post(URL, json=body, headers=auth("channel"))
    assert response.status_code == 201 and response.get_json()["outcome"] == "APPROVE"
    return response.get_json()["decision_id"]


def post(client, auth, url, body):
    response = client.post(url, json=body, headers=auth("channel"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_line_from_application_to_drawdowns_and_reviews(client, auth, app):
    today = business_date(utc_now())
    grant = granted(client, auth)
    approved = post(client, auth, DRAWDOWN, drawdown_body(today, grant, line=LINE, amount=30000))
    assert (approved["outcome"], approved["limit"], approved["granted_by"]) == ("APPROVE", 30000, grant)
    assert approved["outputs"] == {"approved_amount": 30000}
    too_much = post(client, auth, DRAWDOWN, drawdown_body(today, grant, line=LINE, amount=150001))
    assert (too_much["outcome"], too_much["limit"]) == ("DECLINE", None)
    assert [r["code"] for r in too_much["reasons"]] == ["AMOUNT_ABOVE_AVAILABLE"]
    quiet = post(client, auth, REVIEW, review_body(today, grant, line=LINE))
    assert (quiet["outcome"], quiet["limit"], quiet["score_band"], quiet["reasons"]) == ("NONE", None, "A", [])
    reduce = post(client, auth, REVIEW, review_body(today, grant, line=LINE, payroll_stopped=True))
    assert (reduce["outcome"], reduce["limit"]) == ("REDUCE", 90000)
    assert reduce["reasons"][0]["code"] == "PAYROLL_STOPPED" and reduce["reasons"][0]["action"] == "REDUCE"
    frozen = post(client, auth, DRAWDOWN, drawdown_body(today, grant, line=LINE, status="FROZEN",
                                                         last_review_action="FREEZE",
                                                         last_review_date=today.isoformat()))
    assert frozen["outcome"] == "DECLINE"
    post(client, auth, DRAWDOWN, drawdown_body(today, grant, line="ZSD-ANOTHER-LINE"))  # not this line's

    response = client.get(f"/v1/lines/{LINE}/decisions", headers=auth("compliance"))
    assert response.status_code == 200
    history = response.get_json()
    assert history["line"] == "************0315" and history["complete"] is True
    ids = [item["decision_id"] for item in history["items"]]
    assert ids == [grant, approved["decision_id"], too_much["decision_id"], quiet["decision_id"],
                   reduce["decision_id"], frozen["decision_id"]]
    assert [item["policy"]["name"] for item in history["items"]] == [
        "zhishandai.application"] + ["zhishandai.drawdown"] * 2 + ["zhishandai.review"] * 2 + ["zhishandai.drawdown"]
    assert all(item["record"]["intact"] for item in history["items"])

    # the line id is stored only hashed and masked: nowhere in any stored column in clear
    with services(app).database.session() as session:
        rows = session.scalars(select(Decision).where(Decision.id.in_(ids))).all()
        assert LINE not in json.dumps([[str(getattr(row, c.key)) for c in Decision.__table__.columns] for row in rows],
                                      ensure_ascii=False)
        assert {row.granted_by for row in rows if row.policy_name != "zhishandai.application"} == {grant}
    # searchable by the review's own outcomes; replayable on the version that decided
    found = client.get("/v1/decisions", query_string={"outcome": "REDUCE"}, headers=auth("compliance")).get_json()
    assert [item["decision_id"] for item in found["items"]] == [reduce["decision_id"]]
    for decision in (reduce, approved):
        replay = client.post(f"/v1/decisions/{decision['decision_id']}/replay", headers=auth("compliance"))
        assert replay.status_code == 200 and replay.get_json()["identical"] is True


def test_a_line_history_is_for_compliance_and_an_unknown_line_is_404(client, auth):
    assert client.get(f"/v1/lines/{LINE}/decisions", headers=auth("channel")).status_code == 403
    response = client.get("/v1/lines/ZSD0000000000000/decisions", headers=auth("compliance"))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_line"
    assert client.get(f"/v1/lines/{LINE}/decisions?x=1", headers=auth("compliance")).status_code == 400


def test_a_review_body_that_does_not_fit_is_422_with_field_paths(client, auth):
    body = review_body(business_date(utc_now()), "0" * 32, line=LINE)
    body["account"]["limit"] = -1
    del body["account"]["dpd_now"]
    response = client.post(REVIEW, json=body, headers=auth("channel"))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]) == {"account.limit", "account.dpd_now"}


def test_a_drawdown_without_its_fresh_signals_is_referred_never_approved(client, auth):
    body = drawdown_body(business_date(utc_now()), "0" * 32, line=LINE)
    del body["signals"]
    answer = post(client, auth, DRAWDOWN, body)
    assert (answer["outcome"], answer["limit"]) == ("REFER", None)
    assert [r["code"] for r in answer["reasons"]] == ["DRAWDOWN_SIGNALS_MISSING"]


def test_the_access_log_masks_a_line_id_in_the_path(client, auth, caplog):
    import logging
    with caplog.at_level(logging.INFO, logger="firefly.access"):
        client.get(f"/v1/lines/{LINE}/decisions", headers=auth("compliance"))
    paths = [record.path for record in caplog.records if hasattr(record, "path")]
    assert paths == ["/v1/lines/************0315/decisions"]


def test_drawdowns_are_counted_by_the_service_whatever_the_channel_says(client, auth):
    """A stolen line drained in a burst: the channel reports no drawdowns before each one (its
    signals say 0), but the service counts the line's drawdowns itself (drawdown 2026.12.2): the
    4th in 24 hours is referred (DS-11), the count in the trace. One device drawing on a third
    line within 24 hours is declined (DS-12)."""
    today = business_date(utc_now())
    grant = granted(client, auth)
    answers = [post(client, auth, DRAWDOWN + "?trace=true",
                    drawdown_body(today, grant, line="ZSD2026113000901", amount=10000)) for _ in range(4)]
    assert [a["outcome"] for a in answers] == ["APPROVE", "APPROVE", "APPROVE", "REFER"]
    fourth = answers[-1]
    assert [r["code"] for r in fourth["reasons"]] == ["DRAWDOWN_VELOCITY"]
    assert [r["rule"] for r in fourth["reasons"]] == ["DS-11"]
    counted = {e["name"]: e for e in fourth["trace"]["shared"]}
    assert counted["shared.line_drawdowns_24h"]["value"] == 4
    assert counted["shared.line_drawdowns_24h"]["key"] == {"line.line_id": "************0901"}

    def on_device(line):
        body = drawdown_body(today, grant, line=line)
        body["drawdown"]["device_id"] = "DEV-DD-RING-01"
        return post(client, auth, DRAWDOWN + "?trace=true", body)
    assert on_device("ZSD2026113000911")["outcome"] == "APPROVE"
    assert on_device("ZSD2026113000912")["outcome"] == "APPROVE"
    third = on_device("ZSD2026113000913")
    assert third["outcome"] == "DECLINE" and [r["rule"] for r in third["reasons"]] == ["DS-12"]
    assert {e["name"]: e["value"] for e in third["trace"]["shared"]}["shared.lines_per_device_24h"] == 3
