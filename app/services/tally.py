"""Counting decisions for a simulation or a backtest: what one version decided (Tally), how two
versions differ (Comparison, Changed), and a chunk's worth of both (Partial).

Everything here is an exact count or an exact sum (limits are whole yuan), kept in Counters that
merge by addition: a run split over processes or a Dask cluster merges its partials into the same
numbers, whatever the order. Rates and averages are computed only when the report is written.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import compress
from typing import Any, Iterable

import polars as pl

from app.engine import Decision, Policy
from app.engine.columnar import ChunkDecisions
from app.engine import model as m
from app.engine.stages import RulesetResult, TableResult
from app.engine.types import to_json

# The breakdowns of every report: a name and the value of the decision it reads (a field of the
# input or a feature, by its dotted name); a policy without the value shows "(none)".
DIMENSIONS = {"customer_group": "customer_group", "region_tier": "region_tier", "channel": "device.channel"}
NONE = "(none)"


def fired(decision: Decision) -> list[str]:
    """Ids of what applied in a decision: unmet requirements, matched rules, the table rows used
    and the scorecard bins picked (cheaper than Trace.matched(), which lists every id)."""
    trace = decision.trace
    found = trace.unmet() if trace.requirements else []
    for result in trace.stages:
        target = result.stage.target
        if isinstance(result, RulesetResult):
            found.extend(compress(_rule_ids(target.rules), result.matched))
        elif isinstance(result, TableResult):
            found.extend(target.rows[i].id for i in result.rows)
        else:
            found.extend(c.bins[p].id for c, p in zip(target.characteristics, result.picked) if p >= 0)
    return found


# The ids of a rule set's rules, by the rules' list (held, so its id is never another's): fired()
# runs for every decision of a batch and picks the matched ones with compress.
_RULE_IDS: dict[int, tuple[Any, tuple[str, ...]]] = {}


def _rule_ids(rules: Any) -> tuple[str, ...]:
    known = _RULE_IDS.get(id(rules))
    if known is None or known[0] is not rules:
        if len(_RULE_IDS) > 1024:  # many versions compiled over a long life: start again
            _RULE_IDS.clear()
        known = _RULE_IDS[id(rules)] = (rules, tuple(rule.id for rule in rules))
    return known[1]


def coverage_items(policy: Policy) -> list[dict[str, Any]]:
    """Every requirement, rule, table row and scorecard bin of a policy, in order, with its kind,
    stage and name: the list rule coverage is reported over."""
    parts = policy.parts
    items = [{"id": r.id, "kind": "requirement", "stage": m.REQUIRES, **r.name.to_dict()}
             for r in parts.requirements]
    for stage in parts.stages:
        target = stage.target
        if stage.kind == "ruleset":
            items += [{"id": r.id, "kind": "rule", "stage": stage.id, **r.name.to_dict()} for r in target.rules]
        elif stage.kind == "table":
            items += [{"id": r.id, "kind": "row", "stage": stage.id, "zh": "", "en": ""} for r in target.rows]
        else:
            items += [{"id": b.id, "kind": "bin", "stage": stage.id, **c.name.to_dict()}
                      for c in target.characteristics for b in c.bins]
    return items


def headline(decision: Decision) -> dict[str, Any]:
    """What was decided, JSON-ready (the score as its JSON form)."""
    line = decision.headline()
    line["score"] = to_json(line["score"])
    return line


@dataclass
class Tally:
    """What one version decided over a set of rows."""

    decided: int = 0
    outcomes: Counter = field(default_factory=Counter)          # outcome -> rows
    by: dict[str, Counter] = field(default_factory=lambda: {d: Counter() for d in DIMENSIONS})
    limits: Counter = field(default_factory=Counter)            # APPROVE limit (yuan) -> rows
    scores: Counter = field(default_factory=Counter)            # score -> rows (None: no score)
    hits: Counter = field(default_factory=Counter)              # id -> rows where it applied
    reasons: Counter = field(default_factory=Counter)           # reason code -> rows

    def add(self, decision: Decision, hits: Iterable[str]) -> None:
        self.decided += 1
        outcome = decision.outcome
        self.outcomes[outcome] += 1
        values = decision.trace.values
        for name, path in DIMENSIONS.items():
            value = values.get(path)
            self.by[name][(NONE if value is None else str(value), outcome)] += 1
        if decision.limit is not None:
            self.limits[int(decision.limit)] += 1
        self.scores[to_json(decision.score)] += 1
        self.hits.update(set(hits))
        self.reasons.update(decision.reason_codes)

    def add_columns(self, decisions: ChunkDecisions, rows: list[int]) -> None:
        """Count some rows of a chunk decided column by column (app/engine/columnar), as add()
        counts each of them."""
        if not rows:
            return
        if len(rows) == decisions.n:
            pick = None
        else:
            pick = pl.Series(rows, dtype=pl.Int64)
        def chosen(column: pl.Series) -> pl.Series:
            return column if pick is None else column.gather(pick)
        self.decided += len(rows)
        outcomes = chosen(decisions.outcome)
        self.outcomes.update(dict(outcomes.value_counts().iter_rows()))
        for name, path in DIMENSIONS.items():
            values = decisions.column(path)
            shown = pl.Series([NONE if v is None else str(v) for v in values], dtype=pl.String) \
                if values is not None else pl.Series([NONE] * decisions.n, dtype=pl.String)
            pairs = pl.DataFrame({"v": chosen(shown), "o": outcomes}).group_by(["v", "o"]).len()
            self.by[name].update({(v, o): k for v, o, k in pairs.iter_rows()})
        if decisions.limit is not None:
            limits = chosen(decisions.limit).drop_nulls()
            self.limits.update(dict(limits.value_counts().iter_rows()))
        stage = decisions.score_stage
        scores = decisions.column(stage.score_name) if stage else None
        if scores is None:
            self.scores[None] += len(rows)
        else:
            picked = [scores[i] for i in rows]
            self.scores.update(Counter(to_json(s) for s in picked))
        for identifier, flags in decisions.fired:
            count = int(chosen(flags).sum())
            if count:
                self.hits[identifier] += count
        for code, flags in decisions.reason_codes().items():
            count = int(chosen(flags).sum())
            if count:
                self.reasons[code] += count

    def merge(self, other: "Tally") -> None:
        self.decided += other.decided
        self.outcomes += other.outcomes
        for name, counts in other.by.items():
            self.by.setdefault(name, Counter()).update(counts)
        self.limits += other.limits
        self.scores += other.scores
        self.hits += other.hits
        self.reasons += other.reasons


@dataclass
class Comparison:
    """How a candidate's decisions differ from the baseline's on the same rows."""

    compared: int = 0
    changed: int = 0
    swaps: Counter = field(default_factory=Counter)   # (baseline outcome, candidate outcome) -> rows
    limit_up: int = 0
    limit_up_total: int = 0      # yuan added over the rows whose limit went up
    limit_down: int = 0
    limit_down_total: int = 0    # yuan taken off (a positive number)
    limit_same: int = 0

    def add(self, baseline: dict[str, Any], candidate: dict[str, Any]) -> bool:
        """Count one row's pair of headlines; True when anything of the headline changed."""
        self.compared += 1
        self.swaps[(baseline["outcome"], candidate["outcome"])] += 1
        before, after = baseline["limit"], candidate["limit"]
        if before is not None and after is not None:  # approved by both
            if after > before:
                self.limit_up += 1
                self.limit_up_total += after - before
            elif after < before:
                self.limit_down += 1
                self.limit_down_total += before - after
            else:
                self.limit_same += 1
        changed = baseline != candidate
        self.changed += changed
        return changed

    def merge(self, other: "Comparison") -> None:
        self.compared += other.compared
        self.changed += other.changed
        self.swaps += other.swaps
        self.limit_up += other.limit_up
        self.limit_up_total += other.limit_up_total
        self.limit_down += other.limit_down
        self.limit_down_total += other.limit_down_total
        self.limit_same += other.limit_same


def changed_record(ref: Any, baseline: Decision, candidate: Decision) -> dict[str, Any]:
    """One changed decision for the changes file: both headlines with their reasons' texts, and
    every rule, requirement, row or bin whose matched flag differs (None: the version lacks it)."""
    before, after = baseline.trace.matched(), candidate.trace.matched()
    flips = [{"id": key, "baseline": before.get(key), "candidate": after.get(key)}
             for key in list(before) + [k for k in after if k not in before]
             if before.get(key) != after.get(key)]
    return {"row": ref, "baseline": _shown(baseline), "candidate": _shown(candidate), "rules_changed": flips}


def _shown(decision: Decision) -> dict[str, Any]:
    line = headline(decision)
    line["reasons"] = [{"code": r.code, "zh": r.zh, "en": r.en, "action": r.action, "rule": r.rule}
                       for r in decision.reasons]
    return line


@dataclass(frozen=True)
class Invalid:
    """A row no version could decide: its reference, the version that refused it, and why
    ({field path: [messages]}, or {"_row": [reason]} when it could not be read)."""

    row: Any
    version: str
    errors: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "version": self.version, "errors": self.errors}


@dataclass
class Partial:
    """What a chunk of rows gave: a Tally per version, the comparison, the changed decisions, the
    invalid rows and, when asked for, every row's headlines (to compare runners row by row)."""

    tallies: dict[str, Tally] = field(default_factory=dict)   # "baseline", "candidate"
    comparison: Comparison = field(default_factory=Comparison)
    changed: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    rows: list[tuple[Any, dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)
    read: int = 0                  # rows read, valid or not
    baseline_mismatches: list[Any] = field(default_factory=list)  # backtests: rows not re-decided as stored

    def tally(self, version: str) -> Tally:
        if version not in self.tallies:
            self.tallies[version] = Tally()
        return self.tallies[version]

    def merge(self, other: "Partial") -> "Partial":
        for version, tally in other.tallies.items():
            self.tally(version).merge(tally)
        self.comparison.merge(other.comparison)
        self.changed += other.changed
        self.invalid += other.invalid
        self.rows += other.rows
        self.read += other.read
        self.baseline_mismatches += other.baseline_mismatches
        return self

    def sort(self) -> "Partial":
        """Rows in file order (or decision id order), whatever order the chunks came back in."""
        self.changed.sort(key=lambda c: c["row"])
        self.invalid.sort(key=lambda i: (i.row, i.version))
        self.rows.sort(key=lambda r: r[0])
        self.baseline_mismatches.sort()
        return self
