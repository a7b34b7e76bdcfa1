"""The small policy (policies/mini/application.yaml and rules/ here) written by hand in plain Python.

It reads the application as the channel sends it (the JSON value, all fields present: the policy
requires every one) and returns the outcome, the limit (APPROVE only) and the ordered reason codes:
every DECLINE reason before every REFER reason, each in the order eligibility, credit, fraud, limit.
It imports nothing from Firefly; keep it in step with the YAML by hand (tests/engine/test_mini_policy.py
compares the four implementations)."""
from __future__ import annotations

DECLINE, REFER, APPROVE = "DECLINE", "REFER", "APPROVE"
MIN_AGE, MAX_AGE, MIN_INCOME, INCOME_MULTIPLE, MINIMUM_LIMIT = 22, 60, 3000, 6, 5000

# rules/limit_matrix.yaml: (city tier, employment) -> base limit by bureau score band
MATRIX = {
    ("TIER1", "SALARIED"): (200000, 150000, 100000, 60000, 20000),
    ("TIER1", "SELF_EMPLOYED"): (150000, 100000, 70000, 40000, 10000),
    ("TIER2", "SALARIED"): (150000, 100000, 80000, 50000, 15000),
    ("TIER2", "SELF_EMPLOYED"): (100000, 80000, 50000, 30000, 8000),
    ("TIER3", "SALARIED"): (100000, 80000, 50000, 30000, 10000),
    ("TIER3", "SELF_EMPLOYED"): (80000, 50000, 30000, 20000, 5000),
}


def _band(score: int) -> int:
    if score >= 750:
        return 0
    if score >= 700:
        return 1
    if score >= 650:
        return 2
    if score >= 600:
        return 3
    return 4


def decide(raw: dict) -> dict:
    """{"outcome", "limit", "reasons"} for one application."""
    a, b, p, d = raw["applicant"], raw["bureau"], raw["application"], raw["device"]
    declines: list[str] = []
    refers: list[str] = []
    age, employment, income = a["age"], a["employment"], a["monthly_income"]
    months, amount = a["months_employed"], p["requested_amount"]
    # eligibility
    if age < MIN_AGE:
        declines.append("AGE_TOO_LOW")
    if age > MAX_AGE:
        declines.append("AGE_TOO_HIGH")
    if employment == "UNEMPLOYED":
        declines.append("UNEMPLOYED")
    if income < MIN_INCOME:
        declines.append("INCOME_TOO_LOW")
    if employment == "SALARIED" and months < 6:
        refers.append("SHORT_EMPLOYMENT")
    if employment == "SELF_EMPLOYED" and months < 24:
        refers.append("SHORT_BUSINESS")
    if a["city_tier"] == "TIER3" and income < 5000:
        refers.append("LOW_INCOME_TIER3")
    if age >= 55 and employment == "SELF_EMPLOYED":
        refers.append("OLDER_SELF_EMPLOYED")
    if amount > 200000:
        refers.append("LARGE_REQUEST")
    if amount < 1000:
        declines.append("REQUEST_TOO_SMALL")
    # credit
    score, overdue, dpd = b["credit_score"], b["overdue_months_24m"], b["max_dpd_12m"]
    inquiries, loans = b["hard_inquiries_6m"], b["open_loans"]
    if score < 550:
        declines.append("SCORE_TOO_LOW")
    elif score < 600:
        refers.append("SCORE_MARGINAL")
    if overdue >= 6:
        declines.append("OVERDUE_HISTORY")
    elif overdue >= 3:
        refers.append("SOME_OVERDUE")
    if dpd >= 90:
        declines.append("SEVERE_DELINQUENCY")
    elif dpd >= 30:
        refers.append("RECENT_DELINQUENCY")
    if inquiries > 10:
        declines.append("TOO_MANY_INQUIRIES")
    elif inquiries > 6:
        refers.append("MANY_INQUIRIES")
    if loans >= 8:
        declines.append("TOO_MANY_LOANS")
    elif loans >= 5:
        refers.append("MANY_LOANS")
    # fraud
    phone, applications, ip_risk, channel = (d["phone_months"], d["applications_30d"],
                                             d["ip_risk"], p["channel"])
    if d["device_age_days"] < 1:
        refers.append("NEW_DEVICE")
    if phone < 3:
        declines.append("NEW_PHONE")
    elif phone < 6:
        refers.append("RECENT_PHONE")
    if channel == "PARTNER" and age < 25:
        refers.append("YOUNG_PARTNER")
    if applications >= 5:
        declines.append("APPLICATION_BURST")
    elif applications >= 3:
        refers.append("REPEATED_APPLICATIONS")
    if ip_risk == "HIGH":
        declines.append("HIGH_RISK_IP")
    elif ip_risk == "MEDIUM" and channel != "BRANCH":
        refers.append("MEDIUM_RISK_IP")
    if d["on_blacklist"]:
        declines.append("BLACKLISTED")
    # limit: the matrix, the income cap, rounded down to 1000, the minimum
    row = MATRIX.get((a["city_tier"], employment))
    limit = None
    if row is None:
        refers.append("LIMIT_UNDETERMINED")
    else:
        limit = min(row[_band(score)], income * INCOME_MULTIPLE) // 1000 * 1000
        if limit < MINIMUM_LIMIT:
            declines.append("LIMIT_TOO_LOW")
    outcome = DECLINE if declines else REFER if refers else APPROVE
    return {"outcome": outcome, "limit": limit if outcome == APPROVE else None,
            "reasons": declines + refers}
