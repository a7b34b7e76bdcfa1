"""Benchmark by instruction counts: each step of the decision path run under valgrind's callgrind,
which counts the instructions executed, a figure that does not move with the load other work puts
on the machine (timings on a shared machine do).

    python bench/instructions.py [--n 300] [--json]

For every side, two runs in fresh processes: one that loads the policy and prepares the sample
but runs nothing (`--n 0`), one that also runs the side on n applicants; the difference over n is
the side's instructions per applicant. Sides as in bench/engine.py: the hand-written twin, the
engine (tracing on), the engine with decision and trace rendered the old way (canonical_json of
the dicts) and the generated way at each level, and the service's path from the request's JSON
value (parse + decide + full JSON). Needs valgrind (apt-get install valgrind); slow (about a
minute per run).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("hand", "engine", "+json dicts", "+json full", "+json hits", "+json none", "parse+decide+json")


def run_side(side: str, n: int) -> None:
    """In this process: prepare the sample, then run `side` on the first n applicants."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]
    import engine as bench_engine  # bench/engine.py: the same sides
    import hand
    from app.engine import canonical_json, load_policy_root
    from app.engine.render import FULL, HITS, NONE
    from support import applicants
    policy = load_policy_root(ROOT).policies[bench_engine.POLICY]
    raws = applicants.generate(max(n, 1), 7)
    typed = [policy.parse_input(raw) for raw in raws]
    for t in typed[:3]:  # warm: the renderers are generated on first use, in both runs
        decision = policy.decide(t)
        canonical_json(decision.trace.to_dict())
        decision.trace.to_json(FULL), decision.trace.to_json(HITS), decision.to_json()
        hand.decide(t)
    sides = {
        "hand": lambda raw, t: hand.decide(t),
        "engine": lambda raw, t: policy.decide(t),
        "+json dicts": lambda raw, t: bench_engine._with_dicts(policy.decide(t)),
        "+json full": lambda raw, t: bench_engine._with_json(policy.decide(t), FULL),
        "+json hits": lambda raw, t: bench_engine._with_json(policy.decide(t), HITS),
        "+json none": lambda raw, t: bench_engine._with_json(policy.decide(t), NONE),
        "parse+decide+json": lambda raw, t: bench_engine._with_json(policy.decide(policy.parse_input(raw)), FULL),
    }
    call = sides[side]
    for raw, t in list(zip(raws, typed))[:n]:
        call(raw, t)


def instructions(side: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--run", side, "--n", str(n)],
                       check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        summary = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
        return int(summary.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--run", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--sides", default=",".join(SIDES), help="comma-separated sides to count")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.run:
        run_side(args.run, args.n)
        return
    counts = {}
    for side in args.sides.split(","):
        counts[side] = (instructions(side, args.n) - instructions(side, 0)) / args.n
    hand_count = counts.get("hand")
    if args.json:
        print(json.dumps({"n": args.n, "instructions_per_applicant": counts}))
        return
    print(f"{args.n} applicants (seed 7); instructions per applicant, callgrind")
    print(f"{'side':<19}{'instructions':>14}{'x hand':>9}")
    for side, count in counts.items():
        ratio = f"{count / hand_count:>9.2f}" if hand_count else ""
        print(f"{side:<19}{count:>14,.0f}{ratio}")


if __name__ == "__main__":
    main()
