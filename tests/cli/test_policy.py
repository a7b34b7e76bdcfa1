"""`flask policy check` and `flask policy test` on the reference policies and on broken copies."""
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def policy_copy(tmp_path):
    for folder in ("policies", "rules"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_check_reference_policies_prints_no_error(runner):
    result = runner.invoke(args=["policy", "check", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert " error " not in result.output
    assert "ok zhishandai.application" in result.output


def test_check_broken_copy_prints_every_error_with_its_location(runner, policy_copy):
    eligibility = policy_copy / "rules" / "eligibility.yaml"
    text = eligibility.read_text(encoding="utf-8")
    # Three independent mistakes in one file, one in another: all four must be reported.
    text = text.replace("or overdue_months_24m", "or overdue_month_24m", 1)
    text = text.replace("action: DECLINE", "action: DECLIEN", 1)
    eligibility.write_text(text + "\n  - id: EL-BROKEN\n    when: dti >\n"
                           "    then: {action: REFER, reason: NO_SUCH_REASON}\n",
                           encoding="utf-8")
    scorecard = policy_copy / "rules" / "application_scorecard.yaml"
    scorecard.write_text(scorecard.read_text(encoding="utf-8").replace(
        "base_points:", "base_pionts:", 1), encoding="utf-8")

    result = runner.invoke(args=["policy", "check", str(policy_copy)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if " error " in line]
    for line in errors:
        assert re.match(r"^\S+\.yaml:\d+:\d+: error [A-Z_]+ ", line), line
    joined = "\n".join(errors)
    assert "did you mean 'overdue_months_24m'" in joined
    assert "DECLIEN" in joined
    assert "EXPR_SYNTAX" in joined
    assert "unknown key 'base_pionts'" in joined
    assert len({line.split(":")[0] for line in errors}) >= 2


def test_policy_test_runs_every_case_green(runner):
    result = runner.invoke(args=["policy", "test", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output


def test_policy_test_prints_a_failing_case_with_its_diff(runner, policy_copy):
    tests = policy_copy / "policies" / "zhishandai" / "tests"
    (tests / "zz_wrong.yaml").write_text(
        "policy: zhishandai.application\n"
        "cases:\n"
        "  - id: T-WRONG\n"
        "    name: deliberately wrong expectation\n"
        "    profile: salaried\n"
        "    expect: {outcome: DECLINE, reasons: [NOT_A_REASON]}\n", encoding="utf-8")
    result = runner.invoke(args=["policy", "test", str(policy_copy)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "T-WRONG" in result.output
    assert "outcome: expected DECLINE, got" in result.output
    assert "reasons: expected [NOT_A_REASON], got" in result.output


def test_import_jdm_writes_a_policy_root_that_checks_and_names_what_is_unsupported(runner,
                                                                                  tmp_path):
    graphs = ROOT / "tests" / "conformance" / "zen" / "graphs"
    files = [str(graphs / "loan-approval.json"), str(graphs / "company-analysis.json"),
             str(graphs / "merch-bags.json")]
    result = runner.invoke(args=["policy", "import-jdm", *files, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "company-analysis.json: JDM_UNSUPPORTED functionNode" in result.output
    assert "jdm.merch_bags 3/3 cases pass" in result.output
    assert (tmp_path / "policies" / "jdm" / "merch_bags.yaml").exists()
    assert (tmp_path / "jdm" / "merch_bags.graph.json").exists()
    checked = runner.invoke(args=["policy", "check", str(tmp_path)])
    assert checked.exit_code == 0, checked.output
    assert "ok jdm.merch_bags" in checked.output


def test_simulate_writes_the_report_and_prints_the_figures(runner, tmp_path):
    from support.simulation import CANDIDATE_EDITS, candidate_folder, example_rows, write_csv
    source = write_csv(tmp_path / "a.csv", example_rows())
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    out = tmp_path / "out"
    result = runner.invoke(args=["policy", "simulate", "zhishandai.application", "--input", str(source),
                                 "--candidate", str(candidate), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "8 rows: 8 decided, 0 invalid" in result.output
    assert "changed 2 of 8: approve_to_decline 1" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["changes.jsonl", "report.html", "report.json"]


def test_simulate_with_a_candidate_that_does_not_load_prints_its_errors(runner, tmp_path):
    from support.simulation import candidate_folder, example_rows, write_csv
    source = write_csv(tmp_path / "a.csv", example_rows())
    candidate = candidate_folder(tmp_path, {"  min_income_local: 3000 ": "  min_income_local: [3000 "})
    result = runner.invoke(args=["policy", "simulate", "zhishandai.application", "--input", str(source),
                                 "--candidate", str(candidate), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "do not load" in result.output and "application.yaml:" in result.output


def test_backtest_re_decides_stored_decisions_and_writes_the_report(client, auth, runner, tmp_path):
    import json

    from support.applicants import examples
    from support.http import URL
    from support.simulation import CANDIDATE_EDITS, candidate_folder
    for body in examples().values():
        assert client.post(URL, json=body, headers=auth("channel")).status_code == 201
    candidate = candidate_folder(tmp_path, CANDIDATE_EDITS)
    out = tmp_path / "out"
    # the folder holds three policies (application, drawdown, review): the backtest names one
    result = runner.invoke(args=["policy", "backtest", "--candidate", str(candidate), "--out", str(out),
                                 "--policy", "zhishandai.application", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "8 rows: 8 decided, 0 invalid" in result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["kind"] == "backtest" and report["source"]["not_reproduced"] == []
    assert report["source"]["policy"] == "zhishandai.application"
    later = runner.invoke(args=["policy", "backtest", "--candidate", str(candidate), "--out", str(out),
                                "--policy", "zhishandai.application", "--from", "2099-01-01"])
    assert later.exit_code == 0 and "0 rows: 0 decided" in later.output


@pytest.mark.parametrize("command", ["check", "test", "submit"])
def test_a_file_that_is_not_utf8_is_a_located_error_not_a_traceback(runner, policy_copy, command):
    """A rule file saved in the Windows Chinese encoding (GBK) by an editor: UnicodeDecodeError
    escaped from the folder reader before, as a traceback."""
    bad = policy_copy / "rules" / "developed_cities.yaml"
    text = bad.read_text(encoding="utf-8")
    bad.write_bytes(text.encode("utf-8") + "# 中文\n".encode("gbk"))
    line = text.count("\n") + 1
    args = ["policy", command, str(policy_copy)] + (["--reason", "r", "--key", "x"] if command == "submit" else [])
    result = runner.invoke(args=args)
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, repr(result.exception)
    assert f"rules/developed_cities.yaml:{line}:3: error FILE_ENCODING" in result.output, result.output
    assert "save it as UTF-8" in result.output
