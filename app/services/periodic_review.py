"""The periodic review of a whole portfolio (贷后批量检视): every account of a file decided by the
review policy, every decision stored, an actions file for the core system and a summary report.

The rows are cut into chunks and decided where the batch runner of simulations decides (in this
process, in worker processes or on a Dask cluster: `batch.py`); a worker only decides, with the
engine, and sends back what each row needs to be stored. This process alone holds the database and
the keys: it hashes and seals the personal data, stores a chunk's decisions in one transaction and
only then writes their actions, so an action in the file always has its stored decision.

The actions file (actions.csv) is for the core system: one line per account with an action other
than NONE, holding the account's line id in clear (the core system applies the action to it), the
action, the new limit (REDUCE only) and the reason codes. Treat it like the portfolio file it came
from. The summary (summary.json) counts actions overall and by customer group, lists the top
reasons, and totals the limit reduced.
"""
from __future__ import annotations

import csv
import datetime
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy.exc import SQLAlchemyError

from app import files
from app.engine import InputError
from app.privacy import PersonalData, get_path, restore
from app.services import batch, records
from app.services.access import Principal
from app.services.batch import VersionSpec
from app.services.clock import Clock, business_date
from app.services.errors import InvalidInput, Unavailable
from app.services.policy_store import PolicyStore
from app.services.registry import PolicyRegistry
from app.storage import chain
from app.storage.db import Database

REVIEW_POLICY = "zhishandai.review"
ACTIONS_FILE, SUMMARY_FILE = "actions.csv", "summary.json"
ACTIONS_HEADER = ("row", "line_id", "action", "current_limit", "new_limit", "reasons", "decision_id")
LIMIT_FIELD = "account.limit"   # the current limit, as the portfolio file reports it
TOP_REASONS = 20
# who stores the decisions of a batch review (the channel column of every row)
BATCH_CALLER = Principal("review-batch", "channel")
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ReviewRequest:
    input: Path
    out: Path
    policy: str = REVIEW_POLICY
    workers: int = 1
    dask: str | None = None
    chunk_rows: int = batch.CHUNK_ROWS


@dataclass(frozen=True)
class Reviewed:
    """One row decided by a worker, ready to be stored: the made decision without its engine
    objects (picklable), and the row's number."""

    row: int
    made: records.MadeDecision


@dataclass
class ChunkResult:
    reviewed: list[Reviewed] = field(default_factory=list)
    invalid: list[dict[str, Any]] = field(default_factory=list)


def review_chunk(spec: VersionSpec, decision_date: datetime.date, moment: datetime.datetime,
                 rows: list[files.Row]) -> ChunkResult:
    """Decide every row of a chunk (pure: no database, no keys); runs wherever batch runs it."""
    policy = spec.load()
    result = ChunkResult()
    for row in rows:
        if isinstance(row.data, files.RowError):
            result.invalid.append({"row": row.number, "errors": {"_row": [row.data.reason]}})
            continue
        try:
            made = records.make(policy, row.data, decision_date, moment)
        except InputError as error:
            result.invalid.append({"row": row.number, "errors": error.errors})
            continue
        result.reviewed.append(Reviewed(row.number, made.portable()))
    return result


@dataclass
class Summary:
    """Counts of a review run, merged chunk by chunk."""

    rows: int = 0
    stored: int = 0
    actions: Counter = field(default_factory=Counter)
    by_group: Counter = field(default_factory=Counter)     # (group, action) -> accounts
    reasons: Counter = field(default_factory=Counter)
    limit_before: int = 0          # the current limits of the accounts reduced
    limit_after: int = 0           # their new limits
    invalid: list[dict[str, Any]] = field(default_factory=list)

    def add(self, made: records.MadeDecision, current_limit: Any) -> None:
        decision = made.decision
        self.stored += 1
        self.actions[decision.outcome] += 1
        self.by_group[(decision.customer_group or "(none)", decision.outcome)] += 1
        self.reasons.update(decision.reason_codes)
        if decision.limit is not None and isinstance(current_limit, int):
            self.limit_before += current_limit
            self.limit_after += int(decision.limit)

    def to_dict(self, order: tuple[str, ...], texts: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
        groups = sorted({group for group, _ in self.by_group})
        return {
            "source": source,
            "rows": self.rows, "stored": self.stored, "invalid": len(self.invalid),
            "actions": {action: self.actions[action] for action in order},
            "by_customer_group": {group: {action: self.by_group[(group, action)] for action in order}
                                  for group in groups},
            "top_reasons": [{"code": code, "zh": texts[code].zh if code in texts else "",
                             "en": texts[code].en if code in texts else "", "count": count}
                            for code, count in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
                            [:TOP_REASONS]],
            "limit_reduced": {"accounts": self.actions.get("REDUCE", 0), "before": self.limit_before,
                              "after": self.limit_after, "total": self.limit_before - self.limit_after},
            "invalid_rows": self.invalid,
        }


@dataclass(frozen=True)
class ReviewResult:
    summary: dict[str, Any]
    written: list[Path]


class PortfolioReview:
    """`flask review run`: a portfolio file reviewed, stored, and its actions written."""

    def __init__(self, database: Database, registry: PolicyRegistry, store: PolicyStore,
                 personal: PersonalData, clock: Clock) -> None:
        self.database = database
        self.registry = registry
        self.store = store
        self.personal = personal
        self.clock = clock

    def rows_in(self, path: Path) -> int | None:
        try:
            return files.count_rows(path)
        except (files.FileProblem, OSError):
            return None

    def run(self, request: ReviewRequest, progress: Progress | None = None) -> ReviewResult:
        if not self.registry.current().policies:
            self.registry.start()   # a command: the active release (the folder in development)
        policy = self.registry.served(request.policy)
        self.store.record(policy)   # every stored decision names a stored version
        now = self.clock()
        decision_date = business_date(now)
        spec = VersionSpec.of(policy)
        types = {path: s.type.name for path, s in policy.input_schema.fields.items()}
        try:
            rows = files.read_rows(request.input, types, columns=set(types))
            chunks = batch.chunked(rows, request.chunk_rows)
            summary = Summary()
            request.out.mkdir(parents=True, exist_ok=True)
            actions_path = request.out / ACTIONS_FILE
            with open(actions_path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(ACTIONS_HEADER)
                for result in _decided(spec, decision_date, now, chunks, request):
                    self._store(result, summary, writer, now, decision_date, policy.outcomes.default)
                    if progress:
                        progress(len(result.reviewed) + len(result.invalid))
        except (files.FileProblem, OSError) as error:
            raise InvalidInput(str(error), code="unreadable_input") from None
        report = summary.to_dict(policy.outcomes.order, policy.parts.reasons, {
            "file": str(request.input), "policy": {"name": policy.name, "version": str(policy.version),
                                                   "hash": policy.hash},
            "decision_date": decision_date.isoformat()})
        summary_path = request.out / SUMMARY_FILE
        summary_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return ReviewResult(report, [actions_path, summary_path])

    def _store(self, result: ChunkResult, summary: Summary, writer: Any, now: datetime.datetime,
               decision_date: datetime.date, no_action: str) -> None:
        """Store a chunk's decisions in one transaction, then write their actions (never an action
        whose decision is not stored)."""
        summary.rows += len(result.reviewed) + len(result.invalid)
        summary.invalid.extend(result.invalid)
        stored = []
        for item in result.reviewed:
            row = records.to_row(item.made, personal=self.personal, now=now, decision_date=decision_date,
                                 caller=BATCH_CALLER, request_id=f"review-{now:%Y%m%d%H%M%S}-{item.row}",
                                 idempotency_key=None, request_fingerprint=self.personal.request_hash(
                                     item.made.decision.policy.name,
                                     restore(item.made.input_masked, item.made.clear)))
            stored.append((item, row))
        try:
            with self.database.session() as session:
                chain.insert_entries(session, "decisions", [row for _, row in stored])
        except SQLAlchemyError as error:
            raise Unavailable(f"the review decisions could not be stored ({type(error).__name__}); "
                              f"{summary.stored} stored before, their actions written") from None
        for item, row in stored:
            decision = item.made.decision
            current = _current_limit(item.made)
            summary.add(item.made, current)
            if decision.outcome != no_action:
                writer.writerow((item.row, _line_id(item.made), decision.outcome, current,
                                 "" if decision.limit is None else int(decision.limit),
                                 " ".join(decision.reason_codes), row.id))


def _decided(spec: VersionSpec, decision_date: datetime.date, moment: datetime.datetime,
             chunks: Iterable[list[files.Row]], request: ReviewRequest) -> Iterator[ChunkResult]:
    """Each chunk decided: here (one worker), in worker processes or on Dask, as it finishes."""
    if request.dask is not None:
        yield from _on_dask(spec, decision_date, moment, chunks, request.dask)
    elif request.workers <= 1:
        for chunk in chunks:
            yield review_chunk(spec, decision_date, moment, chunk)
    else:
        yield from _on_processes(spec, decision_date, moment, chunks, request.workers)


def _on_processes(spec, decision_date, moment, chunks, workers) -> Iterator[ChunkResult]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: set = set()
        for chunk in chunks:
            pending.add(pool.submit(review_chunk, spec, decision_date, moment, chunk))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)


def _on_dask(spec, decision_date, moment, chunks, address) -> Iterator[ChunkResult]:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s")
    except OSError as error:
        raise Unavailable(f"no Dask scheduler answers at {address}: {error}", code="dask_unavailable") from None
    try:
        shared = client.scatter(spec, broadcast=True)
        window = max(2 * sum(client.nthreads().values()), 2)
        tasks = as_completed()
        for chunk in chunks:
            tasks.add(client.submit(review_chunk, shared, decision_date, moment, chunk, pure=False))
            if tasks.count() >= window:
                yield next(tasks).result()
        while tasks.count():
            yield next(tasks).result()
    finally:
        client.close()


def _current_limit(made: records.MadeDecision) -> Any:
    return get_path(made.input_masked, LIMIT_FIELD)


def _line_id(made: records.MadeDecision) -> str:
    """The account's line id in clear (the core system's key), from the row's personal values."""
    return next((str(value) for path, value in made.clear.items() if made.kinds.get(path) == "line"), "")

