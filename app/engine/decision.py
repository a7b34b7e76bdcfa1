"""The explainable result: a Decision and its Trace, and their deterministic JSON form."""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .schema import mask_value

if TYPE_CHECKING:  # pragma: no cover
    from .policy import Policy


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str
    action: str
    stage: str
    rule: str | None

    def to_dict(self) -> dict:
        return {"code": self.code, "zh": self.zh, "en": self.en, "action": self.action,
                "stage": self.stage, "rule": self.rule}


class Decision:
    """Outcome, limit, customer group, score and band, ordered reasons, and the trace."""

    def __init__(self, policy: "Policy", backend: str, outcome: str, limit: int | None,
                 values: dict, reasons: list[Reason], trace: "Trace"):
        self.policy = policy
        self.backend = backend
        self.outcome = outcome
        self.limit = limit
        self.reasons = reasons
        self.trace = trace
        self._values = values
        scorecard = policy.scorecard_stage  # the first scorecard gives the decision's score
        self.customer_group = values.get("customer_group")
        self.score = values.get(scorecard.score_name) if scorecard else None
        self.score_band = values.get(scorecard.band_name) if scorecard else None

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    @property
    def hits(self) -> list[str]:
        """Ids of the rules that matched, in stage and rule order."""
        return self.trace.hits()

    @property
    def outputs(self) -> dict:
        return {name: self._values.get(name) for name in self.policy.parts.outputs}

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "limit": self.limit,
            "customer_group": self.customer_group,
            "score": self.score,
            "score_band": self.score_band,
            "reasons": [r.to_dict() for r in self.reasons],
            # Personal data copied into an output is masked here as in the trace.
            "outputs": {name: self.trace.shown(name) for name in self.policy.parts.outputs},
            "policy": {"name": self.policy.name, "version": self.policy.version,
                       "hash": self.policy.hash},
            "engine": self.backend,
        }


class Trace:
    """Everything that led to a decision; rendered on demand from what evaluation recorded."""

    def __init__(self, policy: "Policy", backend: str, typed: dict, values: dict,
                 records: list[tuple], limit_record: tuple | None):
        self.policy = policy
        self.backend = backend
        self.typed = typed
        self.values = values
        self.records = records
        self.limit_record = limit_record
        self._shown_cache: dict[str, Any] = {}

    def hits(self) -> list[str]:
        found = []
        for record in self.records:
            stage = record[0]
            if stage.kind == "ruleset":
                found.extend(rule.id for rule, hit in zip(stage.target.rules, record[1]) if hit)
        return found

    def matched(self) -> dict[str, bool]:
        """Every rule id of every rule set with whether it matched, and every table row and
        scorecard bin id with whether it was the one used."""
        flags = {}
        for record in self.records:
            stage = record[0]
            if stage.kind == "ruleset":
                for rule, hit in zip(stage.target.rules, record[1]):
                    flags[rule.id] = bool(hit)
            elif stage.kind == "table":
                chosen = set(record[1])
                for index, row in enumerate(stage.target.rows):
                    flags[row.id] = index in chosen
            else:
                for characteristic, position in zip(stage.target.characteristics, record[1]):
                    for index, bin_ in enumerate(characteristic.bins):
                        flags[bin_.id] = index == position
        return flags

    def shown(self, path: str) -> Any:
        """A value as the trace shows it: personal data masked. Cached per path, since many
        rules read the same fields."""
        cache = self._shown_cache
        if path in cache:
            return cache[path]
        value = self.values.get(path)
        kind = self.policy.pii_kinds.get(path)
        if kind and value is not None:
            shown = mask_value(kind, value if value.__class__ is str else _jsonable(value)
                               if not isinstance(value, tuple) else "list")
        elif value.__class__ in _PLAIN:
            shown = value
        else:
            shown = _jsonable(value)
        cache[path] = shown
        return shown

    def to_dict(self) -> dict:
        parts = self.policy.parts
        return {
            "policy": {"name": self.policy.name, "version": self.policy.version,
                       "hash": self.policy.hash},
            "engine": self.backend,
            "input": _jsonable(self.policy.mask_input(self.typed)),
            "features": {f.name: self.shown(f.name) for f in parts.features},
            "stages": [self._stage(record) for record in self.records],
            "limit": self._limit(),
        }

    def _stage(self, record: tuple) -> dict:
        stage = record[0]
        if stage.kind == "ruleset":
            return self._ruleset(*record)
        if stage.kind == "table":
            return self._table(*record)
        return self._scorecard(*record)

    def _outputs(self, stage) -> dict:
        return {name: self.shown(name) for name in stage.outputs}

    def _ruleset(self, stage, matched, selected, conflict) -> dict:
        ruleset = stage.target
        shown = self.shown
        return {
            "id": stage.id, "kind": "ruleset", "ruleset": ruleset.name,
            "hit_policy": ruleset.hit_policy,
            "rules": [{"id": rule.id, "matched": bool(hit),
                       "read": {path: shown(path) for path in rule.reads}}
                      for rule, hit in zip(ruleset.rules, matched)],
            "selected": [ruleset.rules[i].id for i in selected],
            "conflict": [ruleset.rules[i].id for i, hit in enumerate(matched) if hit]
            if conflict else None,
            "outputs": self._outputs(stage),
        }

    def _table(self, stage, rows, conflict) -> dict:
        table = stage.target
        return {
            "id": stage.id, "kind": "table", "table": table.name, "hit_policy": table.hit_policy,
            "read": {path: self.shown(path) for path in table.inputs},
            "rows": [table.rows[i].id for i in rows],
            "conflict": conflict,
            "outputs": self._outputs(stage),
        }

    def _scorecard(self, stage, picked, score, band) -> dict:
        card = stage.target
        characteristics = []
        for characteristic, position in zip(card.characteristics, picked):
            bin_ = characteristic.bins[position] if position >= 0 else None
            points = bin_.points if bin_ else 0
            characteristics.append({
                "id": characteristic.id, "value": self.shown(characteristic.input),
                "bin": bin_.id if bin_ else None, "points": points,
                "lost": characteristic.best_points - points,
            })
        return {"id": stage.id, "kind": "scorecard", "scorecard": card.name,
                "base_points": card.base_points, "characteristics": characteristics,
                "score": score, "band": band}

    def _limit(self) -> dict | None:
        if self.limit_record is None:
            return None
        base, caps, binding, amount, minimum, result = self.limit_record
        spec = self.policy.parts.limit
        return {
            "base": _jsonable(base),
            "caps": [{"id": cap.id, "value": _jsonable(value)}
                     for cap, value in zip(spec.caps, caps)],
            "binding_cap": binding,
            "before_rounding": _jsonable(amount),
            "round_down_to": spec.round_down_to,
            "minimum": _jsonable(minimum),
            "limit": result,
        }


_PLAIN = frozenset({int, str, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """Typed values as JSON: decimals as exact strings, dates as ISO, tuples as lists."""
    if value.__class__ in _PLAIN:
        return value
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits, never 1E+3
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits, never 1E+3
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no insignificant spaces, UTF-8 text kept as is;
    decimals as exact strings, dates as ISO strings."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_json_default)
