"""A decision and its trace rendered from the policy's generated renderer (render.py) are byte
for byte canonical_json of their to_dict(), at every trace level, on generated applicants; the
`hits` level is the full trace with only the matched rules."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine import canonical_json
from app.engine.render import FULL, HITS, NONE, input_json, typed_json, value_json
from engine.strategies import PROPERTY_SETTINGS, applicants
from engine.support import INPUT, make_policy, run
from engine.test_fastinput import as_json


def assert_same_text(decision) -> None:
    assert decision.to_json() == canonical_json(decision.to_dict())
    trace = decision.trace
    for level in (FULL, HITS):
        assert trace.to_json(level) == canonical_json(trace.to_dict(level)), level


def test_generated_applicants_render_byte_for_byte_as_canonical_json(reference):
    from support.applicants import generate, generate_shared
    outcomes = set()
    # with the shared anti-fraud values the service hands in (without them every one is referred)
    for raw, shared in zip(generate(300, seed=29), generate_shared(300, seed=29)):
        decision = reference.decide(reference.parse_input(raw), shared=shared)
        outcomes.add(decision.outcome)
        assert_same_text(decision)
    assert outcomes == {"APPROVE", "DECLINE", "REFER"}  # every shape of trace was compared


def test_the_shared_values_render_with_their_sources_as_canonical_json(reference):
    """The shared section is rendered per declaration (render.py `shared`): each value with where
    it came from, every source the service gives and none."""
    from support.applicants import generate, generate_shared
    sources = ["redis", "memory", "database", "unavailable", "incomplete", "no_key", None]
    for number, (raw, shared) in enumerate(zip(generate(60, seed=31), generate_shared(60, seed=31))):
        given = {name: sources[(number + i) % len(sources)] for i, name in enumerate(shared)}
        decision = reference.decide(reference.parse_input(raw), shared=shared,
                                    sources={k: v for k, v in given.items() if v is not None})
        assert '"source":"' in decision.trace.to_json()
        assert_same_text(decision)


@given(data=st.data())
@PROPERTY_SETTINGS
def test_schema_drawn_applicants_render_byte_for_byte_as_canonical_json(reference, data):
    raw = as_json(data.draw(applicants(reference)))
    assert_same_text(reference.decide(reference.parse_input(raw)))


def test_the_durable_backend_s_trace_renders_the_same_way(reference):
    from support.applicants import generate
    for raw in generate(20, seed=31):
        assert_same_text(reference.decide(reference.parse_input(raw), backend="durable"))


@pytest.mark.parametrize("scores", [
    {"credit": 700, "model": "BH-CREDIT", "version": "3.2"},
    {"credit": 901, "model": "BH-CREDIT", "version": "3.2"},
    {"model": "OTHER"},
])
def test_a_policy_with_model_scores_renders_the_same_way(tmp_path_factory, scores):
    policy = make_policy(tmp_path_factory.mktemp("models"),
                         input=dict(INPUT, scores={"credit": "integer", "model": "string",
                                                   "version": "string"}),
                         extra={"models": [{"id": "MD-CREDIT", "score": "scores.credit",
                                            "model": "scores.model", "version": "scores.version",
                                            "expect": {"model": "BH-CREDIT", "version": ["3.2"]},
                                            "range": "[300, 900]"}]})
    assert_same_text(run(policy, scores=scores))


@pytest.mark.parametrize("section, field, value", [
    ("employment", "monthly_income", 1e-05),          # a float: orjson would write 0.00001
    ("bank", "relationship_months", 10 ** 30),        # beyond 64 bits: orjson refuses
    ("applicant", "name", "\ud800"),                  # a lone surrogate: the same
])
def test_values_no_channel_sends_are_still_encoded_as_canonical_json_does(reference, section,
                                                                         field, value):
    """decide() on a typed input that did not come through parse_input: the value goes to the
    general encoder, not through a second set of rules."""
    from support.applicants import generate
    typed = reference.parse_input(generate(1, seed=3)[0])
    typed[section] = dict(typed.get(section) or {}, **{field: value})
    assert_same_text(reference.decide(typed))


@pytest.mark.parametrize("value", [
    "text", "中文\n\"\\\x00\u2028", 0, -7, 10 ** 40, True, False, None, Decimal("1E+3"),
    Decimal("-0.000"), Decimal("NaN"), 1.5e16, (1, Decimal("2.5"), "x"), [], {"b": 1, "a": [None]},
])
def test_one_value_is_encoded_as_canonical_json_encodes_it(value):
    from app.engine.types import to_json
    assert value_json(value) == canonical_json(to_json(value))


@pytest.mark.parametrize("section", [
    {"b": [1, "二", None, True], "a": {"z": "\x7f\u2028\x1f", "y": -3}},
    {"big": 10 ** 20},              # beyond 64 bits: orjson refuses, canonical_json encodes
    {"lone": "\ud800"},             # a lone surrogate: the same
    {"small": 1e-05, "huge": 1e16},  # floats: orjson writes 0.00001 and 1e16; canonical_json does
    {1: "a key that is no text"},
    {"when": [datetime.date(2026, 1, 2), datetime.time(5, 0, 30),
              datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)]},
])
def test_an_input_is_encoded_as_canonical_json_encodes_its_masked_copy(reference, section):
    from support.applicants import generate
    typed = reference.parse_input(generate(1, seed=3)[0])
    typed["extra"] = section
    schema = reference.input_schema
    assert input_json(schema, typed) == canonical_json(schema.mask(typed))


def test_the_hits_level_keeps_only_the_matched_rules(reference):
    from support.applicants import generate
    decision = reference.decide(reference.parse_input(generate(1, seed=5)[0]))
    full, hits = decision.trace.to_dict(FULL), decision.trace.to_dict(HITS)
    for whole, kept in zip(full["stages"], hits["stages"]):
        if whole["kind"] == "ruleset":
            assert kept["rules"] == [rule for rule in whole["rules"] if rule["matched"]]
            assert len(kept["rules"]) < len(whole["rules"])
            kept = dict(kept, rules=whole["rules"])
        assert kept == whole
    assert {k: v for k, v in hits.items() if k != "stages"} == \
        {k: v for k, v in full.items() if k != "stages"}
    with pytest.raises(ValueError):
        decision.trace.to_json(NONE)  # no trace is no text: the caller leaves the trace out


def test_a_stored_full_trace_cut_to_a_level_is_the_trace_rendered_at_that_level(reference):
    """The service stores only the full trace and answers `?trace=hits` by cutting it
    (render.at_level): what it cuts must be exactly what the engine renders at that level."""
    import json

    from app.engine.render import at_level
    from support.applicants import generate, generate_shared
    for raw, shared in zip(generate(120, seed=41), generate_shared(120, seed=41)):
        trace = reference.decide(reference.parse_input(raw), shared=shared).trace
        stored = json.loads(trace.to_json(FULL))
        assert at_level(stored, HITS) == json.loads(trace.to_json(HITS))
        assert at_level(stored, FULL) == stored
        assert at_level(stored, NONE) is None
    with pytest.raises(ValueError, match="trace level"):
        at_level(stored, "everything")


# What the trace's parts encoded whole (shared values, probes' positions, the limit) may hold, and
# more: every text (control characters, U+2028, astral planes, lone surrogates), integers beyond
# 64 bits, decimals as the engine writes them, dates and times, floats, non-text keys.
_SCALARS = (st.text() | st.integers() | st.integers(min_value=2 ** 63 - 2, max_value=2 ** 64 + 2)
            | st.decimals(allow_nan=False, allow_infinity=False) | st.booleans() | st.none()
            | st.dates() | st.datetimes(timezones=st.just(datetime.timezone.utc))
            | st.floats(allow_nan=False, allow_infinity=False))
_DOCUMENTS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text() | st.integers(), inner, max_size=4), max_leaves=20)


@given(document=st.dictionaries(st.text(), _DOCUMENTS, max_size=5) | st.lists(_DOCUMENTS, max_size=5))
@PROPERTY_SETTINGS
def test_a_part_encoded_whole_is_canonical_json_byte_for_byte(document):
    try:
        expected = canonical_json(document)
    except (TypeError, ValueError):  # a key canonical_json cannot sort (text beside an integer)
        return
    assert typed_json(document) == expected
