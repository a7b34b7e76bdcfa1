"""`flask policy ...`: check, test, verify and try policy folders from the command line."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any, Iterable

import click
from flask import current_app
from flask.cli import with_appcontext

from app.engine import BACKENDS, Diagnostic
from app.extensions import services
from app.services import authoring
from app.services.backtest import BacktestRequest, Candidate
from app.services.batch import default_workers
from app.services.errors import ServiceError
from app.services.simulation import SimulationRequest

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


def _print_diagnostics(root: Path, diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
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


@policy_cli.command("check")
@click.argument("path", required=False)
@with_appcontext
def check(path: str | None) -> None:
    """Validate every policy and rule file under PATH and print every problem."""
    root, _ = _resolve(path)
    loaded = authoring.check(root)
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
@click.option("--backend", type=click.Choice([*BACKENDS, "both"]), default=None,
              help="Engine backend to run the cases on (default: each policy's own).")
@with_appcontext
def test(path: str | None, backend: str | None) -> None:
    """Run the rule tests beside the policies under PATH; print each failing case with its diff."""
    root, target = _resolve(path)
    backends = BACKENDS if backend == "both" else (backend,)
    run = authoring.run_rule_tests(root, target, backends)
    if not run.loaded.ok:
        _print_diagnostics(root, run.loaded.errors)
        click.echo("The policies cannot be loaded; fix the errors above first.", err=True)
        sys.exit(1)
    if run.problems:
        errors, _ = _print_diagnostics(root, run.problems)
        if errors:
            sys.exit(1)
    for result in run.failed:
        case = result.case
        click.echo(f"FAIL {_shown(root, case.location.file)}:{case.location.line}:"
                   f"{case.location.column} {case.id} {case.name} [{result.backend}]")
        for difference in result.differences:
            click.echo(f"    {difference}")
    passed = len(run.results) - len(run.failed)
    click.echo(f"Rule tests under {target}: {passed} of {len(run.results)} case runs passed"
               + (f", {len(run.failed)} FAILED." if run.failed else "."))
    if run.failed or not run.results:
        sys.exit(1)


def _read_applications(handle: IO[str]) -> list[Any]:
    """A JSON array of inputs, or one JSON input per line."""
    text = handle.read()
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@policy_cli.command("verify")
@click.argument("path", required=False)
@click.option("--input", "input_file", type=click.File("r", encoding="utf-8"), default=None,
              help="Applications to run too: a JSON array or one JSON object per line.")
@click.option("--policy", "policy_name", default=None,
              help="The policy the --input applications are for (default: the only one loaded).")
@with_appcontext
def verify(path: str | None, input_file: IO[str] | None, policy_name: str | None) -> None:
    """Run both engine backends over the rule tests (and --input applications) and print every
    disagreement with the rule and the values involved."""
    root, target = _resolve(path)
    applications = _read_applications(input_file) if input_file else []
    try:
        found = authoring.verify(root, target, applications, policy_name)
    except ServiceError:
        raise click.BadParameter("name the policy of the --input applications with --policy") from None
    if not found.loaded.ok:
        _print_diagnostics(root, found.loaded.errors)
        sys.exit(1)
    for index, errors in found.rejected:
        click.echo(f"application {index}: rejected input {errors}")
    for disagreement in found.disagreements:
        case = disagreement.case
        where = (f"{case.id} ({_shown(root, case.location.file)}:{case.location.line})" if case
                 else f"application {disagreement.application}")
        click.echo(f"{where}: {disagreement.detail}")
    click.echo(f"Verified {found.checked} inputs ({found.cases} rule-test cases, {found.applications} "
               f"applications) on the compiled and durable backends: {len(found.disagreements)} "
               "disagreement(s).")
    if found.disagreements:
        sys.exit(1)


@policy_cli.command("decide")
@click.argument("policy_name")
@click.argument("input_file", type=click.File("r", encoding="utf-8"))
@click.option("--trace/--no-trace", default=False, help="Print the trace too.")
@click.option("--backend", type=click.Choice(BACKENDS), default=None)
@click.option("--root", "root_path", default=None,
              help="The policy folder (default: the configured FIREFLY_POLICY_ROOT).")
@with_appcontext
def decide(policy_name: str, input_file: IO[str], trace: bool, backend: str | None,
           root_path: str | None) -> None:
    """Decide one application (a JSON file) with the policies of a folder and print the result;
    nothing is stored or recorded."""
    root, _ = _resolve(root_path)
    loaded = authoring.check(root)
    if not loaded.ok:
        errors, _ = _print_diagnostics(root, loaded.errors)
        click.echo(f"{errors} error(s): the policies under {root} cannot be loaded, so nothing "
                   "was decided.", err=True)
        sys.exit(1)
    try:
        body = authoring.try_decision(root, policy_name, json.load(input_file), backend, trace)
    except ServiceError as error:
        details = f"\n{json.dumps(error.details, ensure_ascii=False, indent=2)}" if error.details else ""
        raise click.ClickException(error.message + details) from None
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))


@policy_cli.command("import-jdm")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="The policy root to write (policies/jdm/, rules/, jdm/).")
def import_jdm(files: tuple[str, ...], out: str) -> None:
    """Import JDM decision graphs (GoRules Zen JSON) as Firefly policies with their test cases;
    a graph using what Firefly does not support is reported JDM_UNSUPPORTED, not written."""
    from app.engine.jdm.conformance import load_imported, read_graph, run_graph
    from app.engine.jdm.importer import import_graph
    from app.engine.jdm.zen import Unsupported

    root = Path(out)
    imported_count = unsupported = 0
    for name in files:
        path = Path(name)
        graph = read_graph(path)
        try:
            imported = import_graph(path.name, graph)
        except Unsupported as exc:
            unsupported += 1
            click.echo(f"{path}: JDM_UNSUPPORTED {exc.construct}")
            continue
        policy, problem = load_imported(imported)
        if policy is None:
            unsupported += 1
            click.echo(f"{path}: JDM_UNSUPPORTED {problem}")
            continue
        for relative, text in imported.files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        # the graph itself, whose embedded cases the conformance runner decides
        (root / "jdm" / f"{imported.flow}.graph.json").write_text(
            path.read_text(encoding="utf-8"), encoding="utf-8")
        result = run_graph(path, graph)
        imported_count += 1
        click.echo(f"{path}: {imported.name} {result.passed}/{result.cases} cases pass"
                   + (f" ({result.detail[:300]})" if result.status != "passed" else ""))
    click.echo(f"{imported_count} imported, {unsupported} unsupported")
@policy_cli.command("simulate")
@click.argument("policy_name")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Applications: .csv (columns named by dotted input paths), .jsonl or .parquet.")
@click.option("--candidate", default=None,
              help="An edited copy of the policy folder (or a path inside it), or a release's id or content "
                   "hash, to compare with.")
@click.option("--out", "out_dir", default="simulation", show_default=True, type=click.Path(file_okay=False),
              help="Folder for report.json, report.html and changes.jsonl.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: every core).")
@click.option("--dask", "dask_address", default=None, help="Run on the Dask scheduler at this address.")
@with_appcontext
def simulate(policy_name: str, input_path: str, candidate: str | None, out_dir: str, workers: int | None,
             dask_address: str | None) -> None:
    """Decide every application of a file with POLICY_NAME (and --candidate) and write the report."""
    from tqdm import tqdm  # the progress bar: rows/s and the time left

    simulating = services().simulating
    request = SimulationRequest(policy=policy_name, input=Path(input_path), candidate=candidate,
                                out=Path(out_dir), workers=workers or default_workers(), dask=dask_address)
    with tqdm(total=simulating.rows_in(request.input), unit=" rows", dynamic_ncols=True,
              disable=None, file=sys.stderr) as bar:
        try:
            result = simulating.simulate(request, progress=bar.update)
        except ServiceError as error:
            raise click.ClickException(_explained(error)) from None
    _print_summary(result.report)
    for path in result.written:
        click.echo(f"wrote {path}")


def _explained(error: ServiceError) -> str:
    if isinstance(error.details, list):
        return error.message + "".join(f"\n  {line}" for line in error.details)
    if error.details:
        return error.message + "\n" + json.dumps(error.details, ensure_ascii=False, indent=2)
    return error.message


def _print_summary(report: dict[str, Any]) -> None:
    """The figures a person looks at first, on the terminal."""
    source = report["source"]
    click.echo(f"{source['rows']} rows: {source['decided']} decided, {source['invalid']} invalid")
    for side in ("baseline", "candidate"):
        figures = report.get(side)
        if not figures:
            continue
        shown = ", ".join(f"{o} {v['count']} ({v['rate']})" for o, v in figures["outcomes"].items())
        coverage = figures["coverage"]
        click.echo(f"{side}: {shown}; rules fired {coverage['fired']}/{coverage['total']}")
    comparison = report.get("comparison")
    if comparison:
        moves = ", ".join(f"{name} {count}" for name, count in comparison["moves"].items() if count)
        limits = comparison["limits"]
        click.echo(f"changed {comparison['changed']} of {comparison['compared']}: {moves or 'no outcome moved'}; "
                   f"limits up {limits['up']['count']} (+{limits['up']['total']}), down {limits['down']['count']} "
                   f"(-{limits['down']['total']})")


@policy_cli.command("backtest")
@click.option("--candidate", required=True,
              help="An edited copy of the policy folder (or a path inside it), or a release's id or content "
                   "hash, to try on stored decisions.")
@click.option("--policy", "policy_name", default=None,
              help="The policy whose stored decisions to re-decide (default: the candidate folder's only one).")
@click.option("--from", "created_from", type=click.DateTime(), default=None,
              help="Decisions made at or after this time (UTC).")
@click.option("--to", "created_to", type=click.DateTime(), default=None,
              help="Decisions made before this time (UTC).")
@click.option("--out", "out_dir", default="backtest", show_default=True, type=click.Path(file_okay=False),
              help="Folder for report.json, report.html and changes.jsonl.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: every core).")
@click.option("--dask", "dask_address", default=None, help="Run on the Dask scheduler at this address.")
@with_appcontext
def backtest(candidate: str, policy_name: str | None, created_from: Any, created_to: Any, out_dir: str,
             workers: int | None, dask_address: str | None) -> None:
    """Re-decide the stored inputs of past decisions on their own version and on --candidate, and
    write the comparison report."""
    from tqdm import tqdm

    wired = services()
    request = BacktestRequest(policy=policy_name, candidate=Candidate(path=candidate), created_from=created_from,
                              created_to=created_to, out=Path(out_dir), workers=workers or default_workers(),
                              dask=dask_address)
    with tqdm(total=wired.backtesting.count(request), unit=" decisions", dynamic_ncols=True, disable=None,
              file=sys.stderr) as bar:
        try:
            result = wired.backtesting.run(request, progress=bar.update)
        except ServiceError as error:
            raise click.ClickException(_explained(error)) from None
    _print_summary(result.report)
    not_reproduced = result.report["source"]["not_reproduced"]
    if not_reproduced:
        click.echo(f"{len(not_reproduced)} stored decision(s) not reproduced on their own version: "
                   f"{', '.join(not_reproduced[:10])}", err=True)
    altered = result.report["source"].get("altered") or []
    if altered:
        click.echo(f"{len(altered)} stored decision(s) fail their integrity check and were left out "
                   f"(flask audit verify): {', '.join(altered[:10])}", err=True)
    for path in result.written:
        click.echo(f"wrote {path}")
