"""Simulation: a policy (and a candidate version of it) decided on every row of a file of past
applications, nothing stored; the report says what each version decides and what would change.

Usable from the CLI, the API or a batch job alike: `Simulating.simulate(SimulationRequest)`.
Rows that do not fit a version's input schema are listed by row number with every problem and
skipped; the run never stops for one row.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import files, reports
from app.engine import LoadResult, Policy, load_policies
from app.services import batch, compiling, reporting
from app.services.batch import Job, Progress, VersionSpec
from app.services.reporting import ComparisonResult
from app.services.errors import InvalidInput, NotFound
from app.services.tally import coverage_items

REPORT_FILE = "report.json"
CHANGES_FILE = "changes.jsonl"
HTML_FILE = "report.html"


@dataclass(frozen=True)
class SimulationRequest:
    """What to simulate: the policy by name, the file, and optionally a candidate (a policy folder,
    or any path inside one: an edited copy of the policies; or a release by id or content hash),
    where to write the report, and how to run (worker processes, or a Dask scheduler's address)."""

    policy: str
    input: Path
    candidate: str | None = None
    out: Path | None = None
    workers: int = 1
    dask: Any = None
    keep_rows: bool = False
    chunk_rows: int = batch.CHUNK_ROWS


def policy_folder(path: Path) -> Path:
    """The nearest folder at or above `path` that holds a policies/ folder."""
    target = path.resolve()
    for candidate in [target, *target.parents]:
        if (candidate / "policies").is_dir():
            return candidate
    raise InvalidInput(f"no policies/ folder at or above {path}", code="not_a_policy_folder")


def load_named(root: Path, name: str, engine: str | None, what: str) -> Policy:
    """Policy `name` of the folder at root; InvalidInput with every diagnostic when it does not load."""
    loaded: LoadResult = compiling.load_root(root, engine)
    if not loaded.ok:
        raise InvalidInput(f"the {what} policies under {root} do not load", code="policy_invalid",
                           details=[str(d) for d in loaded.errors])
    if name not in loaded.policies:
        raise NotFound(f"no policy {name!r} in the {what} folder {root}; it has: "
                       f"{', '.join(loaded.policies) or 'none'}", code="unknown_policy")
    return loaded.policies[name]


def load_candidate(candidate: str, name: str | None, engine: str | None, releases: Any = None) -> Policy:
    """The candidate version: a policy folder (or a path inside one), or else a release by its id
    or content hash. `name` None: the candidate's only policy."""
    path = Path(candidate)
    if path.exists():
        root = policy_folder(path)
        return load_named(root, name or _only(compiling.load_root(root, engine).policies, str(root)), engine,
                          "candidate")
    if releases is None:
        raise InvalidInput(f"candidate {candidate!r} is no file or folder", code="unknown_candidate")
    try:
        files = releases.files_of(candidate)
    except NotFound:
        raise InvalidInput(f"candidate {candidate!r} is neither a file or folder nor a release (give the "
                           "path of an edited copy of the policy folder, or a release's id or content hash)",
                           code="unknown_candidate") from None
    return release_policy(files, name, engine, f"release {candidate}")


def release_policy(files: dict[str, str], name: str | None, engine: str | None, what: str) -> Policy:
    """Policy `name` (None: the only one) of a release's files; InvalidInput when they do not load."""
    loaded = load_policies(files, engine, root=what)
    if not loaded.ok:
        raise InvalidInput(f"the policies of {what} do not load", code="policy_invalid",
                           details=[str(d) for d in loaded.errors])
    name = name or _only(loaded.policies, what)
    if name not in loaded.policies:
        raise NotFound(f"no policy {name!r} in {what}; it has: {', '.join(loaded.policies) or 'none'}",
                       code="unknown_policy")
    return loaded.policies[name]


def _only(policies: dict[str, Policy], where: str) -> str:
    if len(policies) != 1:
        raise InvalidInput(f"name the policy; {where} has {', '.join(policies) or 'none that loads'}",
                           code="policy_needed")
    return next(iter(policies))


class Simulating:
    def __init__(self, policy_root: str | Path, engine: str | None, releases: Any = None) -> None:
        self.policy_root = Path(policy_root)
        self.engine = engine
        self.releases = releases  # for a candidate named as a release

    def rows_in(self, path: Path) -> int | None:
        """About how many rows the file holds (for a progress bar), None when it cannot be told."""
        try:
            return files.count_rows(path)
        except (files.FileProblem, OSError):
            return None

    def simulate(self, request: SimulationRequest, progress: Progress | None = None) -> ComparisonResult:
        baseline = load_named(self.policy_root, request.policy, self.engine, "served")
        candidate = (load_candidate(request.candidate, request.policy, self.engine, self.releases)
                     if request.candidate else None)
        versions = {baseline.hash: VersionSpec.of(baseline, self.engine)}
        if candidate is not None:
            versions[candidate.hash] = VersionSpec.of(candidate, self.engine)
        job = Job(versions, candidate.hash if candidate else None, request.keep_rows)
        schemas = [p.input_schema.fields for p in (baseline, candidate) if p is not None]
        types = {path: spec.type.name for fields_ in schemas for path, spec in fields_.items()}
        # the shared anti-fraud values of their time, when the file has them (shared.<name>,
        # in_list.<list>.<field> columns); without them a value is missing (docs/anti_fraud.md)
        shared = {d.name: d.type_name for p in (baseline, candidate) if p is not None
                  for d in p.parts.shared}
        types.update(shared)
        try:
            if request.dask is not None and files.file_format(request.input) == "parquet":
                parts = files.parquet_parts(request.input, set(types), request.chunk_rows)
                merged = batch.run_file_parts(job, parts, types, baseline.hash, request.dask, progress,
                                              shared=shared)
            elif files.file_format(request.input) == "csv":
                # each chunk goes out as its bytes (or, past a stretch whose rows cannot be told
                # apart from its bytes, its cells): rows are read where they are decided
                cells = files.csv_blocks(request.input, types, set(types), request.chunk_rows)
                tasks = ((batch.decide_cells, (layout, first, chunk, baseline.hash, shared))
                         for layout, first, chunk in cells)
                merged = batch.run(job, tasks, workers=request.workers, dask=request.dask, progress=progress)
            elif files.file_format(request.input) == "parquet":
                # each chunk goes out as an Arrow record batch: its values are read where it is decided
                chunks = files.parquet_chunks(request.input, types, set(types), request.chunk_rows)
                tasks = ((batch.decide_batch, (layout, first, data, baseline.hash, shared))
                         for layout, first, data in chunks)
                merged = batch.run(job, tasks, workers=request.workers, dask=request.dask, progress=progress)
            elif files.file_format(request.input) == "jsonl" and (
                    lines := files.jsonl_chunks(request.input, types, request.chunk_rows)) is not None:
                # each chunk goes out as its lines: they are parsed where they are decided
                tasks = ((batch.decide_batch, (layout, first, chunk, baseline.hash, shared))
                         for layout, first, chunk in lines)
                merged = batch.run(job, tasks, workers=request.workers, dask=request.dask, progress=progress)
            else:
                rows = files.read_rows(request.input, types, columns=set(types))
                items = (batch.file_item(row, baseline.hash, shared) for row in rows)
                merged = batch.run(job, batch.chunked(items, request.chunk_rows), workers=request.workers,
                                   dask=request.dask, progress=progress)
        except (files.FileProblem, OSError) as error:
            raise InvalidInput(str(error), code="unreadable_input") from None
        report = reporting.build(
            merged, kind="simulation", source={"file": str(request.input)},
            versions={"baseline": versions[baseline.hash].identity(),
                      "candidate": versions[candidate.hash].identity() if candidate else None},
            coverage={"baseline": coverage_items(baseline),
                      "candidate": coverage_items(candidate) if candidate else []},
            texts=reporting.merged_texts(p for p in (baseline, candidate) if p is not None),
            changes_file=CHANGES_FILE if candidate else None,
            outcomes=reporting.outcome_names(p for p in (baseline, candidate) if p is not None))
        result = ComparisonResult(report, merged.changed, merged.rows)
        if request.out is not None:
            result.written = write(request.out, report, merged.changed)
        return result


def write(out: Path, report: dict[str, Any], changed: list[dict[str, Any]]) -> list[Path]:
    """report.json, report.html and (with a candidate) changes.jsonl in the folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = [reports.write_json(out / REPORT_FILE, report)]
    if report.get("comparison") is not None:
        written.append(reports.write_jsonl(out / CHANGES_FILE, changed))
    written.append(reports.write_html(out / HTML_FILE, report, changed))
    return written
