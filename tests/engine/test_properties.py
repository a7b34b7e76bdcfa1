"""Property tests: generated applicants against the reference policy (and a small list policy).

The applicant strategy is built from a policy's own input schema, so it follows the schema as it
changes: every declared field is absent, null or a valid value of its type (bounds, patterns and
lengths respected, boundary values favoured, Chinese text, empty lists)."""
from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.engine import canonical_json, load_policy_files, load_policy_root
from app.engine.schema import FieldSpec
from helpers import INPUT, make_policy, make_resident_id, ruleset

REPO = Path(__file__).resolve().parents[2]
POLICY_NAME = "zhishandai.application"
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])
ABSENT = object()

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
    # a channel may send a decimal as a numeric string or as a JSON integer
    return value.flatmap(lambda d: st.sampled_from([str(d)] + ([int(d)] if d == int(d) else [])))


def date_values(low=datetime.date(1900, 1, 1), high=datetime.date(2100, 12, 31)):
    return st.dates(min_value=low, max_value=high).map(datetime.date.isoformat)


def resident_ids():
    valid = st.builds(
        make_resident_id, st.one_of(st.sampled_from(["110105", "330106", "440305", "510104"]),
                                    st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)),
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
        return st.one_of(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
                         st.text(alphabet="0123456789", max_size=spec.max_length or 11))
    if spec.pattern:
        return st.from_regex(spec.pattern, fullmatch=True).filter(lambda s: "\n" not in s)
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
        item = FieldSpec(spec.path + "[]", kind.item)
        return st.lists(values_of(item, kind.item), max_size=3)
    return string_values(spec)


def section(tree: dict, overrides: dict, prefix: str = ""):
    """A strategy for one section of the input: a dict with fields absent, null or valid."""
    entries = {}
    for key, node in tree.items():
        path = prefix + key
        if isinstance(node, FieldSpec):
            value = overrides[path] if path in overrides else values_of(node)
            entries[key] = value if node.required else st.one_of(value, st.none(),
                                                                 st.just(ABSENT))
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
    return section(policy.input_schema.tree, overrides or {})


# --- the reference policy -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference():
    result = load_policy_root(REPO)
    assert result.ok, "the reference policy does not load:\n" + "\n".join(
        str(d) for d in result.diagnostics)
    return result.policies[POLICY_NAME]


@pytest.fixture(scope="module")
def reference_again():
    """The same policy from a second, independent load of the root."""
    return load_policy_root(REPO).policies.get(POLICY_NAME)


_CITIES: dict[str, frozenset] = {}
_STRATEGIES: dict[str, object] = {}


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
        random = applicants(policy, _overrides(policy))
        paths = sorted(policy.input_schema.fields)
        changed = st.tuples(random, st.lists(st.sampled_from(paths), max_size=4, unique=True))
        _STRATEGIES[policy.hash] = st.one_of(random, changed.map(_perturb))
    return _STRATEGIES[policy.hash]


def _perturb(drawn) -> dict:
    """SALARIED with the given field paths taken from a random applicant (or removed)."""
    random, paths = drawn
    result = _copy_deep(SALARIED)
    for path in paths:
        *sections, name = path.split(".")
        source, target = random, result
        for part in sections:
            source = source.get(part) if isinstance(source, dict) else None
            target = target.setdefault(part, {})
        if isinstance(source, dict) and name in source:
            target[name] = source[name]
        else:
            target.pop(name, None)
    return result


def _copy_deep(value):
    if isinstance(value, dict):
        return {k: _copy_deep(v) for k, v in value.items()}
    return value


def region_cap(policy, city_code: str) -> int:
    params = policy.parts.parameters
    if city_code in developed_cities(policy):
        return params["region_cap_developed"]
    return params["region_cap_other"]


def test_reference_region_caps_are_the_product_caps(reference):
    params = reference.parts.parameters
    assert (params["region_cap_developed"], params["region_cap_other"]) == (500000, 300000)
    # ...and the policy applies them as a limit cap
    assert "CAP-REGION" in [cap.id for cap in reference.parts.limit.caps]
    assert {"110100", "310100", "440100"} <= developed_cities(reference)


def _overrides(policy):
    cities = sorted(developed_cities(policy))
    city = st.one_of(st.sampled_from(cities), st.from_regex(r"[1-8][0-9]{5}", fullmatch=True))
    return {"residence.city_code": city, "residence.hukou_city_code": city,
            "decision_date": date_values(datetime.date(2020, 1, 1), datetime.date(2030, 12, 31))}


def _decide(policy, raw):
    typed = policy.parse_input(raw)  # the strategy makes only valid inputs: this must not raise
    return typed, policy.decide(typed)


SALARIED = {
    "decision_date": "2026-11-28", "requested_amount": 100000, "requested_term_months": 12,
    "applicant": {"id_number": make_resident_id("330106", datetime.date(1990, 5, 17), 13),
                  "name": "王小明", "mobile": "13912345678", "birth_date": "1990-05-17",
                  "education": "BACHELOR", "mobile_in_service_months": 60},
    "residence": {"city_code": "330100", "hukou_city_code": "330100",
                  "local_residence_months": 120, "housing": "OWNED"},
    "employment": {"type": "EMPLOYEE", "employer_type": "SOE", "monthly_income": 30000,
                   "months_in_job": 48, "social_insurance_months": 48,
                   "provident_fund_months": 48, "provident_fund_base": 20000},
    "bank": {"payroll": True, "relationship_months": 60, "aum_avg_6m": 10000,
             "internal_overdue_times_12m": 0},
    "bureau": {"has_record": True, "credit_history_months": 96, "hard_inquiries_6m": 1,
               "monthly_repayment": 0, "credit_card_utilisation": "0.1"},
    "scores": {"credit_score": 800, "fraud_score": 100},
}


def test_a_strong_applicant_is_approved_within_the_region_cap(reference):
    _, decision = _decide(reference, SALARIED)
    assert decision.outcome == "APPROVE", decision.reason_codes
    assert decision.reasons == []
    assert 0 < decision.limit <= region_cap(reference, "330100") == 500000
    other = dict(SALARIED, residence=dict(SALARIED["residence"], city_code="331100",
                                          hukou_city_code="331100"))
    _, decision = _decide(reference, other)
    assert decision.outcome == "APPROVE" and decision.limit <= 300000


@PROPERTY_SETTINGS
@given(data=st.data())
def test_reference_policy_properties(reference, data):
    raw = data.draw(reference_applicants(reference), label="applicant")
    typed, decision = _decide(reference, raw)

    # evaluation did not raise, and gave a known outcome
    assert decision.outcome in ("APPROVE", "REFER", "DECLINE")
    event(decision.outcome)
    event("limit computed" if decision.trace.limit.limit is not None else "no limit")
    actions = {r.action for r in decision.reasons}
    if decision.outcome == "APPROVE":
        assert decision.reasons == []
    else:
        # every DECLINE and REFER carries at least one reason, and the outcome follows them
        assert decision.reasons, f"{decision.outcome} without a reason"
        assert decision.outcome == ("DECLINE" if "DECLINE" in actions else "REFER")
        assert decision.limit is None

    # the limit never exceeds the region cap (500,000 developed / 300,000 other)
    cap = region_cap(reference, raw["residence"]["city_code"])
    limit_trace = decision.trace.to_dict()["limit"]
    if decision.limit is not None:
        assert decision.outcome == "APPROVE"
        assert 0 < decision.limit <= cap
        assert decision.limit % 1000 == 0
        assert decision.limit >= reference.parts.parameters["minimum_limit"]
    if limit_trace["limit"] is not None:
        assert limit_trace["limit"] <= cap
    region = [c for c in limit_trace["caps"] if c["id"] == "CAP-REGION"]
    assert region == [{"id": "CAP-REGION", "value": cap}]

    # the trace explains every rule set: selections are matches, conflicts are reported
    trace = decision.trace.to_dict()
    stage_ids = [stage.id for stage in reference.parts.stages]
    assert [s["id"] for s in trace["stages"]] == stage_ids
    for stage in trace["stages"]:
        if stage["kind"] != "ruleset":
            continue
        matched = [r["id"] for r in stage["rules"] if r["matched"]]
        assert set(stage["selected"]) <= set(matched)
        if stage["conflict"] is not None:
            assert stage["conflict"] == matched and len(matched) > 1
            assert "RULESET_CONFLICT" in decision.reason_codes
    for reason in decision.reasons:
        assert reason.zh and reason.en and reason.stage in stage_ids + ["limit"]

    # an approval has a customer group and a priced band
    if decision.outcome == "APPROVE":
        assert decision.customer_group is not None
        assert decision.score_band in ("A", "B", "C")
        assert decision.outputs["price_tier"] is not None

    # reasons are ordered: every DECLINE before every REFER
    ranks = [0 if r.action == "DECLINE" else 1 for r in decision.reasons]
    assert ranks == sorted(ranks)
    assert len(set(decision.reason_codes)) == len(decision.reason_codes)

    # deterministic: byte-identical JSON for a second evaluation...
    first = canonical_json({"decision": decision.to_dict(), "trace": decision.trace.to_dict()})
    again = reference.decide(reference.parse_input(raw))
    assert canonical_json({"decision": again.to_dict(), "trace": again.trace.to_dict()}) == first

    # personal data never appears in clear
    id_number = (raw.get("applicant") or {}).get("id_number")
    mobile = (raw.get("applicant") or {}).get("mobile")
    if id_number and len(id_number) == 18:
        assert id_number not in first
    if mobile and len(mobile) == 11:
        assert mobile not in first


@PROPERTY_SETTINGS
@given(data=st.data())
def test_reference_policy_is_deterministic_across_loads(reference, reference_again, data):
    assert reference_again is not None and reference_again is not reference
    assert reference_again.hash == reference.hash
    raw = data.draw(reference_applicants(reference), label="applicant")
    one = reference.decide(reference.parse_input(raw))
    two = reference_again.decide(reference_again.parse_input(raw))
    assert canonical_json(one.to_dict()) == canonical_json(two.to_dict())
    assert canonical_json(one.trace.to_dict()) == canonical_json(two.trace.to_dict())


def test_reference_policy_round_trips_through_its_files(reference):
    rebuilt = load_policy_files(POLICY_NAME, reference.files)
    assert rebuilt.hash == reference.hash
    for raw in (SALARIED, {"decision_date": "2026-11-28",
                           "applicant": {"id_number": "110105194912310021"},
                           "residence": {"city_code": "110100"}}):
        left, right = _decide(reference, raw)[1], _decide(rebuilt, raw)[1]
        assert canonical_json([left.to_dict(), left.trace.to_dict()]) == \
            canonical_json([right.to_dict(), right.trace.to_dict()])


def test_reference_policy_with_a_unicode_digit_in_the_id_number(reference):
    """Regression: the resident_id_valid feature raised ValueError on '²'."""
    raw = dict(SALARIED, applicant=dict(SALARIED["applicant"], id_number="33010619900517²13X"))
    decision = reference.decide(reference.parse_input(raw))
    assert decision.outcome == "DECLINE"


# --- a small policy with list fields ------------------------------------------------------------
@pytest.fixture(scope="module")
def list_policy(tmp_path_factory):
    rules = {"r": ruleset("r", [
        {"id": "L-1", "when": '"vip" in tags', "then": {"action": "REFER", "reason": "R1"}},
        {"id": "L-2", "when": "a in nums", "then": {"action": "DECLINE", "reason": "R2"}},
        {"id": "L-3", "when": '"RED" not in colours and n > 2',
         "then": {"action": "REFER", "reason": "R3"}},
        {"id": "L-4", "when": "not (ratio > 1)", "then": {"action": "REFER", "reason": "R4"}},
        {"id": "L-5", "when": 'missing(person.name) or s == "张三"',
         "then": {"action": "REFER", "reason": "R5"}},
    ])}
    return make_policy(tmp_path_factory.mktemp("lists"), rules, stages=[{"id": "r",
                                                                         "ruleset": "r"}],
                       features={"n": "len(tags) + len(nums)", "ratio": "d / a"})


@PROPERTY_SETTINGS
@given(data=st.data())
def test_list_policy_properties(list_policy, data):
    raw = data.draw(applicants(list_policy), label="input")
    typed, decision = _decide(list_policy, raw)
    matched = decision.trace.matched()
    # membership on a missing list or item never matches; on present data it is Python's `in`
    assert matched["L-1"] == (raw.get("tags") is not None and "vip" in raw["tags"])
    assert matched["L-2"] == (raw.get("a") is not None and raw.get("nums") is not None
                              and raw["a"] in raw["nums"])
    if raw.get("tags") is None or raw.get("nums") is None or raw.get("colours") is None:
        assert matched["L-3"] is False
    else:
        assert matched["L-3"] == ("RED" not in raw["colours"]
                                  and len(raw["tags"]) + len(raw["nums"]) > 2)
    if raw.get("a") in (None, 0) or raw.get("d") is None:
        assert matched["L-4"] is False  # missing, or divided by zero: neither side fires
    else:
        assert matched["L-4"] == (Decimal(str(raw["d"])) / raw["a"] <= 1)
    assert decision.outcome == ("DECLINE" if matched["L-2"] else
                                "REFER" if any(matched.values()) else "APPROVE")
    assert (decision.outcome == "APPROVE") == (decision.reasons == [])
    again = list_policy.decide(list_policy.parse_input(raw))
    assert canonical_json(again.trace.to_dict()) == canonical_json(decision.trace.to_dict())


def test_strategy_covers_the_schema(list_policy):
    """The generated inputs really do include the cases the properties are meant to exercise."""
    seen = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(applicants(list_policy))
    def collect(raw):
        if raw.get("tags") == []:
            seen.add("empty list")
        if "a" not in raw:
            seen.add("absent")
        if "a" in raw and raw["a"] is None:
            seen.add("null")
        if any("\u4e00" <= ch <= "\u9fa5" for ch in str(raw.get("s"))):
            seen.add("chinese")
        if len((raw.get("person") or {}).get("id_number") or "") == 18:
            seen.add("id")
        list_policy.parse_input(raw)

    collect()
    assert seen == {"empty list", "absent", "null", "chinese", "id"}
    assert set(INPUT) <= set(list_policy.input_schema.tree)


# --- generated expressions: the value of E and the conditions E / not (E) agree -------------------
# A feature f: E is three-valued (true, false, missing); the rules `when: E` and `when: not (E)`
# are lowered to negation normal form with atoms that are false on missing data. The two code
# paths must agree: `E` fires exactly when f is true, `not (E)` exactly when f is false, and
# neither when f is missing. This also checks that nothing a well-typed expression can do raises.
def _numbers(depth: int):
    atoms = st.one_of(
        st.sampled_from(["a", "b", "c", "d", "d2", "0", "1", "2", "-3", "0.5", "1.25",
                         "params.k", "len(s)", "len(tags)", "len(nums)",
                         "days_between(day, day2)", "months_between(day, decision_date)"]))
    if depth <= 0:
        return atoms
    smaller = _numbers(depth - 1)
    return st.one_of(
        atoms,
        st.tuples(smaller, st.sampled_from(["+", "-", "*", "/", "//", "%"]), smaller)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        smaller.map(lambda x: f"-({x})"),
        st.tuples(st.sampled_from(["abs", "floor", "ceil", "round"]), smaller)
        .map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), smaller, smaller)
        .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(smaller, st.integers(-2, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.tuples(_booleans(depth - 1), smaller, smaller)
        .map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
    )


def _booleans(depth: int):
    def compare(t):
        return f"{t[0]} {t[1]} {t[2]}"
    numbers = _numbers(max(depth - 1, 0))
    ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
    atoms = st.one_of(
        st.tuples(numbers, ops, numbers).map(compare),
        st.tuples(numbers, ops, numbers, ops, numbers)
        .map(lambda t: f"{t[0]} {t[1]} {t[2]} {t[3]} {t[4]}"),
        st.sampled_from([
            "flag", "flag2", "flag == true", "flag != false", "flag == flag2", "true", "false",
            'e == "RED"', 'e != "BLUE"', 'e in ["RED", "GREEN"]', 'e not in ["RED"]',
            's == "张三"', 's != ""', 's in lists.cities', 's not in lists.cities',
            '"vip" in tags', '"vip" not in tags', "a in nums", "a not in nums",
            '"RED" in colours', "e in colours", "a in [1, 2, 3]", "d not in [0.5, 1]",
            "day < day2", "day >= decision_date", "date_add_months(day, a) <= decision_date",
            "exists(a)", "missing(d)", "exists(tags)", "missing(s)",
            "resident_id_valid(person.id_number)", 'resident_id_gender(person.id_number) == "MALE"',
            "age_at(person.id_number, decision_date) >= 18"]),
    )
    if depth <= 0:
        return atoms
    smaller = _booleans(depth - 1)
    return st.one_of(
        atoms,
        smaller.map(lambda x: f"not ({x})"),
        st.tuples(smaller, st.sampled_from(["and", "or"]), smaller)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(smaller, smaller, smaller).map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
    )


_GRAMMAR_POLICIES: dict[str, object] = {}


def _grammar_policy(expression: str):
    if expression not in _GRAMMAR_POLICIES:
        from helpers import dump, policy_text, reasons_text
        files = {
            "policies/p/x.yaml": policy_text(
                features={"f": expression}, parameters={"k": 7},
                stages=[{"id": "r", "ruleset": "r"}]),
            "rules/r.yaml": ruleset("r", [
                {"id": "POS", "when": expression, "then": {"action": "DECLINE", "reason": "R1"}},
                {"id": "NEG", "when": f"not ({expression})",
                 "then": {"action": "REFER", "reason": "R2"}}]),
            "rules/cities.yaml": dump({"list": "cities", "type": "string",
                                       "values": ["110100", "张三"]}),
            "rules/reason_codes.yaml": reasons_text(),
        }
        _GRAMMAR_POLICIES[expression] = load_policy_files("p.x", files)
    return _GRAMMAR_POLICIES[expression]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), expression=_booleans(3))
def test_generated_conditions_agree_with_their_value(data, expression):
    policy = _grammar_policy(expression)  # a well-typed expression must load
    for _ in range(3):
        raw = data.draw(_small_applicants(policy), label="input")
        decision = policy.decide(policy.parse_input(raw))
        value = decision.trace.values["f"]
        assert value in (True, False, None)
        event(f"value {value}")
        matched = decision.trace.matched()
        assert matched == {"POS": value is True, "NEG": value is False}, (expression, raw, value)


_SMALL: dict[str, object] = {}


def _small_applicants(policy):
    """Inputs for the grammar policy: small numbers (so that comparisons go both ways)."""
    if "s" not in _SMALL:
        small_int = st.one_of(st.integers(-3, 12), st.sampled_from([0, 1, 7]))
        small_dec = st.decimals(min_value=-5, max_value=5, places=2, allow_nan=False,
                                allow_infinity=False).map(str)
        days = date_values(datetime.date(2020, 1, 1), datetime.date(2030, 12, 31))
        ids = st.one_of(resident_ids(), st.just(make_resident_id("110105",
                                                                 datetime.date(2000, 1, 1), 1)))
        overrides = {"a": small_int, "b": small_int, "c": small_int, "d": small_dec,
                     "d2": small_dec, "day": days, "day2": days, "decision_date": days,
                     "s": st.sampled_from(["", "张三", "110100", "x"]),
                     "tags": st.lists(st.sampled_from(["vip", "new"]), max_size=2),
                     "nums": st.lists(small_int, max_size=3),
                     "person.id_number": ids}
        _SMALL["s"] = applicants(policy, overrides)
    return _SMALL["s"]


# --- generated expressions against an independent reference evaluator ----------------------------
import ast as _ast  # noqa: E402
import calendar as _calendar  # noqa: E402
import decimal as _decimal  # noqa: E402

_REFERENCE_CONTEXT = _decimal.Context(prec=28, rounding=_decimal.ROUND_HALF_EVEN)


def _typed_values(policy, raw: dict) -> dict:
    """The flat values of an input, typed by hand from the raw JSON (not by the engine)."""
    values = {}
    for path, spec in policy.input_schema.fields.items():
        node = raw
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            values[path] = None
        elif spec.type.name == "date":
            values[path] = datetime.date.fromisoformat(node)
        elif spec.type.name == "decimal":
            values[path] = Decimal(str(node))
        elif spec.type.name == "list":
            values[path] = tuple(node)
        else:
            values[path] = node
    return values


def _kleene_and(items):
    return False if False in items else None if None in items else True


def _kleene_or(items):
    return True if True in items else None if None in items else False


def _floor_div(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return (Decimal(a) / Decimal(b)).to_integral_value(rounding=_decimal.ROUND_FLOOR)


def _months(start, end):
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    if months < 0 and end.day > start.day:
        months += 1
    return months


def _add_months(day, n):
    year, month = divmod(day.year * 12 + day.month - 1 + n, 12)
    if not 1 <= year <= 9999:
        return None
    return datetime.date(year, month + 1, min(day.day, _calendar.monthrange(year, month + 1)[1]))


def _id_birth(number):
    try:
        if len(number) == 18 and number[:17].isascii() and number[:17].isdigit():
            return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        pass
    return None


def _id_valid(number):
    if _id_birth(number) is None:
        return False
    return number.upper() == make_resident_id(number[:6], _id_birth(number), int(number[14:17]))


def _round_half_up(x, digits=0):
    quantum = Decimal(1).scaleb(-digits)
    return Decimal(x).quantize(quantum, rounding=_decimal.ROUND_HALF_UP)


_CALLS = {
    "abs": abs, "len": len,
    "floor": lambda x: int(Decimal(x).to_integral_value(rounding=_decimal.ROUND_FLOOR)),
    "ceil": lambda x: int(Decimal(x).to_integral_value(rounding=_decimal.ROUND_CEILING)),
    "round": _round_half_up,
    "days_between": lambda a, b: (b - a).days,
    "months_between": _months,
    "date_add_months": _add_months,
    "resident_id_valid": _id_valid,
    "resident_id_gender": lambda n: None if _id_birth(n) is None else (
        "MALE" if int(n[16]) % 2 else "FEMALE"),
    "age_at": lambda n, on: None if _id_birth(n) is None else (
        on.year - _id_birth(n).year - ((on.month, on.day) < (_id_birth(n).month,
                                                             _id_birth(n).day))),
}


def reference_value(text: str, values: dict, params: dict, lists: dict):
    """Evaluate an expression of the rule language by its documented meaning."""
    def ev(node):
        if isinstance(node, _ast.Constant):
            if isinstance(node.value, float):
                return Decimal(_ast.get_source_segment(text, node))
            return node.value
        if isinstance(node, _ast.Name):
            return {"true": True, "false": False}.get(node.id, values.get(node.id))
        if isinstance(node, _ast.Attribute):
            path = _ast.unparse(node)
            head, _, rest = path.partition(".")
            if head == "params":
                return params[rest]
            if head == "lists":
                return lists[rest]
            return values[path]
        if isinstance(node, (_ast.List, _ast.Tuple)):
            return tuple(ev(e) for e in node.elts)
        if isinstance(node, _ast.UnaryOp):
            x = ev(node.operand)
            if x is None:
                return None
            return (not x) if isinstance(node.op, _ast.Not) else -x
        if isinstance(node, _ast.BoolOp):
            items = [ev(v) for v in node.values]
            return _kleene_and(items) if isinstance(node.op, _ast.And) else _kleene_or(items)
        if isinstance(node, _ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if a is None or b is None:
                return None
            op = type(node.op)
            if op in (_ast.Div, _ast.FloorDiv, _ast.Mod) and b == 0:
                return None
            if op is _ast.Div:
                return Decimal(a) / Decimal(b)
            if op is _ast.FloorDiv:
                return _floor_div(a, b)
            if op is _ast.Mod:
                return a % b if isinstance(a, int) and isinstance(b, int) else \
                    Decimal(a) - Decimal(b) * _floor_div(a, b)
            return {_ast.Add: lambda: a + b, _ast.Sub: lambda: a - b,
                    _ast.Mult: lambda: a * b}[op]()
        if isinstance(node, _ast.Compare):
            results, left = [], ev(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = ev(right_node)
                if left is None or right is None:
                    results.append(None)
                elif isinstance(op, _ast.In):
                    results.append(left in right)
                elif isinstance(op, _ast.NotIn):
                    results.append(left not in right)
                else:
                    results.append({_ast.Lt: left < right, _ast.LtE: left <= right,
                                    _ast.Gt: left > right, _ast.GtE: left >= right,
                                    _ast.Eq: left == right, _ast.NotEq: left != right}[type(op)])
                left = right
            return _kleene_and(results)
        if isinstance(node, _ast.IfExp):
            test = ev(node.test)
            return None if test is None else ev(node.body if test else node.orelse)
        if isinstance(node, _ast.Call):
            name = node.func.id
            args = [ev(a) for a in node.args]
            if name == "exists":
                return args[0] is not None
            if name == "missing":
                return args[0] is None
            if name == "coalesce":
                return next((a for a in args if a is not None), None)
            if name in ("min", "max"):
                present = [a for a in args if a is not None]
                return (min if name == "min" else max)(present) if present else None
            if any(a is None for a in args):
                return None
            return _CALLS[name](*args)
        raise AssertionError(f"unexpected node {_ast.dump(node)}")

    with _decimal.localcontext(_REFERENCE_CONTEXT):
        return ev(_ast.parse(text, mode="eval").body)


def _same(engine, reference) -> bool:
    if engine is None or reference is None:
        return engine is None and reference is None
    if isinstance(reference, bool) or isinstance(engine, bool):
        return engine is reference
    return engine == reference


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), condition=_booleans(2), number=_numbers(3))
def test_generated_expressions_match_the_reference_evaluator(data, condition, number):
    policy = _reference_policy(condition, number)
    for _ in range(3):
        raw = data.draw(_small_applicants(policy), label="input")
        decision = policy.decide(policy.parse_input(raw))
        values = _typed_values(policy, raw)
        lists = {"cities": frozenset({"110100", "张三"})}
        for name, text in (("f", condition), ("g", number)):
            expected = reference_value(text, values, {"k": 7}, lists)
            actual = decision.trace.values[name]
            assert _same(actual, expected), (text, raw, actual, expected)


_REFERENCE_POLICIES: dict[tuple, object] = {}


def _reference_policy(condition: str, number: str):
    key = (condition, number)
    if key not in _REFERENCE_POLICIES:
        from helpers import dump, policy_text, reasons_text
        files = {
            "policies/p/x.yaml": policy_text(features={"f": condition, "g": number},
                                             parameters={"k": 7}),
            "rules/noop.yaml": ruleset("noop", [{"id": "N", "when": "false",
                                                 "then": {"action": "REFER", "reason": "R1"}}]),
            "rules/cities.yaml": dump({"list": "cities", "type": "string",
                                       "values": ["110100", "张三"]}),
            "rules/reason_codes.yaml": reasons_text(),
        }
        _REFERENCE_POLICIES[key] = load_policy_files("p.x", files)
    return _REFERENCE_POLICIES[key]
