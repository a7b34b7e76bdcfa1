"""The service's CPU per request, in one process: decisions against the floor, with no HTTP server
and no load generator sharing the cores (docs/performance.md, "A worker's profile and three cuts").

    python bench/http_cpu.py [--requests 150] [--rounds 3] [--redis-url redis://127.0.0.1:6379/9]
                             [--database-name firefly_<you>_cpu] [--profile out.pstats]
                             [--account] [--parts]

The app is built as gunicorn builds it (`create_app()` from the environment: the floor endpoint on,
one API key), on a PostgreSQL database this run recreates and, with --redis-url, the anti-fraud
counters in Redis (its firefly:* keys are removed first and afterwards). Flask's test client posts
the generated applications of bench/http_load.py: per round, --requests decisions then --requests
floor requests, each timed by time.process_time (this process's CPU: not PostgreSQL's nor Redis's).
Prints each round's CPU milliseconds per request and the medians; the app's own log lines (one
per request, as under gunicorn) go to stderr. --profile writes a cProfile of the decision
requests (timed by CPU), to read with `python -m pstats`. --account says how much of a decision
request's CPU each part took inside the requests; --parts measures each part a decision does that
the floor does not alone, in a loop over the same applications (docs/performance.md, "Why 0.8 of
the floor is out of reach").
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
    parser.add_argument("--account", action="store_true",
                        help="also say how much of a decision request's CPU each part took inside the requests")
    parser.add_argument("--parts", action="store_true",
                        help="also measure alone each part a decision does that the floor does not")
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
    accounts = Accounting() if args.account else None
    decided, floored = [], []
    try:
        for number in range(args.rounds):
            start = 100 + number * args.requests
            if profile:
                profile.enable()
            if accounts:
                accounts.start()
            decided.append(run(decisions, args.requests, start))
            if accounts:
                accounts.stop()
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
    if accounts:
        accounts.print(args.rounds * args.requests, statistics.median(decided))
    if args.parts:
        print_parts(decision_parts(app, payloads, rounds=args.rounds))


class Accounting:
    """The CPU each part took inside the decision requests: the functions that do the parts are
    wrapped, while the decisions run, by a timer that adds their time.process_time to the part's
    account (a few microseconds per call of overhead; the parts do not nest in one another)."""

    def __init__(self):
        from app import privacy
        from app.engine.decision import Decision, Trace
        from app.engine.policy import Policy
        from app.services import deciding, records
        from app.services.velocity import Velocity
        from app.storage import decisions
        self.targets = [  # (owner, attribute, part)
            (Policy, "parse_input", "validation"), (Policy, "decide", "decision"),
            (Trace, "to_json", "rendering"), (Decision, "to_json", "rendering"),
            (Velocity, "lookup", "velocity"), (Velocity, "remember", "velocity"),
            (records, "to_row", "row controls (and the record)"),
            (privacy, "scrub_json", "masking"), (privacy, "free_text", "masking"),
            (privacy, "masked_copy", "masking"), (privacy, "extract", "masking"),
            (privacy.PersonalData, "request_hash", "request fingerprint"),
            (decisions, "insert", "INSERT and COMMIT (the floor has its own)"),
            (deciding.Deciding, "decide", "use case in all")]
        self.spent = dict.fromkeys([part for _, _, part in self.targets], 0.0)
        self.originals = [(owner, name, getattr(owner, name)) for owner, name, _ in self.targets]

    def start(self):
        for (owner, name, part), (_, _, original) in zip(self.targets, self.originals):
            setattr(owner, name, self._timed(original, part))

    def stop(self):
        for owner, name, original in self.originals:
            setattr(owner, name, original)

    def _timed(self, original, part):
        spent = self.spent

        def timed(*args, **kwargs):
            began = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] += time.process_time() - began
        return timed

    def print(self, requests, per_request):
        print(f"CPU ms per decision inside the requests, by part (of {per_request:.2f} ms a request)")
        whole = self.spent["use case in all"]
        for part, seconds in self.spent.items():
            if part != "use case in all":
                print(f"  {part:<44} {1000 * seconds / requests:>6.3f}")
        named = sum(seconds for part, seconds in self.spent.items() if part != "use case in all")
        other = "the use case's other work"
        print(f"  {other:<44} {1000 * (whole - named) / requests:>6.3f}")
        print(f"  {'outside the use case (Flask, body, answer)':<44} {per_request - 1000 * whole / requests:>6.3f}")


def print_parts(measured, budget=None):
    """The parts' table: each part's median over the rounds, and their sum; with `budget` (the
    CPU a decision may cost the machine beyond a floor request for the ratio 0.8), the comparison."""
    print("CPU ms per decision of each part the floor does not do, measured alone (medians of the rounds)")
    medians = {part: statistics.median(values) for part, values in measured.items()}
    for part, value in medians.items():
        print(f"  {part:<26} {value:>6.3f}   " + " ".join(f"{x:.3f}" for x in measured[part]))
    total = sum(medians.values())
    print(f"  {'sum':<26} {total:>6.3f}")
    if budget is not None:
        print(f"  for 0.8 a decision may cost the machine {budget:.3f} ms more than a floor request "
              f"(a quarter of the floor's total): the parts alone need {total / budget:.2f} times that")
    return medians


# What a decision must do that the floor does not, each required by an issue: the body validated
# against the policy's schema and the engine's decision with its trace (11), the full trace rendered
# to canonical JSON for the stored row (11), the velocity step counting the application in Redis (12),
# the personal data hashed and sealed and the row's content hash and MAC (privacy, integrity).
PARTS = ("validation", "decision", "rendering", "velocity (service)", "velocity (Redis server)",
         "row controls")


def decision_parts(app, payloads, count=300, rounds=3):
    """CPU milliseconds per decision of each part above, measured alone, one part after the other on
    the same `count` applications (this process's CPU; Redis's own from INFO): {part: [per round]}.
    In a worker the same work also contends for the GIL with the worker's other threads, so these
    are lower bounds of what the parts cost there."""
    import datetime
    import redis as redis_client
    from app.extensions import services
    from app.services import records
    from app.services.clock import business_date

    wired = services(app)
    policy = wired.registry.served(POLICY)
    velocity, personal = wired.deciding.velocity, wired.personal
    redis_url = os.environ.get("REDIS_URL")
    server = redis_client.Redis.from_url(redis_url) if redis_url else None
    bodies = [json.loads(payload) for payload in payloads[:count]]
    measured = {part: [] for part in PARTS}

    def redis_cpu():
        info = server.info("cpu")
        return info["used_cpu_user"] + info["used_cpu_sys"]

    def timed(part, work, items):
        began, redis_began = time.process_time(), redis_cpu() if server else 0.0
        out = [work(item) for item in items]
        measured[part].append(1000 * (time.process_time() - began) / len(items))
        if part == "velocity (service)":
            measured["velocity (Redis server)"].append(
                1000 * (redis_cpu() - redis_began) / len(items) if server else 0.0)
        return out

    for number in range(rounds):
        now = datetime.datetime.now(datetime.timezone.utc)
        day = business_date(now)
        inputs = [records.with_decision_date(policy, body, day, now) for body in bodies]
        typed = timed("validation", policy.parse_input, inputs)
        events = [f"parts-{number}-{i}-{now.timestamp()}" for i in range(len(typed))]
        shared = timed("velocity (service)", lambda pair: velocity.lookup(policy, pair[0], pair[1], now),
                       list(zip(typed, events)))
        decided = timed("decision", lambda pair: policy.decide(pair[0], shared=pair[1].values,
                                                                   sources=pair[1].sources),
                        list(zip(typed, shared)))
        timed("rendering", lambda d: (d.to_json(), d.trace.to_json()), decided)
        made = [records.make(policy, body, day, now, given) for body, given in zip(bodies, shared)]
        timed("row controls", lambda m: _row_controls(personal, m), made)
    if server:
        server.close()
    return measured


def _row_controls(personal, made):
    """The row's controls alone: keyed search hashes and sealing of the personal values, the sealed
    text's digest, the content hash of what the row stores and its MAC."""
    from app.storage import chain
    personal.search_hashes(made.clear, made.kinds)
    sealed = personal.seal(made.clear) if made.clear else None
    if sealed:
        chain.sha256(sealed)
    content = chain.sha256(made.result_text + made.trace_text + chain.dumps(made.input_masked))
    personal.mac(chain.mac_text("decisions", "d", content))


if __name__ == "__main__":
    main()
