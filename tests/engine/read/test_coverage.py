"""What `policy check` warns about missing data: FAILS_OPEN (a DECLINE rule, a cap or a
conditional requirement switched off by an optional input no requirement lists) and INPUT_UNUSED;
and the reference policy, clean, and a copy with a fail-open rule planted in it."""
from __future__ import annotations

import shutil

import pytest

from app.engine import load_policy_root
from engine.support import LIMIT, REPO, act, load, ruleset

def fails_open(result) -> list[str]:
    assert result.ok, [str(d) for d in result.diagnostics]
    return [d.message for d in result.diagnostics if d.code == "FAILS_OPEN"]


def decline_rule(tmp_path, when: str, requires=None, features=None, **policy):
    rules = {"r": ruleset("r", [{"id": "KO", "when": when, "then": act("DECLINE", "R1")}])}
    extra = {"requires": requires} if requires else None
    return load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}], features=features,
                extra=extra, **policy)


def require(*fields, when=None) -> dict:
    requirement = {"id": f"RQ-{len(fields)}{'-W' if when else ''}", "fields": list(fields),
                   "else": act("REFER", "R2")}
    if when:
        requirement["when"] = when
    return requirement


@pytest.mark.parametrize("when, requires, features, gaps", [
    ("a > 5", None, None, ["a"]),
    ("a > 5", [require("a")], None, []),                         # listed
    ("decision_date > day", None, None, ["day"]),                  # required fields never miss
    ("a > 5 and b > 5", None, None, ["a", "b"]),
    ("a > 5 or b > 5", None, None, ["a", "b"]),                    # each branch is a check
    ("missing(a) or a > 5", None, None, []),                       # handles its own gap
    ("exists(a) and a > 5", None, None, ["a"]),
    ("total > 5", None, {"total": "a + b"}, ["a", "b"]),           # traced through a feature
    ("total > 5", [require("total")], {"total": "a + b"}, []),     # or the feature is listed
    ("total > 5", [require("a", "b")], {"total": "a + b"}, []),
    ("total > 5", None, {"total": "coalesce(a, 0) + 1"}, []),      # a default closes the gap
    ("m > 5", None, {"m": "max(a, b)"}, ["a and b"]),              # missing only if both are
    ("m > 5", [require("a", when="flag == true")], {"m": "max(a, b)"}, []),
])
def test_fails_open_names_the_uncovered_inputs(tmp_path, when, requires, features, gaps):
    result = decline_rule(tmp_path, when, requires, features)
    found = [m for m in fails_open(result) if m.startswith("rule KO")]
    assert [m.split(" fails open when ")[1].split(" is missing")[0].split(" are missing")[0]
            for m in found] == gaps, found
    for message in found:
        assert message.startswith("rule KO (DECLINE) fails open when ")


def test_a_conditional_requirement_is_checked_itself(tmp_path):
    result = decline_rule(tmp_path, "a > 5", [require("a", when="flag == true")])
    [message] = fails_open(result)
    assert message.startswith("requirement RQ-1-W (it does not apply) fails open when flag is "
                              "missing")


def test_a_refer_rule_is_not_checked(tmp_path):
    rules = {"r": ruleset("r", [{"id": "SOFT", "when": "a > 5", "then": act("REFER", "R1")}])}
    assert fails_open(load(tmp_path, rules, stages=[{"id": "r", "ruleset": "r"}])) == []


def test_a_stage_output_that_fails_closed_is_covered(tmp_path):
    """An output every rule sets, of a rule set whose when_none has an action, is never missing
    without a REFER; without when_none it may be missing."""
    group = {"type": "enum", "values": ["G1", "G2"]}
    rules = {"g": ruleset("g", [{"id": "G-1", "when": "b > 1", "then": {"set": {"group": "G1"}}}],
                          hit_policy="first", outputs={"group": group},
                          when_none=act("REFER", "R3")),
             "r": ruleset("r", [{"id": "KO", "when": 'group == "G1"',
                                 "then": act("DECLINE", "R1")}])}
    stages = [{"id": "g", "ruleset": "g"}, {"id": "r", "ruleset": "r"}]
    assert fails_open(load(tmp_path / "closed", rules, stages=stages)) == []
    rules["g"] = ruleset("g", [{"id": "G-1", "when": "b > 1", "then": {"set": {"group": "G1"}}}],
                         hit_policy="first", outputs={"group": group})
    [message] = fails_open(load(tmp_path / "open", rules, stages=stages))
    assert "when group is missing" in message


def test_caps_and_conditional_requirements_are_checked(tmp_path):
    limit = dict(LIMIT, caps=[
        {"id": "CAP-B", "name": {"en": "b"}, "value": "b * 10"},
        {"id": "CAP-E", "name": {"en": "e"}, "when": 'e == "RED"', "value": "500"},
        {"id": "CAP-OK", "name": {"en": "ok"}, "when": "missing(flag)", "value": "700"},
    ])
    result = load(tmp_path, limit=limit, parameters={"minimum_limit": 1000},
                  extra={"requires": [require("d", when="flag2 == true")]})
    found = fails_open(result)
    assert any(m.startswith("limit cap CAP-B (it does not apply) fails open when b is missing")
               for m in found)
    assert any(m.startswith("limit cap CAP-E (it does not apply) fails open when e is missing")
               for m in found)
    assert not any("CAP-OK" in m for m in found)
    assert any(m.startswith("requirement RQ-1-W (it does not apply) fails open when flag2")
               for m in found)


def test_an_input_nothing_reads_is_a_warning(tmp_path):
    result = decline_rule(tmp_path, "a > 5", [require("a")])
    unused = {d.message.split("'")[1] for d in result.diagnostics if d.code == "INPUT_UNUSED"}
    assert "a" not in unused and "decision_date" in unused and "person.mobile" in unused
    # read by a feature, a requirement or an output counts
    result = decline_rule(tmp_path / "more", "a > 5", [require("a", "s")], {"x": "b + 1"},
                          outputs=["x"])
    unused = {d.message.split("'")[1] for d in result.diagnostics if d.code == "INPUT_UNUSED"}
    assert not unused & {"a", "b", "s"}
    warning = next(d for d in result.diagnostics if d.code == "INPUT_UNUSED")
    assert warning.severity == "warning" and warning.location.file == "policies/p/x.yaml"


# --- the reference policy --------------------------------------------------------------------------
def test_the_reference_policy_checks_without_a_warning(reference):
    loaded = load_policy_root(REPO)
    assert loaded.ok and loaded.diagnostics == [], [str(d) for d in loaded.diagnostics]


@pytest.fixture
def reference_copy(tmp_path):
    for folder in ("policies", "rules"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def test_a_fail_open_rule_planted_in_a_copy_is_reported_at_its_place(reference_copy):
    eligibility = reference_copy / "rules" / "eligibility.yaml"
    text = eligibility.read_text(encoding="utf-8")
    planted = ("\n  - id: EL-PLANTED\n    name: {zh: 学历过低, en: Education too low}\n"
               "    when: applicant.education == \"BELOW_HIGH_SCHOOL\"\n"
               "    then: {action: DECLINE, reason: CARD_UTILISATION_HIGH}\n")
    eligibility.write_text(text + planted, encoding="utf-8")
    line = len((text + planted).splitlines()) - 3   # the line of "- id: EL-PLANTED"
    loaded = load_policy_root(reference_copy)
    assert loaded.ok
    [warning] = loaded.diagnostics
    assert (warning.code, warning.severity) == ("FAILS_OPEN", "warning")
    assert (warning.location.file, warning.location.line, warning.location.column) == \
        ("rules/eligibility.yaml", line, 9)
    assert str(warning).startswith(
        f"rules/eligibility.yaml:{line}:9: warning FAILS_OPEN rule EL-PLANTED (DECLINE) fails "
        "open when applicant.education is missing")


def test_removing_a_requirement_from_a_copy_exposes_every_rule_it_covered(reference_copy):
    policy = reference_copy / "policies" / "zhishandai" / "application.yaml"
    text = policy.read_text(encoding="utf-8")
    text = text.replace("fields: [checks.court_dishonest, checks.court_enforcement_open]",
                        "fields: [checks.court_enforcement_open]")
    policy.write_text(text, encoding="utf-8")
    loaded = load_policy_root(reference_copy)
    assert [(d.code, d.message.split(" fails open")[0]) for d in loaded.diagnostics] == \
        [("FAILS_OPEN", "rule AF-06 (DECLINE)")]
    assert "checks.court_dishonest" in loaded.diagnostics[0].message


def test_a_declared_input_nothing_reads_is_reported(reference_copy):
    policy = reference_copy / "policies" / "zhishandai" / "application.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("    pension_paid_here: boolean",
                                   "    pension_paid_here: boolean\n    vip: boolean"), "utf-8")
    [warning] = load_policy_root(reference_copy).diagnostics
    assert warning.code == "INPUT_UNUSED" and "'bank.vip'" in warning.message
