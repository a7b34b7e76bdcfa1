"""Simulation on files of applications: exact report figures on a known file, invalid rows, the
three file formats, a candidate's comparison, and the same result in worker processes."""
from collections import Counter

import pytest

from app.services.errors import InvalidInput, NotFound
from app.services.reporting import comparison_figures
from app.services.simulation import Simulating, SimulationRequest
from app.services.tally import Comparison, Tally
from support.applicants import generate
from support.settings import POLICY_ROOT
from support.simulation import (
    CANDIDATE_EDITS,
    POLICY,
    candidate_folder,
    example_rows,
    write_csv,
    write_jsonl,
    write_parquet,
)


@pytest.fixture
def simulating():
    return Simulating(POLICY_ROOT, None)


@pytest.fixture
def known_csv(tmp_path):
    """The eight examples, then a row without the resident ID, a row whose amount is not a number
    and a row with more cells than the header."""
    rows = example_rows()
    no_id = {**rows[0], "applicant": {k: v for k, v in rows[0]["applicant"].items() if k != "id_number"}}
    bad_amount = {**rows[1], "requested_amount": "12x"}
    path = write_csv(tmp_path / "known.csv", rows + [no_id, bad_amount])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("," * 200 + "\r\n")
    return path


def test_a_known_file_gives_exact_figures(simulating, known_csv):
    report = simulating.simulate(SimulationRequest(POLICY, known_csv)).report
    assert report["source"] == {"file": str(known_csv), "rows": 11, "decided": 8, "invalid": 3}
    base = report["baseline"]
    assert base["outcomes"] == {"APPROVE": {"count": 5, "rate": "0.6250"},
                                "DECLINE": {"count": 2, "rate": "0.2500"},
                                "REFER": {"count": 1, "rate": "0.1250"}}
    # approvals: business owner 200,000, local resident 50,000, new citizen 50,000, premium
    # 500,000, salaried 225,000
    limit = base["limit"]
    assert (limit["count"], limit["total"], limit["min"], limit["max"]) == (5, 1_025_000, 50_000, 500_000)
    assert (limit["mean"], limit["p10"], limit["median"], limit["p90"]) == ("205000.00", 50_000, 200_000, 500_000)
    assert [bar["count"] for bar in limit["histogram"]] == [0, 2, 0, 0, 2, 0, 0, 0, 0, 1]
    groups = base["by"]["customer_group"]
    assert groups["NEW_CITIZEN"] == {"count": 3, "APPROVE": 1, "DECLINE": 1, "REFER": 1, "approve_rate": "0.3333"}
    assert groups["SALARIED"] == {"count": 2, "APPROVE": 1, "DECLINE": 1, "REFER": 0, "approve_rate": "0.5000"}
    assert {k: v["count"] for k, v in groups.items()} == {
        "BUSINESS_OWNER": 1, "LOCAL_RESIDENT": 1, "NEW_CITIZEN": 3, "PREMIUM": 1, "SALARIED": 2}
    assert sum(v["count"] for v in base["by"]["channel"].values()) == 8
    assert sum(v["count"] for v in base["by"]["region_tier"].values()) == 8
    reasons = {r["code"]: r["count"] for r in base["reasons"]}
    assert reasons["THIN_FILE"] == 1 and reasons["BUREAU_OVERDUE_PATTERN"] == 1 and reasons["VELOCITY_DEVICE"] == 1
    assert base["score"]["count"] == 8 and base["score"]["max"] == 907
    coverage = base["coverage"]
    hits = {item["id"]: item["hits"] for item in coverage["items"]}
    assert hits["EL-01"] == 1  # 连三累六: the overdue-pattern example only
    assert coverage["total"] == len(hits) and coverage["fired"] == sum(1 for n in hits.values() if n)
    assert set(coverage["never_fired"]) == {k for k, n in hits.items() if n == 0}
    assert report["comparison"] is None


def test_invalid_rows_are_listed_with_their_reasons_and_skipped(simulating, known_csv):
    invalid = simulating.simulate(SimulationRequest(POLICY, known_csv)).report["invalid_rows"]
    assert [(i["row"], i["version"]) for i in invalid] == [(9, "baseline"), (10, "baseline"), (11, "file")]
    assert invalid[0]["errors"] == {"applicant.id_number": ["Missing data for required field."]}
    assert list(invalid[1]["errors"]) == ["requested_amount"]
    assert "cells" in invalid[2]["errors"]["_row"][0]


@pytest.mark.parametrize("writer", [write_csv, write_jsonl])
def test_a_shared_value_its_declaration_refuses_is_an_invalid_row_not_the_end_of_the_run(simulating, tmp_path, writer):
    """A count that is no whole number stopped the whole run with the engine's ValueError; it is
    the row's error now, named by its column, and every other row is decided."""
    rows = example_rows()[:3]
    name = next(iter(rows[1]["shared"]))
    rows[1] = {**rows[1], "shared": {**rows[1]["shared"], name: "abc"}}
    rows[2] = {**rows[2], "shared": {**rows[2]["shared"], name: -2}}
    path = writer(tmp_path / ("a.csv" if writer is write_csv else "a.jsonl"), rows)
    report = simulating.simulate(SimulationRequest(POLICY, path)).report
    assert report["source"]["rows"] == 3 and report["source"]["decided"] == 1 and report["source"]["invalid"] == 2
    invalid = report["invalid_rows"]
    assert [(i["row"], i["version"]) for i in invalid] == [(2, "baseline"), (3, "baseline")]
    assert invalid[0]["errors"] == {f"shared.{name}": ["must be a whole number of at least 0, not 'abc'"]}
    assert invalid[1]["errors"] == {f"shared.{name}": ["must be a whole number of at least 0, not -2"]}
    assert sum(v["count"] for v in report["baseline"]["outcomes"].values()) == 1


def test_csv_jsonl_and_parquet_give_the_same_report(simulating, tmp_path):
    rows = example_rows()
    reports = []
    for path in (write_csv(tmp_path / "a.csv", rows), write_jsonl(tmp_path / "a.jsonl", rows),
                 write_parquet(tmp_path / "a.parquet", rows)):
        report = simulating.simulate(SimulationRequest(POLICY, path)).report
        report["source"].pop("file")
        reports.append(report)
    assert reports[0]["baseline"]["outcomes"]["APPROVE"]["count"] == 5
    assert reports[0] == reports[1] == reports[2]


def test_a_bad_line_of_json_lines_is_one_invalid_row(simulating, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", example_rows()[:2])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{not json\n[1, 2]\n")
    report = simulating.simulate(SimulationRequest(POLICY, path)).report
    assert report["source"]["decided"] == 2
    assert [(i["row"], list(i["errors"])) for i in report["invalid_rows"]] == [(3, ["_row"]), (4, ["_row"])]


def test_a_column_naming_no_input_field_stops_the_run_before_deciding(simulating, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("decision_date,applicant.id_numbr\n2026-11-01,1\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="applicant.id_numbr"):
        simulating.simulate(SimulationRequest(POLICY, path))


def test_an_unknown_policy_or_candidate_is_refused(simulating, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", example_rows()[:1])
    with pytest.raises(NotFound):
        simulating.simulate(SimulationRequest("nope.application", path))
    with pytest.raises(InvalidInput, match="no file or folder"):
        simulating.simulate(SimulationRequest(POLICY, path, candidate="2026.12.2"))


def test_a_candidate_is_compared_decision_by_decision(simulating, tmp_path):
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    path = write_jsonl(tmp_path / "a.jsonl", example_rows())
    result = simulating.simulate(SimulationRequest(POLICY, path, candidate=str(candidate)))
    comparison = result.report["comparison"]
    assert comparison["swap_matrix"] == {"APPROVE": {"APPROVE": 4, "DECLINE": 1, "REFER": 0},
                                         "DECLINE": {"APPROVE": 0, "DECLINE": 2, "REFER": 0},
                                         "REFER": {"APPROVE": 0, "DECLINE": 0, "REFER": 1}}
    assert comparison["moves"]["approve_to_decline"] == 1
    assert comparison["limits"]["down"] == {"count": 1, "total": 100_000, "average": "100000.00"}
    assert comparison["approved_limit_total"] == {"baseline": 1_025_000, "candidate": 875_000, "change": -150_000}
    assert [c["row"] for c in result.changed] == [2, 4]  # the local resident, the premium customer
    local = result.changed[0]
    assert (local["baseline"]["outcome"], local["candidate"]["outcome"]) == ("APPROVE", "DECLINE")
    assert [r["code"] for r in local["candidate"]["reasons"]] == ["INCOME_TOO_LOW"]
    assert local["rules_changed"] == [{"id": "EL-17", "baseline": False, "candidate": True}]
    assert result.report["versions"]["candidate"]["hash"] != result.report["versions"]["baseline"]["hash"]


def test_swap_matrix_and_limit_arithmetic_on_hand_made_pairs():
    def line(outcome, limit=None):
        return {"outcome": outcome, "limit": limit, "customer_group": "SALARIED", "score": 700,
                "score_band": "C", "reasons": []}
    pairs = [(line("APPROVE", 100_000), line("APPROVE", 120_000)),
             (line("APPROVE", 100_000), line("APPROVE", 90_000)),
             (line("APPROVE", 80_000), line("APPROVE", 50_000)),
             (line("APPROVE", 60_000), line("APPROVE", 60_000)),
             (line("APPROVE", 50_000), line("DECLINE")),
             (line("DECLINE"), line("APPROVE", 30_000)),
             (line("REFER"), line("REFER")),
             (line("REFER"), line("DECLINE"))]
    comparison, baseline, candidate = Comparison(), Tally(), Tally()
    changed = [comparison.add(b, c) for b, c in pairs]
    for b, c in pairs:
        baseline.limits.update([b["limit"]] if b["limit"] else [])
        candidate.limits.update([c["limit"]] if c["limit"] else [])
    figures = comparison_figures(comparison, baseline, candidate, None)
    assert changed == [True, True, True, False, True, True, False, True]
    assert figures["changed"] == 6 and figures["unchanged"] == 2
    assert figures["swap_matrix"]["APPROVE"] == {"APPROVE": 4, "DECLINE": 1, "REFER": 0}
    assert figures["moves"] == {"approve_to_decline": 1, "approve_to_refer": 0, "decline_to_approve": 1,
                                "decline_to_refer": 0, "refer_to_approve": 0, "refer_to_decline": 1}
    limits = figures["limits"]
    assert limits["both_approved"] == 4 and limits["unchanged"] == 1
    assert limits["up"] == {"count": 1, "total": 20_000, "average": "20000.00"}
    assert limits["down"] == {"count": 2, "total": 40_000, "average": "20000.00"}
    assert (limits["net_change"], limits["average_change"]) == (-20_000, "-5000.00")
    assert figures["approved_limit_total"] == {"baseline": 390_000, "candidate": 350_000, "change": -40_000}


def test_merging_tallies_is_adding_them():
    a, b = Tally(), Tally()
    a.outcomes.update({"APPROVE": 2})
    b.outcomes.update({"APPROVE": 1, "REFER": 3})
    a.limits.update({50_000: 2})
    b.limits.update({50_000: 1, 70_000: 1})
    a.merge(b)
    assert a.outcomes == Counter({"APPROVE": 3, "REFER": 3})
    assert a.limits == Counter({50_000: 3, 70_000: 1})


@pytest.mark.parametrize("write", [write_jsonl, write_parquet])
def test_worker_processes_give_the_single_process_result_row_by_row(simulating, tmp_path, write):
    """Worker processes, sent the rows' nested inputs (JSON Lines) or the chunks' record batches
    (Parquet, read from their values where they are decided), give the single process's result."""
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    path = write(tmp_path / f"many.{'jsonl' if write is write_jsonl else 'parquet'}", generate(300, seed=5))
    one = simulating.simulate(SimulationRequest(POLICY, path, candidate=str(candidate), keep_rows=True,
                                                chunk_rows=50))
    many = simulating.simulate(SimulationRequest(POLICY, path, candidate=str(candidate), keep_rows=True,
                                                 chunk_rows=50, workers=2))
    assert len(one.rows) == 300 and one.report["comparison"]["changed"] > 0
    assert many.rows == one.rows
    assert many.changed == one.changed
    assert many.report == one.report


def test_any_partition_of_the_rows_merges_to_the_same_result(tmp_path_factory):
    """Chunks decided separately and merged in any order give the whole run's figures exactly."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from app.engine import load_policy_root
    from app.services.batch import Item, Job, VersionSpec, decide_chunk
    from app.services.tally import Partial
    baseline = load_policy_root(POLICY_ROOT).policies[POLICY]
    candidate = load_policy_root(candidate_folder(tmp_path_factory.mktemp("c"), CANDIDATE_EDITS)).policies[POLICY]
    job = Job({p.hash: VersionSpec.of(p) for p in (baseline, candidate)}, candidate.hash, keep_rows=True)
    items = [Item(n, raw, baseline.hash) for n, raw in enumerate(generate(40, seed=21), start=1)]
    whole = decide_chunk(job, items).sort()

    @given(cuts=st.lists(st.integers(min_value=1, max_value=39), unique=True, max_size=6),
           order=st.randoms(use_true_random=False))
    @settings(max_examples=25, deadline=None)
    def check(cuts, order):
        bounds = [0, *sorted(cuts), 40]
        chunks = [items[a:b] for a, b in zip(bounds, bounds[1:])]
        order.shuffle(chunks)
        merged = Partial()
        for chunk in chunks:
            merged.merge(decide_chunk(job, chunk))
        merged.sort()
        assert merged.rows == whole.rows and merged.changed == whole.changed
        assert merged.tallies == whole.tallies and merged.comparison == whole.comparison

    check()


def test_the_cycle_collector_is_off_only_in_a_batch_process_main_thread():
    """A run's own process (the CLI, a worker process) decides its chunks without the cycle
    collector; a backtest job the API started runs in a thread of the service process, whose
    requests keep it."""
    import gc
    import threading

    from app.services import batch
    assert gc.isenabled()
    with batch.without_cycle_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    seen = []

    def job():
        with batch.without_cycle_collection():
            seen.append(gc.isenabled())
    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert seen == [True] and gc.isenabled()
