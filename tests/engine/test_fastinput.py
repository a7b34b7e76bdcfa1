"""The fast path of input parsing types exactly what marshmallow types, and gives up on anything
marshmallow refuses: compared on generated applicants, valid and broken."""
import datetime
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.errors import InputError
from app.engine.fastinput import fast_parser
from app.engine.validation import parse_input
from engine.strategies import PROPERTY_SETTINGS, applicants
from engine.support import INPUT, make_policy

# Values a channel might send in place of any field (the wrong type, out of range, odd text).
ODD = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
                st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                st.sampled_from(["1" * 12, "3" * 19, "x" * 65]),
                st.sampled_from(["", "2026-02-30", "2026-11-01", "20261101", "1e3", "0.5", " 7", "NaN",
                                 "330100", "SALARIED", "\ud800", "-0", "00012"]),
                st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def as_json(value):
    """A typed applicant as a channel sends it: dates as ISO text, decimals as numbers or text."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def exact(value):
    """A typed value with its types and decimal exponents visible (Decimal('1.0') != Decimal('1'))."""
    if isinstance(value, dict):
        return ("dict", [(k, exact(v)) for k, v in value.items()])  # in order, as marshmallow gives them
    if isinstance(value, list):
        return ("list", [exact(v) for v in value])
    return (type(value).__name__, repr(value))


def paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix + (key,)
            yield from paths(item, prefix + (key,))


def same_as_marshmallow(policy, raw):
    fast = fast_parser(policy.input_schema)(raw)
    try:
        slow = parse_input(raw, policy.request_schema())
    except InputError:
        assert fast is None, raw
        return None
    if fast is not None:
        assert exact(fast) == exact(slow)
    return fast


def test_plainly_valid_applicants_take_the_fast_path(reference):
    from support.applicants import generate
    taken = [same_as_marshmallow(reference, raw) is not None for raw in generate(300, seed=13)]
    assert all(taken)


@given(data=st.data())
@PROPERTY_SETTINGS
def test_the_fast_path_agrees_with_marshmallow_on_valid_applicants(reference, data):
    raw = as_json(data.draw(applicants(reference)))
    assert same_as_marshmallow(reference, raw) is not None


@pytest.fixture(scope="module")
def decimals_policy(tmp_path_factory):
    """A small policy with decimal fields (the reference policy's input has none)."""
    return make_policy(tmp_path_factory.mktemp("decimals"), input=dict(INPUT, rate={
        "type": "decimal", "min": 0, "max": 1}))


@given(drawn=st.tuples(st.one_of(st.none(), st.floats()), st.one_of(st.none(), st.floats()),
                       st.one_of(st.none(), st.floats(min_value=-0.5, max_value=1.5))))
@PROPERTY_SETTINGS
def test_decimals_sent_as_json_numbers_are_typed_as_marshmallow_types_them(decimals_policy, drawn):
    """A channel that writes decimals as JSON numbers: json.loads gives floats, typed through
    their text by both paths alike (or by marshmallow when the fast path is not sure)."""
    d, d2, rate = drawn
    raw = {"decision_date": "2026-11-28", "d": d, "d2": d2, "rate": rate}
    same_as_marshmallow(decimals_policy, {k: v for k, v in raw.items() if v is not None})


@pytest.mark.parametrize("value", [0.35, -0.0, 12345.678, 1.0, 0.1 + 0.2])
def test_plain_decimals_sent_as_json_numbers_take_the_fast_path(decimals_policy, value):
    typed = same_as_marshmallow(decimals_policy, {"decision_date": "2026-11-28", "d": value})
    assert typed is not None and typed["d"] == Decimal(repr(value))


@given(data=st.data())
@PROPERTY_SETTINGS
def test_the_fast_path_never_accepts_what_marshmallow_refuses(reference, data):
    raw = as_json(data.draw(applicants(reference)))
    found = list(paths(raw))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "add" or not found:
            raw[data.draw(st.sampled_from(["extra", "applicant", "bureau", "decision_date"]))] = data.draw(ODD)
            continue
        path = data.draw(st.sampled_from(found))
        node = raw
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or path[-1] not in node:
            continue
        if action == "drop":
            del node[path[-1]]
        else:
            node[path[-1]] = data.draw(ODD)
    same_as_marshmallow(reference, json.loads(json.dumps(raw, default=str)) if data.draw(st.booleans()) else raw)
