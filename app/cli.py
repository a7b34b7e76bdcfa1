"""`flask policy ...`: check, test and verify policy folders from the command line."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.engine import InputError, canonical_json, load_policy_root
from app.engine.testing import load_cases, read_test_files, run_policy_tests

policy_cli = click.Group("policy", help="Check, test and verify rule files.")


def _resolve(path: str | None) -> tuple[Path, Path]:
    """(policy root, the path asked about). The root is the nearest folder at or above PATH that
    holds a policies/ folder; without PATH, the configured policy root."""
    if path is None:
        root = Path(current_app.config.get("FIREFLY_POLICY_ROOT") or os.getcwd())
        return root, root
    target = Path(path).resolve()
    if not target.exists():
        raise click.BadParameter(f"{path} does not exist", param_hint="PATH")
    for candidate in [target, *target.parents]:
        if (candidate / "policies").is_dir():
            return candidate, target
    raise click.BadParameter(f"no policies/ folder at or above {path}", param_hint="PATH")


def _shown(root: Path, relative: str | None) -> str:
    """A diagnostic's file as a path the user can open from where they are."""
    if relative is None:
        return ""
    return os.path.relpath(root / relative)


def _print_diagnostics(root: Path, diagnostics) -> tuple[int, int]:
    errors = warnings = 0
    for d in diagnostics:
        where = ""
        if d.location is not None:
            where = _shown(root, d.location.file)
            if d.location.line:
                where += f":{d.location.line}:{d.location.column}"
            where += ": "
        click.echo(f"{where}{d.severity} {d.code} {d.message}")
        errors += d.severity == "error"
        warnings += d.severity == "warning"
    return errors, warnings


def _under(root: Path, target: Path, relative_file: str) -> bool:
    return target == root or (root / relative_file).resolve().is_relative_to(target)


@policy_cli.command("check")
@click.argument("path", required=False)
@with_appcontext
def check(path: str | None) -> None:
    """Validate every policy and rule file under PATH and print every problem."""
    root, _ = _resolve(path)
    loaded = load_policy_root(root)
    errors, warnings = _print_diagnostics(root, loaded.diagnostics)
    if errors:
        click.echo(f"{errors} error(s), {warnings} warning(s): the policies under {root} cannot "
                   "be loaded.", err=True)
        sys.exit(1)
    for policy in loaded.policies.values():
        click.echo(f"ok {policy.name} {policy.version} {policy.hash[:12]} "
                   f"({len(policy.files)} files, engine {policy.engine})")
    click.echo(f"{warnings} warning(s).")


@policy_cli.command("test")
@click.argument("path", required=False)
@click.option("--backend", type=click.Choice(["compiled", "durable", "both"]), default=None,
              help="Engine backend to run the cases on (default: each policy's own).")
@with_appcontext
def test(path: str | None, backend: str | None) -> None:
    """Run the rule tests beside the policies under PATH; print each failing case with its diff."""
    root, target = _resolve(path)
    loaded = load_policy_root(root)
    if not loaded.ok:
        _print_diagnostics(root, loaded.errors)
        click.echo("The policies cannot be loaded; fix the errors above first.", err=True)
        sys.exit(1)
    cases, problems = load_cases(read_test_files(root))
    if problems:
        errors, _ = _print_diagnostics(root, problems)
        if errors:
            sys.exit(1)
    cases = [c for c in cases if _under(root, target, c.location.file)]
    backends = {"both": ("compiled", "durable"), None: (None,)}.get(backend, (backend,))
    results = run_policy_tests(loaded.policies, cases, backends)
    failed = [r for r in results if not r.passed]
    for result in failed:
        case = result.case
        click.echo(f"FAIL {_shown(root, case.location.file)}:{case.location.line}:"
                   f"{case.location.column} {case.id} {case.name} [{result.backend}]")
        for difference in result.differences:
            click.echo(f"    {difference}")
    click.echo(f"Rule tests under {target}: {len(results) - len(failed)} of {len(results)} "
               f"case runs passed" + (f", {len(failed)} FAILED." if failed else "."))
    if failed or not results:
        sys.exit(1)


def _read_applications(handle) -> list:
    """A JSON array of inputs, or one JSON input per line."""
    text = handle.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _disagreements(policy, typed) -> list[str]:
    """Every difference between the compiled and the durable backend on one input."""
    compiled = policy.decide(typed, backend="compiled")
    durable = policy.decide(typed, backend="durable")
    found = []
    left, right = compiled.trace.matched(), durable.trace.matched()
    reads = {rule.id: rule.reads for stage in policy.parts.stages if stage.kind == "ruleset"
             for rule in stage.target.rules}
    for rule_id in left:
        if left[rule_id] != right.get(rule_id):
            shown = {path: compiled.trace.shown(path) for path in reads.get(rule_id, ())}
            found.append(f"rule {rule_id}: compiled matched={left[rule_id]}, durable "
                         f"matched={right.get(rule_id)}; values read {canonical_json(shown)}")
    for field in ("outcome", "limit", "customer_group", "score", "score_band", "reason_codes"):
        if getattr(compiled, field) != getattr(durable, field):
            found.append(f"{field}: compiled {getattr(compiled, field)!r}, durable "
                         f"{getattr(durable, field)!r}")
    return found


@policy_cli.command("verify")
@click.argument("path", required=False)
@click.option("--input", "input_file", type=click.File("r", encoding="utf-8"), default=None,
              help="Applications to run too: a JSON array or one JSON object per line.")
@click.option("--policy", "policy_name", default=None,
              help="The policy the --input applications are for (default: the only one loaded).")
@with_appcontext
def verify(path: str | None, input_file, policy_name: str | None) -> None:
    """Run both engine backends over the rule tests (and --input applications) and print every
    disagreement with the rule and the values involved."""
    root, target = _resolve(path)
    loaded = load_policy_root(root)
    if not loaded.ok:
        _print_diagnostics(root, loaded.errors)
        sys.exit(1)
    cases, _ = load_cases(read_test_files(root))
    cases = [c for c in cases if _under(root, target, c.location.file)]
    checked = disagreeing = 0
    for case in cases:
        policy = loaded.policies.get(case.policy)
        if policy is None:
            continue
        try:
            typed = policy.parse_input(case.input)
        except InputError:
            continue  # an invalid case input is `policy test`'s to report
        checked += 1
        for line in _disagreements(policy, typed):
            disagreeing += 1
            click.echo(f"{case.id} ({_shown(root, case.location.file)}:{case.location.line}): "
                       f"{line}")
    applications = _read_applications(input_file) if input_file else []
    if applications:
        if policy_name is None and len(loaded.policies) == 1:
            policy_name = next(iter(loaded.policies))
        if policy_name not in loaded.policies:
            raise click.BadParameter("name the policy of the --input applications with --policy")
        policy = loaded.policies[policy_name]
        for index, raw in enumerate(applications):
            try:
                typed = policy.parse_input(raw)
            except InputError as exc:
                click.echo(f"application {index}: rejected input {exc.errors}")
                continue
            checked += 1
            for line in _disagreements(policy, typed):
                disagreeing += 1
                click.echo(f"application {index}: {line}")
    click.echo(f"Verified {checked} inputs ({len(cases)} rule-test cases, {len(applications)} "
               f"applications) on the compiled and durable backends: {disagreeing} "
               "disagreement(s).")
    if disagreeing:
        sys.exit(1)


@policy_cli.command("decide")
@click.argument("policy_name")
@click.argument("input_file", type=click.File("r", encoding="utf-8"))
@click.option("--trace/--no-trace", default=False, help="Print the trace too.")
@click.option("--backend", type=click.Choice(["compiled", "durable"]), default=None)
@with_appcontext
def decide(policy_name: str, input_file, trace: bool, backend: str | None) -> None:
    """Decide one application (a JSON file) with the configured policies and print the result."""
    root, _ = _resolve(None)
    loaded = load_policy_root(root)
    if policy_name not in loaded.policies:
        raise click.BadParameter(f"no loaded policy {policy_name!r}; loaded: "
                                 f"{', '.join(loaded.policies) or 'none'}")
    policy = loaded.policies[policy_name]
    decision = policy.decide(policy.parse_input(json.load(input_file)), backend=backend)
    body = decision.to_dict()
    if trace:
        body["trace"] = decision.trace.to_dict()
    click.echo(json.dumps(json.loads(canonical_json(body)), ensure_ascii=False, indent=2))
