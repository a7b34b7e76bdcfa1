"""`flask policy ...`: check, test and verify policy folders from the command line."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.engine import canonical_json, load_policy_root
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
