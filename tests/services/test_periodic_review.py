"""The batch review of a portfolio: every account decided and stored, the actions file holds every
stored action (and only stored ones), the summary adds up, no limit rises, line ids stay hashed."""
import csv
import datetime
import json

import pytest
from sqlalchemy import func, select

from app.services.errors import InvalidInput
from app.services.periodic_review import ReviewRequest
from app.storage.models import Decision
from support.portfolio import portfolio, write_jsonl

TODAY = datetime.date(2026, 11, 29)   # the test clock's date in China


def stored_reviews(firefly):
    with firefly.database.session() as session:
        return session.scalars(select(Decision).where(Decision.policy_name == "zhishandai.review")
                               .order_by(Decision.seq)).all()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_portfolio_is_reviewed_stored_and_its_actions_written(firefly, tmp_path, workers):
    accounts = list(portfolio(240, seed=7, today=TODAY))
    source = write_jsonl(tmp_path / "portfolio.jsonl", accounts)
    result = firefly.periodic_review.run(ReviewRequest(source, tmp_path / "out", workers=workers, chunk_rows=50))
    summary = result.summary
    rows = stored_reviews(firefly)
    assert summary["rows"] == summary["stored"] == len(rows) == 240 and summary["invalid"] == 0
    by_action = {}
    for row in rows:
        by_action[row.outcome] = by_action.get(row.outcome, 0) + 1
    assert {k: v for k, v in summary["actions"].items() if v} == by_action
    assert set(by_action) <= {"NONE", "WATCH", "REDUCE", "FREEZE", "CALL"} and len(by_action) >= 3
    with open(tmp_path / "out" / "actions.csv", encoding="utf-8") as handle:
        actions = list(csv.DictReader(handle))
    stored = {row.id: row for row in rows}
    assert len(actions) == 240 - by_action.get("NONE", 0)
    reduced = 0
    for action in actions:
        row = stored[action["decision_id"]]       # every action has its stored decision
        account = accounts[int(action["row"]) - 1]["account"]
        assert action["line_id"] == account["line_id"] and action["action"] == row.outcome != "NONE"
        assert action["reasons"].split() == row.reason_codes and row.reason_codes   # a reason always
        if row.outcome == "REDUCE":
            assert 0 <= int(action["new_limit"]) <= account["limit"]   # never raised
            reduced += account["limit"] - int(action["new_limit"])
        else:
            assert action["new_limit"] == ""
    assert summary["limit_reduced"]["total"] == reduced and summary["limit_reduced"]["accounts"] == by_action.get("REDUCE", 0)
    assert sum(sum(group.values()) for group in summary["by_customer_group"].values()) == 240
    assert json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8")) == summary
    # line ids are personal data: the rows hold their keyed hash, never the id
    assert all(row.line_hash and accounts[0]["account"]["line_id"] not in json.dumps(row.input_masked) for row in rows)


def test_invalid_rows_are_reported_and_not_stored(firefly, tmp_path):
    accounts = list(portfolio(5, seed=3, today=TODAY))
    accounts[2]["account"]["limit"] = -5
    source = write_jsonl(tmp_path / "p.jsonl", accounts)
    with open(source, "a", encoding="utf-8") as handle:
        handle.write("not json\n")
    summary = firefly.periodic_review.run(ReviewRequest(source, tmp_path / "out")).summary
    assert (summary["rows"], summary["stored"], summary["invalid"]) == (6, 4, 2)
    assert [item["row"] for item in summary["invalid_rows"]] == [3, 6]
    assert "account.limit" in summary["invalid_rows"][0]["errors"]
    assert len(stored_reviews(firefly)) == 4


def test_an_unreadable_file_is_invalid_input(firefly, tmp_path):
    path = tmp_path / "portfolio.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInput):
        firefly.periodic_review.run(ReviewRequest(path, tmp_path / "out"))
    with firefly.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
