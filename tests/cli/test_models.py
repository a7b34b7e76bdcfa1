"""`flask models monitor`: the report of stored decisions as JSON and as an HTML page."""
import json

from app.extensions import services
from app.services.access import Principal
from app.services.deciding import DecisionRequest
from support.applicants import generate
from support.http import POLICY


def test_monitor_writes_json_and_html_of_stored_decisions(app, runner, tmp_path):
    firefly = services(app)
    days = set()
    for index, body in enumerate(generate(30, 5)):
        decided = firefly.deciding.decide(DecisionRequest(policy_name=POLICY, body=body, request_id=f"r{index}",
                                                caller=Principal("test-channel", "channel")))
        days.add(decided.answer["decision_date"])
    first, last = min(days), max(days)       # one day, unless the test ran over midnight in China
    args = ["models", "monitor", "--policy", POLICY, "--from", first, "--to", last,
            "--baseline-from", first, "--baseline-to", last]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["period"]["decisions"] == 30 and report["score"]["psi"] == 0
    result = runner.invoke(args=[*args, "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0 and "no drift over the thresholds" in result.output
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == report
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Score PSI 0.0000 (stable)" in page and "SC-EXT" in page


def test_monitor_without_decisions_says_so(runner):
    result = runner.invoke(args=["models", "monitor", "--policy", POLICY, "--from", "2020-01-01",
                                 "--to", "2020-01-31"])
    assert result.exit_code == 1 and "no stored decisions" in result.output
    result = runner.invoke(args=["models", "monitor", "--policy", POLICY, "--from", "2020-01-01",
                                 "--to", "2020-01-31", "--baseline-from", "2019-01-01"])
    assert result.exit_code == 2 and "--baseline-to" in result.output
