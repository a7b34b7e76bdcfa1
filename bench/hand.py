"""The Zhishandai application policy written by hand in plain Python: the benchmark baseline.

It implements exactly what policies/zhishandai/application.yaml and the rule files under rules/
say (same rules, same order, same data requirements, outcome, limit, group, score, band and
ordered reason codes), on the typed nested input the engine receives (dates as datetime.date,
decimals as Decimal, missing fields absent or None). It imports nothing from the engine: keep it
in step with the YAML by hand (tests/engine/test_hand_twin.py compares the two in the suite).
"""
from __future__ import annotations

import calendar
import datetime
import operator
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path

import yaml

DECLINE, REFER, APPROVE = "DECLINE", "REFER", "APPROVE"
_SEVERITY = {DECLINE: 0, REFER: 1}
_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)

# --- product parameters (policies/zhishandai/application.yaml) ---------------------------------
MIN_AGE, MAX_AGE = 22, 60
MAX_TERM_MONTHS = 36
MOBILE_MIN_MONTHS = 6
# shared state (velocity, links, lists)
DEVICE_BURST_1H = 3
DEVICE_24H_REFER = 3
IDS_PER_DEVICE_DECLINE = 3
ID_7D_REFER = 4
PHONE_24H_REFER = 3
DEVICES_PER_ID_REFER = 4
IP_24H_REFER = 10
EMPLOYER_7D_REFER = 15
CONTACT_7D_REFER = 3
PHONES_PER_ID_REFER = 3
IDS_PER_CARD_REFER, IDS_PER_CARD_DECLINE = 2, 3
FRAUD_RING_LINKS = 3
COOLING_OFF_DAYS = 30
FRAUD_SCORE_DECLINE, FRAUD_SCORE_REFER = 800, 650
SERVICE_REGION = frozenset(["310000", "320000", "330000"])
BUREAU_REPORT_MAX_AGE_DAYS = 30
OVERDUE_CONSECUTIVE_DECLINE, OVERDUE_TOTAL_DECLINE = 3, 6
INQUIRIES_3M_REFER, INQUIRIES_6M_DECLINE = 6, 10
LENDERS_REFER, LENDERS_DECLINE = 5, 8
NON_BANK_NEW_3M_DECLINE, NON_BANK_NEW_6M_REFER = 3, 4
INTERNAL_OVERDUE_DECLINE = 2
MINIMUM_LIMIT = 10000
INCOME_MULTIPLE = 15
BUSINESS_INCOME_RATIO = Decimal("0.01")
DTI_MONTHLY_RATE = Decimal("0.006")
DTI_REFER = Decimal("0.55")
DTI_DECLINE = Decimal("0.70")
UNSECURED_DEBT_INCOME_MONTHS = 24
MIN_INCOME_SALARIED = 4000
MIN_INCOME_LOCAL = 3000
MIN_ANNUAL_TURNOVER = 500000
MIN_JOB_MONTHS, MIN_LICENCE_MONTHS, MIN_LOCAL_RESIDENCE_MONTHS = 6, 12, 6
UNVERIFIED_INCOME_LIMIT_CAP = 50000
PARTNER_CHANNEL_CAP = 200000
REGION_CAP_DEVELOPED, REGION_CAP_OTHER = 500000, 300000
ROUND_DOWN_TO = 1000
VIRTUAL_OPERATOR_PREFIXES = ("162", "165", "167", "170", "171")  # rules/virtual_operator_prefixes.yaml
NIGHT_ENDS = datetime.time(5, 0)
HARD_INQUIRY_REASONS = ("LOAN_APPROVAL", "CREDIT_CARD_APPROVAL")
MAX_PD = Decimal("0.12")
# the scorecard's scaling: good:bad odds of 50 at 760 points, doubling every 40 points
SCALING_PDO, SCALING_ODDS, SCALING_POINTS = Decimal(40), Decimal(50), Decimal(760)

# --- named lists (rules/developed_cities.yaml, rules/high_risk_industries.yaml, and the GB/T 2260
# prefecture list rules/prefectures.yaml, read as the reference file it is) ---------------------
DEVELOPED_CITIES = frozenset("""
110100 120100 310100 500100 130100 140100 150100 210100 220100 230100 320100 330100 340100 350100
360100 370100 410100 420100 430100 440100 450100 460100 510100 520100 530100 540100 610100 620100
630100 640100 650100 210200 320200 320400 320500 320600 330200 330300 330400 330600 330700 331000
350200 350500 370200 370600 440300 440400 440600 441300 441900 442000""".split())
HIGH_RISK_INDUSTRIES = frozenset(["REAL_ESTATE", "CONSTRUCTION", "MINING", "PRECIOUS_METALS",
                                  "FINANCE_LENDING", "ENTERTAINMENT"])
PREFECTURES = frozenset(str(code) for code in yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "rules" / "prefectures.yaml").read_text(
        encoding="utf-8"))["values"])

# --- resident ID (GB 11643-1999) and administrative codes (GB/T 2260) ---------------------------
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _digits(text):
    return text.isascii() and text.isdigit()


def _id_birth_date(number):
    if number is None or len(number) != 18 or not _digits(number[:17]):
        return None
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _id_valid(number):
    if number is None:
        return None
    if _id_birth_date(number) is None:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS))
    return number[17].upper() == "10X98765432"[total % 11]


def _prefecture(code):
    if code is None or len(code) != 6 or not _digits(code):
        return None
    return code[:2] + "0100" if code[:2] in ("11", "12", "31", "50") else code[:4] + "00"


def _province(code):
    if code is None or len(code) != 6 or not _digits(code):
        return None
    return code[:2] + "0000"


def _add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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
    # repayment history: "== 0", "== 1", ">= 2" on whole numbers are [0, 1), [1, 2), [2, )
    ("consecutive", [(0, 1, 0, None), (1, 2, -25, "SC_OVERDUE_CONSECUTIVE"),
                     (2, None, -60, "SC_OVERDUE_CONSECUTIVE")], (0, None), 0),
    ("overdue", [(0, 1, 0, None), (1, 3, -20, "SC_OVERDUE_TOTAL"),
                 (3, None, -50, "SC_OVERDUE_TOTAL")], (0, None), 0),
    ("recency", [(None, 6, -40, "SC_OVERDUE_RECENT"), (6, 12, -20, "SC_OVERDUE_RECENT"),
                 (12, 24, -10, "SC_OVERDUE_RECENT"), (24, None, 0, None)], (0, None), 0),
    ("housing", None, None, 0),
    ("employer", None, None, 0),
]
_EDUCATION = {"DOCTORATE": (30, None), "MASTER": (30, None), "BACHELOR": (25, "SC_EDUCATION"),
              "COLLEGE": (15, "SC_EDUCATION"), "HIGH_SCHOOL": (0, "SC_EDUCATION"),
              "BELOW_HIGH_SCHOOL": (0, "SC_EDUCATION")}
# enum characteristics: value -> (points, reason); the last entry is the missing bin
_ENUM_BINS = {
    "education": (_EDUCATION, (0, "SC_EDUCATION_MISSING")),
    "housing": ({"OWNED": (0, None), "MORTGAGED": (0, None), "FAMILY": (-5, "SC_HOUSING"),
                 "RENTED": (-5, "SC_HOUSING"), "OTHER": (-5, "SC_HOUSING")},
                (-5, "SC_HOUSING_MISSING")),
    "employer": ({"CIVIL_SERVICE": (0, None), "PUBLIC_INSTITUTION": (0, None), "SOE": (0, None),
                  "NOT_EMPLOYEE": (0, None), "LISTED": (-3, "SC_EMPLOYER"),
                  "FOREIGN": (-3, "SC_EMPLOYER"), "PRIVATE": (-5, "SC_EMPLOYER"),
                  "OTHER": (-5, "SC_EMPLOYER")}, (-5, "SC_EMPLOYER_MISSING")),
}
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


# --- the credit report's details and the figures the policy derives from them ------------------
_OVERDUE_LEVEL = {**{str(n): n for n in range(1, 8)}, "B": 7, "D": 7, "Z": 7}


def _months_between(start, end):
    if start is None or end is None:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return months


def _lt(value, bound):
    return None if value is None else value < bound


def _and(*values):
    if False in values:
        return False
    return None if None in values else True


def _any(items, test):
    if items is None:
        return None
    results = [test(x) for x in items]
    return True if True in results else None if None in results else False


def _all(items, test):
    if items is None:
        return None
    results = [test(x) for x in items]
    return False if False in results else None if None in results else True


def _selected(items, where):
    return [x for x in items if where(x) is True]


def _count(items, where):
    return None if items is None else len(_selected(items, where))


def _values(items, where, value):
    if items is None:
        return None
    found = [value(x) for x in _selected(items, where)]
    return None if None in found else found


def _run(status):
    longest = run = 0
    for ch in status:
        run = run + 1 if ch in _OVERDUE_LEVEL else 0
        longest = max(longest, run)
    return longest


def _status(value, function):
    return None if value is None else function(value)


def _overdue_count(status):
    return sum(1 for ch in status if ch in _OVERDUE_LEVEL)


def _last_overdue(status):
    for back, ch in enumerate(reversed(status)):
        if ch in _OVERDUE_LEVEL:
            return back
    return None


def _worst(status):
    return max((_OVERDUE_LEVEL.get(ch, 0) for ch in status), default=0)


def _eq3(value, wanted):
    return None if value is None else value == wanted


def summarise(bur, decision_date):
    """The figures the policy derives from the report's accounts, inquiries and public records,
    under the same missing-data rule (features of policies/zhishandai/application.yaml)."""
    accounts, inquiries = bur.get("accounts"), bur.get("inquiries")
    records, report_date = bur.get("public_records"), bur.get("report_date")
    every = lambda x: True  # noqa: E731
    out = {"has_record": bur.get("has_record"), "report_date": report_date,
           "accounts": accounts, "inquiries": inquiries}
    if accounts is None:
        out["credit_history_months"] = None
    else:
        out["credit_history_months"] = 0 if not accounts else _months_between(
            min(a["opened"] for a in accounts), report_date)
    amounts = _values(accounts, every, lambda a: a.get("overdue_amount"))
    out["overdue_current_amount"] = None if amounts is None else sum(amounts)
    runs = _values(accounts, every, lambda a: _status(a.get("status_24m"), _run))
    out["max_consecutive_overdue_24m"] = max(runs) if runs else None
    totals = _values(accounts, every, lambda a: _status(a.get("status_24m"), _overdue_count))
    out["overdue_months_24m"] = sum(totals) if totals else None
    overdue_accounts = [] if accounts is None else [
        a for a in accounts if a.get("status_24m") is not None
        and _overdue_count(a["status_24m"]) > 0]
    recency = [_last_overdue(a["status_24m"]) for a in overdue_accounts]
    out["months_since_last_overdue"] = min(recency) if recency else None
    out["card_severe_overdue_24m"] = _any(accounts, lambda a: _and(
        a["type"] == "CREDIT_CARD",
        None if a.get("status_24m") is None else _worst(a["status_24m"]) >= 3))
    out["bad_debt"] = _any(accounts, lambda a: _eq3(a.get("state"), "BAD_DEBT"))
    out["guarantor_repaid"] = _any(accounts, lambda a: _eq3(a.get("state"), "GUARANTOR_REPAID"))
    out["frozen_or_written_off"] = _any(accounts, lambda a: None if a.get("state") is None
                                        else a["state"] in ("FROZEN", "WRITTEN_OFF"))
    worst = None
    for grade in ("LOSS", "DOUBTFUL", "SUBSTANDARD", "SPECIAL_MENTION"):
        found = _any(accounts, lambda a, g=grade: _eq3(a.get("five_class"), g))
        if found is None:
            worst = "?"  # an unknown test: the value is missing
            break
        if found:
            worst = grade
            break
    if worst == "?":
        worst = None
    elif worst is None:
        normal = _and(_all(accounts, lambda a: _eq3(a.get("five_class"), "NORMAL")),
                      None if accounts is None else len(accounts) > 0)
        worst = "NORMAL" if normal is True else None
    out["worst_five_class"] = worst
    for months in (1, 3, 6):
        out[f"hard_inquiries_{months}m"] = _count(inquiries, lambda q, m=months: _and(
            q["reason"] in HARD_INQUIRY_REASONS,
            _lt(_months_between(q["date"], report_date), m)))
    open_ = lambda a: None if a.get("state") is None else a["state"] != "SETTLED"  # noqa: E731
    debts = _values(accounts, lambda a: _and(a["type"] != "MORTGAGE", open_(a)),
                    lambda a: a.get("balance"))
    out["unsecured_debt_total"] = None if debts is None else sum(debts)
    repayments = _values(accounts, open_, lambda a: a.get("monthly_repayment"))
    out["monthly_repayment"] = None if repayments is None else sum(repayments)
    card = lambda a: a["type"] == "CREDIT_CARD"  # noqa: E731
    balances = _values(accounts, card, lambda a: a.get("balance"))
    limits = _values(accounts, card, lambda a: a.get("credit_limit"))
    out["credit_card_utilisation"] = (
        None if balances is None or limits is None or sum(limits) == 0
        else _CTX.divide(Decimal(sum(balances)), Decimal(sum(limits))))
    out["lender_count"] = None if accounts is None else len(
        {a["lender"] for a in _selected(accounts, open_)})
    for months in (3, 6):
        out[f"non_bank_accounts_opened_{months}m"] = _count(accounts, lambda a, m=months: _and(
            a["lender_type"] == "NON_BANK", _lt(_months_between(a["opened"], report_date), m)))
    out["public_records_open"] = _count(records, lambda p: p["status"] == "OPEN")
    return out


def _section(typed, name):
    return typed.get(name) or {}


def _eq(value, wanted):
    """`value == wanted` under the missing-data rule (missing is never equal)."""
    return value is not None and value == wanted


_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
              "!=": operator.ne}


def _cmp(value, op, other):
    """`value op other` under the missing-data rule (false when either is missing)."""
    if value is None or other is None:
        return False
    return _OPERATORS[op](value, other)


def decide(typed: dict, shared: dict | None = None) -> dict:
    """The decision for one typed application input and the shared-state values the service
    computed for it (by the names the policy reads: shared.*, in_list.*; missing: None)."""
    sh = shared or {}
    ap, res = _section(typed, "applicant"), _section(typed, "residence")
    emp, bus = _section(typed, "employment"), _section(typed, "business")
    bank = _section(typed, "bank")
    bur = summarise(_section(typed, "bureau"), typed.get("decision_date"))
    dev, chk, sco = _section(typed, "device"), _section(typed, "checks"), _section(typed, "scores")
    consent = _section(typed, "consent")
    decision_date = typed.get("decision_date")
    requested = typed.get("requested_amount")
    term = typed.get("requested_term_months")

    # features
    id_number = ap.get("id_number")
    id_birth = _id_birth_date(id_number)
    age = _age(id_birth, decision_date)
    term_end = _add_months(decision_date, MAX_TERM_MONTHS if term is None else term)
    age_at_term_end = _age(id_birth, term_end)
    id_valid = _id_valid(id_number)
    id_prefecture = _prefecture(id_number[:6] if id_number is not None and len(id_number) == 18
                                else None)
    city_prefecture = _prefecture(res.get("city_code"))
    hukou_prefecture = _prefecture(res.get("hukou_city_code"))
    residence_province = _province(res.get("city_code"))
    in_service_region = residence_province in SERVICE_REGION or city_prefecture in SERVICE_REGION
    application_prefecture = _prefecture(dev.get("gps_city_code"))
    if application_prefecture is None:
        application_prefecture = _prefecture(dev.get("ip_city_code"))
    ip_province = _province(dev.get("ip_city_code"))
    developed = city_prefecture in DEVELOPED_CITIES
    region_tier = "DEVELOPED" if developed else "OTHER"
    region_cap = REGION_CAP_DEVELOPED if developed else REGION_CAP_OTHER
    income, turnover = emp.get("monthly_income"), bus.get("annual_turnover")
    incomes = [x for x in (income, None if turnover is None else turnover * BUSINESS_INCOME_RATIO)
               if x is not None]
    assessed = max(incomes) if incomes else None
    repayment = bur.get("monthly_repayment")
    repayment = 0 if repayment is None else repayment
    debt = bur.get("unsecured_debt_total")
    debt = 0 if debt is None else debt
    interest = None if requested is None else requested * DTI_MONTHLY_RATE
    dti = debt_months = income_cap = headroom_cap = debt_cap = None
    if interest is not None and assessed is not None and assessed != 0:
        dti = _CTX.divide(Decimal(repayment + interest), Decimal(assessed))
    if assessed is not None:
        income_cap = assessed * INCOME_MULTIPLE
        headroom_cap = _CTX.divide(Decimal(assessed * DTI_REFER - repayment), DTI_MONTHLY_RATE)
        debt_cap = assessed * UNSECURED_DEBT_INCOME_MONTHS - debt
        if assessed != 0:
            debt_months = _CTX.divide(Decimal(debt), Decimal(assessed))
    report_date = bur.get("report_date")
    report_age = None if report_date is None else (decision_date - report_date).days
    overdue_months = bur.get("overdue_months_24m")
    months_since_overdue = (None if overdue_months is None else 24 if overdue_months == 0
                            else bur.get("months_since_last_overdue"))
    job_type = emp.get("type")
    employer_class = (None if job_type is None else "NOT_EMPLOYEE" if job_type != "EMPLOYEE"
                      else emp.get("employer_type"))

    hits = []  # (severity, stage, order, reason); stage -1: the data requirements

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
    if _cmp(ap.get("mobile_in_service_months"), "<", MOBILE_MIN_MONTHS):
        hit(0, 7, REFER, "MOBILE_NEW")
    if _cmp(dev.get("device_applications_24h"), ">=", 3):
        hit(0, 8, DECLINE, "VELOCITY_DEVICE")
    if _cmp(dev.get("phone_applications_24h"), ">=", 3):
        hit(0, 9, DECLINE, "VELOCITY_PHONE")
    if _cmp(dev.get("id_applications_7d"), ">=", 4):
        hit(0, 10, REFER, "VELOCITY_ID")
    if _cmp(application_prefecture, "!=", city_prefecture):
        hit(0, 11, REFER, "LOCATION_MISMATCH")
    if _cmp(bur.get("hard_inquiries_1m"), ">=", 4):
        hit(0, 12, REFER, "INQUIRIES_1M_HIGH")
    if _eq(dev.get("shares_contact_with_declined"), True):
        hit(0, 13, REFER, "SHARED_CONTACT")
    if _eq(dev.get("emulator"), True) or _eq(dev.get("rooted"), True):
        hit(0, 14, DECLINE, "DEVICE_TAMPERED")
    fraud = sco.get("fraud_score")
    if _cmp(fraud, ">=", FRAUD_SCORE_DECLINE):
        hit(0, 15, DECLINE, "FRAUD_SCORE_HIGH")
    if _cmp(fraud, ">=", FRAUD_SCORE_REFER) and _cmp(fraud, "<", FRAUD_SCORE_DECLINE):
        hit(0, 16, REFER, "FRAUD_SCORE_ELEVATED")
    if _eq(chk.get("identity_verified"), False):
        hit(0, 17, DECLINE, "IDENTITY_NOT_VERIFIED")
    if _eq(chk.get("mobile_real_name_match"), False):
        hit(0, 18, REFER, "MOBILE_NOT_OWN_NAME")
    if _eq(chk.get("court_enforcement_open"), True):
        hit(0, 19, REFER, "COURT_ENFORCEMENT_OPEN")
    if id_prefecture is not None and id_prefecture not in PREFECTURES:
        hit(0, 20, REFER, "ID_REGION_UNKNOWN")
    if _cmp(age_at_term_end, ">", MAX_AGE):
        hit(0, 21, DECLINE, "AGE_AT_TERM_END")
    if _cmp(ip_province, "!=", residence_province):
        hit(0, 22, REFER, "IP_PROVINCE_MISMATCH")
    moment = typed.get("decision_time")
    night = None if moment is None else moment.time() < NIGHT_ENDS
    if _eq(night, True) and dev.get("channel") == "PARTNER" \
            and _cmp(dev.get("device_applications_24h"), ">=", 2):
        hit(0, 23, REFER, "NIGHT_APPLICATION")
    mobile = ap.get("mobile")
    if mobile is not None and mobile.startswith(VIRTUAL_OPERATOR_PREFIXES):
        hit(0, 24, REFER, "VIRTUAL_MOBILE")

    # shared state (2026.12.3): counts, links and lists computed by the service
    def listed(name, path):
        return sh.get(f"in_list.{name}.{path}") is True

    whitelisted = listed("whitelist", "device.device_id")
    if listed("blacklist", "applicant.id_number") or listed("blacklist", "applicant.mobile") \
            or listed("blacklist", "device.device_id"):
        hit(0, 25, DECLINE, "LIST_BLACKLIST")
    if listed("watchlist", "applicant.id_number") or listed("watchlist", "employment.employer_name"):
        hit(0, 26, REFER, "LIST_WATCHLIST")
    if _cmp(sh.get("shared.device_applications_1h"), ">=", DEVICE_BURST_1H) and not whitelisted:
        hit(0, 27, DECLINE, "DEVICE_BURST")
    if _cmp(sh.get("shared.device_applications_24h"), ">=", DEVICE_24H_REFER) and not whitelisted:
        hit(0, 28, REFER, "DEVICE_VELOCITY_24H")
    if _cmp(sh.get("shared.ids_per_device_7d"), ">=", IDS_PER_DEVICE_DECLINE) and not whitelisted:
        hit(0, 29, DECLINE, "DEVICE_MANY_IDS")
    if _cmp(sh.get("shared.id_applications_7d"), ">=", ID_7D_REFER):
        hit(0, 30, REFER, "ID_VELOCITY_7D")
    if _cmp(sh.get("shared.phone_applications_24h"), ">=", PHONE_24H_REFER):
        hit(0, 31, REFER, "PHONE_VELOCITY_24H")
    if _cmp(sh.get("shared.devices_per_id_30d"), ">=", DEVICES_PER_ID_REFER):
        hit(0, 32, REFER, "ID_MANY_DEVICES")
    if _cmp(sh.get("shared.ip_applications_24h"), ">=", IP_24H_REFER):
        hit(0, 33, REFER, "IP_VELOCITY_24H")
    if _cmp(sh.get("shared.employer_applications_7d"), ">=", EMPLOYER_7D_REFER):
        hit(0, 34, REFER, "EMPLOYER_CLUSTER")
    links = sh.get("shared.fraud_links_30d")
    if _cmp(links, ">=", 1) and _cmp(links, "<", FRAUD_RING_LINKS):
        hit(0, 35, REFER, "FRAUD_LINK")
    if _cmp(links, ">=", FRAUD_RING_LINKS):
        hit(0, 36, DECLINE, "FRAUD_RING")
    declined_days_ago = sh.get("shared.days_since_decline")
    if (9999 if declined_days_ago is None else declined_days_ago) < COOLING_OFF_DAYS:
        hit(0, 37, DECLINE, "COOLING_OFF")
    # ring signals (2026.12.5): contact phone, phones per ID, payout card
    if _cmp(sh.get("shared.contact_applications_7d"), ">=", CONTACT_7D_REFER):
        hit(0, 38, REFER, "CONTACT_VELOCITY_7D")
    if _cmp(sh.get("shared.phones_per_id_30d"), ">=", PHONES_PER_ID_REFER):
        hit(0, 39, REFER, "ID_MANY_PHONES")
    card_ids = sh.get("shared.ids_per_card_30d")
    if _cmp(card_ids, ">=", IDS_PER_CARD_REFER) and _cmp(card_ids, "<", IDS_PER_CARD_DECLINE):
        hit(0, 40, REFER, "CARD_SHARED")
    if _cmp(card_ids, ">=", IDS_PER_CARD_DECLINE):
        hit(0, 41, DECLINE, "CARD_MANY_IDS")

    # stage 1: residence status (unique), by prefecture
    permit = res.get("residence_permit")
    statuses = []
    if _eq(hukou_prefecture, city_prefecture):
        statuses.append("LOCAL_HUKOU")
    if _eq(permit, True):
        statuses.append("NON_LOCAL_PERMIT")
    if _cmp(hukou_prefecture, "!=", city_prefecture) and (permit is False or permit is None):
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
    elif job_type in ("ENTERPRISE_OWNER", "INDIVIDUAL_BUSINESS") \
            and bus.get("licence_age_months") is not None:
        group = "BUSINESS_OWNER"
    elif _eq(job_type, "EMPLOYEE") and (_cmp(emp.get("social_insurance_months"), ">=", 6)
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

    # stage 3: income verification (any: every rule gives the same output); the source must fit
    # the income: salary sources for employees, the tax rating for business owners, the pension
    employee = job_type == "EMPLOYEE"
    income_verified = True if (
        (employee and _eq(bank.get("payroll"), True))
        or (employee and _cmp(emp.get("provident_fund_months"), ">=", 6)
            and _cmp(emp.get("provident_fund_base"), ">", 0))
        or (employee and _cmp(emp.get("social_insurance_months"), ">=", 12))
        or (job_type in ("ENTERPRISE_OWNER", "INDIVIDUAL_BUSINESS")
            and bus.get("tax_rating") in ("A", "B"))
        or (job_type == "RETIRED" and _eq(bank.get("pension_paid_here"), True))) else None

    # stage 4: eligibility (collect)
    if _cmp(bur.get("max_consecutive_overdue_24m"), ">=", OVERDUE_CONSECUTIVE_DECLINE) \
            or _cmp(overdue_months, ">=", OVERDUE_TOTAL_DECLINE):
        hit(4, 1, DECLINE, "BUREAU_OVERDUE_PATTERN")
    if _cmp(bur.get("overdue_current_amount"), ">", 0):
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
    if _cmp(bur.get("hard_inquiries_3m"), ">=", INQUIRIES_3M_REFER):
        hit(4, 8, REFER, "INQUIRIES_3M_HIGH")
    if _cmp(bur.get("hard_inquiries_6m"), ">=", INQUIRIES_6M_DECLINE):
        hit(4, 9, DECLINE, "INQUIRIES_6M_HIGH")
    if _cmp(dti, ">", DTI_REFER) and _cmp(dti, "<=", DTI_DECLINE):
        hit(4, 10, REFER, "DTI_HIGH")
    if _cmp(dti, ">", DTI_DECLINE):
        hit(4, 11, DECLINE, "DTI_VERY_HIGH")
    if _cmp(bur.get("credit_card_utilisation"), ">=", Decimal("0.95")):
        hit(4, 12, REFER, "CARD_UTILISATION_HIGH")
    has_record = bur.get("has_record")
    if _eq(has_record, False):
        hit(4, 13, REFER, "THIN_FILE")
    if _cmp(bank.get("internal_overdue_times_12m"), ">=", INTERNAL_OVERDUE_DECLINE):
        hit(4, 15, DECLINE, "INTERNAL_OVERDUE")
    if group in ("SALARIED", "NEW_CITIZEN") and _cmp(income, "<", MIN_INCOME_SALARIED):
        hit(4, 16, DECLINE, "INCOME_TOO_LOW")
    if group == "LOCAL_RESIDENT" and _cmp(income, "<", MIN_INCOME_LOCAL):
        hit(4, 17, DECLINE, "INCOME_TOO_LOW")
    if group == "SALARIED" and _cmp(emp.get("months_in_job"), "<", MIN_JOB_MONTHS):
        hit(4, 20, REFER, "JOB_TENURE_SHORT")
    if group == "BUSINESS_OWNER":
        if _cmp(bus.get("licence_age_months"), "<", MIN_LICENCE_MONTHS):
            hit(4, 21, DECLINE, "BUSINESS_LICENCE_TOO_NEW")
        if _cmp(turnover, "<", MIN_ANNUAL_TURNOVER):
            hit(4, 22, DECLINE, "TURNOVER_TOO_LOW")
        if bus.get("tax_rating") == "D":
            hit(4, 23, DECLINE, "TAX_RATING_D")
        if bus.get("industry") in HIGH_RISK_INDUSTRIES:
            hit(4, 24, REFER, "HIGH_RISK_INDUSTRY")
    if group == "NEW_CITIZEN" and _cmp(res.get("local_residence_months"), "<",
                                       MIN_LOCAL_RESIDENCE_MONTHS):
        hit(4, 25, DECLINE, "RESIDENCE_TOO_SHORT")
    if _cmp(report_age, ">", BUREAU_REPORT_MAX_AGE_DAYS):
        hit(4, 26, REFER, "BUREAU_REPORT_STALE")
    if _cmp(report_age, "<", 0):
        hit(4, 27, REFER, "BUREAU_REPORT_DATE_INVALID")
    if _cmp(debt_months, ">", UNSECURED_DEBT_INCOME_MONTHS):
        hit(4, 28, DECLINE, "UNSECURED_DEBT_HIGH")
    lenders = bur.get("lender_count")
    if _cmp(lenders, ">=", LENDERS_DECLINE):
        hit(4, 29, DECLINE, "MULTI_LENDER_HIGH")
    if _cmp(lenders, ">=", LENDERS_REFER) and _cmp(lenders, "<", LENDERS_DECLINE):
        hit(4, 30, REFER, "MULTI_LENDER")
    if _cmp(bur.get("non_bank_accounts_opened_3m"), ">=", NON_BANK_NEW_3M_DECLINE):
        hit(4, 31, DECLINE, "NON_BANK_BORROWING_RECENT")
    if _cmp(bur.get("non_bank_accounts_opened_6m"), ">=", NON_BANK_NEW_6M_REFER):
        hit(4, 32, REFER, "NON_BANK_BORROWING")
    if job_type == "UNEMPLOYED":
        hit(4, 33, REFER, "UNEMPLOYED")
    if job_type == "RETIRED" and income_verified is None:
        hit(4, 34, REFER, "PENSION_UNVERIFIED")
    if not in_service_region:
        hit(4, 35, DECLINE, "OUTSIDE_SERVICE_REGION")
    if _eq(bur.get("card_severe_overdue_24m"), True):
        hit(4, 36, DECLINE, "BUREAU_CARD_SEVERE_OVERDUE")
    if _cmp(bur.get("public_records_open"), ">", 0):
        hit(4, 37, REFER, "PUBLIC_RECORD_OPEN")

    # stage 5: application scorecard
    inputs = {"age": age, "income": assessed, "dti": dti,
              "history": bur.get("credit_history_months"),
              "inquiries": bur.get("hard_inquiries_6m"),
              "utilisation": bur.get("credit_card_utilisation"),
              "residence": res.get("local_residence_months"),
              "external": sco.get("credit_score"), "relationship": rel,
              "consecutive": bur.get("max_consecutive_overdue_24m"), "overdue": overdue_months,
              "recency": months_since_overdue, "education": ap.get("education"),
              "housing": res.get("housing"), "employer": employer_class}
    score = BASE_POINTS
    losses = []  # (points lost, characteristic order, reason)
    for order, (name, bins, missing_bin, best) in enumerate(_SC_NUMERIC):
        value = inputs[name]
        if bins is None:
            table, missing_points = _ENUM_BINS[name]
            points, reason = missing_points if value is None else table[value]
        else:
            points, reason = _bin_num(value, bins, missing_bin)
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

    # stage 6: risk appetite: the probability of default from the scorecard's scaling
    exponent = _CTX.multiply(_CTX.divide(_CTX.subtract(Decimal(score), SCALING_POINTS), SCALING_PDO),
                             Decimal(2).ln(_CTX))
    pd = _CTX.divide(Decimal(1), _CTX.add(Decimal(1), _CTX.multiply(SCALING_ODDS, _CTX.exp(exponent))))
    if pd >= MAX_PD:
        hit(6, 0, DECLINE, "PD_ABOVE_APPETITE")

    # stage 7: base limit matrix (first); stage 8: price tier (unique, no effect on the outcome)
    base = None
    if group is not None:
        row = LIMIT_MATRIX[region_tier][group]
        base = row[0] if band == "A" else row[1] if band == "B" else row[2]

    # the limit: base, capped, rounded down, at least the product minimum
    limit = None
    if base is None:
        hit(9, 0, REFER, "LIMIT_UNDETERMINED")
    else:
        caps = [c for c in (base, income_cap, headroom_cap, debt_cap,
                            UNVERIFIED_INCOME_LIMIT_CAP if income_verified is None else None,
                            PARTNER_CHANNEL_CAP if dev.get("channel") == "PARTNER" else None,
                            region_cap) if c is not None]
        value = Decimal(min(caps))
        limit = int((value / ROUND_DOWN_TO).to_integral_value(rounding=ROUND_FLOOR)) * ROUND_DOWN_TO
        if limit < MINIMUM_LIMIT:
            hit(9, 0, DECLINE, "LIMIT_BELOW_MINIMUM")

    # the data an automatic APPROVE needs (requires): checked last, ranked before every stage
    def present(*values):
        return None not in values

    requirements = [
        (True, present(consent.get("pipl_consent_id"), consent.get("bureau_authorisation_id")),
         "CONSENT_MISSING"),
        (True, present(ap.get("name"), ap.get("mobile"), ap.get("birth_date")),
         "APPLICANT_DATA_MISSING"),
        (True, present(chk.get("identity_verified"), chk.get("mobile_real_name_match")),
         "IDENTITY_CHECK_MISSING"),
        (True, present(chk.get("court_dishonest"), chk.get("court_enforcement_open")),
         "COURT_CHECK_MISSING"),
        (True, present(bank.get("internal_blacklist"), bank.get("internal_overdue_times_12m")),
         "INTERNAL_CHECK_MISSING"),
        (True, present(*(dev.get(k) for k in _DEVICE_FIELDS), application_prefecture),
         "DEVICE_DATA_MISSING"),
        (True, present(*(sh.get(f"shared.{k}") for k in _VELOCITY_FIELDS)), "VELOCITY_UNAVAILABLE"),
        (True, present(fraud), "FRAUD_SCORE_MISSING"),
        (True, present(has_record, report_date), "BUREAU_MISSING"),
        (has_record is True, present(*(bur.get(k) for k in _BUREAU_FIELDS), months_since_overdue),
         "BUREAU_INCOMPLETE"),
        (True, present(job_type, assessed), "INCOME_MISSING"),
        (True, present(requested), "REQUESTED_AMOUNT_MISSING"),
        (group in ("SALARIED", "LOCAL_RESIDENT", "NEW_CITIZEN"), present(income),
         "INCOME_MISSING"),
        (group == "BUSINESS_OWNER", present(bus.get("licence_age_months"), turnover,
                                            bus.get("tax_rating"), bus.get("industry")),
         "BUSINESS_DATA_MISSING"),
        (group == "NEW_CITIZEN", present(res.get("local_residence_months")),
         "RESIDENCE_DATA_MISSING"),
    ]
    for position, (applies, met, reason) in enumerate(requirements):
        if applies and not met:
            hit(-1, position, REFER, reason)

    hits.sort(key=lambda item: item[:3])
    outcome = APPROVE
    if hits:
        outcome = DECLINE if hits[0][0] == 0 else REFER
    return {"outcome": outcome, "limit": limit if outcome == APPROVE else None,
            "customer_group": group, "score": score, "score_band": band,
            "reasons": list(dict.fromkeys(item[3] for item in hits))}


_VELOCITY_FIELDS = ("id_applications_7d", "device_applications_1h", "ids_per_device_7d",
                    "fraud_links_30d")
_DEVICE_FIELDS = ("channel", "device_id", "device_applications_24h", "phone_applications_24h",
                  "id_applications_7d", "shares_contact_with_declined", "emulator", "rooted")
_BUREAU_FIELDS = ("accounts", "inquiries", "overdue_current_amount", "max_consecutive_overdue_24m",
                  "overdue_months_24m", "card_severe_overdue_24m", "bad_debt",
                  "guarantor_repaid", "frozen_or_written_off",
                  "worst_five_class", "hard_inquiries_1m", "hard_inquiries_3m",
                  "hard_inquiries_6m", "unsecured_debt_total", "monthly_repayment",
                  "lender_count", "non_bank_accounts_opened_3m", "non_bank_accounts_opened_6m")
