"""Soak the durable_rules backend: many decisions on the reference policy, memory watched.

    .venv/bin/python bench/durable_soak.py                 # 500,000 decisions
    .venv/bin/python bench/durable_soak.py -n 20000 --json

Decides generated applications (tests/support/applicants.py, cycled) on the durable backend and reports
resident memory (RSS) at the start (after warm-up), at checkpoints and at the end, the decisions
per second, the outcome mix, and the durable matchers' own counters: sessions it could not delete
(must be 0) and hosts it had to rebuild (must be 1 per rule-set stage). Every 100th decision is
also made on the compiled backend and must agree. Exits non-zero if anything is wrong.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, bench/ is first on sys.path; keep it off so that no file there can ever shadow
# a standard library module the app needs. The applicants come from the tests' one generator.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from app.engine import load_policy_root  # noqa: E402
from support.applicants import generate  # noqa: E402


def rss_mib() -> float:
    """Current resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--decisions", type=int, default=500_000)
    parser.add_argument("--pool", type=int, default=5_000, help="distinct generated inputs")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    loaded = load_policy_root(REPO)
    if not loaded.ok:
        print("\n".join(str(d) for d in loaded.diagnostics), file=sys.stderr)
        return 2
    policy = loaded.policies["zhishandai.application"]
    pool = [policy.parse_input(raw) for raw in generate(args.pool, args.seed)]

    for typed in pool[:1000]:                      # warm-up: matchers built, caches filled
        policy.decide(typed, backend="durable")
    start_rss = rss_mib()
    if not args.json:
        print(f"durable soak on {policy.name} {policy.version}: {args.decisions:,} decisions over "
              f"{len(pool):,} generated inputs; RSS at start {start_rss:.1f} MiB", flush=True)
    checkpoints = []
    outcomes: Counter = Counter()
    disagreements = 0
    step = max(1, args.decisions // 10)
    started = time.perf_counter()
    for i in range(args.decisions):
        typed = pool[i % len(pool)]
        decision = policy.decide(typed, backend="durable")
        outcomes[decision.outcome] += 1
        if i % 100 == 0:
            compiled = policy.decide(typed, backend="compiled")
            if (compiled.outcome, compiled.limit, compiled.trace.matched()) != \
                    (decision.outcome, decision.limit, decision.trace.matched()):
                disagreements += 1
        if (i + 1) % step == 0:
            checkpoints.append((i + 1, round(rss_mib(), 1)))
            if not args.json:
                print(f"  {i + 1:>9,} decisions  RSS {checkpoints[-1][1]:8.1f} MiB", flush=True)
    elapsed = time.perf_counter() - started
    end_rss = rss_mib()
    matchers = policy._durable_matchers()
    abandoned = sum(m.abandoned_sessions for m in matchers.values())
    rebuilt = sum(m.hosts_built - 1 for m in matchers.values())
    result = {
        "decisions": args.decisions, "distinct_inputs": len(pool),
        "seconds": round(elapsed, 1), "decisions_per_second": round(args.decisions / elapsed),
        "us_per_decision": round(elapsed / args.decisions * 1e6, 1),
        "rss_start_mib": round(start_rss, 1), "rss_end_mib": round(end_rss, 1),
        "rss_growth_mib": round(end_rss - start_rss, 1), "checkpoints": checkpoints,
        "outcomes": dict(outcomes), "sampled_disagreements": disagreements,
        "abandoned_sessions": abandoned, "hosts_rebuilt": rebuilt,
    }
    # Memory must level off: the last half of the run may not grow more than a few MiB.
    half = checkpoints[len(checkpoints) // 2 - 1][1] if len(checkpoints) >= 2 else start_rss
    late_growth = end_rss - half
    result["rss_growth_second_half_mib"] = round(late_growth, 1)
    ok = disagreements == 0 and abandoned == 0 and rebuilt == 0 and late_growth < 16
    result["ok"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"durable soak: {args.decisions:,} decisions in {elapsed:.0f} s "
              f"({result['us_per_decision']} µs each)")
        print(f"RSS start {start_rss:.1f} MiB, end {end_rss:.1f} MiB "
              f"(growth {end_rss - start_rss:+.1f} MiB, second half {late_growth:+.1f} MiB)")
        print(f"outcomes {dict(outcomes)}; sampled disagreements with compiled: {disagreements}; "
              f"abandoned sessions: {abandoned}; hosts rebuilt: {rebuilt}")
        print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
