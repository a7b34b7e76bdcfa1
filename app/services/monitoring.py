"""Model monitoring over stored decisions: the population stability index (PSI) of the score and of
every scorecard characteristic (CSI) in a period against a baseline period, the score band mix and
the approval rate by band, with drift flagged at the usual thresholds (0.1 watch, 0.25 act)."""
from __future__ import annotations

import bisect
import datetime
import math
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from app.services.errors import InvalidInput, NotFound
from app.storage import decisions
from app.storage.db import Database

WATCH, ACT = 0.1, 0.25
# An empty bin would make the index infinite; its share counts as this (a common convention).
EMPTY_SHARE = 0.0001
SCORE_BINS = 10
MISSING = "missing"


def psi(baseline: Counter, current: Counter) -> float:
    """sum over bins of (current share - baseline share) * ln(current share / baseline share)."""
    keys = set(baseline) | set(current)
    base_total, current_total = sum(baseline.values()), sum(current.values())
    if not keys or not base_total or not current_total:
        return 0.0
    index = 0.0
    for key in keys:
        expected = max(baseline[key] / base_total, EMPTY_SHARE)
        actual = max(current[key] / current_total, EMPTY_SHARE)
        index += (actual - expected) * math.log(actual / expected)
    return index


def status(index: float) -> str:
    return "act" if index >= ACT else "watch" if index >= WATCH else "stable"


def score_edges(scores: list, bins: int = SCORE_BINS) -> list[Decimal]:
    """Cut points of the baseline's score deciles (ties merged): bin i is [edge i-1, edge i)."""
    ordered = sorted(scores)
    if not ordered:
        return []
    cuts = {ordered[(len(ordered) * i) // bins] for i in range(1, bins)}
    return sorted(cut for cut in cuts if cut > ordered[0])


def score_bin(score, edges: list[Decimal]) -> str:
    if score is None:
        return MISSING
    position = bisect.bisect_right(edges, score)
    low = f"{edges[position - 1]}" if position else "-inf"
    high = f"{edges[position]}" if position < len(edges) else "inf"
    return f"[{low}, {high})"


def score_bin_labels(edges: list[Decimal]) -> list[str]:
    bounds = ["-inf", *(str(edge) for edge in edges), "inf"]
    return [f"[{low}, {high})" for low, high in zip(bounds, bounds[1:])]


@dataclass
class Period:
    first_day: datetime.date
    last_day: datetime.date
    scores: list
    bands: Counter
    approvals: Counter
    bins: dict[tuple[str, str], Counter]   # (scorecard stage, characteristic id) -> bin id counts

    @property
    def decisions(self) -> int:
        return sum(self.bands.values())


def _shares(counts: Counter, keys: Iterable) -> dict:
    total = sum(counts.values())
    return {key: (counts[key] / total if total else 0.0) for key in keys}


def _rows(table: Counter, baseline: Counter, order: list) -> list[dict[str, Any]]:
    current_shares, base_shares = _shares(table, order), _shares(baseline, order)
    return [{"bin": key, "baseline_share": round(base_shares[key], 6),
             "share": round(current_shares[key], 6)} for key in order]


class Monitoring:
    """`monitor(policy, first, last, baseline_first, baseline_last)`: the drift report."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _period(self, policy: str, first_day: datetime.date, last_day: datetime.date) -> Period:
        period = Period(first_day, last_day, [], Counter(), Counter(), {})
        with self.database.session() as session:
            for score, band, outcome, trace in decisions.scored_in_period(session, policy,
                                                                           first_day, last_day):
                period.scores.append(None if score is None else Decimal(str(score)))
                period.bands[band or MISSING] += 1
                period.approvals[band or MISSING] += outcome == "APPROVE"
                for stage in (trace or {}).get("stages", []):
                    if stage.get("kind") != "scorecard":
                        continue
                    for characteristic in stage.get("characteristics", []):
                        key = (stage["id"], characteristic["id"])
                        period.bins.setdefault(key, Counter())[characteristic.get("bin") or MISSING] += 1
        return period

    def monitor(self, policy: str, first_day: datetime.date, last_day: datetime.date,
                baseline_first: datetime.date | None = None,
                baseline_last: datetime.date | None = None) -> dict[str, Any]:
        """The report as JSON-ready data; the baseline defaults to the as long period just before."""
        if last_day < first_day:
            raise InvalidInput("the period ends before it starts", details={"to": ["before from"]})
        if baseline_first is None or baseline_last is None:
            baseline_last = first_day - datetime.timedelta(days=1)
            baseline_first = baseline_last - (last_day - first_day)
        if baseline_last < baseline_first:
            raise InvalidInput("the baseline ends before it starts",
                               details={"baseline_to": ["before baseline_from"]})
        current = self._period(policy, first_day, last_day)
        baseline = self._period(policy, baseline_first, baseline_last)
        if not current.decisions or not baseline.decisions:
            empty = "period" if not current.decisions else "baseline"
            raise NotFound(f"no stored decisions of {policy} in the {empty} "
                           f"({first_day if empty == 'period' else baseline_first} to "
                           f"{last_day if empty == 'period' else baseline_last})",
                           code="no_decisions")
        return self._report(policy, current, baseline)

    def _report(self, policy: str, current: Period, baseline: Period) -> dict[str, Any]:
        edges = score_edges([s for s in baseline.scores if s is not None])
        base_bins = Counter(score_bin(s, edges) for s in baseline.scores)
        bins = Counter(score_bin(s, edges) for s in current.scores)
        order = score_bin_labels(edges) + ([MISSING] if MISSING in base_bins | bins else [])
        score_psi = psi(base_bins, bins)
        characteristics = []
        for key in sorted(set(baseline.bins) | set(current.bins)):
            base_counts, counts = baseline.bins.get(key, Counter()), current.bins.get(key, Counter())
            index = psi(base_counts, counts)
            characteristics.append({
                "stage": key[0], "characteristic": key[1], "csi": round(index, 6),
                "status": status(index),
                "bins": _rows(counts, base_counts, sorted(set(base_counts) | set(counts)))})
        band_keys = sorted(set(baseline.bands) | set(current.bands))
        bands = []
        for band in band_keys:
            bands.append({
                "band": band, "decisions": current.bands[band],
                "baseline_share": round(_shares(baseline.bands, [band])[band], 6),
                "share": round(_shares(current.bands, [band])[band], 6),
                "approval_rate": _rate(current.approvals[band], current.bands[band]),
                "baseline_approval_rate": _rate(baseline.approvals[band], baseline.bands[band])})
        flags = [f"score PSI {score_psi:.4f}: {status(score_psi)}"] if score_psi >= WATCH else []
        flags += [f"{c['characteristic']} CSI {c['csi']:.4f}: {c['status']}"
                  for c in characteristics if c["status"] != "stable"]
        return {
            "policy": policy,
            "period": {"from": current.first_day.isoformat(), "to": current.last_day.isoformat(),
                       "decisions": current.decisions},
            "baseline": {"from": baseline.first_day.isoformat(),
                         "to": baseline.last_day.isoformat(), "decisions": baseline.decisions},
            "thresholds": {"watch": WATCH, "act": ACT},
            "score": {"psi": round(score_psi, 6), "status": status(score_psi),
                      "bins": _rows(bins, base_bins, order)},
            "characteristics": characteristics,
            "bands": bands,
            "flags": flags,
        }


def _rate(approved: int, total: int) -> float | None:
    return round(approved / total, 6) if total else None
