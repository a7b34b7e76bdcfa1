"""The small-policy comparison: Firefly against the same policy hand-written, in zen-engine and in
durable_rules (issue 11).

    python bench/mini/run.py [--n 3000] [--seed 7] [--rounds 3] [--block 50] [--json]

First every implementation decides every generated applicant and must give the hand-written
function's outcome, limit and ordered reasons (else it stops, naming the applicant), and
Firefly's generated JSON must be canonical_json(to_dict()) byte for byte. Then each round times
every applicant once on every side, interleaved so that all sides see the same machine state
(the sides take turns by blocks of applicants, in an order that rotates: see measure; `--block 1`
interleaves applicant by applicant, as bench/engine.py does); the figures are the median and the
99th percentile over all timings.

Sides (all start from the application's JSON value unless said):
  hand                 bench/mini/hand.py (the baseline)
  engine               Policy.decide on the typed input, trace recorded
  parse marshmallow    the marshmallow schema alone (validation.parse_input)
  parse fast           Policy.parse_input (the fast path; marshmallow only for what it refuses)
  +json full|hits|none engine, then the decision's JSON and the trace's at that level (none: the
                       decision's JSON only)
  parse+decide+json    Policy.parse_input, decide, decision JSON and full trace JSON: the service's path
  zen                  zen-engine's ZenDecision.evaluate on the graph, loaded once
  durable_rules        bench/mini/durable_twin.py: one assert in a fresh session, rules matched by
                       durable_rules, outcome assembled in Python
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import applicants  # noqa: E402
import durable_twin  # noqa: E402
import hand  # noqa: E402
import zen_twin  # noqa: E402

from app.engine import canonical_json, load_policy_root  # noqa: E402
from app.engine.render import FULL, HITS, NONE  # noqa: E402
from app.engine.validation import parse_input  # noqa: E402

POLICY = "mini.application"


def load_policy():
    loaded = load_policy_root(HERE)
    if not loaded.ok:
        sys.exit("\n".join(str(d) for d in loaded.errors))
    return loaded.policies[POLICY]


def firefly_decide(policy, raw: dict) -> dict:
    """Firefly's outcome, limit and reason codes on one application."""
    headline = policy.decide(policy.parse_input(raw)).headline()
    return {"outcome": headline["outcome"], "limit": headline["limit"],
            "reasons": headline["reasons"]}


def check_agreement(policy, zen, durable, raws) -> dict[str, int]:
    """The four implementations agree on every applicant (else exit); outcome counts."""
    outcomes: dict[str, int] = {}
    for index, raw in enumerate(raws):
        expected = hand.decide(raw)
        for name, got in (("firefly", firefly_decide(policy, raw)), ("zen", zen.decide(raw)),
                          ("durable_rules", durable.decide(raw))):
            if got != expected:
                sys.exit(f"disagreement on applicant {index} ({name}):\n  {name} {got}\n"
                         f"  hand {expected}\n  input {json.dumps(raw)}")
        outcomes[expected["outcome"]] = outcomes.get(expected["outcome"], 0) + 1
    return outcomes


def check_rendering(policy, raws) -> None:
    for index, raw in enumerate(raws):
        decision = policy.decide(policy.parse_input(raw))
        if decision.to_json() != canonical_json(decision.to_dict()) or \
                decision.trace.to_json() != canonical_json(decision.trace.to_dict()):
            sys.exit(f"rendering differs from canonical_json(to_dict()) on applicant {index}")


def sides(policy, zen, durable) -> dict:
    schema = policy.request_schema()
    decide, parse = policy.decide, policy.parse_input

    def with_json(raw_typed, level):
        decision = decide(raw_typed[1])
        decision.to_json()
        if level != NONE:
            decision.trace.to_json(level)

    def service_path(raw_typed):
        decision = decide(parse(raw_typed[0]))
        decision.to_json()
        decision.trace.to_json(FULL)

    evaluate = zen.decision.evaluate
    return {
        "hand": lambda t: hand.decide(t[0]),
        "engine": lambda t: decide(t[1]),
        "parse marshmallow": lambda t: parse_input(t[0], schema),
        "parse fast": lambda t: parse(t[0]),
        "+json full": lambda t: with_json(t, FULL),
        "+json hits": lambda t: with_json(t, HITS),
        "+json none": lambda t: with_json(t, NONE),
        "parse+decide+json": service_path,
        "zen": lambda t: evaluate(t[0]),
        "durable_rules": lambda t: durable.decide(t[0]),
    }


def measure(calls: dict, inputs: list, rounds: int, block: int) -> dict[str, list[float]]:
    """Microseconds per call for each side, every input every round. The sides take turns block
    by block (`block` applicants each), in an order that rotates from block to block: so every
    side sees the same stretch of machine state, and none always runs right after the one that
    last filled the CPU caches (zen-engine's and durable_rules' native code, or the others)."""
    timings: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls.items())
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()  # collections land on whichever side happens to allocate then
    try:
        turn = 0
        every = max(1, 500 // block)  # blocks between two collections
        for _ in range(rounds):
            for first in range(0, len(inputs), block):
                chunk = inputs[first:first + block]
                turn += 1
                for name, call in order[turn % len(order):] + order[:turn % len(order)]:
                    out = timings[name]
                    for item in chunk:
                        start = clock()
                        call(item)
                        out.append((clock() - start) / 1000)
                if turn % every == 0:
                    gc.collect()  # now and then between blocks, outside every timing
    finally:
        gc.enable()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="applicants (default 3000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the sample")
    parser.add_argument("--block", type=int, default=50,
                        help="applicants a side decides in one turn (default 50)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    policy = load_policy()
    zen, durable = zen_twin.ZenMini(), durable_twin.DurableMini()
    raws = applicants.generate(args.n, args.seed)
    outcomes = check_agreement(policy, zen, durable, raws)
    check_rendering(policy, raws[:300])
    calls = sides(policy, zen, durable)
    timings = measure(calls, [(raw, policy.parse_input(raw)) for raw in raws], args.rounds,
                      args.block)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    p99 = {name: statistics.quantiles(values, n=100)[98] for name, values in timings.items()}
    hand_us = medians["hand"]
    zen_ratio = medians["zen"] / medians["parse+decide+json"]
    if args.json:
        print(json.dumps({
            "applicants": len(raws), "rounds": args.rounds, "seed": args.seed,
            "agreement": "all four implementations identical", "outcomes": outcomes,
            "sides": {name: {"median_us": round(medians[name], 2), "p99_us": round(p99[name], 2),
                             "x_hand": round(medians[name] / hand_us, 3)} for name in calls},
            "zen_over_firefly_path": round(zen_ratio, 3),
            "python": sys.version.split()[0]}))
        return
    print(f"{len(raws)} applicants x {args.rounds} rounds, seed {args.seed}; outcomes {outcomes}; "
          "Firefly, zen-engine and durable_rules identical to the hand-written function")
    print(f"{'side':<20}{'median us':>11}{'p99 us':>10}{'x hand':>9}")
    for name in calls:
        print(f"{name:<20}{medians[name]:>11.2f}{p99[name]:>10.2f}{medians[name] / hand_us:>9.2f}")
    print(f"zen / Firefly path (parse+decide+json): {zen_ratio:.2f} "
          f"(Firefly's whole path is {zen_ratio:.2f}x faster than zen's bare evaluation)")


if __name__ == "__main__":
    main()
