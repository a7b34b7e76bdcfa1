"""A batch run decides with the column evaluator (app/engine/columnar) what the row engine would
decide: the same simulation with the column path switched off (`batch._columns_of` giving None,
so every row goes to `Policy.decide`) writes the same report.json, changes.jsonl and invalid rows,
on realistic files with missing fields, odd shared values and a candidate. And a policy the
evaluator meets something it does not handle in (raising Unsupported while deciding a chunk) is
decided row by row instead of failing the run."""
from __future__ import annotations

import json
import random

import pytest

from app.engine.columnar import columnar_policy
from app.services import batch
from app.services.simulation import Simulating, SimulationRequest, load_named
from engine.support import DECISION_DATE, make_policy, ruleset
from support.applicants import generate, generate_shared
from support.settings import POLICY_ROOT
from support.simulation import CANDIDATE_EDITS, POLICY, candidate_folder, with_shared, write_csv, write_jsonl


def _records(count: int, seed: int) -> list[dict]:
    """Realistic applications with their shared values; some fields dropped, some shared values
    the row engine refuses, some rows that do not read."""
    rng = random.Random(seed)
    records = []
    for raw, values in zip(generate(count, seed), generate_shared(count, seed)):
        for section in ("bank", "device", "employment"):
            if raw.get(section) and rng.random() < 0.2:
                raw[section].pop(rng.choice(sorted(raw[section])), None)
        if rng.random() < 0.03:
            values = dict(values, **{"shared.device_applications_1h": rng.choice([-1, "x", 2 ** 70])})
        if rng.random() < 0.02:
            raw = dict(raw, requested_amount="12x")
        records.append(with_shared(raw, {k: v for k, v in values.items() if v is not None}))
    return records


def _both_ways(tmp_path, monkeypatch, root, name, path, candidate=None, chunk_rows=150):
    """The run with columns and without, written to two folders: (report, changes) of each."""
    simulating = Simulating(root, None)
    results = []
    for way in ("columns", "rows"):
        if way == "rows":
            monkeypatch.setattr(batch, "_columns_of", lambda policy: None)
        out = tmp_path / way
        result = simulating.simulate(SimulationRequest(name, path, candidate=candidate, out=out,
                                                       chunk_rows=chunk_rows))
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        changes = (out / "changes.jsonl").read_text(encoding="utf-8") if candidate else None
        results.append((report, changes, result))
    monkeypatch.undo()
    return results


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_a_simulation_with_a_candidate_is_the_same_with_the_column_path_off(tmp_path, monkeypatch, kind):
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    records = _records(250, 29 if kind == "csv" else 31)
    path = (write_csv if kind == "csv" else write_jsonl)(tmp_path / f"apps.{kind}", records)
    (report, changes, result), (row_report, row_changes, _) = _both_ways(
        tmp_path, monkeypatch, POLICY_ROOT, POLICY, path, candidate=str(candidate))
    # the served policy and the candidate are both decided column by column in the first run
    served = load_named(POLICY_ROOT, POLICY, None, "served")
    assert served.engine == "compiled" and columnar_policy(served.parts) is not None
    assert columnar_policy(load_named(candidate, POLICY, None, "candidate").parts) is not None
    assert report == row_report
    assert changes == row_changes
    # the run means something: rows decided, rows invalid, decisions changed by the candidate
    assert report["source"]["decided"] > 200 and report["source"]["invalid"] > 0
    assert report["comparison"]["changed"] > 0 and changes.count("\n") == report["comparison"]["changed"]
    assert set(report["baseline"]["outcomes"]) == {"APPROVE", "DECLINE", "REFER"}


def test_a_policy_the_evaluator_gives_up_on_mid_run_is_decided_row_by_row(tmp_path, monkeypatch):
    """text() of a decimal is refused while deciding a chunk (Unsupported): the run goes on row by
    row, with the row engine's figures."""
    root = tmp_path / "root"
    policy = make_policy(root, {"r": ruleset("r", [
        {"id": "ONE_AND_A_HALF", "when": "shown == '1.5'", "then": {"action": "DECLINE", "reason": "R1"}},
        {"id": "BIG", "when": "a > 10", "then": {"action": "REFER", "reason": "R2"}}])},
        stages=[{"id": "r", "ruleset": "r"}], features={"shown": "text(d)"})
    assert columnar_policy(policy.parts) is not None  # refused only on use
    rows = [{"decision_date": DECISION_DATE, "a": i, "d": d} for i, d in enumerate(["1.5", "1.25", "2", "1.50"] * 10)]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    (report, _, _), (row_report, _, _) = _both_ways(tmp_path, monkeypatch, root, policy.name, path, chunk_rows=15)
    assert report == row_report
    assert report["baseline"]["outcomes"]["DECLINE"]["count"] == 10


def test_a_report_broken_down_by_a_decimal_value_is_the_row_engines(tmp_path, monkeypatch):
    """The report's breakdowns show each value as text (str): a decimal column would show 1.50
    where the row engine's Decimal shows 1.5, so such a policy is decided row by row."""
    root = tmp_path / "root"
    policy = make_policy(root, {"r": ruleset("r", [
        {"id": "BIG", "when": "a > 10", "then": {"action": "REFER", "reason": "R2"}}])},
        stages=[{"id": "r", "ruleset": "r"}], features={"region_tier": "d * 1", "customer_group": "s"})
    assert columnar_policy(policy.parts) is not None and batch._columns_of(policy) is None
    rows = [{"decision_date": DECISION_DATE, "a": i, "d": d, "s": "G"} for i, d in enumerate(["1.5", "1.25", "2"] * 5)]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    (report, _, _), (row_report, _, _) = _both_ways(tmp_path, monkeypatch, root, policy.name, path)
    assert report == row_report
    assert set(report["baseline"]["by"]["region_tier"]) == {"1.5", "1.25", "2"}
