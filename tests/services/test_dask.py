"""The same simulation and backtest on a local Dask cluster (worker processes): the result equals the
single-process one row by row."""
import pytest

from app.services.backtest import BacktestRequest, Candidate
from app.services.simulation import Simulating, SimulationRequest
from support.applicants import generate
from support.settings import POLICY_ROOT
from support.simulation import CANDIDATE_EDITS, POLICY, candidate_folder, write_csv, write_parquet



@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    # port 0: the system picks free ports, so two suites (or xdist workers) never collide
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  scheduler_port=0) as local:
        yield local


def test_a_simulation_on_dask_equals_the_single_process_row_by_row(cluster, tmp_path):
    candidate = str(candidate_folder(tmp_path, CANDIDATE_EDITS))
    path = write_csv(tmp_path / "many.csv", generate(400, seed=9))
    simulating = Simulating(POLICY_ROOT, None)
    one = simulating.simulate(SimulationRequest(POLICY, path, candidate=candidate, keep_rows=True, chunk_rows=60))
    on_dask = simulating.simulate(SimulationRequest(POLICY, path, candidate=candidate, keep_rows=True,
                                                    chunk_rows=60, dask=cluster.scheduler_address))
    assert len(one.rows) == 400 and one.report["comparison"]["changed"] > 0
    assert on_dask.rows == one.rows
    assert on_dask.changed == one.changed
    assert on_dask.report == one.report


def test_dask_workers_read_their_own_parts_of_a_parquet_file(cluster, tmp_path, monkeypatch):
    """The client names row groups; the workers read them: the result equals the single process
    row by row, and the client never reads a row (its read_rows refuses here)."""
    from app import files
    candidate = str(candidate_folder(tmp_path, CANDIDATE_EDITS))
    path = write_parquet(tmp_path / "many.parquet", generate(300, seed=12), row_group_size=40)
    simulating = Simulating(POLICY_ROOT, None)
    one = simulating.simulate(SimulationRequest(POLICY, path, candidate=candidate, keep_rows=True))
    parts = files.parquet_parts(path, None, 50)
    assert [(p.first, p.rows) for p in parts] == [(1, 80), (81, 80), (161, 80), (241, 60)]

    def no_rows_here(*args, **kwargs):
        raise AssertionError("the client read the file's rows")
    monkeypatch.setattr(files, "read_rows", no_rows_here)
    seen = []
    on_dask = simulating.simulate(SimulationRequest(POLICY, path, candidate=candidate, keep_rows=True,
                                                    chunk_rows=50, dask=cluster.scheduler_address),
                                  progress=seen.append)
    assert len(one.rows) == 300 and one.report["comparison"]["changed"] > 0
    assert on_dask.rows == one.rows and on_dask.changed == one.changed
    assert on_dask.report == one.report
    assert sorted(seen) == [60, 80, 80, 80]  # one progress step per part


def test_a_backtest_on_dask_equals_the_single_process(cluster, firefly, tmp_path):
    from app.services.access import Principal
    from app.services.deciding import DecisionRequest
    channel = Principal("test-channel", "channel")
    for body in generate(30, seed=4):
        firefly.deciding.decide(DecisionRequest(POLICY, body, channel, "r"))
    candidate = Candidate(path=str(candidate_folder(tmp_path, CANDIDATE_EDITS)))
    one = firefly.backtesting.run(BacktestRequest(POLICY, candidate, keep_rows=True, chunk_rows=8))
    on_dask = firefly.backtesting.run(BacktestRequest(POLICY, candidate, keep_rows=True, chunk_rows=8,
                                                      dask=cluster.scheduler_address))
    assert len(one.rows) == 30
    assert on_dask.rows == one.rows and on_dask.report == one.report
