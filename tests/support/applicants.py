"""The one applicant generator of the tests and the benchmarks.

Two ways to make applications, both from a seeded random source, both with valid resident IDs made
by the engine's own `compose` (app/engine/language/resident_id.py):
- `generate(n, seed)`: realistic Zhishandai applications (policies/zhishandai/application.yaml):
  all five customer groups and applicants who fit none, clean files and files with fraud signals,
  bureau blemishes, thin files and missing fields, in proportions that give a plausible mix of
  approvals, declines and referrals (the benchmarks and the backend agreement checks use these);
- `applicants(policy, n, seed)`: every declared input field of any policy, from the policy's own
  schema, with realistic values, the data its requirements list nearly always present (the
  end-to-end tests use these);
and `examples()`, the request bodies kept in examples/ (`as_of` re-dates one for today).
"""
from __future__ import annotations

import datetime
import json
import random
import importlib.util
import re
from pathlib import Path

from app.engine.language.resident_id import compose as compose_resident_id
from support.bureau import report as bureau_report
from support.bureau import span as bureau_span

_spec = importlib.util.spec_from_file_location(
    "examples_today", Path(__file__).resolve().parents[2] / "examples" / "today.py")
_today = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_today)

CHINA = datetime.timezone(datetime.timedelta(hours=8))

# --- realistic applications of the reference policy ----------------------------------------------
# Most applicants live in the bank's service region (Shanghai, Jiangsu, Zhejiang: the relationship
# managers walk its streets); a few apply from elsewhere (the app, partner platforms).
DEVELOPED = ["310100", "320100", "330100", "320500", "330200", "320200", "330300", "320400",
             "320600", "330400", "330600", "330700", "331000"]
OTHER = ["330500", "330800", "330900", "331100", "320300", "320700", "320800", "320900", "321000",
         "321100", "321200", "321300"]
ELSEWHERE = ["110100", "440100", "440300", "420100", "510100", "610100", "370100", "350100",
             "430100", "370200", "350200", "441900", "440600", "340100", "410100", "341200",
             "411300", "430700", "511300", "360700", "450300", "130600", "371300", "421000",
             "520500", "350800", "610300"]
# Districts and county-level cities of the service region's cities (GB/T 2260), the code a
# channel sends about a third of the time instead of the city's (330106 -> 330100).
DISTRICTS = {city: [city[:4] + suffix for suffix in suffixes.split()] for city, suffixes in {
    "310100": "01 04 05 06", "320100": "02 04 05 06", "330100": "02 05 06 08",
    "320500": "05 06 07 08 83", "330200": "03 05 06 11", "320200": "05 06 11 13",
    "330300": "02 03 04 05", "320400": "02 04 11 12", "320600": "12 13 14 23",
    "330400": "02 11 21 24", "330600": "02 03 04 24", "330700": "02 03 23 26",
    "331000": "02 03 04 22", "330500": "02 03 21 22", "330800": "02 03 22 24",
    "330900": "02 03 21 22", "331100": "02 21 22 23", "320300": "02 03 05 11",
    "320700": "03 06 07 22", "320800": "03 04 12 13", "320900": "02 03 04 21",
    "321000": "02 03 12 23", "321100": "02 11 12 81", "321200": "02 03 04 81",
    "321300": "02 11 22 23"}.items()}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明",
         "超", "秀英", "华", "平", "刚", "桂英", "建华", "晓东", "志强", "海燕"]
INDUSTRIES = ["MANUFACTURING", "WHOLESALE_RETAIL", "CATERING", "TRANSPORT", "CONSTRUCTION",
              "REAL_ESTATE", "AGRICULTURE", "IT_SERVICES", "EDUCATION_TRAINING", "ENTERTAINMENT",
              "PRECIOUS_METALS", "FINANCE_LENDING", "MINING", "OTHER_SERVICES"]
INDUSTRY_WEIGHTS = [14, 30, 18, 10, 4, 2, 6, 6, 4, 1, 1, 1, 1, 12]
GROUPS = ["PREMIUM", "SALARIED", "BUSINESS_OWNER", "LOCAL_RESIDENT", "NEW_CITIZEN", "NONE"]
GROUP_WEIGHTS = [12, 34, 18, 15, 16, 5]


def _months_before(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return datetime.date(year, month + 1, min(day.day, 28))


class _Maker:
    def __init__(self, rng: random.Random):
        self.r = rng

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def lognormal_int(self, median: float, sigma: float, low: int, high: int, step: int = 100):
        value = median * self.r.lognormvariate(0, sigma)
        return int(max(low, min(high, value)) // step * step)

    def district(self, city: str, p: float) -> str:
        """The city's code, or (with probability p) one of its districts'."""
        return self.r.choice(DISTRICTS[city]) if city in DISTRICTS and self.chance(p) else city

    def applicant(self, group: str, decision_date: datetime.date) -> dict:
        r = self.r
        if self.chance(0.06):
            city = r.choice(ELSEWHERE)
        else:
            city = r.choice(DEVELOPED if self.chance(0.6) else OTHER)
        local = {"LOCAL_RESIDENT": True, "NEW_CITIZEN": False}.get(group, self.chance(0.6))
        hukou = city if local else r.choice(
            [c for c in DEVELOPED + OTHER + ELSEWHERE + ELSEWHERE if c != city])
        age = max(22, min(59, int(r.gauss(37, 8))))
        if self.chance(0.03):
            age = r.choice([19, 20, 21, 61, 62, 64])
        born = decision_date - datetime.timedelta(days=age * 365 + r.randint(5, 360))
        id_number = compose_resident_id(hukou[:4] + f"{r.randint(1, 12):02d}", born, r.randint(1, 999))
        if self.chance(0.01):  # a typo in the ID number: the check character no longer fits
            id_number = id_number[:17] + ("0" if id_number[17] != "0" else "1")
        stated_birth = born
        if self.chance(0.01):
            stated_birth = born + datetime.timedelta(days=r.choice([-400, -31, 1, 365]))
        data = {
            "decision_date": decision_date.isoformat(),
            "requested_term_months": r.choice([12, 12, 24, 36]),
            "consent": {"pipl_consent_id": f"PIPL-{decision_date:%Y%m%d}-{r.randint(0, 10**6):06d}",
                        "bureau_authorisation_id": f"CRA-{decision_date:%Y%m%d}-"
                                                   f"{r.randint(0, 10**6):06d}"},
            "applicant": {
                "id_number": id_number,
                "name": r.choice(SURNAMES) + r.choice(GIVEN),
                "mobile": "1" + r.choices(["38", "39", "58", "86", "89", "77", "99", "70"],
                                          [14, 14, 14, 14, 14, 14, 14, 2])[0]
                          + f"{r.randint(0, 99999999):08d}",
                "birth_date": stated_birth.isoformat(),
                "id_expiry_date": (decision_date + datetime.timedelta(
                    days=r.randint(-60, 3650) if self.chance(0.97) else r.randint(-400, -1))
                ).isoformat(),
                "education": r.choices(["DOCTORATE", "MASTER", "BACHELOR", "COLLEGE",
                                        "HIGH_SCHOOL", "BELOW_HIGH_SCHOOL"],
                                       [1, 6, 35, 30, 20, 8])[0],
                "mobile_in_service_months": r.choice([r.randint(0, 5)] + [r.randint(6, 240)] * 15),
            },
            "residence": {
                "city_code": self.district(city, 0.3),
                "hukou_city_code": self.district(hukou, 0.5),
                "residence_permit": False if local else self.chance(0.55),
                "local_residence_months": r.randint(0, 36) if not local else r.randint(24, 480),
                "housing": r.choice(["OWNED", "MORTGAGED", "RENTED", "FAMILY", "OTHER"]
                                    if local else ["RENTED", "RENTED", "MORTGAGED", "OTHER"]),
            },
            "bank": self.bank(group),
            "bureau": None,
            "device": self.device(city),
            "checks": {"identity_verified": not self.chance(0.004),
                       "mobile_real_name_match": not self.chance(0.03),
                       "court_dishonest": self.chance(0.006),
                       "court_enforcement_open": self.chance(0.01)},
            "scores": {"fraud_score": min(1000, int(r.expovariate(1 / 180))),
                       "credit_score": max(300, min(900, int(r.gauss(690, 70))))},
        }
        data["employment"], business = self.work(group)
        if business:
            data["business"] = business
        income = data["employment"].get("monthly_income") or \
            (business["annual_turnover"] // 100 if business else 5000)
        data["bureau"] = self.bureau(income, decision_date)
        if self.chance(0.5):  # the service sets it; a generated one tries the night rule
            moment = datetime.datetime.combine(decision_date, datetime.time(r.randint(0, 23),
                                                                          r.randint(0, 59)))
            data["decision_time"] = moment.replace(tzinfo=CHINA).isoformat()
        data["requested_amount"] = min(500000, max(10000, int(
            income * r.choice([3, 5, 8, 10, 12, 15, 20, 30]) // 10000 * 10000)))
        if local and self.chance(0.01):  # inconsistent data: a local with a residence permit
            data["residence"]["residence_permit"] = True
        self.blank_some(data)
        if len(data["device"]) > 1:  # device data sent: its fingerprint (no draw: seeds keep their mix)
            data["device"]["device_id"] = "DEV-" + data["applicant"]["id_number"][-10:]
        return data

    def bank(self, group: str) -> dict:
        r = self.r
        if group == "PREMIUM":
            rel = r.randint(12, 240)
            return {"payroll": self.chance(0.6), "relationship_months": rel,
                    "aum_avg_6m": self.lognormal_int(320000, 0.6, 50000, 5000000),
                    "wealth_products": self.chance(0.7), "internal_blacklist": False,
                    "internal_overdue_times_12m": 0 if self.chance(0.95) else 1}
        known = self.chance(0.55)
        return {"payroll": known and self.chance(0.25),
                "relationship_months": r.randint(0, 120) if known else 0,
                "aum_avg_6m": self.lognormal_int(15000, 1.0, 0, 150000) if known else 0,
                "wealth_products": known and self.chance(0.1),
                "internal_blacklist": self.chance(0.004),
                "internal_overdue_times_12m": r.choices([0, 1, 2, 3], [90, 6, 3, 1])[0],
                "pension_paid_here": known and self.chance(0.3)}

    def report_date(self, decision_date: datetime.date) -> str:
        """The date the credit report was pulled: days before the decision, rarely stale."""
        days = self.r.randint(0, 25) if self.chance(0.98) else self.r.randint(31, 1200)
        return (decision_date - datetime.timedelta(days=days)).isoformat()

    def bureau(self, income: int, decision_date: datetime.date) -> dict:
        """A structured credit report (accounts, inquiries, public records) written out from
        drawn summary figures (tests/support/bureau.py)."""
        r = self.r
        report_date = datetime.date.fromisoformat(self.report_date(decision_date))
        if self.chance(0.08):
            inq6 = r.randint(0, 2)
            return bureau_report({"hard_inquiries_1m": 0, "hard_inquiries_3m": min(inq6, 1),
                                  "hard_inquiries_6m": inq6}, report_date, has_record=False)
        blemish = self.chance(0.12)
        consecutive = r.choices([0, 1, 2, 3, 4], [70, 15, 8, 5, 2])[0] if blemish else 0
        overdue_months = consecutive + (r.randint(0, 5) if blemish else 0)
        non_bank_6m = r.choices([0, 1, 2, 3, 4, 6], [74, 14, 7, 3, 1.3, 0.7])[0]
        inq6 = r.choices(range(0, 14), [20, 20, 15, 12, 9, 7, 5, 4, 3, 2, 1, 1, 0.5, 0.5])[0]
        inq3 = min(inq6, r.randint(0, inq6))
        burden = r.betavariate(2, 6) * (1.6 if self.chance(0.1) else 0.9)
        repayment = int(income * burden)
        debt = int(repayment / r.uniform(0.03, 0.08)) // 100 * 100
        utilisation = str(round(min(1.3, r.betavariate(1.6, 3.2) * 1.2), 2))
        summary = {
            "credit_history_months": r.randint(3, 240),
            "overdue_current_amount": (0 if not blemish or self.chance(0.85)
                                       else r.randint(100, 20000)),
            "max_consecutive_overdue_24m": consecutive,
            "overdue_months_24m": overdue_months,
            "months_since_last_overdue": r.randint(0, 24 - bureau_span(consecutive, overdue_months))
            if overdue_months else None,
            "card_severe_overdue": self.chance(0.004),
            "bad_debt": self.chance(0.006),
            "guarantor_repaid": self.chance(0.004),
            "frozen_or_written_off": self.chance(0.004),
            "worst_five_class": r.choices(["NORMAL", "SPECIAL_MENTION", "SUBSTANDARD", "DOUBTFUL",
                                           "LOSS"], [960, 25, 8, 4, 3])[0],
            "hard_inquiries_1m": min(inq3, r.randint(0, inq3)),
            "hard_inquiries_3m": inq3,
            "hard_inquiries_6m": inq6,
            "unsecured_debt_total": max(debt, 100),
            "monthly_repayment": repayment,
            "credit_card_utilisation": None if self.chance(0.05) else utilisation,
            "lender_count": r.choices(range(1, 11),
                                      [30, 26, 15, 9, 3.5, 1.7, 1, 0.8, 0.6, 0.4])[0],
            "non_bank_accounts_opened_3m": min(non_bank_6m, r.randint(0, non_bank_6m)),
            "non_bank_accounts_opened_6m": non_bank_6m,
            "public_records_open": 1 if self.chance(0.01) else 0,
        }
        report = bureau_report(summary, report_date)
        if self.chance(0.01):  # a field the bureau left blank on one account
            account = r.choice(report["accounts"])
            account.pop(r.choice(["status_24m", "overdue_amount", "five_class", "state"]), None)
        return report

    def device(self, city: str) -> dict:
        r = self.r
        away = self.chance(0.04)
        return {
            "channel": r.choices(["RM_APP", "BANK_APP", "PARTNER", "BRANCH"], [50, 25, 15, 10])[0],
            "gps_city_code": r.choice(OTHER) if away else self.district(city, 0.5),
            # mobile networks' addresses often locate in the provincial capital
            "ip_city_code": r.choice(DEVELOPED) if away and self.chance(0.7) else
            city[:2] + "0100" if self.chance(0.15) else city,
            "device_applications_24h": r.choices([1, 2, 3, 5], [92, 5, 2, 1])[0],
            "phone_applications_24h": r.choices([1, 2, 3, 4], [94, 4, 1.5, 0.5])[0],
            "id_applications_7d": r.choices([1, 2, 3, 4, 6], [85, 8, 4, 2, 1])[0],
            "shares_contact_with_declined": self.chance(0.015),
            "emulator": self.chance(0.004),
            "rooted": self.chance(0.006),
        }

    def work(self, group: str) -> tuple[dict, dict | None]:
        r = self.r
        if group == "BUSINESS_OWNER":
            employment = {"type": r.choice(["ENTERPRISE_OWNER", "INDIVIDUAL_BUSINESS",
                                            "INDIVIDUAL_BUSINESS"]),
                          "months_in_job": r.randint(6, 200),
                          "social_insurance_months": r.choice([0, 0, r.randint(1, 120)])}
            if self.chance(0.4):
                employment["monthly_income"] = self.lognormal_int(15000, 0.6, 3000, 200000)
            licence_age = r.choice([r.randint(1, 11)] + [r.randint(12, 240)] * 9)
            business = {"licence_age_months": licence_age,
                        "annual_turnover": self.lognormal_int(1800000, 0.9, 100000, 60000000,
                                                              step=1000),
                        "tax_rating": r.choices(["A", "B", "C", "D", "M"], [25, 35, 20, 4, 16])[0],
                        "industry": r.choices(INDUSTRIES, INDUSTRY_WEIGHTS)[0]}
            return employment, business
        if group == "NONE":
            return {"type": r.choice(["FREELANCE", "UNEMPLOYED", "RETIRED"]),
                    "monthly_income": self.lognormal_int(5000, 0.5, 0, 40000),
                    "social_insurance_months": 0}, None
        if group in ("PREMIUM", "SALARIED") or self.chance(0.3):
            insured = r.randint(6, 180) if group in ("PREMIUM", "SALARIED") else r.randint(0, 5)
            employment = {"type": "EMPLOYEE",
                          "employer_type": r.choices(["CIVIL_SERVICE", "PUBLIC_INSTITUTION", "SOE",
                                                      "LISTED", "FOREIGN", "PRIVATE", "OTHER"],
                                                     [8, 10, 15, 10, 5, 45, 7])[0],
                          "monthly_income": self.lognormal_int(
                              22000 if group == "PREMIUM" else 10000, 0.5, 2500, 300000),
                          "months_in_job": r.choice([r.randint(0, 5)] + [r.randint(6, 240)] * 8),
                          "social_insurance_months": insured}
            if self.chance(0.6):
                employment["provident_fund_months"] = min(insured, r.randint(0, 180))
                employment["provident_fund_base"] = self.lognormal_int(8000, 0.5, 2000, 40000)
            return employment, None
        # local residents and new citizens in ordinary or flexible jobs
        insured = r.randint(6, 120) if group == "NEW_CITIZEN" and self.chance(0.5) else \
            r.randint(0, 5)
        return {"type": r.choice(["EMPLOYEE", "FREELANCE", "FREELANCE"]),
                "employer_type": r.choice(["PRIVATE", "OTHER"]),
                "monthly_income": self.lognormal_int(6500, 0.45, 1500, 60000),
                "months_in_job": r.randint(1, 120),
                "social_insurance_months": insured}, None

    def blank_some(self, data: dict) -> None:
        """Leave out fields as real channels do: optional answers, unavailable data sources."""
        for section, key, p in [("applicant", "education", 0.04), ("applicant", "birth_date", 0.01),
                                ("applicant", "mobile_in_service_months", 0.03),
                                ("residence", "local_residence_months", 0.04),
                                ("residence", "hukou_city_code", 0.02),
                                ("device", "gps_city_code", 0.08), ("device", "ip_city_code", 0.03),
                                ("scores", "credit_score", 0.05), ("scores", "fraud_score", 0.02),
                                ("employment", "monthly_income", 0.02)]:
            if section in data and self.chance(p):
                data[section].pop(key, None)
        if self.chance(0.03):
            data.pop("bureau")  # the credit bureau did not answer
        if self.chance(0.01):
            data.pop("checks")  # the identity and court checks did not answer
        if self.chance(0.01):
            data["consent"].pop(self.r.choice(["pipl_consent_id", "bureau_authorisation_id"]))
        if self.chance(0.005):
            data["device"] = {"channel": data["device"]["channel"]}  # no device data sent
        if self.chance(0.02):
            data["bank"] = {}
        if self.chance(0.01):
            data.pop("requested_amount")


def generate(n: int, seed: int = 0) -> list[dict]:
    """`n` application inputs, deterministic for a seed."""
    rng = random.Random(seed)
    maker = _Maker(rng)
    start = datetime.date(2026, 11, 28)
    out = []
    for _ in range(n):
        group = rng.choices(GROUPS, GROUP_WEIGHTS)[0]
        decision_date = start - datetime.timedelta(days=rng.randint(0, 90))
        out.append(maker.applicant(group, decision_date))
    return out


# The shared-state values (velocity counts, links, list matches) the service would compute for
# each of the applications above: mostly a first application, sometimes a burst, a link to a fraud
# decline, a recent decline, a list entry; now and then unavailable (Redis down).
SHARED_COUNTS = ("device_applications_1h", "device_applications_24h", "phone_applications_24h",
                 "id_applications_7d", "ip_applications_24h", "employer_applications_7d",
                 "ids_per_device_7d", "devices_per_id_30d")
SHARED_LISTS = ("in_list.blacklist.applicant.id_number", "in_list.blacklist.applicant.mobile",
                "in_list.blacklist.device.device_id", "in_list.watchlist.applicant.id_number",
                "in_list.watchlist.employment.employer_name", "in_list.whitelist.device.device_id")


# The ring signals of 2026.12.5 (contact phone, phones per ID, payout card). They are drawn from
# an RNG of their own, so the values above stay what they were for every seed.
RING_COUNTS = ("contact_applications_7d", "phones_per_id_30d", "ids_per_card_30d")


# A first application with no links, no decline and on no list: what the service computes for a
# clean applicant (the reference policy REFERs VELOCITY_UNAVAILABLE without shared values).
CLEAN_SHARED = {**{f"shared.{name}": 1 for name in SHARED_COUNTS + RING_COUNTS},
                "shared.fraud_links_30d": 0,
                "shared.days_since_fraud_link": None, "shared.days_since_decline": None,
                **{name: False for name in SHARED_LISTS}}


def _ring_values(rng: random.Random) -> dict:
    """The ring signals of one application: mostly a first sighting; the contact phone and the
    payout card are optional, so now and then absent (value missing); one ID with a second phone
    is common (a new number), a shared card or a contact named by several applicants is rare."""
    values = {"shared.contact_applications_7d": None if rng.random() < 0.1 else 1,
              "shared.phones_per_id_30d": 1 if rng.random() < 0.9 else 2,
              "shared.ids_per_card_30d": None if rng.random() < 0.1 else 1}
    if rng.random() < 0.05:
        values[f"shared.{rng.choice(RING_COUNTS)}"] = rng.choice([2, 3, 4, 6])
    return values


def generate_shared(n: int, seed: int = 0) -> list[dict]:
    """`n` sets of shared values (by the names the reference policy reads), deterministic."""
    rng = random.Random(seed * 7919 + 1)
    ring = random.Random(seed * 7919 + 2)
    out = []
    for _ in range(n):
        ring_values = _ring_values(ring)  # drawn for every row, so row i's values hang on i only
        if rng.random() < 0.02:
            out.append({})  # the shared store did not answer: every value missing
            continue
        values: dict = {f"shared.{name}": 1 for name in SHARED_COUNTS}
        values.update({"shared.fraud_links_30d": 0, "shared.days_since_fraud_link": None,
                       "shared.days_since_decline": None})
        values.update({name: False for name in SHARED_LISTS})
        for _signal in range(rng.choices([0, 1, 2], [85, 12, 3])[0]):
            kind = rng.random()
            if kind < 0.6:
                values[f"shared.{rng.choice(SHARED_COUNTS)}"] = rng.choice([2, 3, 4, 6, 12, 20])
            elif kind < 0.75:
                values["shared.fraud_links_30d"] = rng.choice([1, 2, 3, 5])
                values["shared.days_since_fraud_link"] = rng.randint(0, 29)
            elif kind < 0.9:
                values["shared.days_since_decline"] = rng.choice([0, 5, 29, 30, 45, 89])
            else:
                values[rng.choice(SHARED_LISTS)] = True
        if rng.random() < 0.02:  # a key field missing (no device id, no IP): that value missing
            values[rng.choice(sorted(values))] = None
        values.update(ring_values)
        out.append(values)
    return out


if __name__ == "__main__":
    import json
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(json.dumps(generate(count, seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0),
                     ensure_ascii=False, indent=2))


# --- any policy, from its input schema -----------------------------------------------------------
# Mostly the reference bank's service region (Shanghai, Jiangsu, Zhejiang), some of it given as
# district codes, and a few cities elsewhere.
CITIES = ["310100", "330600", "330100", "320100", "330106", "320583", "330200", "320500", "330500",
          "321000", "310104", "331100", "320300", "330800", "440300", "110100"]
# (the schema generator keeps its own name pools so that each generator's seeds stay reproducible)
SCHEMA_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
SCHEMA_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
TODAY = datetime.date(2026, 11, 28)


def resident_id(rng, born=None, valid=True):
    """An 18-character resident ID with a real region, birth date and (if valid) check character."""
    born = born or TODAY - datetime.timedelta(days=rng.randint(20 * 365, 62 * 365))
    number = compose_resident_id(f"{rng.choice(CITIES)[:4]}{rng.randint(1, 30):02d}", born,
                                 rng.randint(0, 999))
    if not valid:  # any other check character
        number = number[:17] + "10X98765432"[("10X98765432".index(number[17]) + 1) % 11]
    return number


def phone(rng):
    return rng.choice(["138", "139", "150", "186", "177", "135"]) + f"{rng.randint(0, 99999999):08d}"


AMOUNT_HINTS = [("income", 2500, 60000), ("provident_fund_base", 3000, 35000), ("turnover", 100000, 8000000),
                ("aum", 0, 800000), ("debt", 0, 600000), ("repayment", 0, 20000), ("requested_amount", 10000, 500000),
                ("amount", 0, 50000), ("months", 0, 120), ("inquiries", 0, 8), ("applications", 0, 5),
                ("overdue_times", 0, 3), ("employees", 1, 80), ("dependants", 0, 3)]


GOOD_FLAGS = {"payroll", "has_record", "wealth_products"}
FLAG_RATES = {"has_record": 0.9, "residence_permit": 0.15}  # a thin file or a permit is rarer
SAME_CITY = object()  # a marker: the applicant's residence city
MOSTLY_ZERO = ("overdue", "inquiries", "applications", "blacklist", "opened")
RANGES = {"fraud_score": (0, 450), "credit_score": (520, 880), "credit_history_months": (6, 200),
          "lender_count": (0, 4), "months_since_last_overdue": (0, 36),
          "non_bank_accounts_opened_3m": (0, 3), "non_bank_accounts_opened_6m": (0, 4),
          "mobile_in_service_months": (6, 200), "months_in_job": (3, 240), "relationship_months": (0, 180),
          "local_residence_months": (0, 300), "social_insurance_months": (0, 120),
          "provident_fund_months": (0, 120), "licence_age_months": (6, 200)}


def _integer(rng, spec):
    low = int(spec.minimum) if spec.minimum is not None else 0
    high = int(spec.maximum) if spec.maximum is not None else None
    name = spec.path.split(".")[-1]
    if any(word in name for word in MOSTLY_ZERO) and rng.random() < 0.85:
        return low
    if name in RANGES:
        return rng.randint(max(low, RANGES[name][0]), min(high if high is not None else 10 ** 9, RANGES[name][1]))
    for hint, hint_low, hint_high in AMOUNT_HINTS:
        if hint in name:
            low, high = max(low, hint_low), min(high, hint_high) if high is not None else hint_high
            break
    if high is None:
        high = low + 100
    if name.endswith("_24m") and rng.random() < 0.8:
        return low
    return rng.randint(low, max(low, high))


def _value(rng, spec):
    kind = spec.type.name
    if spec.pii == "resident_id":
        return resident_id(rng, valid=rng.random() > 0.03)
    if spec.pii == "phone":
        return phone(rng)
    if spec.pii == "name":
        return rng.choice(SCHEMA_SURNAMES) + rng.choice(SCHEMA_GIVEN) + rng.choice(["", rng.choice(SCHEMA_GIVEN)])
    if spec.pii == "bank_card":  # a debit card of a large bank: issuer number and 13 digits
        return rng.choice(["622202", "621700", "622848", "621661"]) + "".join(
            rng.choice("0123456789") for _ in range(13))
    if kind == "integer":
        return _integer(rng, spec)
    if kind == "decimal":
        low = float(spec.minimum or 0)
        high = float(spec.maximum) if spec.maximum is not None else low + 1
        return f"{rng.uniform(low, min(high, low + 0.9)):.2f}"
    name = spec.path.split(".")[-1]
    if kind == "boolean":
        if any(word in name for word in ("verified", "match")):
            return rng.random() < 0.97
        return rng.random() < FLAG_RATES.get(name, 0.6 if name in GOOD_FLAGS else 0.02)
    if kind == "date":
        if "expiry" in name:
            return (TODAY + datetime.timedelta(days=rng.randint(-30, 3650))).isoformat()
        if "report" in name:  # a credit report pulled for this application, now and then stale
            return (TODAY - datetime.timedelta(days=rng.randint(0, 20) if rng.random() < 0.97
                                               else rng.randint(31, 400))).isoformat()
        return (TODAY - datetime.timedelta(days=rng.randint(0, 40))).isoformat()
    if kind == "enum":
        if name == "worst_five_class":
            return "NORMAL" if rng.random() < 0.95 else rng.choice(spec.type.values)
        if "EMPLOYEE" in spec.type.values and rng.random() < 0.6:  # most applicants are employed
            return "EMPLOYEE"
        return rng.choice(spec.type.values)
    if kind == "list":
        if spec.item_fields:  # a list of records: a few items with their declared fields
            return [_record(rng, spec) for _ in range(rng.choice([1, 2, 2, 3]))]
        return []
    if kind == "datetime":
        moment = datetime.datetime.combine(TODAY, datetime.time(rng.randint(8, 21), 0))
        return moment.replace(tzinfo=CHINA).isoformat()
    if kind == "time":
        return f"{rng.randint(8, 21):02d}:00"
    if spec.pattern and re.fullmatch(spec.pattern, "330100"):
        # the household registration is elsewhere now and then; the location rarely
        if name != "city_code" and rng.random() < (0.9 if "hukou" in name else 0.97):
            return SAME_CITY
        return rng.choice(CITIES)
    if name.endswith("_id"):  # a reference such as a signed consent's number
        return f"{name[:4].upper()}-{rng.randint(0, 10 ** 8):08d}"
    return "x"


def _record(rng, spec) -> dict:
    """One item of a list of records: every declared field (optional ones nearly always), a
    24-month status string clean, dates within the last years, codes from a few lenders."""
    item = {}
    for field in spec.item_fields:
        name = field.path.rsplit(".", 1)[1]
        if not field.required and rng.random() > 0.97:
            continue
        if field.pattern and "{24}" in field.pattern:
            value = "N" * 24
        elif field.type.name == "date":
            value = (TODAY - datetime.timedelta(days=rng.randint(200, 3000))).isoformat()
        elif field.type.name == "string":
            value = f"B{rng.randint(1, 4):02d}"
        elif field.type.name == "enum" and field.type.values:
            normal = [v for v in field.type.values if v in ("NORMAL", "BANK", "OPEN")]
            value = normal[0] if normal and rng.random() < 0.9 else rng.choice(field.type.values)
        else:
            value = _value(rng, field)
        item[name] = value
    return item


def needed_for_approval(policy) -> set[str]:
    """The input fields the policy's data requirements list (an automatic APPROVE needs them):
    a channel sends them nearly always."""
    fields = policy.input_schema.fields
    return {name for requirement in policy.parts.requirements for name in requirement.fields
            if name in fields}


def applicant(rng, policy, optional_rate=0.9, needed=frozenset()):
    """One generated request body for the policy (decision_date is left to the service); the
    fields in `needed` are left out far less often than other optional fields."""
    body = {}
    for path, spec in policy.input_schema.fields.items():
        rate = 0.995 if path in needed else optional_rate
        if path == "decision_date" or (not spec.required and rng.random() > rate):
            continue
        node = body
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _value(rng, spec)
    city = body.get("residence", {}).get("city_code")
    for section in body.values():
        if isinstance(section, dict):
            for key, value in section.items():
                if value is SAME_CITY:
                    section[key] = city or rng.choice(CITIES)
    # Keep the declared birth date consistent with the ID most of the time, as a real channel would.
    identity = body.get("applicant", {})
    if "id_number" in identity and "birth_date" in identity and rng.random() < 0.95:
        number = identity["id_number"]
        identity["birth_date"] = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    return body


def examples(prefix=""):
    """The example request bodies kept in examples/ (one approval per group, declines, a refer)."""
    folder = Path(__file__).resolve().parent.parent.parent / "examples"
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob(f"{prefix}*.json"))}


def applicants(policy, count, seed=20261128):
    rng = random.Random(seed)
    needed = needed_for_approval(policy)
    return [applicant(rng, policy, needed=needed) for _ in range(count)]


def as_of(body: dict, day: datetime.date) -> dict:
    """A request body re-dated for the service's `day`: examples/today.py's as_of, the one way to
    do it (its script prints an example re-dated for today, for the README's curl)."""
    return _today.as_of(body, day)


def without_some_fields(raw: dict, rng: random.Random) -> dict:
    """An application with about one field in ten removed, at every depth (missing data in
    realistic files), chosen by `rng`."""
    out = {}
    for key, value in raw.items():
        if rng.random() < 0.1:
            continue
        out[key] = without_some_fields(value, rng) if isinstance(value, dict) else value
    return out
