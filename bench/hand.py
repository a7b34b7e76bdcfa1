"""The Zhishandai application policy written by hand in plain Python: the benchmark baseline.

It implements exactly what policies/zhishandai/application.yaml and the rule files under rules/
say (same rules, same order, same outcome, limit, group, score, band and ordered reason codes), on
the typed nested input the engine receives (dates as datetime.date, decimals as Decimal, missing
fields absent or None). It imports nothing from the engine: keep it in step with the YAML by hand.
"""
from __future__ import annotations

import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

DECLINE, REFER, APPROVE = "DECLINE", "REFER", "APPROVE"
_SEVERITY = {DECLINE: 0, REFER: 1}
_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)

# --- product parameters (policies/zhishandai/application.yaml) ---------------------------------
MIN_AGE, MAX_AGE = 22, 60
MINIMUM_LIMIT = 10000
INCOME_MULTIPLE = 15
BUSINESS_INCOME_RATIO = Decimal("0.01")
DTI_MONTHLY_RATE = Decimal("0.006")
DTI_REFER = Decimal("0.55")
DTI_DECLINE = Decimal("0.70")
MIN_INCOME_SALARIED = 4000
MIN_INCOME_LOCAL = 3000
MIN_ANNUAL_TURNOVER = 500000
UNVERIFIED_INCOME_MAX_REQUEST = 100000
REGION_CAP_DEVELOPED, REGION_CAP_OTHER = 500000, 300000
ROUND_DOWN_TO = 1000

# --- named lists (rules/developed_cities.yaml, rules/high_risk_industries.yaml) ----------------
DEVELOPED_CITIES = frozenset("""
110100 120100 310100 500100 130100 140100 150100 210100 220100 230100 320100 330100 340100 350100
360100 370100 410100 420100 430100 440100 450100 460100 510100 520100 530100 540100 610100 620100
630100 640100 650100 210200 320200 320400 320500 320600 330200 330300 330400 330600 330700 331000
350200 350500 370200 370600 440300 440400 440600 441300 441900 442000""".split())
HIGH_RISK_INDUSTRIES = frozenset(["REAL_ESTATE", "CONSTRUCTION", "MINING", "PRECIOUS_METALS",
                                  "FINANCE_LENDING", "ENTERTAINMENT"])

# --- resident ID (GB 11643-1999) ---------------------------------------------------------------
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_birth_date(number):
    if number is None or len(number) != 18 or not number[:17].isdigit():
        return None
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _id_valid(number):
    if number is None:
        return None
    if len(number) != 18 or not number[:17].isdigit() or _id_birth_date(number) is None:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS))
    return number[17].upper() == "10X98765432"[total % 11]


def _age(born, on):
    if born is None or on is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --- scorecard (rules/application_scorecard.yaml) ----------------------------------------------
# Each characteristic: (bins as (low, high, points, reason)), with low inclusive, high exclusive,
# None meaning unbounded; then the missing bin (points, reason). Enum characteristics use a dict.
def _bin_num(value, bins, missing_bin):
    if value is None:
        return missing_bin
    for low, high, points, reason in bins:
        if (low is None or value >= low) and (high is None or value < high):
            return points, reason
    return 0, None


_D = Decimal
_SC_NUMERIC = [
    ("age", [(None, 25, -10, "SC_AGE_YOUNG"), (25, 35, 10, "SC_AGE"), (35, 50, 25, None),
             (50, None, 10, "SC_AGE")], (-20, "SC_AGE_MISSING"), 25),
    ("education", None, None, 30),
    ("income", [(None, 5000, -10, "SC_INCOME_LOW"), (5000, 10000, 10, "SC_INCOME"),
                (10000, 20000, 25, "SC_INCOME"), (20000, None, 40, None)],
     (-20, "SC_INCOME_MISSING"), 40),
    ("dti", [(None, _D("0.2"), 40, None), (_D("0.2"), _D("0.35"), 25, "SC_DTI"),
             (_D("0.35"), _D("0.5"), 5, "SC_DTI"), (_D("0.5"), None, -20, "SC_DTI_HIGH")],
     (-10, "SC_DTI_MISSING"), 40),
    ("history", [(None, 12, -10, "SC_HISTORY_SHORT"), (12, 36, 10, "SC_HISTORY"),
                 (36, None, 30, None)], (-15, "SC_HISTORY_MISSING"), 30),
    # "<= 1" on a whole number is "< 2"
    ("inquiries", [(None, 2, 30, None), (2, 4, 15, "SC_INQUIRIES"), (4, 7, 0, "SC_INQUIRIES"),
                   (7, None, -20, "SC_INQUIRIES_MANY")], (-10, "SC_INQUIRIES_MISSING"), 30),
    ("utilisation", [(None, _D("0.3"), 30, None), (_D("0.3"), _D("0.7"), 10, "SC_UTILISATION"),
                     (_D("0.7"), _D("0.9"), -10, "SC_UTILISATION_HIGH"),
                     (_D("0.9"), None, -30, "SC_UTILISATION_HIGH")],
     (0, "SC_UTILISATION_MISSING"), 30),
    ("residence", [(None, 12, -10, "SC_RESIDENCE_SHORT"), (12, 36, 5, "SC_RESIDENCE"),
                   (36, None, 20, None)], (-15, "SC_RESIDENCE_MISSING"), 20),
    ("external", [(None, 550, -40, "SC_EXTERNAL_SCORE_LOW"), (550, 650, 0, "SC_EXTERNAL_SCORE"),
                  (650, 750, 25, "SC_EXTERNAL_SCORE"), (750, None, 45, None)],
     (-10, "SC_EXTERNAL_SCORE_MISSING"), 45),
    ("relationship", [(None, 12, 5, "SC_RELATIONSHIP"), (12, 36, 12, "SC_RELATIONSHIP"),
                      (36, None, 20, None)], (0, "SC_RELATIONSHIP"), 20),
]
_EDUCATION = {"DOCTORATE": (30, None), "MASTER": (30, None), "BACHELOR": (25, "SC_EDUCATION"),
              "COLLEGE": (15, "SC_EDUCATION"), "HIGH_SCHOOL": (0, "SC_EDUCATION"),
              "BELOW_HIGH_SCHOOL": (0, "SC_EDUCATION")}
BASE_POINTS = 600
MAX_SCORE_REASONS = 4
BANDS = [("A", 820, None, None), ("B", 760, None, None), ("C", 700, None, None),
         ("D", 660, REFER, "SCORE_MARGINAL"), ("E", None, DECLINE, "SCORE_LOW")]

# --- limit matrix (rules/limit_matrix.yaml): tier -> group -> (A, B, C-D-E) ---------------------
LIMIT_MATRIX = {
    "DEVELOPED": {"PREMIUM": (500000, 400000, 300000), "BUSINESS_OWNER": (400000, 300000, 150000),
                  "SALARIED": (300000, 200000, 120000), "LOCAL_RESIDENT": (200000, 120000, 80000),
                  "NEW_CITIZEN": (150000, 100000, 50000)},
    "OTHER": {"PREMIUM": (300000, 250000, 200000), "BUSINESS_OWNER": (300000, 200000, 100000),
              "SALARIED": (200000, 150000, 80000), "LOCAL_RESIDENT": (150000, 100000, 50000),
              "NEW_CITIZEN": (100000, 60000, 30000)},
}


def _section(typed, name):
    return typed.get(name) or {}


def _eq(value, wanted):
    """`value == wanted` under the missing-data rule (missing is never equal)."""
    return value is not None and value == wanted


def _cmp(value, op, other):
    if value is None or other is None:
        return False
    return {"<": value < other, "<=": value <= other, ">": value > other, ">=": value >= other,
            "!=": value != other}[op]


def decide(typed: dict) -> dict:
    """The decision for one typed application input."""
    ap, res = _section(typed, "applicant"), _section(typed, "residence")
    emp, bus = _section(typed, "employment"), _section(typed, "business")
    bank, bur = _section(typed, "bank"), _section(typed, "bureau")
    dev, chk, sco = _section(typed, "device"), _section(typed, "checks"), _section(typed, "scores")
    decision_date = typed.get("decision_date")
    requested = typed.get("requested_amount")
    city = res.get("city_code")

    # features
    id_number = ap.get("id_number")
    id_birth = _id_birth_date(id_number)
    age = _age(id_birth, decision_date)
    id_valid = _id_valid(id_number)
    developed = city in DEVELOPED_CITIES
    region_tier = "DEVELOPED" if developed else "OTHER"
    region_cap = REGION_CAP_DEVELOPED if developed else REGION_CAP_OTHER
    income, turnover = emp.get("monthly_income"), bus.get("annual_turnover")
    incomes = [x for x in (income, None if turnover is None else turnover * BUSINESS_INCOME_RATIO)
               if x is not None]
    assessed = max(incomes) if incomes else None
    repayment = bur.get("monthly_repayment")
    repayment = 0 if repayment is None else repayment
    interest = None if requested is None else requested * DTI_MONTHLY_RATE
    dti = None
    if interest is not None and assessed is not None and assessed != 0:
        dti = _CTX.divide(Decimal(repayment + interest), Decimal(assessed))
    income_cap = None if assessed is None else assessed * INCOME_MULTIPLE
    headroom_cap = None
    if assessed is not None:
        headroom_cap = _CTX.divide(Decimal(assessed * DTI_REFER - repayment), DTI_MONTHLY_RATE)

    hits = []  # (severity, stage, order, reason)

    def hit(stage, order, action, reason):
        hits.append((_SEVERITY[action], stage, order, reason))

    # stage 0: anti-fraud (collect)
    if id_valid is False:
        hit(0, 1, DECLINE, "ID_INVALID")
    if _cmp(ap.get("birth_date"), "!=", id_birth):
        hit(0, 2, DECLINE, "ID_BIRTH_DATE_MISMATCH")
    if _cmp(age, "<", MIN_AGE) or _cmp(age, ">", MAX_AGE):
        hit(0, 3, DECLINE, "AGE_OUT_OF_RANGE")
    if _cmp(ap.get("id_expiry_date"), "<", decision_date):
        hit(0, 4, REFER, "ID_EXPIRED")
    if _eq(bank.get("internal_blacklist"), True):
        hit(0, 5, DECLINE, "INTERNAL_BLACKLIST")
    if _eq(chk.get("court_dishonest"), True):
        hit(0, 6, DECLINE, "COURT_DISHONEST")
    if _cmp(ap.get("mobile_in_service_months"), "<", 6):
        hit(0, 7, REFER, "MOBILE_NEW")
    if _cmp(dev.get("device_applications_24h"), ">=", 3):
        hit(0, 8, DECLINE, "VELOCITY_DEVICE")
    if _cmp(dev.get("phone_applications_24h"), ">=", 3):
        hit(0, 9, DECLINE, "VELOCITY_PHONE")
    if _cmp(dev.get("id_applications_7d"), ">=", 4):
        hit(0, 10, REFER, "VELOCITY_ID")
    if _cmp(dev.get("gps_city_code"), "!=", city) and _cmp(dev.get("ip_city_code"), "!=", city):
        hit(0, 11, REFER, "LOCATION_MISMATCH")
    if _cmp(bur.get("hard_inquiries_1m"), ">=", 4):
        hit(0, 12, REFER, "INQUIRIES_1M_HIGH")
    if _eq(dev.get("shares_contact_with_declined"), True):
        hit(0, 13, REFER, "SHARED_CONTACT")
    if _eq(dev.get("emulator"), True) or _eq(dev.get("rooted"), True):
        hit(0, 14, DECLINE, "DEVICE_TAMPERED")
    fraud = sco.get("fraud_score")
    if _cmp(fraud, ">=", 800):
        hit(0, 15, DECLINE, "FRAUD_SCORE_HIGH")
    if _cmp(fraud, ">=", 650) and _cmp(fraud, "<", 800):
        hit(0, 16, REFER, "FRAUD_SCORE_ELEVATED")
    if _eq(chk.get("identity_verified"), False):
        hit(0, 17, DECLINE, "IDENTITY_NOT_VERIFIED")
    if _eq(chk.get("mobile_real_name_match"), False):
        hit(0, 18, REFER, "MOBILE_NOT_OWN_NAME")
    if _eq(chk.get("court_enforcement_open"), True):
        hit(0, 19, REFER, "COURT_ENFORCEMENT_OPEN")

    # stage 1: residence status (unique)
    hukou, permit = res.get("hukou_city_code"), res.get("residence_permit")
    statuses = []
    if _eq(hukou, city):
        statuses.append("LOCAL_HUKOU")
    if _eq(permit, True):
        statuses.append("NON_LOCAL_PERMIT")
    if _cmp(hukou, "!=", city) and (permit is False or permit is None):
        statuses.append("NON_LOCAL_NO_PERMIT")
    residence_status = None
    if len(statuses) == 1:
        residence_status = statuses[0]
    elif len(statuses) > 1:
        hit(1, 0, REFER, "RULESET_CONFLICT")

    # stage 2: segmentation (priority; equal priorities keep file order)
    group = None
    no_internal_overdue = _eq(bank.get("internal_overdue_times_12m"), 0)
    rel, aum = bank.get("relationship_months"), bank.get("aum_avg_6m")
    if (_cmp(aum, ">=", 200000) and _cmp(rel, ">=", 12) and no_internal_overdue) or (
            _eq(bank.get("payroll"), True) and _eq(bank.get("wealth_products"), True)
            and _cmp(rel, ">=", 36) and _cmp(aum, ">=", 50000) and no_internal_overdue):
        group = "PREMIUM"
    elif emp.get("type") in ("ENTERPRISE_OWNER", "INDIVIDUAL_BUSINESS") \
            and bus.get("licence_age_months") is not None:
        group = "BUSINESS_OWNER"
    elif _eq(emp.get("type"), "EMPLOYEE") and (_cmp(emp.get("social_insurance_months"), ">=", 6)
                                               or _cmp(emp.get("provident_fund_months"), ">=", 6)):
        group = "SALARIED"
    elif residence_status == "LOCAL_HUKOU":
        group = "LOCAL_RESIDENT"
    elif residence_status == "NON_LOCAL_PERMIT" or (
            residence_status == "NON_LOCAL_NO_PERMIT"
            and _cmp(emp.get("social_insurance_months"), ">=", 6)):
        group = "NEW_CITIZEN"
    else:
        hit(2, 0, REFER, "SEGMENT_UNDETERMINED")

    # stage 3: income verification (any: every rule gives the same output)
    income_verified = True if (
        _eq(bank.get("payroll"), True)
        or (_cmp(emp.get("provident_fund_months"), ">=", 6)
            and _cmp(emp.get("provident_fund_base"), ">", 0))
        or _cmp(emp.get("social_insurance_months"), ">=", 12)
        or bus.get("tax_rating") in ("A", "B")) else None

    # stage 4: eligibility (collect)
    if _cmp(bur.get("max_consecutive_overdue_24m"), ">=", 3) \
            or _cmp(bur.get("overdue_months_24m"), ">=", 6):
        hit(4, 1, DECLINE, "BUREAU_OVERDUE_PATTERN")
    if _eq(bur.get("overdue_current"), True) or _cmp(bur.get("overdue_current_amount"), ">", 0):
        hit(4, 2, DECLINE, "BUREAU_CURRENT_OVERDUE")
    if _eq(bur.get("bad_debt"), True):
        hit(4, 3, DECLINE, "BUREAU_BAD_DEBT")
    if _eq(bur.get("guarantor_repaid"), True):
        hit(4, 4, DECLINE, "BUREAU_GUARANTOR_REPAID")
    if _eq(bur.get("frozen_or_written_off"), True):
        hit(4, 5, DECLINE, "BUREAU_FROZEN_WRITTEN_OFF")
    worst = bur.get("worst_five_class")
    if worst in ("SUBSTANDARD", "DOUBTFUL", "LOSS"):
        hit(4, 6, DECLINE, "BUREAU_CLASS_NONPERFORMING")
    if worst == "SPECIAL_MENTION":
        hit(4, 7, REFER, "BUREAU_CLASS_SPECIAL_MENTION")
    if _cmp(bur.get("hard_inquiries_3m"), ">=", 6):
        hit(4, 8, REFER, "INQUIRIES_3M_HIGH")
    if _cmp(bur.get("hard_inquiries_6m"), ">=", 10):
        hit(4, 9, DECLINE, "INQUIRIES_6M_HIGH")
    if _cmp(dti, ">", DTI_REFER) and _cmp(dti, "<=", DTI_DECLINE):
        hit(4, 10, REFER, "DTI_HIGH")
    if _cmp(dti, ">", DTI_DECLINE):
        hit(4, 11, DECLINE, "DTI_VERY_HIGH")
    if _cmp(bur.get("credit_card_utilisation"), ">=", Decimal("0.95")):
        hit(4, 12, REFER, "CARD_UTILISATION_HIGH")
    if _eq(bur.get("has_record"), False):
        hit(4, 13, REFER, "THIN_FILE")
    if bur.get("has_record") is None:
        hit(4, 14, REFER, "BUREAU_MISSING")
    if _cmp(bank.get("internal_overdue_times_12m"), ">=", 2):
        hit(4, 15, DECLINE, "INTERNAL_OVERDUE")
    if group in ("SALARIED", "NEW_CITIZEN") and _cmp(income, "<", MIN_INCOME_SALARIED):
        hit(4, 16, DECLINE, "INCOME_TOO_LOW")
    if group == "LOCAL_RESIDENT" and _cmp(income, "<", MIN_INCOME_LOCAL):
        hit(4, 17, DECLINE, "INCOME_TOO_LOW")
    if assessed is None:
        hit(4, 18, REFER, "INCOME_MISSING")
    if income_verified is None and _cmp(requested, ">", UNVERIFIED_INCOME_MAX_REQUEST):
        hit(4, 19, REFER, "INCOME_UNVERIFIED")
    if group == "SALARIED" and _cmp(emp.get("months_in_job"), "<", 6):
        hit(4, 20, REFER, "JOB_TENURE_SHORT")
    if group == "BUSINESS_OWNER":
        if _cmp(bus.get("licence_age_months"), "<", 12):
            hit(4, 21, DECLINE, "BUSINESS_LICENCE_TOO_NEW")
        if _cmp(turnover, "<", MIN_ANNUAL_TURNOVER):
            hit(4, 22, DECLINE, "TURNOVER_TOO_LOW")
        if bus.get("tax_rating") == "D":
            hit(4, 23, DECLINE, "TAX_RATING_D")
        if bus.get("industry") in HIGH_RISK_INDUSTRIES:
            hit(4, 24, REFER, "HIGH_RISK_INDUSTRY")
    if group == "NEW_CITIZEN" and _cmp(res.get("local_residence_months"), "<", 6):
        hit(4, 25, DECLINE, "RESIDENCE_TOO_SHORT")

    # stage 5: application scorecard
    inputs = {"age": age, "income": assessed, "dti": dti,
              "history": bur.get("credit_history_months"),
              "inquiries": bur.get("hard_inquiries_6m"),
              "utilisation": bur.get("credit_card_utilisation"),
              "residence": res.get("local_residence_months"),
              "external": sco.get("credit_score"), "relationship": rel}
    score = BASE_POINTS
    losses = []  # (points lost, characteristic order, reason)
    for order, (name, bins, missing_bin, best) in enumerate(_SC_NUMERIC):
        if name == "education":
            education = ap.get("education")
            points, reason = _EDUCATION[education] if education is not None \
                else (0, "SC_EDUCATION_MISSING")
        else:
            points, reason = _bin_num(inputs[name], bins, missing_bin)
        score += points
        if points < best and reason is not None:
            losses.append((best - points, order, reason))
    for band, minimum, band_action, band_reason in BANDS:
        if minimum is None or score >= minimum:
            break
    if band_action is not None:
        hit(5, 0, band_action, band_reason)
        losses.sort(key=lambda item: (-item[0], item[1]))
        for rank, (_, _, reason) in enumerate(losses[:MAX_SCORE_REASONS], start=1):
            hit(5, rank, band_action, reason)

    # stage 6: base limit matrix (first); stage 7: price tier (unique, no effect on the outcome)
    base = None
    if group is not None:
        row = LIMIT_MATRIX[region_tier][group]
        base = row[0] if band == "A" else row[1] if band == "B" else row[2]

    # the limit: base, capped, rounded down, at least the product minimum
    limit = None
    if base is None:
        hit(8, 0, REFER, "LIMIT_UNDETERMINED")
    else:
        caps = [c for c in (base, income_cap, headroom_cap, region_cap) if c is not None]
        value = Decimal(min(caps))
        limit = int((value / ROUND_DOWN_TO).to_integral_value(rounding=ROUND_FLOOR)) * ROUND_DOWN_TO
        if limit < MINIMUM_LIMIT:
            hit(8, 0, DECLINE, "LIMIT_BELOW_MINIMUM")

    hits.sort(key=lambda item: item[:3])
    outcome = APPROVE
    if hits:
        outcome = DECLINE if hits[0][0] == 0 else REFER
    return {"outcome": outcome, "limit": limit if outcome == APPROVE else None,
            "customer_group": group, "score": score, "score_band": band,
            "reasons": [item[3] for item in hits]}
