"""Deciding many rows at once, the same way in one process, in worker processes on every core, or
on a Dask distributed cluster: the rows are cut into chunks, each chunk is decided by
`decide_chunk` wherever it runs, and the chunks' Partials are merged (exact counts: the result
does not depend on where or in which order chunks ran).

A worker compiles each policy version once (app/services/compiling caches by content), however
many chunks it decides. What a chunk carries is plain data (the versions' files, the rows), so it
pickles to another process or machine; Dask workers need this package installed to import it.
"""
from __future__ import annotations

import datetime
import functools
import gc
import multiprocessing
import os
import threading
import weakref
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy
import polars as pl

from app.engine import InputError, Policy, SharedValueError
from app.engine.columnar import ChunkDecisions, ColumnarPolicy, Unsupported, columnar_policy
from app.engine.columnar.cells import CellTyper
from app.engine.fastinput import cells_parser
from app.files import CsvBlock, CsvLayout, FilePart, JsonLayout, ParquetLayout, Row, RowError, part_cells
from app.services import compiling
from app.services.errors import Unavailable
from app.services.records import with_decision_date
from app.engine.types import to_json
from app.services.tally import DIMENSIONS, Invalid, Partial, changed_record, fired, headline

# Rows per chunk: a chunk is typed and decided column by column (app/engine/columnar), and each of
# its Polars calls has a fixed cost, so chunks are large: a million reference rows on two worker
# processes took 55.6 s in chunks of 25,000 and 48.2 / 46.5 s in chunks of 50,000 (2026-11-30,
# one run each; docs/performance.md), a worker holding about 1.2 GB at most.
CHUNK_ROWS = 50_000
Progress = Callable[[int], None]  # called with the number of rows just finished


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while chunks are read and decided. A chunk makes millions of
    objects (cells, typed inputs, records), and the collector runs every 700 new ones, walking
    every object alive each time it reaches the oldest generation, the chunk's own included: a
    quarter to a third of a batch run's time (a chunk of 25,000 reference rows: 121 and 104 us a
    row with it, 78 and 75 without, one run each). What a chunk makes is freed by reference
    counting when it is done; whatever cycles it leaves are collected once the collector is on
    again.

    Only in a process's main thread: there the process is a batch run's own (the CLI, a worker
    process). A backtest job the API started runs in a thread of a service process whose requests
    must keep their collector; so does a Dask worker's task thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunk_work(function: Callable) -> Callable:
    """A chunk's entry point (where it runs: a worker process, a Dask worker) without the cycle
    collector."""
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with without_cycle_collection():
            return function(*args, **kwargs)
    return run


@dataclass(frozen=True)
class VersionSpec:
    """A policy version as plain data: what a worker needs to compile it."""

    name: str
    version: str
    hash: str
    files: dict[str, str]
    engine: str | None = None

    @classmethod
    def of(cls, policy: Policy, engine: str | None = None) -> "VersionSpec":
        return cls(policy.name, str(policy.version), policy.hash, dict(policy.files), engine)

    def load(self) -> Policy:
        return compiling.load_version(self.name, self.files, self.engine)

    def identity(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "hash": self.hash}


@dataclass(frozen=True)
class Job:
    """The versions a run decides on: baselines by hash (one for a file; the versions that made
    the stored decisions, for a backtest) and the candidate's hash, if any."""

    versions: dict[str, VersionSpec]
    candidate: str | None = None
    keep_rows: bool = False  # also return every row's headlines (to compare runs row by row)


@dataclass(frozen=True)
class Item:
    """One row to decide: its reference (row number or decision id), its input or the RowError
    that kept it from being read, the hash of its baseline version, the decision date and moment
    to set (a backtest: the stored ones; None: the row's own), and the stored headline (a backtest)."""

    ref: Any
    data: dict[str, Any] | RowError
    baseline: str
    decision_date: datetime.date | None = None
    stored: dict[str, Any] | None = None
    moment: datetime.datetime | None = None  # a backtest: when it was decided (the decision time)
    shared: dict[str, Any] | None = None  # a backtest: the shared values the decision used


def split_shared(data: dict[str, Any], names: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A file row's application and its shared values: the sections `shared` and `in_list`
    (columns shared.<name>, in_list.<list>.<field>) taken out and flattened to the names the
    engine reads; None when the row has none (every shared value then missing)."""
    if not names or not any(head in data for head in ("shared", "in_list")):
        return data, None
    application = {k: v for k, v in data.items() if k not in ("shared", "in_list")}
    values: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}")
        elif prefix in names:
            values[prefix] = node

    for head in ("shared", "in_list"):
        if head in data:
            walk(data[head], head)
    return application, values


@_chunk_work
def decide_chunk(job: Job, items: list[Item]) -> Partial:
    """Decide every row of a chunk on its baseline and on the candidate, and count."""
    chunk = _Chunk(job)
    for item in items:
        chunk.item(item)
    return chunk.finish()


class _Chunk:
    """The deciding of one chunk: the versions (compiled once per worker) and the Partial the
    rows are counted into."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.policies = {key: spec.load() for key, spec in job.versions.items()}
        self.candidate = self.policies[job.candidate] if job.candidate else None
        self.partial = partial = Partial()
        self.base_tally = partial.tally("baseline")
        self.cand_tally = partial.tally("candidate") if self.candidate else None
        # rows waiting to be decided column by column, by baseline version
        self.waiting: dict[int, tuple[Policy, list[tuple]]] = {}
        self.cand_columns = _columns_of(self.candidate) if self.candidate else None
        self.stored = False  # whether rows come with a stored headline to compare (a backtest)

    def item(self, item: Item) -> None:
        """One row as an Item: typed by each version (a row a version refuses is listed invalid
        and not decided), then decided."""
        partial, candidate = self.partial, self.candidate
        partial.read += 1
        if isinstance(item.data, RowError):
            partial.invalid.append(Invalid(item.ref, "file", {"_row": [item.data.reason]}))
            return
        baseline = self.policies[item.baseline]
        typed_base = _typed(partial, item, baseline, "baseline")
        typed_cand = _typed(partial, item, candidate, "candidate") if candidate else None
        if typed_base is None or (candidate and typed_cand is None):
            return  # compared only on rows every version can decide
        self.decide(item.ref, baseline, typed_base, typed_cand, item.shared, item.stored)

    def decide(self, ref: Any, baseline: Policy, typed_base: dict, typed_cand: dict | None,
               shared: dict[str, Any] | None, stored: dict[str, Any] | None = None,
               values_base: dict | None = None, values_cand: dict | None = None) -> None:
        """One row typed by every version (with its flat values, when read from cells): decided
        on each, counted and compared."""
        if stored is not None:
            self.stored = True
        if (self.candidate is None or self.cand_columns is not None) and _columns_of(baseline) is not None:
            self.waiting.setdefault(id(baseline), (baseline, []))[1].append(
                (ref, typed_base, typed_cand, shared, values_base, values_cand, stored))
            if len(self.waiting[id(baseline)][1]) >= CHUNK_ROWS:
                self.flush()
            return
        self.decide_row(ref, baseline, typed_base, typed_cand, shared, stored, values_base, values_cand)

    def decide_row(self, ref: Any, baseline: Policy, typed_base: dict, typed_cand: dict | None,
                   shared: dict[str, Any] | None, stored: dict[str, Any] | None = None,
                   values_base: dict | None = None, values_cand: dict | None = None) -> None:
        """One row decided by the row engine on each version, counted and compared."""
        partial, candidate, keep = self.partial, self.candidate, self.job.keep_rows
        version = "baseline"
        try:  # every version decides before anything is counted: a row is counted whole or not at all
            decided = baseline.decide(typed_base, shared=shared, values=values_base)
            version = "candidate"
            made = candidate.decide(typed_cand, shared=shared, values=values_cand) if candidate else None
        except SharedValueError as error:  # a shared value's cell that its declaration refuses
            partial.invalid.append(Invalid(ref, version, {error.name: [error.message]}))
            return
        self.base_tally.add(decided, fired(decided))
        line = headline(decided) if (keep or candidate or stored is not None) else None
        if stored is not None and stored != line:
            partial.baseline_mismatches.append(ref)
        other = None
        if candidate:
            self.cand_tally.add(made, fired(made))
            other = headline(made)
            if partial.comparison.add(line, other):
                partial.changed.append(changed_record(ref, decided, made))
        if keep:
            partial.rows.append((ref, line, other))


    def finish(self) -> Partial:
        """The chunk's Partial, once the rows waiting are decided, its rows in file order
        (whichever way each was decided)."""
        self.flush()
        return self.partial.sort()

    def flush(self) -> None:
        """Decide the waiting rows column by column: each version decides them all at once; the
        rows either version is not sure of (columnar.ChunkDecisions.unsure) go to the row engine,
        and so do the changed rows' details (the changes file shows both decisions' reasons and
        rules)."""
        waiting, self.waiting = self.waiting, {}
        for baseline, rows in waiting.values():
            self._decide_columns(baseline, rows)

    def _decide_columns(self, baseline: Policy, rows: list[tuple]) -> None:
        candidate = self.candidate
        shared = [row[3] for row in rows]
        try:
            base = _columns_of(baseline).decide(
                [row[4] if row[4] is not None else baseline.input_schema.flatten(row[1]) for row in rows], shared)
            cand = None
            if candidate is not None:
                cand = self.cand_columns.decide(
                    [row[5] if row[5] is not None else candidate.input_schema.flatten(row[2]) for row in rows], shared)
        except Unsupported:  # what the evaluator meets only on these values: the chunk row by row
            for ref, typed_base, typed_cand, row_shared, values_base, values_cand, row_stored in rows:
                self.decide_row(ref, baseline, typed_base, typed_cand, row_shared, row_stored,
                                values_base=values_base, values_cand=values_cand)
            return
        self.count_columns(baseline, base, cand, rows.__getitem__, range(len(rows)))

    def count_columns(self, baseline: Policy, base: ChunkDecisions, cand: ChunkDecisions | None,
                      row_at: Callable[[int], tuple], rows: Iterable[int]) -> None:
        """Count `rows` of a chunk decided column by column on each version; the rows either
        version is not sure of go to the row engine, and so do the changed rows' details.
        `row_at(i)` gives row i as (ref, typed_base, typed_cand, shared, values_base, values_cand,
        stored); it is asked only for the rows that need more than their columns."""
        partial, candidate, keep = self.partial, self.candidate, self.job.keep_rows
        unsure = set(base.unsure_rows())
        if cand is not None:
            unsure.update(cand.unsure_rows())
        rows = list(rows)
        sure = [i for i in rows if i not in unsure]
        self.base_tally.add_columns(base, sure)
        if candidate is not None or keep or self.stored:
            base_lines = base.headlines()
            cand_lines = cand.headlines() if cand is not None else None
            for i in sure:
                line = _shown_line(base_lines[i])
                row = None
                if self.stored:
                    row = row_at(i)
                    if row[6] is not None and row[6] != line:
                        partial.baseline_mismatches.append(row[0])
                other = None
                if cand_lines is not None:
                    other = _shown_line(cand_lines[i])
                    if partial.comparison.add(line, other):
                        ref, typed_base, typed_cand, row_shared = (row or row_at(i))[:4]
                        partial.changed.append(changed_record(
                            ref, baseline.decide(typed_base, shared=row_shared),
                            candidate.decide(typed_cand, shared=row_shared)))
                if keep:
                    partial.rows.append(((row or row_at(i))[0], line, other))
        if cand is not None:
            self.cand_tally.add_columns(cand, sure)
        for i in sorted(unsure.intersection(rows)):
            ref, typed_base, typed_cand, row_shared, values_base, values_cand, row_stored = row_at(i)
            self.decide_row(ref, baseline, typed_base, typed_cand, row_shared, row_stored,
                            values_base=values_base, values_cand=values_cand)


def _columns_of(policy: Policy) -> ColumnarPolicy | None:
    """A version's column evaluator, when it decides with the compiled engine (the durable one
    is checked against it row by row elsewhere), uses nothing the evaluator does not handle and
    breaks the report down by values whose text a column gives as the row engine's does."""
    if policy.engine != "compiled":
        return None
    parts = policy.parts
    shown = parts.__dict__.get("_dimensions_shown")
    if shown is None:
        shown = parts.__dict__["_dimensions_shown"] = _dimensions_shown(parts)
    return columnar_policy(parts) if shown else None


# The types whose values a column holds as the row engine does, so that str() of each is the same
# (a decimal column holds values, not the exponent str() of a Decimal shows: "1.50", not "1.5").
_SHOWN_ALIKE = frozenset({"string", "enum", "integer", "boolean", "date", "time", "datetime"})


def _dimensions_shown(parts: Any) -> bool:
    """Whether every value a report breaks down by (tally.DIMENSIONS) is of a type in _SHOWN_ALIKE."""
    types = {path: spec.type.name for path, spec in parts.input_schema.fields.items()}
    types.update({f.name: f.type.name for f in parts.features})
    for stage in parts.stages:
        types.update({name: kind.name for name, kind in stage.outputs.items()})
        if stage.kind == "scorecard":
            types.update({stage.score_name: "integer", stage.band_name: "string"})
            if stage.pd_name is not None:
                types[stage.pd_name] = "decimal"
    types.update({d.name: "boolean" if d.type_name == "boolean" else "integer" for d in parts.shared})
    if parts.limit is not None and parts.limit.result is not None:
        types[parts.limit.result] = "integer"
    return all(types.get(path, "string") in _SHOWN_ALIKE for path in DIMENSIONS.values())


def _shown_line(line: dict[str, Any]) -> dict[str, Any]:
    """A headline from the columns, as tally.headline gives a decision's (the score as JSON)."""
    line["score"] = to_json(line["score"])
    return line


def _typed(partial: Partial, item: Item, policy: Policy, version: str) -> dict | None:
    raw = item.data
    if item.decision_date is not None:
        raw = with_decision_date(policy, raw, item.decision_date, item.moment)
    try:
        return policy.parse_input(raw)
    except InputError as error:
        partial.invalid.append(Invalid(item.ref, version, error.errors))
        return None


def chunked(items: Iterable[Item], size: int = CHUNK_ROWS) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run(job: Job, chunks: Iterable[list[Item]] | Iterable[tuple[Callable, tuple]], *, workers: int = 1, dask: str | None = None,
        progress: Progress | None = None) -> Partial:
    """Decide every chunk and merge: in this process (workers=1), in `workers` processes, or on
    the Dask scheduler at `dask` (an address such as tcp://10.0.0.5:8786, or a Client)."""
    if dask is not None:
        return _on_dask(job, chunks, dask, progress)
    with without_cycle_collection():  # this process reads the file into chunks
        if workers <= 1:
            total = Partial()
            for chunk in chunks:
                function, arguments = _task(chunk)
                partial = function(job, *arguments)
                total.merge(partial)
                if progress:
                    progress(partial.read)
            return total.sort()
        return _on_processes(job, chunks, workers, progress)


def _task(chunk: list[Item] | tuple[Callable, tuple]) -> tuple[Callable, tuple]:
    """A chunk as the function that decides it and its arguments (after the job): a list of
    Items goes to decide_chunk; a (function, arguments) pair (a file's part, a CSV chunk's cells)
    is one already."""
    return chunk if isinstance(chunk, tuple) else (decide_chunk, (chunk,))


def _on_processes(job: Job, chunks: Iterable[list[Item]] | Iterable[tuple[Callable, tuple]], workers: int, progress: Progress | None) -> Partial:
    """Worker processes started fresh (spawn: nothing of this process's threads or connections is
    inherited), at most two chunks in flight per worker so a large file is never all in memory."""
    total = Partial()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: set = set()
        for chunk in chunks:
            function, arguments = _task(chunk)
            pending.add(pool.submit(function, job, *arguments))
            if len(pending) >= 2 * workers:
                pending = _collect(pending, total, progress)
        while pending:
            pending = _collect(pending, total, progress)
    return total.sort()


def _collect(pending: set, total: Partial, progress: Progress | None) -> set:
    done, pending = wait(pending, return_when=FIRST_COMPLETED)
    for future in done:
        partial = future.result()
        total.merge(partial)
        if progress:
            progress(partial.read)
    return pending


@_chunk_work
def decide_part(job: Job, part: FilePart, types: dict[str, str], baseline: str,
                shared: Any = None) -> Partial:
    """Read one part of a Parquet file where it runs, and decide its rows as a chunk from their
    values (decide_cells), as a single process decides the file's record batches."""
    layout, cells = part_cells(part, types)
    return decide_cells(job, layout, part.first, cells, baseline, shared)


@_chunk_work
def decide_batch(job: Job, layout: ParquetLayout | JsonLayout, first: int, data: Any, baseline: str,
                 shared: Any = None) -> Partial:
    """Decide a Parquet chunk (an Arrow record batch) or a JSON Lines chunk (its lines) where it
    runs: its rows' cells are read there (`layout.cells`: column by column; each line parsed and
    its values picked out) and decided from them (decide_cells); the process reading the file
    only sends the batch or the lines."""
    return decide_cells(job, layout, first, layout.cells(data), baseline, shared)


@_chunk_work
def decide_cells(job: Job, layout: CsvLayout | ParquetLayout | JsonLayout, first: int,
                 cells: Iterable[Sequence[Any]] | CsvBlock,
                 baseline: str, shared: Any = None) -> Partial:
    """Decide a chunk's rows from their cells where it runs: a CSV chunk's bytes (a CsvBlock: the
    process reading the file only finds where its chunks end, and they are split into cells
    here), its cells of text, or a Parquet chunk's values (ParquetLayout.cells).

    A row goes straight from its cells to each version's typed input and its shared values
    (`CellRows`, made once per file layout and version) when it is plainly valid; any other row
    (an empty required cell, a cell that does not read as its type, too many cells, a null, ...)
    takes the nested way (`layout.rows`, `file_item`, `Policy.parse_input`), which lists it invalid
    with today's messages. Both ways give the same typed input and shared values
    (tests/services/test_cell_rows.py, tests/services/test_parquet_rows.py)."""
    chunk = _Chunk(job)
    makers = [cell_rows(chunk.policies[baseline], layout, shared)]
    if chunk.candidate is not None:
        makers.append(cell_rows(chunk.candidate, layout, shared))
    typers = _cell_typers(chunk, baseline, layout, shared) if all(makers) else None
    if typers is not None and isinstance(cells, CsvBlock):
        # split by Polars where it splits as the csv module does (CsvBlock.columns)
        columns = cells.columns(len(layout.header))
        if columns is not None and _decide_typed(chunk, baseline, layout, first, columns, shared, makers, typers):
            return chunk.finish()
    if isinstance(cells, CsvBlock):
        cells = cells.cells(first)
    if not all(makers):  # a layout the direct way does not handle: every row the nested way
        for row in layout.rows(first, cells):
            chunk.item(file_item(row, baseline, shared))
        return chunk.finish()
    if typers is not None:
        cells = cells if isinstance(cells, list) else list(cells)
        if _decide_typed(chunk, baseline, layout, first, cells, shared, makers, typers):
            return chunk.finish()
    for number, row in enumerate(cells, start=first):
        _decide_cell_row(chunk, baseline, layout, number, row, shared, makers)
    return chunk.finish()


def _decide_cell_row(chunk: _Chunk, baseline: str, layout: Any, number: int, row: Sequence[Any],
                     shared: Any, makers: list[CellRows]) -> None:
    """One row from its cells: typed straight from them when plainly valid, else the nested way."""
    base_rows = makers[0]
    cand_rows = makers[1] if len(makers) > 1 else None
    base = base_rows.typed(row)
    cand = cand_rows.typed(row) if cand_rows is not None and base is not None else None
    if base is None or (cand_rows is not None and cand is None):
        for made in layout.rows(number, [row]):
            chunk.item(file_item(made, baseline, shared))
        return
    chunk.partial.read += 1
    chunk.decide(number, chunk.policies[baseline], base[0], cand[0] if cand else None, base_rows.shared(row),
                 values_base=base[1], values_cand=cand[1] if cand else None)


def _decide_typed(chunk: _Chunk, baseline: str, layout: CsvLayout, first: int, cells: list | pl.DataFrame,
                  shared: Any, makers: list[CellRows], typers: list[CellTyper]) -> bool:
    """Decide a CSV chunk (its rows' cells, or its columns of text) typed column by column
    (columnar.cells.CellTyper) and decided column by column, every version at once; a row the
    typing is not sure of goes the row way (_decide_cell_row), which types it, decides it or lists
    it invalid. False (nothing counted) when the evaluator cannot decide these columns: the caller
    then decides every row the row way."""
    policy = chunk.policies[baseline]
    if isinstance(cells, pl.DataFrame):
        frame = cells
        cells = _FrameRows(frame)
    try:
        typed = [typer.type(frame if isinstance(cells, _FrameRows) else cells) for typer in typers]
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, ValueError, TypeError, OverflowError):
        # Polars refusing (or panicking at) a value no test met: the rows go the row way, never a
        # stopped run (nothing is counted yet); a bug of the typing itself still stops it
        return False
    sure = typed[0].sure
    for other in typed[1:]:
        sure = sure & other.sure
    unsure = pl.Series(~sure)
    n = len(cells)
    try:
        base = _columns_of(policy).decide_columns(n, typed[0].values, unsure)
        cand = chunk.cand_columns.decide_columns(n, typed[1].values, unsure) if len(typed) > 1 else None
    except Unsupported:
        return False
    for index in numpy.flatnonzero(~sure).tolist():
        _decide_cell_row(chunk, baseline, layout, first + index, cells[index], shared, makers)
    picked = numpy.flatnonzero(sure).tolist()
    chunk.partial.read += len(picked)

    def row_at(index: int) -> tuple:
        row = cells[index]
        made = [maker.typed(row) for maker in makers]
        if any(m is None for m in made):  # the column typing is sure only of rows this types too
            raise RuntimeError(f"row {first + index}: typed by its columns but not by its cells")
        cand_typed = made[1] if len(made) > 1 else (None, None)
        return (first + index, made[0][0], cand_typed[0], makers[0].shared(row), made[0][1], cand_typed[1], None)

    chunk.count_columns(policy, base, cand, row_at, picked)
    return True


class _FrameRows:
    """A frame of text columns read as rows of cells (only the rows the row way needs)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return self.frame.height

    def __getitem__(self, index: int) -> tuple:
        return self.frame.row(index)


def _cell_typers(chunk: _Chunk, baseline: str, layout: Any, shared: Any) -> list[CellTyper] | None:
    """Each version's CellTyper for a CSV layout (made once per worker, layout and version), or
    None when a version is not decided column by column or its input is not typed so."""
    if not isinstance(layout, CsvLayout) or layout.clash:
        return None
    versions = [chunk.policies[baseline]] + ([chunk.candidate] if chunk.candidate is not None else [])
    if any(_columns_of(policy) is None for policy in versions):
        return None
    names = dict(shared or {})
    typers = []
    for policy in versions:
        known = _CELL_TYPERS.setdefault(policy, {})
        key = (layout.key, tuple(names.items()))
        if key not in known:
            columns = [None if name in names else name for name in layout.header]
            declared = {d.name: d.type_name for d in policy.parts.shared}
            shared_cells = [(i, name, declared[name]) for i, name in enumerate(layout.header) if name in declared]
            # the typer reads a cell as its version declares it; the row way as the layout's
            # type for the column (the run's: the candidate's where two versions differ)
            fields = policy.input_schema.fields
            alike = all(layout.types.get(name) == fields[name].type.name for name in columns if name in fields) \
                and all(layout.types.get(name) == kind for _, name, kind in shared_cells)
            try:
                known[key] = CellTyper(policy.input_schema, columns, shared_cells, declared.items()) if alike else None
            except Unsupported:
                known[key] = None
        if known[key] is None:
            return None
        typers.append(known[key])
    return typers


_CELL_TYPERS: "weakref.WeakKeyDictionary[Policy, dict]" = weakref.WeakKeyDictionary()


class CellRows:
    """How one version reads a layout's rows (CSV or Parquet) straight from their cells: the typed
    input with its flat values (`fastinput.cells_parser`: None for a row it is not sure of) and
    the shared values, as `layout.rows`, `split_shared` and `Policy.parse_input` give them for a
    plainly valid row."""

    def __init__(self, typed: Callable[[Sequence[Any]], tuple[dict, dict] | None],
                 shared_cells: tuple[tuple[int, str, Callable[[Any], Any] | None], ...], absent: Any = "") -> None:
        self.typed = typed
        self._shared = shared_cells
        self._absent = absent

    def shared(self, cells: Sequence[Any]) -> dict[str, Any] | None:
        """The row's shared values by name (their cells read as the layout reads them); None when
        every shared cell is absent (empty; a null), as split_shared gives for a row without them."""
        values = None
        text = self._absent == ""  # cells of text: an empty one is absent; else a null (None) is
        for index, name, convert in self._shared:
            cell = cells[index]
            if (cell != "") if text else (cell is not None):
                if values is None:
                    values = {}
                values[name] = convert(cell) if convert else cell
        return values


_CELL_ROWS: "weakref.WeakKeyDictionary[Policy, dict]" = weakref.WeakKeyDictionary()


def cell_rows(policy: Policy, layout: CsvLayout | ParquetLayout | JsonLayout, shared: Any) -> CellRows | None:
    """A version's CellRows for a layout (made once per worker, layout and version), or None when
    the layout has what the direct way does not handle: a column that is also a section of
    another, a column that is neither a declared field nor a shared value, a column twice, an
    input field under `shared` or `in_list` (split_shared takes those sections out), a Parquet
    column whose values may be dicts (a struct: nest and split_shared read into them)."""
    names = dict(shared or {})
    key = (layout.key, tuple(names))
    known = _CELL_ROWS.setdefault(policy, {})
    if key not in known:
        known[key] = _cell_rows(policy, layout, names)
    return known[key]


def _cell_rows(policy: Policy, layout: CsvLayout | ParquetLayout | JsonLayout, names: dict[str, Any]) -> CellRows | None:
    if layout.clash or not layout.plain or len(set(layout.header)) != len(layout.header):
        return None
    columns: list[str | None] = []
    shared_cells = []
    for index, (name, convert) in enumerate(zip(layout.header, layout.converters)):
        if names and name in names:
            columns.append(None)
            shared_cells.append((index, name, convert))
        elif name.split(".", 1)[0] in ("shared", "in_list"):
            return None  # split_shared would take it out of the input
        else:
            columns.append(name)
    extra = layout.extra  # cells after the header's, not the input's (a JSON line's object)
    typed = cells_parser(policy.input_schema, columns + [None] * extra, layout.converters + (None,) * extra,
                         layout.absent)
    return None if typed is None else CellRows(typed, tuple(shared_cells), layout.absent)


def file_item(row: Row, baseline: str, shared: Any) -> Item:
    """A file's row as an Item, its shared values (if any) apart from the application."""
    if isinstance(row.data, RowError):
        return Item(row.number, row.data, baseline)
    data, values = split_shared(row.data, shared)
    return Item(row.number, data, baseline, shared=values)


def run_file_parts(job: Job, parts: list[FilePart], types: dict[str, str], baseline: str, dask: Any,
                   progress: Progress | None = None, shared: Any = None) -> Partial:
    """Decide every part of a Parquet file on the Dask scheduler at `dask`: each worker reads the
    row groups it decides (the file must be at the same path for every worker: one machine, or
    shared storage), so the client sends a part's name, never its rows."""
    return _on_dask(job, ((decide_part, (part, types, baseline, shared)) for part in parts), dask, progress)


def _on_dask(job: Job, chunks: Iterable[list[Item]] | Iterable[tuple[Callable, tuple]], address: Any,
             progress: Progress | None) -> Partial:
    """The same chunks (or (function, arguments) tasks) as tasks on a Dask cluster; the job is
    sent to every worker once."""
    from distributed import Client, as_completed  # imported only for a Dask run

    try:
        client = address if isinstance(address, Client) else Client(address, timeout="10s")
    except OSError as error:
        raise Unavailable(f"no Dask scheduler answers at {address}: {error}", code="dask_unavailable") from None
    owned = client is not address
    try:
        shared = client.scatter(job, broadcast=True)
        window = max(2 * sum(client.nthreads().values()), 2)
        total = Partial()
        tasks = as_completed()
        for chunk in chunks:
            function, arguments = _task(chunk)
            tasks.add(client.submit(function, shared, *arguments, pure=False))
            if tasks.count() >= window:
                _merge_one(tasks, total, progress)
        while tasks.count():
            _merge_one(tasks, total, progress)
        return total.sort()
    finally:
        if owned:
            client.close()


def _merge_one(tasks: Any, total: Partial, progress: Progress | None) -> None:
    partial = next(tasks).result()
    total.merge(partial)
    if progress:
        progress(partial.read)
