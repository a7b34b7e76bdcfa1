"""`flask review run`: a portfolio file reviewed from the command line."""
import csv

from support.portfolio import portfolio, write_jsonl


def test_review_run_prints_the_counts_and_writes_the_files(runner, tmp_path):
    source = write_jsonl(tmp_path / "portfolio.jsonl", portfolio(60, seed=11))
    out = tmp_path / "out"
    result = runner.invoke(args=["review", "run", "--input", str(source), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "60 accounts: 60 reviewed and stored, 0 invalid" in result.output
    assert "actions: CALL" in result.output and "limit reduced:" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["actions.csv", "summary.json"]
    with open(out / "actions.csv", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == ["row", "line_id", "action", "current_limit", "new_limit", "reasons", "decision_id"]


def test_review_run_of_an_unknown_policy_says_which_exist(runner, tmp_path):
    source = write_jsonl(tmp_path / "portfolio.jsonl", portfolio(1))
    result = runner.invoke(args=["review", "run", "--input", str(source), "--out", str(tmp_path / "o"),
                                 "--policy", "zhishandai.reviw"])
    assert result.exit_code == 1 and "zhishandai.review" in result.output
