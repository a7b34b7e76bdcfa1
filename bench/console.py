"""Benchmark: what a console page costs against the API read of the same decision.

    python bench/console.py [--rounds 30] [--pdf-rounds 3]

Builds the app on a fresh SQLite file (migrated), decides the examples through the API, signs a
compliance account in, then times each request through Flask's test client (no network) and prints
the median per request and its ratio to the baseline measured in the same run: `GET
/v1/decisions/<id>` with a compliance key (the same use case, rendered as JSON). Every request is
checked to answer 200 (303 for the sign-in) before it is timed.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from app import create_app  # noqa: E402
from app.extensions import services  # noqa: E402
from app.services.clock import business_date, utc_now  # noqa: E402
from app.storage.migrate import upgrade  # noqa: E402
from support.applicants import as_of, examples  # noqa: E402
from support.keys import KEYS  # noqa: E402
from support.settings import make_config  # noqa: E402

PASSWORD = "correct horse battery"


def timed(call, rounds: int, expect: int) -> float:
    """The median milliseconds of `rounds` calls, each answering `expect`."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == expect, (answer.status_code, answer.get_data(as_text=True)[:300])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pdf-rounds", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = f"sqlite:///{os.path.join(folder, 'bench.db')}"
    upgrade(url)
    app = create_app(make_config(url, None))
    client = app.test_client()
    today = business_date(utc_now())
    decided = {name: client.post("/v1/decisions/zhishandai.application", json=as_of(body, today),
                                 headers={"X-API-Key": KEYS["channel"]}).get_json()
               for name, body in examples().items()}
    decision_id = decided["decline_overdue_pattern"]["decision_id"]
    services(app).accounts.create("bench", "compliance", PASSWORD)

    def sign_in():
        page = client.get("/console/sign-in").get_data(as_text=True)
        token = re.search(r'name="account-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return client.post("/console/sign-in", data={"account-csrf_token": token, "account-username": "bench",
                                                     "account-password": PASSWORD})

    rows = [("API: GET /v1/decisions/<id> (baseline)",
             timed(lambda: client.get(f"/v1/decisions/{decision_id}", headers={"X-API-Key": KEYS["compliance"]}),
                   args.rounds, 200))]
    rows.append(("sign-in (page + scrypt check + session)", timed(sign_in, max(3, args.rounds // 5), 303)))
    for label, path in (("console: one decision explained", f"/console/decisions/{decision_id}"),
                        ("console: printable view", f"/console/decisions/{decision_id}/print"),
                        ("console: search, declines", "/console/decisions?outcome=DECLINE"),
                        ("console: policies", "/console/policies")):
        rows.append((label, timed(lambda path=path: client.get(path), args.rounds, 200)))
    rows.append(("console: PDF export (WeasyPrint)",
                 timed(lambda: client.get(f"/console/decisions/{decision_id}/pdf"), args.pdf_rounds, 200)))
    baseline = rows[0][1]
    print(f"{'request':<45} {'median ms':>10} {'x baseline':>11}")
    for label, ms in rows:
        print(f"{label:<45} {ms:>10.1f} {ms / baseline:>11.1f}")
    services(app).close()


if __name__ == "__main__":
    main()
