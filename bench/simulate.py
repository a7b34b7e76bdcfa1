"""Benchmark: `policy simulate` on generated applicants, one process against every core and a
local Dask cluster, in the same run; and the generator of application files.

    python bench/simulate.py [--rows 100000] [--seed 11] [--candidate] [--format csv|parquet|jsonl] [--json]
    python bench/simulate.py --input FILE --runners 2 [--no-per-row]   # time a file already written
    python bench/simulate.py --write examples/applications.csv [--rows 1000] [--seed 2026]

The applicants are the tests' realistic generator (tests/support/applicants.py: all five customer
groups, fraud signals, bureau blemishes, thin files, missing fields). Before timing, every runner's
result must equal the single-process one row by row; rows/s is rows over wall time, reading the
file, deciding, counting every rule, row and bin hit, and merging included (writing the report not).
With one runner (`--runners`), nothing is compared and no row's result is kept (as `policy simulate`
runs): that is how a file too large to keep every row's result in memory is timed.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import polars as pl  # noqa: E402

from app.engine import load_policy_root  # noqa: E402
from app.services import batch  # noqa: E402
from app.services.simulation import Simulating, SimulationRequest  # noqa: E402
from support import applicants  # noqa: E402  the tests' one applicant generator
from support.simulation import flat, with_shared  # noqa: E402  an input as dotted columns, as the tests write it

POLICY = "zhishandai.application"



def write_applications(path: Path, rows: int, seed: int) -> Path:
    """`rows` generated applications as CSV (columns in the policy's declared order), JSON Lines
    or Parquet, by the file's suffix."""
    policy = load_policy_root(ROOT).policies[POLICY]
    records = applicants.generate(rows, seed)
    # each row with the shared anti-fraud values of its time (shared.<name>, in_list.<list>.<field>:
    # docs/simulation.md); without them the reference policy refers every row VELOCITY_UNAVAILABLE
    shared = applicants.generate_shared(rows, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for record, values in zip(records, shared):
                handle.write(json.dumps(with_shared(record, values), ensure_ascii=False) + "\n")
        return path
    flats = [{**flat(r), **values} for r, values in zip(records, shared)]
    columns = [c for c in [*policy.input_schema.fields, *(d.name for d in policy.parts.shared)]
               if any(c in f for f in flats)]
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        table = pa.table({c: [_plain(f.get(c)) for f in flats] for c in columns})
        # Row groups of 20,000 rows: a Dask worker reads its own parts (whole row groups).
        pq.write_table(table, path, row_group_size=20_000)
        return path
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for f in flats:
            writer.writerow(["" if f.get(c) is None else _cell(f.get(c)) for c in columns])
    return path


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # a list of records or values: its JSON text
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _plain(value):
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, list) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="applicants (default 100000; 1000 with --write)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--write", type=Path, default=None, help="only write an application file")
    parser.add_argument("--candidate", action="store_true", help="also decide on a candidate (a copy)")
    parser.add_argument("--format", choices=("csv", "parquet", "jsonl"), default="csv",
                        help="the application file's format (parquet: Dask workers read their own parts)")
    parser.add_argument("--workers", type=int, default=batch.default_workers())
    parser.add_argument("--ports", default=None,
                        help="FIRST:LAST TCP ports for the local Dask cluster (default: any free ones)")
    parser.add_argument("--input", type=Path, default=None,
                        help="time this application file instead of writing one")
    parser.add_argument("--runners", default="1,all,dask",
                        help="which runners, in order: 1 (one process), all (--workers processes), "
                             "dask, or a number of processes; the first is the one the others must equal")
    parser.add_argument("--no-per-row", action="store_true", help="skip the per-row medians")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.write:
        write_applications(args.write, args.rows or 1000, args.seed)
        print(f"wrote {args.rows or 1000} applications to {args.write}")
        return
    rows = args.rows or 100_000
    runners = args.runners.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        source = args.input or write_applications(Path(tmp) / f"applications.{args.format}", rows, args.seed)
        candidate = _candidate_copy(Path(tmp)) if args.candidate else None
        result = run_all(source, candidate, args.workers, args.ports, runners)
    rows = result["rows"]
    if not args.no_per_row:
        result["per_row_us"] = per_row_costs(min(rows, batch.CHUNK_ROWS), args.seed)
    if args.json:
        print(json.dumps(result))
        return
    compared = ("every runner equal to the single process row by row" if len(runners) > 1
                else "one runner, rows not kept")
    print(f"{rows} applications ({args.input or f'seed {args.seed}, {args.format}'}), {args.workers} cores, "
          f"{'baseline and candidate' if args.candidate else 'one version'}; {compared}")
    print(f"{'runner':<26}{'seconds':>10}{'rows/s':>10}{'x first':>13}")
    base = next(iter(result["runners"].values()))["rows_per_s"]
    for name, figures in result["runners"].items():
        print(f"{name:<26}{figures['seconds']:>10.2f}{figures['rows_per_s']:>10.0f}"
              f"{figures['rows_per_s'] / base:>13.2f}")
    if args.no_per_row:
        return
    print("\nper row, one process, median us (interleaved, same rows):")
    costs = result["per_row_us"]
    for name, us in costs.items():
        print(f"  {name:<44}{us:>8.1f}  ({1e6 / us:>7.0f} /s)")


def per_row_costs(n: int, seed: int) -> dict:
    """Median microseconds per row of each step, timed row by row, interleaved: parsing with
    marshmallow alone (the baseline), parsing as Policy.parse_input does (the fast path),
    deciding with every rule, row and bin hit counted (what a simulation does per version), and
    the hand-written twin of the policy (bench/hand.py) deciding the same typed input: the
    floor plain Python sets for a decision on this machine in the same run. Also a CSV row's
    cells to its typed input and shared values, the nested way (CsvLayout.rows, split_shared,
    Policy.parse_input) and straight (batch.cell_rows, which also makes the flat values); and a
    Parquet row's values (as files.ParquetLayout.cells reads them from a record batch) the same
    two ways (ParquetLayout.rows, split_shared, Policy.parse_input; batch.cell_rows); and a JSON
    Lines row's line, parsed, the same two ways (files.JsonLayout: the nested way from the parsed
    object; straight, the object's values picked out, then batch.cell_rows)."""
    import statistics

    from app.engine.validation import parse_input
    from app.services.tally import Tally, fired
    sys.path.insert(0, str(ROOT / "bench"))
    import hand
    import pyarrow as pa

    from app.files import CsvLayout, JsonLayout, ParquetLayout, _json_item
    policy = load_policy_root(ROOT).policies[POLICY]
    raws = applicants.generate(n, seed)
    # each row's shared anti-fraud values, as the file's rows carry them
    shared_values = applicants.generate_shared(n, seed)
    # and the same rows as a CSV file's cells (as write_applications writes them)
    flats = [{**flat(r), **values} for r, values in zip(raws, shared_values)]
    names = {d.name: d.type_name for d in policy.parts.shared}
    types = {**{path: spec.type.name for path, spec in policy.input_schema.fields.items()}, **names}
    header = [c for c in types if any(c in f for f in flats)]
    layout = CsvLayout.of(header, types)
    cells_of = [["" if f.get(c) is None else _cell(f.get(c)) for c in header] for f in flats]
    straight = batch.cell_rows(policy, layout, names)
    # the same rows as a Parquet file's values (as write_applications writes them, read column by column)
    record_batch = pa.table({c: [_plain(f.get(c)) for f in flats] for c in header}).combine_chunks().to_batches()[0]
    parquet = ParquetLayout.of(record_batch.schema, types)
    values_of = parquet.cells(record_batch)
    parquet_straight = batch.cell_rows(policy, parquet, names)
    # and as JSON Lines (as write_applications writes them)
    json_layout = JsonLayout.of(types)
    lines_of = [json.dumps(with_shared(r, values), ensure_ascii=False) for r, values in zip(raws, shared_values)]
    json_straight = batch.cell_rows(policy, json_layout, names)

    def json_nested(line):  # the line parsed as read_rows parses it, then the nested way
        return nested_way([_json_item(line)], json_layout)

    def json_direct(line):
        [cells] = json_layout.cells([line])
        made = json_straight.typed(cells)  # (a row it gives up on would take the nested way)
        return made, json_straight.shared(cells) if made is not None else None
    schema = policy.request_schema()
    tally = Tally()

    def nested_way(cells, source=layout):
        [row] = source.rows(1, [cells])
        item = batch.file_item(row, policy.hash, names)
        return policy.parse_input(item.data), item.shared

    steps = {
        "parse: marshmallow (baseline)": lambda raw, shared, cells, values, line: parse_input(raw, schema),
        "parse: Policy.parse_input (fast path)": lambda raw, shared, cells, values, line: policy.parse_input(raw),
        "CSV cells to typed input: nested way": lambda raw, shared, cells, values, line: nested_way(cells),
        "CSV cells to typed input: straight (cell_rows)": lambda raw, shared, cells, values, line: (
            straight.typed(cells), straight.shared(cells)),
        "Parquet values to typed input: nested way": lambda raw, shared, cells, values, line: nested_way(
            values, parquet),
        "Parquet values to typed input: straight": lambda raw, shared, cells, values, line: (
            parquet_straight.typed(values), parquet_straight.shared(values)),
        "JSON line to typed input: nested way": lambda raw, shared, cells, values, line: json_nested(line),
        "JSON line to typed input: straight": lambda raw, shared, cells, values, line: json_direct(line),
        "decide + count hits": lambda raw, shared, cells, values, line: tally.add(
            d := policy.decide(policy.parse_input(raw), shared=shared), fired(d)),
        "hand-written twin, deciding (bench/hand.py)": lambda raw, shared, cells, values, line: hand.decide(
            policy.parse_input(raw), shared),
    }
    timings: dict = {name: [] for name in steps}
    clock = time.perf_counter_ns
    for raw, shared, cells, values, line in zip(raws, shared_values, cells_of, values_of, lines_of):
        for name, step in steps.items():
            started = clock()
            step(raw, shared, cells, values, line)
            timings[name].append((clock() - started) / 1000)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    # the decide step parsed too: take the fast parse off so it is deciding and counting only
    medians["decide + count hits"] -= medians["parse: Policy.parse_input (fast path)"]
    medians["hand-written twin, deciding (bench/hand.py)"] -= medians["parse: Policy.parse_input (fast path)"]
    medians[f"decide + count hits, column by column ({n:,} rows a chunk)"] = columnar_cost(
        policy, [policy.parse_input(raw) for raw in raws], shared_values)
    medians[f"CSV cells typed + decided + counted, by columns ({n:,} a chunk)"] = cells_columnar_cost(
        policy, layout, names, cells_of, raws, shared_values)
    return {name: round(us, 1) for name, us in medians.items()}


def cells_columnar_cost(policy, layout, names: dict, cells_of: list, raws: list, shared_values: list,
                        passes: int = 5) -> float:
    """Microseconds per row of what a batch run does with a CSV chunk's cells (batch._decide_typed):
    typing them column by column (columnar.cells.CellTyper), deciding by columns and counting every
    hit; the rows either is not sure of decided row by row. The median of `passes` passes, with
    the cycle collector off as a run has it."""
    import statistics

    from app.services.tally import Tally, fired
    [typer] = batch._cell_typers(_OneVersion(policy), policy.hash, layout, names)
    columns = batch._columns_of(policy)
    times = []
    for _ in range(passes):
        tally = Tally()
        with batch.without_cycle_collection():
            started = time.perf_counter()
            typed = typer.type(cells_of)
            decided = columns.decide_columns(len(cells_of), typed.values, pl.Series(~typed.sure))
            unsure = set(decided.unsure_rows())
            tally.add_columns(decided, [i for i in range(len(cells_of)) if i not in unsure])
            for i in unsure:
                d = policy.decide(policy.parse_input(raws[i]), shared=shared_values[i])
                tally.add(d, fired(d))
            times.append((time.perf_counter() - started) / len(cells_of) * 1e6)
    return statistics.median(times)


class _OneVersion:
    """What batch._cell_typers reads of a chunk: its versions."""

    def __init__(self, policy):
        self.policies = {policy.hash: policy}
        self.candidate = None


def columnar_cost(policy, typed: list, shared_values: list, passes: int = 5) -> float:
    """Microseconds per row of deciding the rows as one chunk column by column and counting
    every hit (app/engine/columnar, Tally.add_columns: what a batch run does with a chunk): the
    median of `passes` passes, each from the rows' flat values (as the cells parser gives them),
    with the cycle collector off as a run has it.
    The rows the evaluator is not sure of are decided row by row within the pass, as a run does."""
    import statistics

    from app.services.tally import Tally, fired
    columns = batch._columns_of(policy)
    times = []
    for _ in range(passes):
        rows = [policy.input_schema.flatten(t) for t in typed]
        tally = Tally()
        with batch.without_cycle_collection():  # as a run has it
            started = time.perf_counter()
            decided = columns.decide(rows, shared_values)
            unsure = set(decided.unsure_rows())
            tally.add_columns(decided, [i for i in range(len(rows)) if i not in unsure])
            for i in unsure:
                d = policy.decide(typed[i], shared=shared_values[i])
                tally.add(d, fired(d))
            times.append((time.perf_counter() - started) / len(rows) * 1e6)
    return statistics.median(times)


def _candidate_copy(tmp: Path) -> str:
    import shutil
    target = tmp / "candidate"
    for folder in ("policies", "rules"):
        shutil.copytree(ROOT / folder, target / folder)
    return str(target)


def _cluster_ports(ports: str | None) -> dict:
    """LocalCluster's port options: the scheduler on the first port, workers and nannies after it."""
    if not ports:
        return {"scheduler_port": 0}
    first, last = (int(p) for p in ports.split(":"))
    middle = (first + 1 + last) // 2
    return {"scheduler_port": first, "worker_port": f"{first + 1}:{middle}", "port": f"{middle + 1}:{last}"}


def run_all(source: Path, candidate: str | None, workers: int, ports: str | None = None,
            which: list[str] | None = None) -> dict:
    import contextlib
    simulating = Simulating(ROOT, None)
    timed: dict = {}
    reference = None
    which = which or ["1", "all", "dask"]
    keep = len(which) > 1  # rows kept only to compare runners
    with contextlib.ExitStack() as stack:
        runners = []
        for runner in which:
            if runner == "dask":
                from distributed import Client, LocalCluster
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    **_cluster_ports(ports)))
                client = stack.enter_context(Client(cluster))
                runners.append((f"Dask local ({workers} workers)", {"dask": client}))
            else:
                count = workers if runner == "all" else int(runner)
                runners.append((f"{count} process{'es' if count > 1 else ''}", {"workers": count}))
        for name, options in runners:
            started = time.perf_counter()
            result = simulating.simulate(SimulationRequest(policy=POLICY, input=source, candidate=candidate,
                                                           keep_rows=keep, **options))
            seconds = time.perf_counter() - started
            if reference is None:
                reference = result
            elif result.rows != reference.rows or result.report != reference.report:
                sys.exit(f"{name}: the result differs from the single process's")
            decided = result.report["source"]["rows"]
            timed[name] = {"seconds": round(seconds, 3), "rows_per_s": round(decided / seconds, 1)}
    return {"rows": reference.report["source"]["rows"], "workers": workers, "runners": timed,
            "outcomes": {o: v["count"] for o, v in reference.report["baseline"]["outcomes"].items()},
            "cpu": os.cpu_count()}


if __name__ == "__main__":
    main()
