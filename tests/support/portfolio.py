"""Generated portfolios for the periodic review (seeded): accounts as the core system reports them
and a refreshed bureau summary, mostly sound, some with the early warnings the policy looks for.
Also the drawdown and review request bodies of the API tests, dated from a given day."""
from __future__ import annotations

import datetime
import os
import random
from typing import Iterator

GROUPS = ["PREMIUM", "SALARIED", "BUSINESS_OWNER", "LOCAL_RESIDENT", "NEW_CITIZEN"]


def line_id(number: int) -> str:
    return f"ZSD{number:013d}"


def decision_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def account(rng: random.Random, number: int, today: datetime.date) -> dict:
    """One account for the review (nested, as the API takes it)."""
    limit = rng.choice([20000, 50000, 80000, 100000, 150000, 200000, 300000, 500000])
    used = rng.choice([0.0, 0.1, 0.3, 0.5, 0.8, 0.97, 1.0])
    trouble = rng.random()
    dpd = [0] * 12
    if trouble < 0.08:
        for month in rng.sample(range(12), rng.randint(1, 4)):
            dpd[month] = rng.choice([5, 15, 35, 65])
    dpd_now = dpd[-1] if trouble < 0.03 else 0
    if trouble < 0.005:
        dpd_now = dpd[-1] = 95
    income = rng.choice([6000, 9000, 15000, 25000, 40000])
    inquiries, lenders = rng.randint(0, 3), rng.randint(1, 4)
    repayment = int(income * rng.choice([0.1, 0.2, 0.3, 0.4]))
    return {
        "account": {
            "line_id": line_id(number), "application_decision_id": decision_id(rng),
            "customer_group": rng.choice(GROUPS), "limit": limit, "balance": int(limit * used),
            "months_on_book": rng.randint(1, 60), "dpd_now": dpd_now, "dpd_12m": dpd,
            "full_utilisation_months": rng.choice([0, 0, 0, 1, 3, 7]) if used >= 0.97 else 0,
            "interest_late_months_12m": rng.choice([0] * 20 + [1, 2, 3]),
            "monthly_income": income,
            "payroll_stopped": rng.random() < 0.02, "social_insurance_stopped": rng.random() < 0.03},
        "bureau": {
            "report_date": (today - datetime.timedelta(days=rng.randint(0, 20))).isoformat(),
            "overdue_accounts_elsewhere": 1 if rng.random() < 0.04 else 0,
            "overdue_amount_elsewhere": rng.choice([0, 3000, 60000]) if rng.random() < 0.04 else 0,
            "hard_inquiries_3m": inquiries + rng.choice([0] * 12 + [1, 2, 4, 5]),
            "hard_inquiries_3m_at_grant": inquiries,
            "lender_count": lenders + rng.choice([0] * 15 + [1, 2, 3, 4]), "lender_count_at_grant": lenders,
            "monthly_repayment": int(repayment * rng.choice([1] * 12 + [1.5, 2, 3])),
            "monthly_repayment_at_grant": repayment,
            "court_enforcement_new": rng.random() < 0.005, "court_dishonest": rng.random() < 0.002}}


def portfolio(size: int, seed: int = 15, today: datetime.date | None = None) -> Iterator[dict]:
    rng = random.Random(seed)
    today = today or datetime.date.today()
    for number in range(1, size + 1):
        yield account(rng, number, today)


def write_jsonl(path: os.PathLike, accounts) -> os.PathLike:
    import json
    with open(path, "w", encoding="utf-8") as handle:
        for item in accounts:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path


def review_body(today: datetime.date, application_decision_id: str, line: str = "ZSD2024050100777",
                **account_fields) -> dict:
    """A sound account (B-card 820, band A: NONE) reviewed on `today`."""
    return {
        "account": {"line_id": line, "application_decision_id": application_decision_id,
                    "customer_group": "SALARIED", "limit": 100000, "balance": 40000, "months_on_book": 30,
                    "dpd_now": 0, "dpd_12m": [0] * 12, "full_utilisation_months": 0,
                    "interest_late_months_12m": 0, "monthly_income": 15000, "payroll_stopped": False,
                    "social_insurance_stopped": False, **account_fields},
        "bureau": {"report_date": (today - datetime.timedelta(days=8)).isoformat(),
                   "overdue_accounts_elsewhere": 0, "overdue_amount_elsewhere": 0, "hard_inquiries_3m": 1,
                   "hard_inquiries_3m_at_grant": 1, "lender_count": 2, "lender_count_at_grant": 2,
                   "monthly_repayment": 3000, "monthly_repayment_at_grant": 3000,
                   "court_enforcement_new": False, "court_dishonest": False}}


def drawdown_body(today: datetime.date, application_decision_id: str, line: str = "ZSD2024050100777",
                  amount: int = 20000, **line_fields) -> dict:
    """A plain drawdown (approved) on a line opened 90 days before `today`."""
    return {
        "line": {"line_id": line, "application_decision_id": application_decision_id, "status": "ACTIVE",
                 "limit": 200000, "drawn_balance": 50000, "available_amount": 150000,
                 "opened": (today - datetime.timedelta(days=90)).isoformat(),
                 "expiry": (today + datetime.timedelta(days=900)).isoformat(),
                 "last_review_action": "NONE", **line_fields},
        "drawdown": {"amount": amount, "purpose": "HOME_RENOVATION", "channel": "BANK_APP",
                     "payment": "SELF_PAY", "device_new": False},
        "signals": {"drawdowns_24h": 0, "drawdowns_7d": 1, "device_lines_24h": 1, "fraud_list_hit": False,
                    "fraud_score": 120}}
