"""Support for the engine tests: small policies written as real files in a temporary policy root,
and the tables, scorecard and limit several test modules share.

Most tests need "a minimal valid policy around this rule set": `make_policy` writes
policies/p/x.yaml (an input schema with one field of every type, optional features, stages,
parameters and limit), the rule files given, and a reason-code catalogue holding every code the
tests use, then loads the root with the public API.
"""
from __future__ import annotations

import datetime
import functools
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from app.engine import LoadResult, load_policy_root

D = Decimal
REPO = Path(__file__).resolve().parents[2]
REFERENCE = "zhishandai.application"  # the reference policy of the repository's own root
POLICY_NAME = "p.x"
POLICY_FILE = "policies/p/x.yaml"
DECISION_DATE = "2026-11-28"

REASON_CODES = ["R1", "R2", "R3", "R4", "R5", "HIT", "NONE", "BELOW_MIN", "NO_LIMIT",
                "SCORE_LOW", "SCORE_MID", "SC_A", "SC_A_MISSING", "SC_B", "SC_C", "SC_D"]

# One field of every type; every field optional except decision_date.
INPUT = {
    "decision_date": {"type": "date", "required": True},
    "a": "integer",
    "b": "integer",
    "c": "integer",
    "d": "decimal",
    "d2": "decimal",
    "s": "string",
    "e": {"type": "enum", "values": ["RED", "GREEN", "BLUE"]},
    "flag": "boolean",
    "flag2": "boolean",
    "day": "date",
    "day2": "date",
    "tags": {"type": "list", "items": "string"},
    "nums": {"type": "list", "items": "integer"},
    "colours": {"type": "list", "items": {"type": "enum", "values": ["RED", "GREEN", "BLUE"]}},
    "person": {
        "id_number": {"type": "string", "pii": "resident_id"},
        "name": {"type": "string", "pii": "name"},
        "mobile": {"type": "string", "pii": "phone"},
    },
}

NOOP_RULESET = """\
ruleset: noop
hit_policy: collect
rules:
  - {id: NOOP-1, when: false, then: {action: REFER, reason: R5}}
"""


def dump(data: Any) -> str:
    """YAML text of plain data (one line per scalar, no wrapping)."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6)


def reasons_text(codes=REASON_CODES) -> str:
    return "reason_codes:\n" + "".join(
        f"  {c}: {{zh: 原因{c}, en: Reason {c}, customer: {{zh: 客户原因{c}, en: Customer reason {c}}}}}\n"
        for c in codes)


def policy_text(*, stages=None, features=None, parameters=None, limit=None, outputs=None,
                input=None, version="1", extra=None) -> str:
    doc: dict[str, Any] = {"policy": POLICY_NAME, "version": version,
                           "name": {"zh": "测试", "en": "Test"}, "reasons": "reason_codes",
                           "input": input if input is not None else INPUT}
    if parameters:
        doc["parameters"] = parameters
    if features:
        doc["features"] = features
    doc["stages"] = stages if stages is not None else [{"id": "noop", "ruleset": "noop"}]
    if limit:
        doc["limit"] = limit
    if outputs:
        doc["outputs"] = outputs
    if extra:
        doc.update(extra)
    return dump(doc)


def write_root(root: Path, policy: str, rules: dict[str, str] | None = None,
               reasons: str | None = None) -> Path:
    """Write a policy root: policies/p/x.yaml, rules/<name>.yaml, rules/reason_codes.yaml."""
    (root / "policies" / "p").mkdir(parents=True, exist_ok=True)
    (root / "rules").mkdir(parents=True, exist_ok=True)
    (root / POLICY_FILE).write_text(policy, encoding="utf-8")
    files = {"reason_codes": reasons if reasons is not None else reasons_text()}
    files.update(rules or {})
    for name, text in files.items():
        (root / "rules" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def load(root: Path, rules: dict[str, str] | None = None, **policy):
    """Write a policy root and load it; returns the LoadResult (which may carry errors)."""
    rules = dict(rules or {})
    if "stages" not in policy:
        rules.setdefault("noop", NOOP_RULESET)
    write_root(root, policy_text(**policy), rules)
    return load_policy_root(root)


def make_policy(root: Path, rules: dict[str, str] | None = None, **policy):
    """Like `load`, but the policy must load cleanly; returns the Policy."""
    result = load(root, rules, **policy)
    assert result.ok, "\n".join(str(d) for d in result.diagnostics)
    return result.policies[POLICY_NAME]


def errors(result) -> list:
    return [d for d in result.diagnostics if d.severity == "error"]


def codes(result) -> list[str]:
    return [d.code for d in errors(result)]


def run(policy, raw: dict | None = None, **fields):
    """Parse and decide; decision_date defaults to DECISION_DATE."""
    data = {"decision_date": DECISION_DATE}
    data.update(raw or {})
    data.update(fields)
    return policy.decide(policy.parse_input(data))


def ruleset(name: str, rules: list[dict], hit_policy: str = "collect", **extra) -> str:
    doc: dict[str, Any] = {"ruleset": name, "hit_policy": hit_policy}
    doc.update(extra)
    doc["rules"] = rules
    return dump(doc)


def rule_policy(root: Path, when: str, *, features=None, parameters=None, lists=None):
    """A policy with one collect rule HIT (DECLINE, reason HIT) whose condition is `when`."""
    rules = {"r": ruleset("r", [{"id": "HIT", "when": when,
                                 "then": {"action": "DECLINE", "reason": "HIT"}}])}
    for name, (kind, values) in (lists or {}).items():
        rules[name] = dump({"list": name, "type": kind, "values": values})
    return make_policy(root, rules, stages=[{"id": "r", "ruleset": "r"}], features=features,
                       parameters=parameters)


def fires(policy, raw: dict | None = None, **fields) -> bool:
    """Whether rule HIT of a `rule_policy` matched (checked against the trace and the outcome)."""
    decision = run(policy, raw, **fields)
    matched = decision.trace.matched()["HIT"]
    assert (decision.outcome == "DECLINE") == matched
    return matched


def feature_policy(root: Path, features: dict[str, str], parameters=None, lists=None):
    rules = {}
    for name, (kind, values) in (lists or {}).items():
        rules[name] = dump({"list": name, "type": kind, "values": values})
    return make_policy(root, rules, features=features, parameters=parameters)


def feature_value(root: Path, expression: str, raw: dict | None = None, parameters=None,
                  lists=None, **fields):
    """The value of one feature `f: expression` for an input (None when missing)."""
    policy = feature_policy(root, {"f": expression}, parameters, lists)
    return run(policy, raw, **fields).trace.values["f"]


def load_condition(tmp_path, when: str, features=None):
    """Load a rule set holding a rule with condition `when` (next to a valid rule)."""
    return load(tmp_path, {"r": ruleset("r", [
        {"id": "BAD", "when": when, "then": {"action": "DECLINE", "reason": "R1"}},
        {"id": "OK", "when": "a > 1", "then": {"action": "DECLINE", "reason": "R2"}},
    ])}, features=features, stages=[{"id": "r", "ruleset": "r"}])

def first_error(result):
    found = errors(result)
    assert found, "expected an error, got none"
    return found[0]


def date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


# --- rule sets, tables, a scorecard and a limit, shared by the reader and stage tests ----------
LEVEL = {"level": {"type": "enum", "values": ["LOW", "MID", "HIGH"]}}


def act(action: str, reason, **outputs) -> dict:
    then: dict = {"action": action, "reason": reason}
    if outputs:
        then["set"] = outputs
    return then


def sets(**outputs) -> dict:
    return {"set": outputs}


TIERS = {"type": "enum", "values": ["T1", "T2", "T3", "T4", "T5", "T6"]}


def table(name: str, inputs: list[str], rows: list[dict], hit_policy: str = "first",
          outputs=None, **extra) -> str:
    doc = {"table": name, "hit_policy": hit_policy, "inputs": inputs,
           "outputs": outputs or {"tier": TIERS}}
    doc.update(extra)
    doc["rows"] = rows
    return dump(doc)


def table_policy(tmp_path, text: str, name: str = "t", outputs=("tier",)):
    return make_policy(tmp_path, {name: text}, stages=[{"id": "tab", "table": name}],
                       outputs=list(outputs))


def table_trace(decision) -> dict:
    return next(s for s in decision.trace.to_dict()["stages"] if s["id"] == "tab")


# --- scorecards ---------------------------------------------------------------------------------
SCORECARD = {
    "scorecard": "card", "name": {"zh": "评分卡", "en": "Card"}, "base_points": 100,
    "max_reasons": 2,
    "characteristics": [
        {"id": "CH-A", "input": "a", "bins": [
            {"id": "A-1", "when": "< 10", "points": 0, "reason": "SC_A"},
            {"id": "A-2", "when": "[10, 20)", "points": 20, "reason": "SC_A"},
            {"id": "A-3", "when": ">= 20", "points": 30},
            {"id": "A-M", "when": "missing", "points": -10, "reason": "SC_A_MISSING"}]},
        {"id": "CH-B", "input": "e", "bins": [
            {"id": "B-1", "when": "RED", "points": 15},
            {"id": "B-2", "when": ["GREEN"], "points": 5, "reason": "SC_B"},
            {"id": "B-E", "when": "else", "points": -5, "reason": "SC_B"}]},
        {"id": "CH-C", "input": "d", "bins": [
            {"id": "C-1", "when": "< 0.5", "points": 10},
            {"id": "C-2", "when": "[0.5, 1)", "points": 5, "reason": "SC_C"},
            {"id": "C-3", "when": ">= 1", "points": 0, "reason": "SC_C"}]},
    ],
    "bands": [
        {"band": "A", "min": 150},
        {"band": "B", "min": 130},
        {"band": "C", "min": 110, "action": "REFER", "reason": "SCORE_MID"},
        {"band": "D", "action": "DECLINE", "reason": "SCORE_LOW"},
    ],
}


# --- the limit ----------------------------------------------------------------------------------
LIMIT = {
    "base": "a",
    "caps": [
        {"id": "CAP-INCOME", "name": {"zh": "收入上限", "en": "Income cap"}, "value": "b * 10"},
        {"id": "CAP-REGION", "name": {"zh": "地区上限", "en": "Region cap"}, "value": "region_cap"},
    ],
    "round_down_to": 1000,
    "minimum": "params.minimum_limit",
    "below_minimum": {"action": "DECLINE", "reason": "BELOW_MIN"},
    "when_missing": {"action": "REFER", "reason": "NO_LIMIT"},
}


# --- the repository's own policies and benchmark helpers -----------------------------------------
@functools.lru_cache(maxsize=None)
def reference_root() -> LoadResult:
    """The repository's policy root, loaded once per test session (policies are immutable)."""
    return load_policy_root(REPO)
