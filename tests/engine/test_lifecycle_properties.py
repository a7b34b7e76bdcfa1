"""Properties of the drawdown and review policies over generated inputs (hypothesis): a drawdown is
never approved above the available amount or on a line that is not active; a review never raises a
limit; every action of a review other than NONE carries a reason."""
import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import load_policy_root

POLICIES = load_policy_root(".").policies
DRAWDOWN, REVIEW = POLICIES["zhishandai.drawdown"], POLICIES["zhishandai.review"]
TODAY = datetime.date(2026, 11, 28)
money = st.integers(min_value=0, max_value=600_000)
maybe = lambda strategy: st.none() | strategy  # noqa: E731 - absent or a value


def _without_nones(data):
    if isinstance(data, dict):
        return {k: _without_nones(v) for k, v in data.items() if v is not None}
    return data


@st.composite
def drawdowns(draw):
    limit = draw(money)
    drawn = draw(st.integers(0, limit))
    available = draw(st.one_of(st.just(limit - drawn), money))   # the core's books may disagree
    return _without_nones({
        "decision_date": TODAY.isoformat(),
        "line": {"line_id": "ZSD2026000000001", "application_decision_id": draw(maybe(st.just("a" * 32))),
                 "status": draw(st.sampled_from(["ACTIVE", "FROZEN", "SUSPENDED", "CLOSED", "EXPIRED"])),
                 "limit": limit, "drawn_balance": drawn, "available_amount": available,
                 "opened": (TODAY - datetime.timedelta(days=draw(st.integers(0, 2000)))).isoformat(),
                 "expiry": (TODAY + datetime.timedelta(days=draw(st.integers(-30, 2000)))).isoformat(),
                 "last_review_action": draw(st.sampled_from(["NONE", "WATCH", "REDUCE", "FREEZE", "CALL"])),
                 "last_review_date": draw(maybe(st.just((TODAY - datetime.timedelta(days=40)).isoformat())))},
        "drawdown": {"amount": draw(st.integers(1, 600_000)),
                     "purpose": draw(st.sampled_from(["CONSUMPTION", "HOME_RENOVATION", "SECURITIES", "OTHER"])),
                     "channel": draw(maybe(st.just("BANK_APP"))), "payment": draw(maybe(st.sampled_from(["SELF_PAY", "ENTRUSTED"]))),
                     "payee_type": draw(maybe(st.sampled_from(["MERCHANT", "INDIVIDUAL"]))),
                     "device_new": draw(maybe(st.booleans()))},
        "signals": draw(maybe(st.fixed_dictionaries({
            "drawdowns_24h": st.integers(0, 5), "drawdowns_7d": st.integers(0, 10),
            "device_lines_24h": st.integers(0, 4), "fraud_list_hit": st.booleans(),
            "fraud_score": st.integers(0, 1000)}))),
    })


@st.composite
def reviews(draw):
    limit = draw(money)
    count = st.integers(0, 12)
    return _without_nones({
        "decision_date": TODAY.isoformat(),
        "account": {"line_id": "ZSD2026000000001", "application_decision_id": "b" * 32,
                    "limit": limit, "balance": draw(st.integers(0, limit * 2)),
                    "months_on_book": draw(st.integers(0, 120)), "dpd_now": draw(st.integers(0, 200)),
                    "dpd_12m": draw(maybe(st.lists(st.integers(0, 200), max_size=12))),
                    "full_utilisation_months": draw(maybe(count)), "interest_late_months_12m": draw(maybe(count)),
                    "monthly_income": draw(maybe(st.integers(0, 100_000))),
                    "payroll_stopped": draw(maybe(st.booleans())), "social_insurance_stopped": draw(maybe(st.booleans()))},
        "bureau": draw(maybe(st.fixed_dictionaries({
            "report_date": st.just((TODAY - datetime.timedelta(days=draw(st.integers(0, 90)))).isoformat()),
            "overdue_accounts_elsewhere": count, "overdue_amount_elsewhere": money,
            "hard_inquiries_3m": count, "hard_inquiries_3m_at_grant": count,
            "lender_count": count, "lender_count_at_grant": count,
            "monthly_repayment": money, "monthly_repayment_at_grant": money,
            "court_enforcement_new": st.booleans(), "court_dishonest": st.booleans()}))),
    })


@settings(max_examples=400, deadline=None)
@given(drawdowns())
def test_a_drawdown_is_never_approved_above_the_available_amount_or_on_a_line_not_active(body):
    decision = DRAWDOWN.decide(DRAWDOWN.parse_input(body))
    if decision.outcome == "APPROVE":
        assert body["line"]["status"] == "ACTIVE"
        assert decision.limit == body["drawdown"]["amount"] <= body["line"]["available_amount"]
        assert "signals" in body   # never approved without the fresh signals
    else:
        assert decision.limit is None and decision.reasons


@settings(max_examples=400, deadline=None)
@given(reviews())
def test_a_review_never_raises_a_limit_and_every_action_has_a_reason(body):
    decision = REVIEW.decide(REVIEW.parse_input(body))
    assert decision.outcome in ("NONE", "WATCH", "REDUCE", "FREEZE", "CALL")
    if decision.limit is not None:
        assert decision.outcome == "REDUCE" and 0 <= decision.limit <= body["account"]["limit"]
    if decision.outcome == "NONE":
        assert decision.reasons == [] and "bureau" in body   # no silent NONE without the bureau
    else:
        assert decision.reasons and decision.reasons[0].action == decision.outcome
