"""Print an example application re-dated for today, for trying the running service:

    python3 examples/today.py examples/approve_salaried.json | curl ... --data @-

The service decides on today's date, and the reference policy refers a bureau report older than
30 days (BUREAU_REPORT_STALE): the examples, written on their decision_date, would go stale.
Re-dated, the decision is today's and the bureau report keeps its age (a report pulled 3 days
before the example's date is 3 days old today), its accounts, inquiries and public records too. Standard library only.
"""
from __future__ import annotations

import datetime
import json
import sys


def as_of(body: dict, day: datetime.date) -> dict:
    """A copy of a request body decided on `day`, its bureau report as old as it was."""
    shift = day - datetime.date.fromisoformat(body["decision_date"])
    copy = json.loads(json.dumps(body))
    bureau = copy.get("bureau") or {}
    if bureau.get("report_date"):
        bureau["report_date"] = (datetime.date.fromisoformat(bureau["report_date"]) + shift).isoformat()
    # the report's own dates move with it, so that its accounts and inquiries keep their ages
    for key, field in (("accounts", "opened"), ("inquiries", "date"), ("public_records", "date")):
        for item in bureau.get(key) or []:
            if item.get(field):
                item[field] = (datetime.date.fromisoformat(item[field]) + shift).isoformat()
    copy["decision_date"] = day.isoformat()
    return copy


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 examples/today.py EXAMPLE.json")
    with open(sys.argv[1], encoding="utf-8") as handle:
        example = json.load(handle)
    print(json.dumps(as_of(example, datetime.date.today()), ensure_ascii=False))
