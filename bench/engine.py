"""Benchmark: the engine on the reference policy against a hand-written Python twin of it.

    python bench/engine.py [--n 10000] [--seed 7] [--rounds 5] [--json]

Both sides take the same typed input (parsed once, outside the timing) and must give the same
decision (outcome, limit, group, score, band, ordered reasons) on the whole sample before anything
is timed. Each round times every applicant once on every side, interleaved applicant by applicant
so that both see the same machine state; the figure per side is the median over all timings.

Rows: `hand` is bench/hand.py; `engine` is Policy.decide with tracing on (the trace records the
matched flags, chosen rows and bins and the values dict); the `+json` rows also render the
decision and its trace to canonical JSON, as the service does for every stored decision: `dicts`
the way it was done before issue 11 (canonical_json of to_dict(), kept as the reference the
generated renderer is tested against), then the generated renderer (app/engine/render.py) at
each trace level (`none`: the decision only); `parse+decide+json` starts from the request's JSON
value (Policy.parse_input, then decide, then the full JSON: what the service does).
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

import hand  # noqa: E402

from app.engine import canonical_json, load_policy_root  # noqa: E402
from app.engine.render import FULL, HITS, NONE  # noqa: E402
from support import applicants  # noqa: E402  the tests' one applicant generator

POLICY = "zhishandai.application"


def check_agreement(policy, typed_inputs, backends) -> None:
    """Every backend and the hand-written function give the same decision on every input."""
    for index, (typed, shared) in enumerate(typed_inputs):
        expected = hand.decide(typed, shared)
        for backend in backends:
            got = policy.decide(typed, backend=backend, shared=shared).headline()
            if got != expected:
                sys.exit(f"disagreement on applicant {index} ({backend}):\n  engine {got}\n"
                         f"  hand   {expected}")


def measure(sides: dict, typed_inputs: list, rounds: int) -> dict[str, list[float]]:
    """Microseconds per call for each side, every input every round, interleaved."""
    timings: dict[str, list[float]] = {name: [] for name in sides}
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()  # collections land on whichever side happens to allocate then
    try:
        for _ in range(rounds):
            for typed in typed_inputs:
                for name, call in sides.items():
                    start = clock()
                    call(typed)
                    timings[name].append((clock() - start) / 1000)
    finally:
        gc.enable()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="applicants (default 10000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the sample")
    parser.add_argument("--durable", action="store_true",
                        help="also time the durable_rules backend")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    loaded = load_policy_root(ROOT)
    if not loaded.ok:
        sys.exit("\n".join(str(d) for d in loaded.errors))
    policy = loaded.policies[POLICY]
    raws = applicants.generate(args.n, args.seed)
    # each application with the shared anti-fraud values the service would hand in
    shared_values = applicants.generate_shared(args.n, args.seed)
    typed_inputs = [(policy.parse_input(raw), shared) for raw, shared in zip(raws, shared_values)]
    check_rendering(policy, typed_inputs[:200])
    backends = ["compiled"] + (["durable"] if args.durable else [])
    check_agreement(policy, typed_inputs, backends)

    def decide(t):
        return policy.decide(t[1], backend="compiled", shared=t[2])

    sides = {
        "hand": lambda t: hand.decide(t[1], t[2]),
        "engine": decide,
        "+json dicts": lambda t: _with_dicts(decide(t)),
        "+json full": lambda t: _with_json(decide(t), FULL),
        "+json hits": lambda t: _with_json(decide(t), HITS),
        "+json none": lambda t: _with_json(decide(t), NONE),
        "parse+decide+json": lambda t: _with_json(
            policy.decide(policy.parse_input(t[0]), backend="compiled", shared=t[2]), FULL),
    }
    if args.durable:
        sides["durable"] = lambda t: policy.decide(t[1], backend="durable", shared=t[2])
    timings = measure(sides, [(raw, typed, shared) for raw, (typed, shared) in zip(raws, typed_inputs)],
                      args.rounds)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    p99 = {name: statistics.quantiles(values, n=100)[98] for name, values in timings.items()}
    hand_us = medians["hand"]
    outcomes = {}
    for typed, shared in typed_inputs:
        outcome = hand.decide(typed, shared)["outcome"]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    result = {
        "applicants": len(typed_inputs), "rounds": args.rounds, "seed": args.seed,
        "agreement": "all decisions identical",
        "outcomes": outcomes,
        "hand_us": round(hand_us, 2),
        "engine_us": round(medians["engine"], 2),
        "engine_json_dicts_us": round(medians["+json dicts"], 2),
        "engine_json_us": round(medians["+json full"], 2),
        "engine_json_hits_us": round(medians["+json hits"], 2),
        "engine_json_none_us": round(medians["+json none"], 2),
        "parse_decide_json_us": round(medians["parse+decide+json"], 2),
        "ratio": round(medians["engine"] / hand_us, 3),
        "ratio_json": round(medians["+json full"] / hand_us, 3),
        "ratio_parse_decide_json": round(medians["parse+decide+json"] / hand_us, 3),
        "python": sys.version.split()[0],
    }
    if args.durable:
        result["durable_us"] = round(medians["durable"], 2)
        result["durable_ratio_to_compiled"] = round(medians["durable"] / medians["engine"], 3)
        result["durable_ratio_to_hand"] = round(medians["durable"] / hand_us, 3)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{len(typed_inputs)} applicants x {args.rounds} rounds, seed {args.seed}; "
          f"outcomes {outcomes}; all decisions identical to the hand-written function")
    print(f"{'side':<19}{'median us':>12}{'p99 us':>10}{'x hand':>9}")
    for name in sides:
        print(f"{name:<19}{medians[name]:>12.2f}{p99[name]:>10.2f}{medians[name] / hand_us:>9.2f}")


def check_rendering(policy, typed_inputs) -> None:
    """The generated renderer gives canonical_json(to_dict()) byte for byte (else no figures)."""
    for index, (typed, shared) in enumerate(typed_inputs):
        decision = policy.decide(typed, shared=shared)
        if decision.to_json() != canonical_json(decision.to_dict()) or \
                decision.trace.to_json() != canonical_json(decision.trace.to_dict()):
            sys.exit(f"rendering differs from canonical_json(to_dict()) on applicant {index}")


def _with_dicts(decision) -> None:
    canonical_json(decision.to_dict())
    canonical_json(decision.trace.to_dict())


def _with_json(decision, level: str) -> None:
    decision.to_json()
    if level != NONE:
        decision.trace.to_json(level)


if __name__ == "__main__":
    main()
