"""Deciding without Flask: one application in, one stored decision out, or a domain error."""
import pytest
from sqlalchemy import func, select

from app.services import build
from app.services.access import Principal
from app.services.deciding import DecisionRequest
from app.services.errors import Conflict, InvalidInput, NotFound, Unavailable
from app.state.idempotency import ClaimState
from app.storage.models import Decision, PolicyVersion
from support.applicants import examples
from support.http import POLICY
from support.settings import make_settings

CHANNEL = Principal("test-channel", "channel")


def rows(firefly, model=Decision):
    with firefly.database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def request(body, **kwargs):
    return DecisionRequest(policy_name=kwargs.pop("policy", POLICY), body=body,
                           caller=kwargs.pop("caller", CHANNEL), request_id="req-1", **kwargs)


def test_a_decision_is_stored_and_answered_from_the_stored_row(firefly):
    decided = firefly.deciding.decide(request(examples()["approve_salaried"]))
    assert not decided.replayed and rows(firefly) == 1
    stored = firefly.records.get(decided.decision_id)
    assert {k: v for k, v in stored.items() if k not in ("trace", "record")} == decided.answer
    assert stored["record"]["intact"] is True and stored["record"]["seq"] >= 1
    assert decided.answer["outcome"] == "APPROVE" and decided.answer["customer_group"] == "SALARIED"
    assert decided.answer["policy"]["hash"] == firefly.registry.served(POLICY).hash
    assert rows(firefly, PolicyVersion) >= 1  # the version that decided is stored with it


def test_the_decision_date_is_the_date_in_china_of_the_service_clock(firefly, clock):
    body = dict(examples()["approve_salaried"], decision_date="1999-01-01")
    decided = firefly.deciding.decide(request(body, trace="full"))
    assert decided.answer["decision_date"] == "2026-11-29"  # 18:30 UTC is 02:30 the next day in China
    assert decided.answer["trace"]["input"]["decision_date"] == "2026-11-29"
    assert decided.answer["created_at"] == "2026-11-28T18:30:00Z"


def test_the_decision_time_is_the_service_clock_in_china_never_the_callers(firefly, clock):
    body = dict(examples()["approve_salaried"], decision_time="2000-01-01T12:00:00Z")
    decided = firefly.deciding.decide(request(body, trace="full"))
    assert decided.answer["trace"]["input"]["decision_time"] == "2026-11-29T02:30:00+08:00"
    assert decided.answer["trace"]["features"]["night_application"] is True
    # a night application, but not through a partner from a busy device: no referral
    assert decided.answer["outcome"] == "APPROVE"


def test_unknown_policy_is_not_found_and_names_the_known_ones(firefly):
    with pytest.raises(NotFound) as raised:
        firefly.deciding.decide(request({}, policy="nope.application"))
    assert raised.value.code == "unknown_policy" and POLICY in raised.value.message


def test_input_outside_the_schema_is_invalid_with_every_path_and_stores_nothing(firefly):
    body = dict(examples()["approve_salaried"], requested_amount="lots", unexpected=1)
    with pytest.raises(InvalidInput) as raised:
        firefly.deciding.decide(request(body))
    assert {"requested_amount", "unexpected"} <= set(raised.value.details)
    assert rows(firefly) == 0


def test_same_key_and_body_answers_the_stored_decision(firefly):
    body = examples()["approve_salaried"]
    first = firefly.deciding.decide(request(body, idempotency_key="k1"))
    again = firefly.deciding.decide(request(body, idempotency_key="k1"))
    assert again.replayed and again.decision_id == first.decision_id and again.answer == first.answer
    assert rows(firefly) == 1


def test_same_key_other_body_is_a_conflict(firefly):
    firefly.deciding.decide(request(examples()["approve_salaried"], idempotency_key="k2"))
    with pytest.raises(Conflict) as raised:
        firefly.deciding.decide(request(examples()["approve_premium"], idempotency_key="k2"))
    assert raised.value.code == "idempotency_conflict" and rows(firefly) == 1


def test_keys_belong_to_their_caller(firefly):
    body = examples()["approve_salaried"]
    one = firefly.deciding.decide(request(body, idempotency_key="shared"))
    other = firefly.deciding.decide(request(body, idempotency_key="shared",
                                            caller=Principal("other-channel", "channel")))
    assert one.decision_id != other.decision_id and rows(firefly) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_malformed_keys_are_refused(firefly, key):
    with pytest.raises(InvalidInput) as raised:
        firefly.deciding.decide(request(examples()["approve_salaried"], idempotency_key=key))
    assert raised.value.code == "invalid_idempotency_key" and rows(firefly) == 0


def test_a_key_being_decided_elsewhere_is_a_conflict_to_retry(firefly, redis_url):
    if redis_url is None:
        pytest.skip("REDIS_URL not set: without Redis no claim is shared (the PostgreSQL + Redis run covers it)")
    body = examples()["approve_salaried"]
    claim = firefly.state.claims.claim("test-channel:busy", firefly.personal.request_hash(POLICY, body))
    assert claim.state is ClaimState.OWNED
    with pytest.raises(Conflict) as raised:
        firefly.deciding.decide(request(body, idempotency_key="busy"))
    assert raised.value.code == "idempotency_in_progress" and raised.value.retry_after == 1


def test_a_rejected_input_releases_its_claim(firefly):
    with pytest.raises(InvalidInput):
        firefly.deciding.decide(request({"bad": 1}, idempotency_key="k3"))
    decided = firefly.deciding.decide(request(examples()["approve_salaried"], idempotency_key="k3"))
    assert not decided.replayed and rows(firefly) == 1


def test_a_database_that_cannot_store_means_unavailable_and_no_decision(database_url, clean_state, clock):
    down = build(make_settings("postgresql+psycopg://postgres@127.0.0.1:1/none", None), clock=clock)
    try:
        assert down.registry.current().policies  # the folder loads without a database
        with pytest.raises(Unavailable) as raised:
            down.deciding.decide(request(examples()["approve_salaried"]))
        assert raised.value.retry_after == 1 and "no decision was made" in raised.value.message
    finally:
        down.close()
