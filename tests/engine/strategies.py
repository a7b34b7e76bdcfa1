"""Hypothesis strategies for applicants, built from a policy's own input schema, so they follow the
schema as it changes: every declared field is absent, null or a valid value of its type (bounds,
patterns and lengths respected, boundary values favoured, Chinese text, empty lists). Also the
reference policy's strong applicant and what its limit caps are.

Drawing is most of what a property test costs, so each value is drawn with as few choices as
gives the same values: a digit pattern as one integer rather than a character at a time, and a
changed strong applicant draws only the fields it changes."""
from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from app.engine.language.regions import prefecture
from app.engine.language.resident_id import compose
from app.engine.schema import FieldSpec
from support.bureau import report as bureau_report


REPO = Path(__file__).resolve().parents[2]


POLICY_NAME = "zhishandai.application"


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])


ABSENT = object()
CHINA = datetime.timezone(datetime.timedelta(hours=8))


CHINESE = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


# Text for free strings: ASCII letters and digits, Chinese, spaces. (Exotic Unicode digits are
# covered by an explicit known-bug test in test_resident_id.py.)
TEXT = st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E), CHINESE)


# --- strategies from an input schema ------------------------------------------------------------
def integer_values(spec: FieldSpec):
    low = spec.minimum if spec.minimum is not None else -10**6
    high = spec.maximum if spec.maximum is not None else 10**12
    low, high = int(low), int(high)
    edges = sorted({low, min(low + 1, high), max(high - 1, low), high, *(
        v for v in (0, 1) if low <= v <= high)})
    return st.one_of(st.sampled_from(edges), st.integers(min_value=low, max_value=high))


def decimal_values(spec: FieldSpec):
    low = Decimal(str(spec.minimum)) if spec.minimum is not None else Decimal(-10**6)
    high = Decimal(str(spec.maximum)) if spec.maximum is not None else Decimal(10**9)
    value = st.one_of(st.sampled_from([low, high]),
                      st.decimals(min_value=low, max_value=high, places=4, allow_nan=False,
                                  allow_infinity=False))
    # a channel may send a decimal as a numeric string or, when it is whole, as a JSON integer
    return st.tuples(value, st.booleans()).map(
        lambda drawn: int(drawn[0]) if drawn[1] and drawn[0] == int(drawn[0]) else str(drawn[0]))


def date_values(low=datetime.date(1900, 1, 1), high=datetime.date(2100, 12, 31)):
    return st.dates(min_value=low, max_value=high).map(datetime.date.isoformat)


# A pattern of digits: fixed leading digits, one digit from a range, then n digits.
_DIGIT_PATTERN = re.compile(r"\^?(\d*)\[(\d)-(\d)\]\[0-9\]\{(\d+)\}\$?")


def pattern_values(pattern: str):
    """Text matching a pattern: a digit pattern (such as ^[1-8][0-9]{5}$) as one integer in its
    range, written out; any other pattern with st.from_regex."""
    digits = _DIGIT_PATTERN.fullmatch(pattern)
    if digits and (digits.group(1) or digits.group(2))[0] != "0":
        prefix, first, last, count = digits.groups()
        low, high = int(prefix + first + "0" * int(count)), int(prefix + last + "9" * int(count))
        return st.integers(min_value=low, max_value=high).map(str)
    return st.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s)


# Mobile numbers (1[3-9][0-9]{9}) from two choices rather than eleven characters. The last nine
# digits are one integer below 10**9: never the whole number, so when hypothesis copies an
# integer field's value into it (or back), no integer in the trace can equal the phone number,
# which the properties check never appears in clear.
PHONES = st.builds(lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"),
                   st.integers(min_value=0, max_value=10**9 - 1))


def resident_ids():
    valid = st.builds(
        compose, st.one_of(st.sampled_from(["110105", "330106", "440305", "510104"]),
                                    pattern_values(r"[1-8][0-9]{5}")),
        st.dates(min_value=datetime.date(1940, 1, 1), max_value=datetime.date(2015, 12, 31)),
        st.integers(min_value=0, max_value=999))
    almost = valid.map(lambda n: n[:17] + ("0" if n[17] != "0" else "1"))  # wrong check character
    junk = st.text(alphabet=st.sampled_from("0123456789Xx张三 -"), max_size=18)
    return st.one_of(valid, valid, almost, junk)


def string_values(spec: FieldSpec):
    if spec.pii == "resident_id":
        return resident_ids()
    if spec.pii == "name":
        return st.text(alphabet=CHINESE, min_size=1, max_size=4)
    if spec.pii == "phone":
        if spec.pattern:  # a mobile pattern (1 and ten digits): what PHONES draws, and only that
            return PHONES.filter(re.compile(spec.pattern).search)
        return st.one_of(PHONES,
                         st.text(alphabet="0123456789", max_size=spec.max_length or 11))
    if spec.pattern:
        return pattern_values(spec.pattern)
    return st.text(alphabet=TEXT, max_size=spec.max_length or 12)


def values_of(spec: FieldSpec, type_=None):
    kind = (type_ or spec.type)
    name = kind.name
    if name == "integer":
        return integer_values(spec)
    if name == "decimal":
        return decimal_values(spec)
    if name == "boolean":
        return st.booleans()
    if name == "date":
        return date_values()
    if name == "enum":
        return st.sampled_from(list(kind.values))
    if name == "list":
        if spec.item_fields:  # a list of records: each item's fields valid, null or absent
            return st.lists(section({f.path.rsplit(".", 1)[1]: f for f in spec.item_fields}, {},
                                    spec.path + "[]."), max_size=3)
        item = FieldSpec(spec.path + "[]", kind.item)
        return st.lists(values_of(item, kind.item), max_size=3)
    if name == "datetime":
        return st.datetimes(min_value=datetime.datetime(2000, 1, 1),
                            max_value=datetime.datetime(2099, 12, 31),
                            timezones=st.sampled_from([datetime.timezone.utc, CHINA])).map(
            lambda moment: moment.isoformat())
    if name == "time":
        return st.times().map(lambda moment: moment.isoformat())
    return string_values(spec)


def field_values(spec: FieldSpec, overrides: dict):
    """One field: a valid value, or (unless required) null or ABSENT."""
    value = overrides[spec.path] if spec.path in overrides else values_of(spec)
    return value if spec.required else st.one_of(value, st.none(), st.just(ABSENT))


def section(tree: dict, overrides: dict, prefix: str = ""):
    """A strategy for one section of the input: a dict with fields absent, null or valid."""
    entries = {}
    for key, node in tree.items():
        path = prefix + key
        if isinstance(node, FieldSpec):
            entries[key] = field_values(node, overrides)
        else:
            inner = section(node, overrides, path + ".")
            required = any(_required(node))
            entries[key] = inner if required else st.one_of(inner, st.just(ABSENT), st.none())
    return st.fixed_dictionaries(entries).map(
        lambda d: {k: v for k, v in d.items() if v is not ABSENT})


def _required(tree: dict):
    for node in tree.values():
        if isinstance(node, FieldSpec):
            yield node.required
        else:
            yield from _required(node)


def applicants(policy, overrides: dict | None = None):
    """Applicants for a policy's input (built once per policy version when nothing is
    overridden: building and validating a strategy costs more than drawing from it)."""
    if overrides:
        return section(policy.input_schema.tree, overrides)
    if policy.hash not in _APPLICANTS:
        _APPLICANTS[policy.hash] = section(policy.input_schema.tree, {})
    return _APPLICANTS[policy.hash]


_CITIES: dict[str, frozenset] = {}


_STRATEGIES: dict[str, object] = {}
_APPLICANTS: dict[str, object] = {}


def developed_cities(policy) -> frozenset[str]:
    """The developed-city list, read from the policy's own files (once per policy version)."""
    if policy.hash not in _CITIES:
        [path] = [p for p, text in policy.files.items()
                  if (yaml.safe_load(text) or {}).get("list") == "developed_cities"]
        _CITIES[policy.hash] = frozenset(str(v) for v in yaml.safe_load(policy.files[path])["values"])
    return _CITIES[policy.hash]


def reference_applicants(policy):
    """Fully random applicants, and a strong applicant with a few fields changed (so that
    approvals, referrals and limits are common too)."""
    if policy.hash not in _STRATEGIES:
        overrides = _overrides(policy)
        # up to four different fields, each with a value, null or ABSENT
        change = st.one_of([st.tuples(st.just(path), field_values(spec, overrides))
                            for path, spec in sorted(policy.input_schema.fields.items())])
        changes = st.lists(change, max_size=4, unique_by=lambda pair: pair[0])
        _STRATEGIES[policy.hash] = st.one_of(applicants(policy, overrides),
                                             changes.map(_perturb))
    return _STRATEGIES[policy.hash]


def _perturb(changes: list[tuple[str, object]]) -> dict:
    """SALARIED with some fields set to a random value or null, or removed (ABSENT)."""
    result = _copy_deep(SALARIED)
    for path, value in changes:
        *sections, name = path.split(".")
        target = result
        for part in sections:
            target = target.setdefault(part, {})
        if value is ABSENT:
            target.pop(name, None)
        else:
            target[name] = value
    return result


def _copy_deep(value):
    if isinstance(value, dict):
        return {k: _copy_deep(v) for k, v in value.items()}
    return value


def region_cap(policy, city_code: str) -> int:
    """The region cap of a city of residence (a district's code counts as its city's)."""
    params = policy.parts.parameters
    if prefecture(city_code) in developed_cities(policy):
        return params["region_cap_developed"]
    return params["region_cap_other"]


def _overrides(policy):
    cities = sorted(developed_cities(policy))
    city = st.one_of(st.sampled_from(cities), pattern_values(r"[1-8][0-9]{5}"))
    return {"residence.city_code": city, "residence.hukou_city_code": city,
            "decision_date": date_values(datetime.date(2020, 1, 1), datetime.date(2030, 12, 31))}


# A strong salaried applicant with every datum an automatic approval needs (the policy's requires).
SALARIED = {
    "decision_date": "2026-11-28", "requested_amount": 100000, "requested_term_months": 12,
    "applicant": {"id_number": compose("330106", datetime.date(1990, 5, 17), 13),
                  "name": "王小明", "mobile": "13912345678", "birth_date": "1990-05-17",
                  "education": "BACHELOR", "mobile_in_service_months": 60},
    "residence": {"city_code": "330100", "hukou_city_code": "330100",
                  "local_residence_months": 120, "housing": "OWNED"},
    "employment": {"type": "EMPLOYEE", "employer_type": "SOE", "monthly_income": 30000,
                   "months_in_job": 48, "social_insurance_months": 48,
                   "provident_fund_months": 48, "provident_fund_base": 20000},
    "bank": {"payroll": True, "relationship_months": 60, "aum_avg_6m": 10000,
             "internal_blacklist": False, "internal_overdue_times_12m": 0},
    # a clean report: one credit card (limit 10,000, 1,000 used) opened eight years ago
    "bureau": bureau_report({"credit_history_months": 96, "hard_inquiries_3m": 1,
                             "hard_inquiries_6m": 1, "unsecured_debt_total": 1000,
                             "monthly_repayment": 0, "credit_card_utilisation": "0.1",
                             "lender_count": 1}, datetime.date(2026, 11, 20)),
    "device": {"device_id": "DEV-SALARIED-01", "channel": "RM_APP", "gps_city_code": "330106", "ip_city_code": "330100",
               "device_applications_24h": 1, "phone_applications_24h": 1,
               "id_applications_7d": 1, "shares_contact_with_declined": False,
               "emulator": False, "rooted": False},
    "checks": {"identity_verified": True, "mobile_real_name_match": True,
               "court_dishonest": False, "court_enforcement_open": False},
    "scores": {"credit_score": 800, "fraud_score": 100},
    "consent": {"pipl_consent_id": "PIPL-20261128-0001",
                "bureau_authorisation_id": "CRA-20261128-0001"},
}
