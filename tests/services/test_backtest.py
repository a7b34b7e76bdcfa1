"""Backtests without Flask: stored decisions re-decided on their own version (reproduced exactly)
and on a candidate; the selection by time; worker processes equal to one process."""
import datetime

import pytest

from app.services.access import Principal
from app.services.backtest import BacktestRequest, Candidate
from app.services.deciding import DecisionRequest
from app.services.errors import InvalidInput, NotFound
from support.applicants import applicants, examples
from support.simulation import CANDIDATE_EDITS, POLICY, candidate_folder

CHANNEL = Principal("test-channel", "channel")


def store(firefly, bodies):
    return [firefly.deciding.decide(DecisionRequest(POLICY, body, CHANNEL, "r")).answer for body in bodies]


@pytest.fixture
def stored(firefly):
    policy = firefly.registry.current().policies[POLICY]
    return store(firefly, list(examples().values()) + applicants(policy, 20, seed=3))


def test_stored_decisions_are_reproduced_and_compared_with_the_candidate(firefly, stored, tmp_path):
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    result = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(path=str(candidate)), keep_rows=True))
    report = result.report
    assert report["kind"] == "backtest"
    assert report["source"]["rows"] == report["source"]["decided"] == len(stored)
    assert report["source"]["not_reproduced"] == []
    assert report["invalid_rows"] == []
    counts = {o: sum(1 for a in stored if a["outcome"] == o) for o in ("APPROVE", "DECLINE", "REFER")}
    assert {o: v["count"] for o, v in report["baseline"]["outcomes"].items()} == counts
    assert [v["hash"] for v in report["versions"]["baseline"]] == [stored[0]["policy"]["hash"]]
    by_id = {a["decision_id"]: a for a in stored}
    assert [row[0] for row in result.rows] == sorted(by_id)  # every decision once, oldest first
    for ref, baseline, _ in result.rows:  # the baseline is what was stored
        answer = by_id[ref]
        assert baseline["outcome"] == answer["outcome"] and baseline["limit"] == answer["limit"]
        assert baseline["reasons"] == [r["code"] for r in answer["reasons"]]
    changed_ids = [c["row"] for c in result.changed]
    assert changed_ids == sorted(ref for ref, b, c in result.rows if b != c)
    assert report["comparison"]["changed"] == len(changed_ids) > 0
    premium = by_id[stored[3]["decision_id"]]
    if premium["outcome"] == "APPROVE" and premium["limit"] > 400_000:
        assert premium["decision_id"] in changed_ids


def test_the_selection_takes_decisions_made_in_the_period(firefly, clock, tmp_path):
    early = store(firefly, [examples()["approve_salaried"]])
    clock.now += datetime.timedelta(days=2)
    late = store(firefly, [examples()["approve_premium"], examples()["refer_thin_file"]])
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    since = clock.now - datetime.timedelta(hours=1)
    result = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(path=str(candidate)), created_from=since,
                                                     keep_rows=True))
    assert [row[0] for row in result.rows] == sorted(a["decision_id"] for a in late)
    until = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(path=str(candidate)), created_to=since,
                                                    keep_rows=True))
    assert [row[0] for row in until.rows] == [early[0]["decision_id"]]


def test_changed_files_are_laid_over_the_served_version(firefly, stored):
    served = firefly.registry.current().policies[POLICY]
    path = "policies/zhishandai/application.yaml"
    edited = served.files[path].replace("  min_income_local: 3000 ", "  min_income_local: 60000 ")
    result = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(files={path: edited})))
    assert result.report["versions"]["candidate"]["hash"] != served.hash
    with pytest.raises(InvalidInput) as raised:
        firefly.backtesting.run(BacktestRequest(POLICY, Candidate(files={path: edited + "\n  - ]"})))
    assert raised.value.details


def test_a_stored_version_can_be_the_candidate_and_an_unknown_one_is_not_found(firefly, stored):
    same = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(hash=stored[0]["policy"]["hash"][:10])))
    assert same.report["comparison"]["changed"] == 0
    with pytest.raises(NotFound):
        firefly.backtesting.run(BacktestRequest(POLICY, Candidate(version="1900.1")))


def test_worker_processes_give_the_single_process_backtest(firefly, stored, tmp_path):
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    request = dict(policy=POLICY, candidate=Candidate(path=str(candidate)), keep_rows=True, chunk_rows=7)
    one = firefly.backtesting.run(BacktestRequest(**request))
    two = firefly.backtesting.run(BacktestRequest(**request, workers=2))
    assert two.rows == one.rows and two.changed == one.changed and two.report == one.report


def test_the_count_of_a_selection_is_what_the_run_reads(firefly, stored, tmp_path):
    request = BacktestRequest(POLICY, Candidate(path=str(candidate_folder(tmp_path, CANDIDATE_EDITS))))
    assert firefly.backtesting.count(request) == len(stored)
    later = BacktestRequest(POLICY, request.candidate, created_from=datetime.datetime(2099, 1, 1))
    assert firefly.backtesting.count(later) == 0


def test_a_release_is_a_candidate_by_its_id(firefly, stored, tmp_path):
    from app.services.releases import ReleaseFiles
    from app.services.simulation import SimulationRequest
    from support.simulation import example_rows, write_jsonl
    author = Principal("test-author", "author")
    folder = candidate_folder(tmp_path, CANDIDATE_EDITS)
    release = firefly.releases.submit(ReleaseFiles.from_folder(folder), author, "try a lower local income floor")
    by_folder = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(path=str(folder))))
    by_release = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(release=release["id"])))
    assert by_release.report == by_folder.report
    path = write_jsonl(tmp_path / "a.jsonl", example_rows())
    simulated = firefly.simulating.simulate(SimulationRequest(POLICY, path, candidate=release["id"]))
    assert simulated.report["versions"]["candidate"] == by_release.report["versions"]["candidate"]
    with pytest.raises(InvalidInput, match="neither a file or folder nor a release"):
        firefly.simulating.simulate(SimulationRequest(POLICY, path, candidate="abcdef123456"))


def test_a_stored_decision_altered_in_the_database_is_left_out_and_named(firefly, stored, database_url):
    """An insider who gives a stored decision another applicant's input and result (so that it
    reproduces on its version) skews what a backtest says of a candidate. A backtest re-decides only
    rows that are what the service wrote, and names the others (`source.altered`)."""
    from support.tamper import tamper
    victim, donor = stored[0]["decision_id"], stored[1]["decision_id"]
    tamper(database_url, ("UPDATE decisions SET input_masked = (SELECT input_masked FROM decisions WHERE id = :d), "
                          "result = (SELECT result FROM decisions WHERE id = :d) WHERE id = :v",
                          {"d": donor, "v": victim}))
    report = firefly.backtesting.run(BacktestRequest(POLICY, Candidate(hash=stored[0]["policy"]["hash"][:10]))).report
    assert report["source"]["altered"] == [victim]
    assert report["source"]["rows"] == len(stored) - 1 and report["source"]["not_reproduced"] == []
