"""Generated applicants for end-to-end tests: every declared input field from the policy's own schema,
with realistic values (valid resident IDs, city codes, money amounts), from a seeded random source."""
import datetime
import random
import re

CITIES = ["110100", "310100", "330600", "341200", "431000", "440100", "440300", "330100", "320100", "510100", "420100", "610100",
          "370200", "350200", "450100", "520100", "620100", "410100", "130100", "640100"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
TODAY = datetime.date(2026, 11, 28)


def resident_id(rng, born=None, valid=True):
    """An 18-character resident ID with a real region, birth date and (if valid) check character."""
    born = born or TODAY - datetime.timedelta(days=rng.randint(20 * 365, 62 * 365))
    first17 = f"{rng.choice(CITIES)[:4]}{rng.randint(1, 30):02d}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]
    if not valid:
        check = "10X98765432"[("10X98765432".index(check) + 1) % 11]
    return first17 + check


def phone(rng):
    return rng.choice(["138", "139", "150", "186", "177", "135"]) + f"{rng.randint(0, 99999999):08d}"


AMOUNT_HINTS = [("income", 2500, 60000), ("provident_fund_base", 3000, 35000), ("turnover", 100000, 8000000),
                ("aum", 0, 800000), ("debt", 0, 600000), ("repayment", 0, 20000), ("requested_amount", 10000, 500000),
                ("amount", 0, 50000), ("months", 0, 120), ("inquiries", 0, 8), ("applications", 0, 5),
                ("overdue_times", 0, 3), ("employees", 1, 80), ("dependants", 0, 3)]


GOOD_FLAGS = {"payroll", "residence_permit", "has_record", "wealth_products"}
SAME_CITY = object()  # a marker: the applicant's residence city
MOSTLY_ZERO = ("overdue", "inquiries", "applications", "blacklist")
RANGES = {"fraud_score": (0, 450), "credit_score": (520, 880), "credit_history_months": (6, 200),
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
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)])
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
        return rng.random() < (0.6 if name in GOOD_FLAGS else 0.02)
    if kind == "date":
        if "expiry" in name:
            return (TODAY + datetime.timedelta(days=rng.randint(-30, 3650))).isoformat()
        return (TODAY - datetime.timedelta(days=rng.randint(0, 40))).isoformat()
    if kind == "enum":
        if name == "worst_five_class":
            return "NORMAL" if rng.random() < 0.95 else rng.choice(spec.type.values)
        return rng.choice(spec.type.values)
    if kind == "list":
        return []
    if spec.pattern and re.fullmatch(spec.pattern, "330100"):
        if name != "city_code" and rng.random() < 0.9:
            return SAME_CITY
        return rng.choice(CITIES)
    return "x"


def applicant(rng, policy, optional_rate=0.9):
    """One generated request body for the policy (decision_date is left to the service)."""
    body = {}
    for path, spec in policy.input_schema.fields.items():
        if path == "decision_date" or (not spec.required and rng.random() > optional_rate):
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
    import json
    from pathlib import Path
    folder = Path(__file__).resolve().parent.parent.parent / "examples"
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob(f"{prefix}*.json"))}


def applicants(policy, count, seed=20261128):
    rng = random.Random(seed)
    return [applicant(rng, policy) for _ in range(count)]
