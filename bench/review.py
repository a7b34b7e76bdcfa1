"""Benchmark: `flask review run` on a generated portfolio, against the engine alone, in the same run.

    python bench/review.py [--accounts 100000] [--seed 15] [--workers 1 2] [--json]

The portfolio is the tests' generator (tests/support/portfolio.py), written as JSON Lines. The
baseline is the review policy deciding every account in this process, nothing stored (parse and
decide only); each review run then reads the file, decides (in this process or in worker
processes), hashes and seals the personal data, stores every decision in a fresh SQLite database
(the chained log included) and writes the actions file and the summary. Figures are accounts per
second over wall time, and each run's ratio to the baseline. Every run must store every account
and agree with the baseline on every action.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from app.engine import load_policy_root  # noqa: E402
from app.services.clock import business_date, utc_now  # noqa: E402
from support.portfolio import portfolio, write_jsonl  # noqa: E402

POLICY = "zhishandai.review"


def baseline(path: Path, today: datetime.date) -> tuple[float, Counter]:
    policy = load_policy_root(ROOT).policies[POLICY]
    started = time.perf_counter()
    actions: Counter = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            body = {**json.loads(line), "decision_date": today.isoformat()}
            actions[policy.decide(policy.parse_input(body)).outcome] += 1
    return time.perf_counter() - started, actions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    today = business_date(utc_now())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_jsonl(folder / "portfolio.jsonl", portfolio(args.accounts, seed=args.seed, today=today))
        base_seconds, base_actions = baseline(path, today)
        rows = [("engine alone (parse + decide, nothing stored)", 1, base_seconds, 1.0)]
        for workers in args.workers:
            seconds, summary = _run(path, workers, folder)
            assert summary["stored"] == args.accounts, summary
            assert {k: v for k, v in summary["actions"].items() if v} == dict(base_actions), (summary["actions"], base_actions)
            rows.append((f"flask review run (stored, actions written), {workers} worker(s)", workers, seconds,
                         base_seconds / seconds))
    result = {"accounts": args.accounts, "seed": args.seed, "actions": dict(base_actions),
              "runs": [{"run": name, "workers": w, "seconds": round(s, 2), "accounts_per_s": round(args.accounts / s),
                        "vs_baseline": round(r, 3)} for name, w, s, r in rows]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.accounts} accounts (seed {args.seed}), actions: {dict(base_actions)}")
    print(f"{'run':<62} {'seconds':>9} {'accounts/s':>11} {'x baseline':>11}")
    for item in result["runs"]:
        print(f"{item['run']:<62} {item['seconds']:>9.2f} {item['accounts_per_s']:>11} {item['vs_baseline']:>11.3f}")


def _run(path: Path, workers: int, folder: Path) -> tuple[float, dict]:
    """One `flask review run` through the service, on a fresh migrated SQLite database."""
    import subprocess
    database = folder / f"review-{workers}.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "FIREFLY_LOG_LEVEL": "error"}
    env.pop("REDIS_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    out = folder / f"out-{workers}"
    started = time.perf_counter()
    subprocess.run(flask + ["review", "run", "--input", str(path), "--out", str(out), "--workers", str(workers)],
                   cwd=ROOT, env={**env, "TQDM_DISABLE": "1"}, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    return seconds, json.loads((out / "summary.json").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
