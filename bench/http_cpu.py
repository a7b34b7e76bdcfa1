"""The service's CPU per request, in one process: decisions against the floor, with no HTTP server
and no load generator sharing the cores (docs/performance.md, "A worker's profile and three cuts").

    python bench/http_cpu.py [--requests 150] [--rounds 3] [--redis-url redis://127.0.0.1:6379/9]
                             [--database-name firefly_<you>_cpu] [--profile out.pstats]

The app is built as gunicorn builds it (`create_app()` from the environment: the floor endpoint on,
one API key), on a PostgreSQL database this run recreates and, with --redis-url, the anti-fraud
counters in Redis (its firefly:* keys are removed first and afterwards). Flask's test client posts
the generated applications of bench/http_load.py: per round, --requests decisions then --requests
floor requests, each timed by time.process_time (this process's CPU: not PostgreSQL's nor Redis's).
Prints each round's CPU milliseconds per request and the medians; the app's own log lines (one
per request, as under gunicorn) go to stderr. --profile writes a cProfile of the decision
requests (timed by CPU), to read with `python -m pstats`.
"""
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO), str(REPO / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import importlib.util  # noqa: E402
from support.shared_state import clean_redis  # noqa: E402

# bench/ itself stays off sys.path (its engine.py would shadow the tests' engine package)
_spec = importlib.util.spec_from_file_location("http_load", BENCH / "http_load.py")
http_load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(http_load)
KEY, POLICY, SERVER_URL = http_load.KEY, http_load.POLICY, http_load.SERVER_URL
decision_row_bytes, recreate_database = http_load.decision_row_bytes, http_load.recreate_database


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150, help="requests per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--applicants", type=int, default=2000)
    parser.add_argument("--server-url", default=SERVER_URL, help="PostgreSQL server (any database)")
    parser.add_argument("--database-name", default="firefly_cpu", help="the database the run recreates")
    parser.add_argument("--redis-url", default=None, help="the anti-fraud counters in Redis (else in process)")
    parser.add_argument("--profile", default=None, help="write a cProfile (CPU time) of the decisions here")
    args = parser.parse_args()

    from app.storage.migrate import upgrade
    from support.applicants import generate
    bodies = generate(args.applicants, seed=42)
    payloads = [json.dumps(body, ensure_ascii=False).encode("utf-8") for body in bodies]
    url = recreate_database(args.server_url, args.database_name)
    upgrade(url)
    if args.redis_url:
        clean_redis(args.redis_url)
    os.environ.pop("REDIS_URL", None)
    os.environ.update({"DATABASE_URL": url, "FIREFLY_API_KEYS": f"bench:channel:{KEY}",
                       "FIREFLY_FLOOR_ENDPOINT": "1", "FIREFLY_FLOOR_PAD_BYTES": str(decision_row_bytes(bodies)),
                       "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="firefly-cpu-")})
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    from app import create_app
    app = create_app()
    client = app.test_client()
    headers = {"Content-Type": "application/json", "X-API-Key": KEY}

    def run(path, count, start):
        began = time.process_time()
        for i in range(count):
            answer = client.post(path, data=payloads[(start + i) % len(payloads)], headers=headers)
            assert answer.status_code == 201, (answer.status_code, answer.data[:300])
        return 1000 * (time.process_time() - began) / count

    decisions, floor = f"/v1/decisions/{POLICY}", f"/bench/floor/{POLICY}"
    run(decisions, 50, 0)  # warm-up: connections, the policy's generated code, the lists' copy
    run(floor, 50, 0)
    profile = cProfile.Profile(time.process_time) if args.profile else None
    decided, floored = [], []
    try:
        for number in range(args.rounds):
            start = 100 + number * args.requests
            if profile:
                profile.enable()
            decided.append(run(decisions, args.requests, start))
            if profile:
                profile.disable()
            floored.append(run(floor, args.requests, start))
    finally:
        if args.redis_url:
            clean_redis(args.redis_url)
    print(f"CPU ms per request of this process, {args.requests} requests per endpoint and round, "
          f"anti-fraud counters {'redis' if args.redis_url else 'in-process'}")
    print("decisions  " + " ".join(f"{x:.2f}" for x in decided) + f"   median {statistics.median(decided):.2f}")
    print("floor      " + " ".join(f"{x:.2f}" for x in floored) + f"   median {statistics.median(floored):.2f}")
    print(f"floor / decisions: {statistics.median(floored) / statistics.median(decided):.2f}")
    if profile:
        profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()
