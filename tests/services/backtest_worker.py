"""A service process that starts a backtest job and then hangs in it, for a test to kill (-9).

Run as `python tests/services/backtest_worker.py DATABASE_URL REDIS_URL|- POLICY HASH`: it prints the
job's id once the job is recorded, beats every 0.2 s, and never finishes the job's rows (the rows
are the only thing replaced here: the job, its thread, its heartbeat and the database are real)."""
import datetime
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent.parent), str(Path(__file__).resolve().parent.parent)]

from app.services import backtest, batch, build  # noqa: E402
from support.settings import make_settings  # noqa: E402


def hang(*_args, **_kwargs):
    while True:
        time.sleep(60)


def main() -> None:
    database_url, redis_url, policy, candidate_hash = sys.argv[1:5]
    batch.run = hang  # the rows of this job never finish: only a kill ends it
    services = build(make_settings(database_url, None if redis_url == "-" else redis_url))
    services.backtesting.heartbeat = datetime.timedelta(seconds=0.2)
    job = services.backtesting.start(backtest.BacktestRequest(policy, backtest.Candidate(hash=candidate_hash)),
                                     "chen.jie")
    print(job["backtest_id"], flush=True)
    hang()


if __name__ == "__main__":
    main()
