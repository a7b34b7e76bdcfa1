"""Shared-state values in a policy (`shared:`) and database lists (`in_list`): read and checked at
load time with located errors, handed in by the caller at decision time, shown in the trace."""
import pytest

from engine.support import DECISION_DATE, codes, load, make_policy, ruleset

SHARED = {"device_24h": {"count": "applications", "per": "s", "window": "24h"},
          "ids_7d": {"distinct": "person.id_number", "per": "s", "window": "7d"},
          "since_decline": {"days_since": "DECLINE", "per": "person.id_number"},
          "links": {"linked": "count", "through": ["s", "person.mobile"], "window": "30d",
                    "reasons": ["R1"]}}
RULES = {"checks": ruleset("checks", [
    {"id": "V-1", "when": "shared.device_24h >= 3", "then": {"action": "DECLINE", "reason": "R1"}},
    {"id": "V-2", "when": 'in_list("blacklist", person.id_number)', "then": {"action": "DECLINE", "reason": "R2"}},
    {"id": "V-3", "when": 'not in_list("whitelist", s) and shared.ids_7d >= 2',
     "then": {"action": "REFER", "reason": "R3"}}])}
STAGES = [{"id": "checks", "ruleset": "checks"}]
ID = "11010519491231002X"


@pytest.fixture
def policy(tmp_path):
    return make_policy(tmp_path, RULES, stages=STAGES, extra={"shared": SHARED})


def decide(policy, shared=None, **fields):
    data = {"decision_date": DECISION_DATE, "s": "DEV-1", "person": {"id_number": ID}, **fields}
    return policy.decide(policy.parse_input(data), shared=shared, sources={"shared.device_24h": "redis"})


def test_declared_values_and_list_lookups_are_read(policy):
    kinds = {d.name: (d.kind, d.keys, d.window, d.window_seconds) for d in policy.parts.shared}
    assert kinds["shared.device_24h"] == ("count", ("s",), "24h", 86400)
    assert kinds["shared.since_decline"][0] == "days_since" and kinds["shared.since_decline"][2] == "366d"
    assert kinds["shared.links"][:2] == ("linked_count", ("s", "person.mobile"))
    assert kinds["in_list.blacklist.person.id_number"] == ("list", ("person.id_number",), None, None)
    assert kinds["in_list.whitelist.s"][0] == "list"
    assert {d.name: d.entry_kind for d in policy.parts.shared if d.kind == "list"} == {
        "in_list.blacklist.person.id_number": None, "in_list.whitelist.s": None}


def test_in_list_names_the_kind_of_entries_a_field_is_matched_against(tmp_path):
    rules = {"checks": ruleset("checks", [
        {"id": "V-1", "when": 'not in_list("whitelist", s, "device")', "then": {"action": "REFER", "reason": "R1"}},
        {"id": "V-2", "when": 'in_list("whitelist", s, "device") and shared.device_24h >= 1',
         "then": {"action": "REFER", "reason": "R1"}}])}
    loaded = make_policy(tmp_path, rules, stages=STAGES, extra={"shared": SHARED})
    [lookup] = [d for d in loaded.parts.shared if d.kind == "list"]
    assert (lookup.name, lookup.subject, lookup.entry_kind) == ("in_list.whitelist.s", "whitelist", "device")


def test_the_values_handed_in_decide_and_the_trace_shows_them(policy):
    decision = decide(policy, {"shared.device_24h": 3, "shared.ids_7d": 1})
    assert decision.outcome == "DECLINE" and decision.hits == ["V-1"]
    shown = {e["name"]: e for e in decision.trace.to_dict()["shared"]}
    assert shown["shared.device_24h"] == {"name": "shared.device_24h", "kind": "count", "value": 3,
                                          "key": {"s": "DEV-1"}, "window": "24h", "source": "redis",
                                          "events": "applications"}
    # a personal data key is masked as everywhere in the trace
    assert shown["shared.since_decline"]["key"] == {"person.id_number": "11**************2X"}
    assert shown["shared.since_decline"]["value"] is None  # not handed in: missing


def test_a_list_match_is_read_and_a_missing_one_is_on_no_list(policy):
    assert decide(policy, {"in_list.blacklist.person.id_number": True}).hits == ["V-2"]
    # the whitelist value missing is false: `not in_list(...)` holds
    assert decide(policy, {"shared.ids_7d": 2}).hits == ["V-3"]
    assert decide(policy, {"shared.ids_7d": 2, "in_list.whitelist.s": True}).hits == []


def test_ill_typed_values_are_refused(policy):
    with pytest.raises(ValueError, match="shared.device_24h must be a whole number"):
        decide(policy, {"shared.device_24h": True})
    with pytest.raises(ValueError, match="true or false"):
        decide(policy, {"in_list.blacklist.person.id_number": 1})


@pytest.mark.parametrize("shared, code", [
    ({"x": {"count": "applications", "per": "s"}}, "SHARED_WINDOW"),
    ({"x": {"count": "applications", "per": "s", "window": "45d"}}, "SHARED_WINDOW"),
    ({"x": {"count": "applications", "per": "a", "window": "1h"}}, "SHARED_KEY"),
    ({"x": {"count": "applications", "per": "nope", "window": "1h"}}, "SHARED_KEY"),
    ({"x": {"count": "Applications!", "per": "s", "window": "1h"}}, "SHARED_STREAM"),
    ({"x": {"count": "a", "distinct": "s", "per": "s", "window": "1h"}}, "SHARED_KIND"),
    ({"x": {"days_since": "MAYBE", "per": "s"}}, "SHARED_OUTCOME"),
    ({"x": {"linked": "count", "through": ["s"], "window": "1d"}}, "SHARED_REASONS"),
    ({"X": {"count": "a", "per": "s", "window": "1h"}}, "SHARED_NAME"),
])
def test_a_bad_declaration_is_a_located_error(tmp_path, shared, code):
    result = load(tmp_path, extra={"shared": shared})
    assert code in codes(result)
    found = [d for d in result.diagnostics if d.code == code][0]
    assert found.location.file == "policies/p/x.yaml" and found.location.line > 1


@pytest.mark.parametrize("condition, message", [
    ('in_list("greylist", s)', "one of blacklist, watchlist, whitelist"),
    ("in_list(blacklist, s)", "the list's name in quotes"),
    ('in_list("blacklist", a)', "an input field holding text"),
    ('in_list("blacklist")', "takes two arguments"),
    ('in_list("blacklist", s, "gadget")', "one of resident_id, phone, device, employer, card"),
    ('in_list("blacklist", s, device)', "the kind of the list's entries"),
    ('in_list("blacklist", s, "device", "x")', "or three with the entries' kind"),
    ('in_list("blacklist", s, "device") or in_list("blacklist", s, "employer")', "one kind of entries"),
    ('in_list("blacklist", s) or in_list("blacklist", s, "device")', "written elsewhere with no kind"),
])
def test_in_list_misused_is_a_located_error(tmp_path, condition, message):
    rules = {"checks": ruleset("checks", [{"id": "V-1", "when": condition,
                                           "then": {"action": "DECLINE", "reason": "R1"}}])}
    result = load(tmp_path, rules, stages=STAGES)
    problems = [d for d in result.diagnostics if d.severity == "error"]
    assert problems and message in problems[0].message and problems[0].location.file == "rules/checks.yaml"


def test_in_list_on_a_field_without_a_kind_of_personal_data_warns_until_it_names_the_kind(tmp_path):
    """A device id or an employer's name says nothing of which entries it means: without the kind,
    device and employer entries both match it (an employer on the whitelist would whitelist a
    device id typed as its name). A located warning says so; a field holding an ID number, phone
    or card needs no kind."""
    result = load(tmp_path, RULES, stages=STAGES, extra={"shared": SHARED})
    warned = [d for d in result.diagnostics if d.code == "LIST_KIND"]
    assert [d.severity for d in warned] == ["warning"] and result.ok
    [warning] = warned
    assert 'in_list("whitelist", s)' in warning.message and '"device"' in warning.message
    assert warning.location.file == "rules/checks.yaml" and warning.location.line > 1
    named = {"checks": ruleset("checks", [
        {"id": "V-1", "when": 'in_list("blacklist", person.id_number) or in_list("whitelist", s, "device")',
         "then": {"action": "DECLINE", "reason": "R1"}}])}
    again = load(tmp_path / "named", named, stages=STAGES)
    assert not [d for d in again.diagnostics if d.code == "LIST_KIND"]
