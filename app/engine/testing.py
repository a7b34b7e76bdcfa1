"""Rule tests: YAML cases beside the policies (policies/<product>/tests/*.yaml), run on any backend.

A case names a profile (a full applicant from tests/profiles.yaml), overrides some input fields,
and states what the decision must be. `run_policy_tests` returns one CaseResult per case and
backend with every difference spelled out, so a failing case reads like a diff.
`backend_disagreements` compares the two backends on one input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .decision import HEADLINE, Decision, canonical_json
from .errors import Diagnostic, InputError, Location, did_you_mean
from .loading import read_rule_file
from .policy import Policy
from .source import Node, parse_yaml

EXPECT_KEYS = HEADLINE + ("hits", "not_hits", "outputs")
CASE_KEYS = ("id", "name", "profile", "input", "shared", "expect", "description")


@dataclass
class TestCase:
    id: str
    name: str
    policy: str
    input: dict
    expect: dict
    location: Location
    # the shared-state values the service would hand in (`shared:` of the profile and the case):
    # counts by their name in the policy's `shared:`, list matches as in_list.<list>.<field>
    shared: dict = field(default_factory=dict)


@dataclass
class CaseResult:
    case: TestCase
    backend: str
    differences: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences


def deep_merge(base: dict, override: dict) -> dict:
    """`override` laid over `base`; nested mappings merge, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_test_files(root: str | Path) -> dict[str, str]:
    """{relative path: text} of every rule-test file under root/policies/**/tests/."""
    base = Path(root)
    return {path.relative_to(base).as_posix(): read_rule_file(path, path.relative_to(base).as_posix())
            for path in sorted((base / "policies").rglob("tests/*.y*ml"))}


def load_cases(files: dict[str, str]) -> tuple[list[TestCase], list[Diagnostic]]:
    """Every case of every test file, with profiles resolved; problems as diagnostics."""
    diagnostics: list[Diagnostic] = []
    parsed: dict[str, Node] = {}
    for path, text in sorted(files.items()):
        node, problems = parse_yaml(text, path)
        diagnostics.extend(problems)
        if node is not None:
            parsed[path] = node
    cases: list[TestCase] = []
    seen: dict[str, Location] = {}
    for path, node in parsed.items():
        if not node.is_map:
            diagnostics.append(Diagnostic("TEST_SHAPE", "a test file is a mapping with policy and "
                                          "cases", node.location))
            continue
        if node.get("cases") is None:
            continue  # profiles.yaml and other shared files
        profiles = _profiles(parsed, path)
        policy_node = node.get("policy")
        if policy_node is None:
            diagnostics.append(Diagnostic("TEST_POLICY", "a test file needs 'policy: "
                                          "<product>.<flow>'", node.location))
            continue
        for case_node in node.get("cases").value if node.get("cases").is_list else []:
            case = _case(case_node, str(policy_node.value), profiles, diagnostics)
            if case is None:
                continue
            if case.id in seen:
                diagnostics.append(Diagnostic("TEST_DUPLICATE", f"case id '{case.id}' is also used "
                                              f"at {seen[case.id]}", case.location))
                continue
            seen[case.id] = case.location
            cases.append(case)
    return cases, diagnostics


def _profiles(parsed: dict[str, Node], path: str) -> dict[str, Node]:
    """Profiles visible from a test file: its folder's profiles.yaml, then its own."""
    folder = path.rsplit("/", 1)[0]
    profiles: dict[str, Node] = {}
    for candidate in (f"{folder}/profiles.yaml", f"{folder}/profiles.yml", path):
        node = parsed.get(candidate)
        if node is not None and node.get("profiles") is not None:
            profiles.update(dict(node.get("profiles").items()))
    return profiles


def _case(node: Node, policy: str, profiles: dict[str, Node],
          diagnostics: list[Diagnostic]) -> TestCase | None:
    if not node.is_map or node.get("id") is None or node.get("expect") is None:
        diagnostics.append(Diagnostic("TEST_CASE", "a case needs an id and expect",
                                      node.location))
        return None
    for key, child in node.items():
        if key not in CASE_KEYS:
            diagnostics.append(Diagnostic("TEST_KEY", f"unknown key '{key}' in a case"
                                          f"{did_you_mean(key, CASE_KEYS)}", child.location))
    expect = node.get("expect")
    for key, child in expect.items():
        if key not in EXPECT_KEYS:
            diagnostics.append(Diagnostic("TEST_EXPECT", f"unknown expectation '{key}'"
                                          f"{did_you_mean(key, EXPECT_KEYS)}", child.location))
    data: dict = {}
    profile = node.get("profile")
    if profile is not None:
        if profile.value not in profiles:
            diagnostics.append(Diagnostic("TEST_PROFILE", f"unknown profile '{profile.value}'"
                                          f"{did_you_mean(str(profile.value), profiles)}",
                                          profile.location))
            return None
        data = profiles[profile.value].plain()
    if node.get("input") is not None:
        data = deep_merge(data, node.get("input").plain())
    shared = data.pop("shared", None) or {}
    if node.get("shared") is not None:
        shared = {**shared, **(node.get("shared").plain() or {})}
    name = node.get("name")
    return TestCase(str(node.get("id").value), str(name.value) if name else "", policy, data,
                    expect.plain(), node.location, shared)


def shared_values(policy: Policy, given: dict) -> tuple[dict, list[str]]:
    """A case's shared values by the names the engine reads (`device_applications_24h` is
    `shared.device_applications_24h`), and the names the policy does not declare."""
    declared = {d.name for d in policy.parts.shared}
    values, unknown = {}, []
    for name, value in given.items():
        full = f"shared.{name}" if f"shared.{name}" in declared else name
        if full in declared:
            values[full] = value
        else:
            unknown.append(name)
    return values, unknown


def run_case(policy: Policy, case: TestCase, backend: str | None = None) -> CaseResult:
    """Decide the case's input and compare with what it expects."""
    result = CaseResult(case, backend or policy.engine)
    try:
        typed = policy.parse_input(case.input)
    except InputError as exc:
        result.differences = [f"input rejected: {path}: {'; '.join(messages)}"
                              for path, messages in sorted(exc.errors.items())]
        return result
    shared, unknown = shared_values(policy, case.shared)
    if unknown:
        result.differences = [f"shared: the policy declares no shared value '{name}'"
                              for name in unknown]
        return result
    try:
        decision = policy.decide(typed, backend=backend, shared=shared,
                                 sources={name: "rule test" for name in shared})
    except ValueError as exc:
        result.differences = [f"shared: {exc}"]
        return result
    expect = case.expect
    actual = decision.headline()
    for key in HEADLINE:
        if key in expect and _normal(expect[key]) != _normal(actual[key]):
            result.differences.append(f"{key}: expected {_show(expect[key])}, got "
                                      f"{_show(actual[key])}")
    matched = decision.trace.matched()
    for rule_id in expect.get("hits") or []:
        if rule_id not in matched:
            result.differences.append(f"hits: there is no rule {rule_id}"
                                      f"{did_you_mean(rule_id, matched)}")
        elif not matched[rule_id]:
            result.differences.append(f"hits: expected {rule_id} to match, it did not")
    for rule_id in expect.get("not_hits") or []:
        if matched.get(rule_id):
            result.differences.append(f"not_hits: expected {rule_id} not to match, it did")
    for name, value in (expect.get("outputs") or {}).items():
        got = decision.outputs.get(name)
        if _normal(value) != _normal(got):
            result.differences.append(f"outputs.{name}: expected {_show(value)}, got {_show(got)}")
    return result


def _normal(value: Any) -> Any:
    """Compare numbers by value (YAML 120000 == Decimal('120000'))."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "null" if value is None else str(value)


def run_policy_tests(policies: dict[str, Policy], cases: list[TestCase],
                     backends: tuple[str | None, ...] = (None,)) -> list[CaseResult]:
    """Run every case on every backend (None: the policy's own). A case for a policy that is
    not loaded fails with that message."""
    results = []
    for case in cases:
        policy = policies.get(case.policy)
        for backend in backends:
            if policy is None:
                missing = CaseResult(case, backend or "-")
                missing.differences = [f"policy '{case.policy}' is not loaded"
                                       f"{did_you_mean(case.policy, policies)}"]
                results.append(missing)
                continue
            results.append(run_case(policy, case, backend))
    return results


# The decision fields the backends must agree on, beside every rule's matched flag.
COMPARED_FIELDS = ("outcome", "limit", "customer_group", "score", "score_band", "reason_codes")


def backend_disagreements(policy: Policy, typed: dict) -> list[str]:
    """Every difference between the compiled and the durable backend on one typed input: each rule
    whose matched flag differs, with the values it read (as the trace shows them), then each
    decision field that differs. [] when they agree."""
    compiled = policy.decide(typed, backend="compiled")
    durable = policy.decide(typed, backend="durable")
    reads = {rule.id: rule.reads for stage in policy.parts.stages if stage.kind == "ruleset"
             for rule in stage.target.rules}
    return disagreements(compiled, durable, reads)


def disagreements(compiled: Decision, durable: Decision,
                  reads: dict[str, tuple[str, ...]]) -> list[str]:
    """The lines of `backend_disagreements` for two decisions on the same input; `reads` gives
    the paths each rule reads."""
    found = []
    left, right = compiled.trace.matched(), durable.trace.matched()
    for rule_id in left:
        if left[rule_id] != right.get(rule_id):
            shown = {path: compiled.trace.shown(path) for path in reads.get(rule_id, ())}
            found.append(f"rule {rule_id}: compiled matched={left[rule_id]}, durable "
                         f"matched={right.get(rule_id)}; values read {canonical_json(shown)}")
    for name in COMPARED_FIELDS:
        if getattr(compiled, name) != getattr(durable, name):
            found.append(f"{name}: compiled {getattr(compiled, name)!r}, durable "
                         f"{getattr(durable, name)!r}")
    return found
