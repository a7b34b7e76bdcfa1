"""The cost of the shared-state anti-fraud values on the decision path, measured in one run
(docs/performance.md, "Anti-fraud shared state"):

- without: deciding and storing applications with no shared values computed (the use case built
  without its velocity part: the engine gets none, the reference policy REFERs, the cost of
  everything else is the same),
- in-process: the counters, links and last-seen facts in this process (the embedded default),
- redis: the same in Redis (one script per decision, one write after a stored decision), plus
  the list look-up in the database on every side that computes,
- redis, rotating: the same in the month after a key rotation (an old key configured: every fact
  written and read under both keys; docs/anti_fraud.md, "Rotating the key").

Interleaved rounds of each side, on one database, so that other load falls on all alike; the table
gives the median and p90 latency per decision and the ratio to `without`.

    python bench/velocity.py [--decisions 300] [--rounds 4] [--redis-url redis://127.0.0.1:6379/9]

Runs on a temporary SQLite file. With --redis-url (or REDIS_URL) the redis side runs; its keys
(firefly:shared:*) are removed afterwards, nothing else is touched.
"""
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO), str(REPO / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402

POLICY = "zhishandai.application"

from bench.controls import decide_all  # noqa: E402  the same timed loop through the use case


def build(url, redis_url, **overrides):
    from app.services import build as build_services
    from support.settings import make_settings
    return build_services(make_settings(url, redis_url, **overrides))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=300, help="per side and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    args = parser.parse_args()

    from app.storage.migrate import upgrade
    from support.applicants import generate
    url = f"sqlite:///{tempfile.mkdtemp(prefix='firefly-velocity-')}/bench.db"
    upgrade(url)
    bodies = generate(args.decisions * args.rounds, seed=12)
    sides = {"without": build(url, None), "in-process": build(url, None)}
    sides["without"].deciding.velocity = None
    if args.redis_url:
        sides["redis"] = build(url, args.redis_url)
        sides["redis, rotating"] = build(url, args.redis_url,
                                         FIREFLY_HMAC_OLD_KEYS="an-old-key-of-a-rotation-for-the-bench")
    for services in sides.values():  # warm: policies compiled, connections open
        decide_all(services, bodies[:20], "warm")
    times = {name: [] for name in sides}
    for round_ in range(args.rounds):
        chunk = bodies[round_ * args.decisions:(round_ + 1) * args.decisions]
        for name, services in sides.items():
            times[name] += decide_all(services, chunk, f"{name}-{round_}")
    base = statistics.median(times["without"])
    print(f"{args.decisions * args.rounds} decisions per side in {args.rounds} interleaved rounds, SQLite, "
          f"reference policy ({sum(1 for _ in sides['in-process'].registry.current().policies[POLICY].parts.shared)} shared values)")
    print(f"{'side':<16} {'median ms':>10} {'p90 ms':>8} {'median / without':>17}")
    for name, values in times.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        print(f"{name:<16} {median * 1000:>10.2f} {ordered[int(len(ordered) * 0.9)] * 1000:>8.2f} "
              f"{median / base:>17.2f}")
    if "redis" in sides:
        client = sides["redis"].state.client
        keys = list(client.scan_iter("firefly:shared:*", count=1000))
        if keys:
            client.delete(*keys)
    for services in sides.values():
        services.close()


if __name__ == "__main__":
    main()
