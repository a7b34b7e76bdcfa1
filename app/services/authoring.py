"""Authoring: what credit policy staff run on a policy folder before it is served — check it,
run its rule tests, verify that both engine backends agree, try one application."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from app.engine import Diagnostic, InputError, LoadResult, PolicyError, canonical_json
from app.engine.testing import (
    CaseResult,
    TestCase,
    backend_disagreements,
    load_cases,
    read_test_files,
    run_policy_tests,
)
from app.services import compiling
from app.services.errors import InvalidInput, NotFound


def check(root: Path) -> LoadResult:
    """Every policy under root, validated; every problem as a diagnostic."""
    return compiling.load_root(root)


def _cases_under(root: Path, target: Path) -> tuple[list[TestCase], list[Diagnostic]]:
    """The rule-test cases in files at or below `target`, and the problems of the test files."""
    try:
        files = read_test_files(root)
    except PolicyError as error:  # a test file that is not UTF-8
        return [], error.diagnostics
    cases, problems = load_cases(files)
    inside = [c for c in cases if target == root or (root / c.location.file).resolve().is_relative_to(target)]
    return inside, problems


@dataclass(frozen=True)
class RuleTestRun:
    loaded: LoadResult
    problems: list[Diagnostic] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


def run_rule_tests(root: Path, target: Path, backends: Sequence[str | None] = (None,)) -> RuleTestRun:
    """The rule tests at or below target, on each backend (None: each policy's own)."""
    loaded = compiling.load_root(root)
    if not loaded.ok:
        return RuleTestRun(loaded)
    cases, problems = _cases_under(root, target)
    if any(p.severity == "error" for p in problems):
        return RuleTestRun(loaded, problems)
    return RuleTestRun(loaded, problems, run_policy_tests(loaded.policies, cases, tuple(backends)))


@dataclass(frozen=True)
class Disagreement:
    """One difference between the backends, on a rule-test case or on the n-th application."""

    detail: str
    case: TestCase | None = None
    application: int | None = None


@dataclass
class Verification:
    loaded: LoadResult
    cases: int = 0
    applications: int = 0
    checked: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    rejected: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def verify(root: Path, target: Path, applications: Sequence[dict[str, Any]] = (),
           policy_name: str | None = None) -> Verification:
    """Both backends on every rule-test case at or below target and on every application given."""
    loaded = compiling.load_root(root)
    found = Verification(loaded)
    if not loaded.ok:
        return found
    cases, _ = _cases_under(root, target)
    found.cases, found.applications = len(cases), len(applications)
    for case in cases:
        policy = loaded.policies.get(case.policy)
        if policy is None:
            continue
        try:
            typed = policy.parse_input(case.input)
        except InputError:
            continue  # an invalid case input is the rule tests' to report
        found.checked += 1
        found.disagreements += [Disagreement(line, case=case)
                                for line in backend_disagreements(policy, typed)]
    if applications:
        if policy_name is None and len(loaded.policies) == 1:
            policy_name = next(iter(loaded.policies))
        if policy_name not in loaded.policies:
            raise InvalidInput("name the policy of the applications", code="policy_needed")
        policy = loaded.policies[policy_name]
        for index, raw in enumerate(applications):
            try:
                typed = policy.parse_input(raw)
            except InputError as error:
                found.rejected.append((index, error.errors))
                continue
            found.checked += 1
            found.disagreements += [Disagreement(line, application=index)
                                    for line in backend_disagreements(policy, typed)]
    return found


def try_decision(root: Path, policy_name: str, raw: Any, backend: str | None = None,
                 trace: bool = False) -> dict[str, Any]:
    """Decide one application with a policy of the folder, nothing stored: the decision as JSON."""
    loaded = compiling.load_root(root)
    if policy_name not in loaded.policies:
        raise NotFound(f"no loaded policy {policy_name!r}; loaded: {', '.join(loaded.policies) or 'none'}",
                       code="unknown_policy")
    policy = loaded.policies[policy_name]
    try:
        typed = policy.parse_input(raw)
    except InputError as error:
        raise InvalidInput("the application does not match the policy's input schema",
                           details=error.errors) from None
    decision = policy.decide(typed, backend=backend)
    body = decision.to_dict()
    if trace:
        body["trace"] = decision.trace.to_dict()
    return json.loads(canonical_json(body))  # decimals as exact strings, dates as ISO
