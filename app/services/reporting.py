"""The report of a simulation or a backtest, as one JSON-ready dict (report.json): built from the
merged counts, the same for every runner.

Counts and yuan totals are exact integers. Rates (4 places) and averages (2 places, yuan) are
exact decimals rounded half-even, and the report says so in `rounding`; nothing else is rounded.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Iterable

from app.engine import OUTCOMES
from app.engine.model import DEFAULT_OUTCOMES, ReasonText
from app.services.tally import DIMENSIONS, Comparison, Partial, Tally

ROUNDING = "rates to 4 decimal places, averages to 0.01 (yuan or points), half-even; counts and totals exact"
LIMIT_BUCKET = 50_000   # yuan: the limit histogram's bars
LIMIT_TOP = 500_000     # the highest region cap; a last bar holds anything above
SCORE_BUCKET = 20       # points


@dataclass
class ComparisonResult:
    """What a simulation or a backtest gives: the report, every changed decision, the rows decided
    (when asked to keep them: row, baseline headline, candidate headline) and the files written."""

    report: dict[str, Any]
    changed: list[dict[str, Any]]
    rows: list[tuple] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def rate(count: int, total: int) -> str | None:
    if not total:
        return None
    return str((Decimal(count) / Decimal(total)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def average(total: int | Decimal, count: int) -> str | None:
    if not count:
        return None
    return str((Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), ROUND_HALF_EVEN))


def outcome_names(policies: Iterable[Any]) -> tuple[str, ...]:
    """The outcomes a report counts: every outcome of the policies' vocabularies, in the first's
    order (the default vocabulary as APPROVE, DECLINE, REFER, as reports always listed it)."""
    names: list[str] = []
    for policy in policies:
        vocabulary = policy.outcomes
        for name in (OUTCOMES if vocabulary == DEFAULT_OUTCOMES else vocabulary.order):
            if name not in names:
                names.append(name)
    return tuple(names) or OUTCOMES


def build(partial: Partial, *, kind: str, source: dict[str, Any], versions: dict[str, Any],
          coverage: dict[str, list[dict[str, Any]]], texts: dict[str, ReasonText],
          changes_file: str | None, outcomes: tuple[str, ...] = OUTCOMES) -> dict[str, Any]:
    """The report: source, versions, each version's figures, the comparison, the invalid rows;
    `outcomes` the policy's outcome names (outcome_names)."""
    sides = ["baseline"] + (["candidate"] if "candidate" in partial.tallies else [])
    report: dict[str, Any] = {
        "kind": kind,
        "rounding": ROUNDING,
        "outcome_names": list(outcomes),
        "source": {**source, "rows": partial.read, "decided": partial.tally("baseline").decided,
                   "invalid": len({i.row for i in partial.invalid})},
        "versions": versions,
    }
    for side in sides:
        report[side] = version_figures(partial.tallies[side], coverage[side], texts, outcomes)
    report["comparison"] = (comparison_figures(partial.comparison, partial.tallies["baseline"],
                                               partial.tallies["candidate"], changes_file, outcomes)
                            if "candidate" in partial.tallies else None)
    if kind == "backtest":
        report["source"]["not_reproduced"] = partial.baseline_mismatches
    report["invalid_rows"] = [i.to_dict() for i in partial.invalid]
    return report


def version_figures(tally: Tally, items: list[dict[str, Any]], texts: dict[str, ReasonText],
                    outcomes: tuple[str, ...] = OUTCOMES) -> dict[str, Any]:
    decided = tally.decided
    return {
        "decided": decided,
        "outcomes": {o: {"count": tally.outcomes[o], "rate": rate(tally.outcomes[o], decided)} for o in outcomes},
        "by": {name: _breakdown(tally.by.get(name, Counter()), outcomes) for name in DIMENSIONS},
        "limit": _limits(tally.limits),
        "score": _scores(tally.scores),
        "reasons": [{"code": code, "zh": texts[code].zh if code in texts else "",
                     "en": texts[code].en if code in texts else "", "count": count}
                    for code, count in sorted(tally.reasons.items(), key=lambda kv: (-kv[1], kv[0]))],
        "coverage": _coverage(tally.hits, items),
    }


def _breakdown(counts: Counter, outcomes: tuple[str, ...]) -> dict[str, Any]:
    """{value: {count, one count per outcome, approve_rate}} from {(value, outcome): rows}
    (approve_rate where the vocabulary has APPROVE)."""
    values = sorted({value for value, _ in counts})
    out = {}
    for value in values:
        row = {o: counts[(value, o)] for o in outcomes}
        total = sum(row.values())
        out[value] = {"count": total, **row}
        if "APPROVE" in row:
            out[value]["approve_rate"] = rate(row["APPROVE"], total)
    return out


def _quantile(counts: Counter, share: Decimal) -> Any:
    """The nearest-rank quantile of a distribution given as {value: rows}: an observed value."""
    total = sum(counts.values())
    rank = max(int((share * total).to_integral_value(rounding="ROUND_CEILING")), 1)
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None


def _distribution(counts: Counter) -> dict[str, Any]:
    total = sum(counts.values())
    if not total:
        return {"count": 0, "total": 0, "min": None, "max": None, "mean": None,
                "p10": None, "p25": None, "median": None, "p75": None, "p90": None}
    exact = sum(Decimal(str(value)) * n for value, n in counts.items())
    summed: Any = int(exact) if exact == exact.to_integral_value() else str(exact)
    return {"count": total, "total": summed, "min": min(counts), "max": max(counts),
            "mean": average(exact, total),
            **{name: _quantile(counts, Decimal(q)) for name, q in
               (("p10", "0.1"), ("p25", "0.25"), ("median", "0.5"), ("p75", "0.75"), ("p90", "0.9"))}}


def _limits(limits: Counter) -> dict[str, Any]:
    bars = []
    for start in range(0, LIMIT_TOP, LIMIT_BUCKET):
        bars.append({"from": start, "to": start + LIMIT_BUCKET,
                     "count": sum(n for v, n in limits.items() if start <= v < start + LIMIT_BUCKET)})
    bars[-1]["count"] += sum(n for v, n in limits.items() if v >= LIMIT_TOP)  # the top bar is closed
    return {**_distribution(limits), "histogram": bars}


def _scores(scores: Counter) -> dict[str, Any]:
    numeric = Counter({Decimal(str(v)): n for v, n in scores.items() if v is not None})
    shown = Counter({_plain(v): n for v, n in numeric.items()})
    figures = _distribution(shown)
    figures["unscored"] = scores.get(None, 0)
    bars = []
    if numeric:
        low = int(min(numeric) // SCORE_BUCKET) * SCORE_BUCKET
        high = int(max(numeric) // SCORE_BUCKET) * SCORE_BUCKET
        for start in range(low, high + SCORE_BUCKET, SCORE_BUCKET):
            bars.append({"from": start, "to": start + SCORE_BUCKET,
                         "count": sum(n for v, n in numeric.items() if start <= v < start + SCORE_BUCKET)})
    figures["histogram"] = bars
    return figures


def _plain(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() else str(value)


def _coverage(hits: Counter, items: list[dict[str, Any]]) -> dict[str, Any]:
    listed = [{**item, "hits": hits.get(item["id"], 0)} for item in items]
    never = [item["id"] for item in listed if not item["hits"]]
    return {"total": len(listed), "fired": len(listed) - len(never), "never_fired": never, "items": listed}


MOVES = {"approve_to_decline": ("APPROVE", "DECLINE"), "approve_to_refer": ("APPROVE", "REFER"),
         "decline_to_approve": ("DECLINE", "APPROVE"), "decline_to_refer": ("DECLINE", "REFER"),
         "refer_to_approve": ("REFER", "APPROVE"), "refer_to_decline": ("REFER", "DECLINE")}


def comparison_figures(comparison: Comparison, baseline: Tally, candidate: Tally,
                       changes_file: str | None, outcomes: tuple[str, ...] = OUTCOMES) -> dict[str, Any]:
    """The swap matrix, the moves between outcomes and the limit changes on rows both approve."""
    swaps = comparison.swaps
    both = comparison.limit_up + comparison.limit_down + comparison.limit_same
    net = comparison.limit_up_total - comparison.limit_down_total
    base_total = sum(v * n for v, n in baseline.limits.items())
    cand_total = sum(v * n for v, n in candidate.limits.items())
    return {
        "compared": comparison.compared,
        "changed": comparison.changed,
        "unchanged": comparison.compared - comparison.changed,
        "changes_file": changes_file,
        "swap_matrix": {a: {b: swaps[(a, b)] for b in outcomes} for a in outcomes},
        "moves": {name: swaps[pair] for name, pair in MOVES.items() if set(pair) <= set(outcomes)},
        "limits": {
            "both_approved": both,
            "up": {"count": comparison.limit_up, "total": comparison.limit_up_total,
                   "average": average(comparison.limit_up_total, comparison.limit_up)},
            "down": {"count": comparison.limit_down, "total": comparison.limit_down_total,
                     "average": average(comparison.limit_down_total, comparison.limit_down)},
            "unchanged": comparison.limit_same,
            "net_change": net,
            "average_change": average(net, both),
        },
        "approved_limit_total": {"baseline": base_total, "candidate": cand_total, "change": cand_total - base_total},
    }


def merged_texts(policies: Iterable[Any]) -> dict[str, ReasonText]:
    """Reason texts of several versions, the later ones' texts winning."""
    texts: dict[str, ReasonText] = {}
    for policy in policies:
        texts.update(policy.parts.reasons)
    return texts
