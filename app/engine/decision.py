"""The explainable result: a Decision and its Trace, plain values, and their deterministic JSON.

A Decision names its policy version by a PolicyRef (never the Policy itself). Its Trace keeps what
evaluation recorded (the values dict, each stage's result, the limit figures) and the policy's
intermediate form, and renders the explanation only when asked: most decisions are rendered once,
for storage, and rendering costs more than deciding.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from . import model as m
from . import render
from .render import canonical_json  # noqa: F401  (its home was here: importers keep working)
from .privacy import mask
from .stages import LimitResult, RulesetResult, ScorecardResult, StageResult, TableResult
from .types import to_json

# The fields that say what was decided: what a rule test compares and the benchmark checks.
HEADLINE = ("outcome", "limit", "customer_group", "score", "score_band", "reasons")


@dataclass(frozen=True)
class PolicyRef:
    """Which policy version decided: its name, human version, content hash, and configured engine."""

    name: str
    version: str
    hash: str
    engine: str

    def identity(self) -> dict:
        """The policy as a decision and its trace name it (the backend is given beside it)."""
        return {"name": self.name, "version": self.version, "hash": self.hash}


class Reason(NamedTuple):
    """One reason code of a decision with its catalogue texts and where it came from: `zh` and
    `en` for staff and compliance, `customer_zh` and `customer_en` for the applicant. `stage` is
    a stage id, "requires" (a data requirement) or "limit"."""

    code: str
    zh: str
    en: str
    action: str
    stage: str
    rule: str | None
    customer_zh: str = ""
    customer_en: str = ""

    def to_dict(self) -> dict:
        shown = {"code": self.code, "zh": self.zh, "en": self.en, "action": self.action,
                 "stage": self.stage, "rule": self.rule}
        if self.customer_zh or self.customer_en:  # a catalogue without them: as decided before
            shown["customer"] = {"zh": self.customer_zh, "en": self.customer_en}
        return shown


class Decision:
    """Outcome, limit, customer group, score and band, ordered reasons, and the trace."""

    __slots__ = ("policy", "backend", "outcome", "limit", "customer_group", "score",
                 "score_band", "reasons", "trace")

    def __init__(self, policy: PolicyRef, backend: str, outcome: str, limit: int | None,
                 customer_group: Any, score: int | Decimal | None, score_band: str | None,
                 reasons: list[Reason], trace: Trace):
        self.policy = policy
        self.backend = backend
        self.outcome = outcome
        self.limit = limit
        self.customer_group = customer_group
        self.score = score
        self.score_band = score_band
        self.reasons = reasons
        self.trace = trace

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    @property
    def hits(self) -> list[str]:
        """Ids of the rules that matched, in stage and rule order."""
        return self.trace.hits()

    @property
    def outputs(self) -> dict:
        """The policy's declared outputs, as computed (not masked); an output the policy shows
        only with other outcomes is None."""
        values = self.trace.values
        return {name: values.get(name) if self.trace.shows(name, self.outcome) else None
                for name in self.trace.parts.outputs}

    def headline(self) -> dict:
        """What was decided, keyed by HEADLINE; reasons as their codes in order."""
        return {"outcome": self.outcome, "limit": self.limit,
                "customer_group": self.customer_group, "score": self.score,
                "score_band": self.score_band, "reasons": self.reason_codes}

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "limit": self.limit,
            "customer_group": self.customer_group,
            "score": self.score,
            "score_band": self.score_band,
            "reasons": [r.to_dict() for r in self.reasons],
            # Personal data copied into an output is masked here as in the trace.
            "outputs": self.trace.shown_outputs(self.outcome),
            "policy": self.policy.identity(),
            "engine": self.backend,
        }

    def to_json(self) -> str:
        """canonical_json(self.to_dict()), rendered from the policy's static fragments."""
        return render.decision_json(self)


class Trace:
    """Everything that led to a decision; rendered on demand from what evaluation recorded."""

    __slots__ = ("policy", "backend", "typed", "values", "stages", "limit", "parts",
                 "requirements", "sources", "_shown")

    def __init__(self, policy: PolicyRef, backend: str, typed: dict, values: dict,
                 stages: list[StageResult], limit: LimitResult | None, parts: m.PolicyParts,
                 requirements: tuple[int, ...] = (), sources: dict[str, str | None] | None = None):
        self.policy = policy
        self.backend = backend
        self.typed = typed
        self.values = values
        self.stages = stages
        self.limit = limit
        self.parts = parts
        self.requirements = requirements  # one state per requirement of the policy
        self.sources = sources or {}  # where each shared value came from (the service says)
        self._shown: dict[str, Any] = {}

    def unmet(self) -> list[str]:
        """Ids of the requirements that applied and were not met."""
        return [r.id for r, state in zip(self.parts.requirements, self.requirements)
                if state == m.UNMET]

    def unusable_models(self) -> list[str]:
        """Ids of the declared model scores that could not be used (absent, out of range, from
        another model or version)."""
        return [model.id for model in self.parts.models
                if m.model_state(model, self.values) != m.USABLE]

    def hits(self) -> list[str]:
        """Ids of the unmet requirements, then of the rules that matched, in stage and rule
        order (the order their reasons rank in)."""
        found = self.unusable_models() + self.unmet()
        for result in self.stages:
            if result.stage.kind == "ruleset":
                rules = result.stage.target.rules
                found.extend(rule.id for rule, hit in zip(rules, result.matched) if hit)
        return found

    def matched(self) -> dict[str, bool]:
        """Every requirement id with whether it was unmet (its `else` applied), every rule id of
        every rule set with whether it matched, and every table row and scorecard bin id with
        whether it was the one used."""
        flags = {r.id: state == m.UNMET
                 for r, state in zip(self.parts.requirements, self.requirements)}
        unusable = set(self.unusable_models())
        flags.update({model.id: model.id in unusable for model in self.parts.models})
        for result in self.stages:
            target = result.stage.target
            if isinstance(result, RulesetResult):
                for rule, hit in zip(target.rules, result.matched):
                    flags[rule.id] = bool(hit)
            elif isinstance(result, TableResult):
                chosen = set(result.rows)
                for index, row in enumerate(target.rows):
                    flags[row.id] = index in chosen
            else:
                for characteristic, position in zip(target.characteristics, result.picked):
                    for index, bin_ in enumerate(characteristic.bins):
                        flags[bin_.id] = index == position
        return flags

    def shown(self, path: str) -> Any:
        """A value as the trace shows it: personal data masked. Cached per path, since many
        rules read the same fields."""
        cache = self._shown
        if path in cache:
            return cache[path]
        value = self.values.get(path)
        kind = self.parts.pii_kinds.get(path)
        if kind and value is not None:
            shown = mask(kind, value if value.__class__ is str else to_json(value)
                         if not isinstance(value, tuple) else "list")
        elif value.__class__ in _PLAIN:
            shown = value
        else:
            shown = to_json(value)
        cache[path] = shown
        return shown

    def shows(self, name: str, outcome: str) -> bool:
        """Whether the policy reports an output with this outcome (`outcomes:` in its outputs)."""
        outcomes = self.parts.output_outcomes.get(name)
        return outcomes is None or outcome in outcomes

    def shown_outputs(self, outcome: str) -> dict:
        """The policy's declared outputs as the trace shows them; None where the policy does
        not report the output with this outcome."""
        return {name: self.shown(name) if self.shows(name, outcome) else None
                for name in self.parts.outputs}

    def to_dict(self, level: str = render.FULL) -> dict:
        """The trace as a JSON-ready dict; at level `hits` each rule set lists only the rules
        that matched (render.py says what the levels hold)."""
        return {
            "policy": self.policy.identity(),
            "engine": self.backend,
            "input": self.parts.input_schema.mask(self.typed),
            "features": {f.name: self.shown(f.name) for f in self.parts.features},
            **({"shared": self._shared()} if self.parts.shared else {}),
            **({"models": self._models()} if self.parts.models else {}),
            **({"requirements": self._requirements()} if self.parts.requirements else {}),
            "stages": [self._stage(result, level) for result in self.stages],
            "limit": self._limit(),
        }

    def to_json(self, level: str = render.FULL) -> str:
        """canonical_json(self.to_dict(level)), rendered from the policy's static fragments
        with each value encoded once."""
        return render.trace_json(self, level)

    def shared_values(self) -> dict[str, Any]:
        """{name: value} of the shared values this decision used (what a replay hands in)."""
        return {d.name: self.values.get(d.name) for d in self.parts.shared}

    def _shared(self) -> list[dict]:
        """Every shared value: its name, kind, value, the key fields (masked as the input is),
        the window, and where the value came from."""
        shown = self.shown
        entries = []
        for d in self.parts.shared:
            entry = {"name": d.name, "kind": d.kind, "value": self.values.get(d.name),
                     "key": {path: shown(path) for path in d.keys},
                     "window": d.window, "source": self.sources.get(d.name)}
            if d.kind == "list":
                entry["list"] = d.subject
            elif d.kind in ("count", "distinct", "days_since"):
                entry[{"count": "events", "distinct": "distinct", "days_since": "outcome"}[d.kind]] = d.subject
            entries.append(entry)
        return entries

    def _models(self) -> list[dict]:
        """Every declared model score: its state, the score, model id and version received."""
        shown = self.shown
        return [{"id": model.id, "state": m.model_state(model, self.values),
                 "score": shown(model.score),
                 "model": shown(model.model_field) if model.model_field else None,
                 "version": shown(model.version_field) if model.version_field else None,
                 "expected": {"model": model.expected_model,
                              "versions": list(model.expected_versions),
                              "range": [to_json(model.minimum), to_json(model.maximum)]}}
                for model in self.parts.models]

    def _requirements(self) -> list[dict]:
        """Every requirement: whether it applied, whether it was met, the fields missing, and
        every value it read (its fields, then what its condition reads)."""
        shown, values = self.shown, self.values
        return [{"id": r.id, "applies": state != m.NOT_APPLICABLE,
                 "met": None if state == m.NOT_APPLICABLE else state == m.MET,
                 "missing": [path for path in r.fields if values.get(path) is None]
                 if state == m.UNMET else [],
                 "read": {path: shown(path) for path in r.reads}}
                for r, state in zip(self.parts.requirements, self.requirements)]

    def _stage(self, result: StageResult, level: str = render.FULL) -> dict:
        if isinstance(result, RulesetResult):
            return self._ruleset(result, level)
        if isinstance(result, TableResult):
            return self._table(result)
        return self._scorecard(result)

    def _outputs(self, stage: m.Stage) -> dict:
        return {name: self.shown(name) for name in stage.outputs}

    def _ruleset(self, result: RulesetResult, level: str = render.FULL) -> dict:
        stage = result.stage
        ruleset = stage.target
        return {
            "id": stage.id, "kind": "ruleset", "ruleset": ruleset.name,
            "hit_policy": ruleset.hit_policy,
            "rules": [self._rule(rule, hit) for rule, hit in zip(ruleset.rules, result.matched)
                      if hit or level == render.FULL],
            "selected": [ruleset.rules[i].id for i in result.selected],
            "conflict": [ruleset.rules[i].id for i, hit in enumerate(result.matched) if hit]
            if result.conflict else None,
            "outputs": self._outputs(stage),
        }

    def _rule(self, rule: m.Rule, hit: bool) -> dict:
        shown = self.shown
        entry = {"id": rule.id, "matched": bool(hit),
                 "read": {path: shown(path) for path in rule.reads}}
        if rule.probes:  # a rule over lists: the positions of the items that matched, per list
            entry["items"] = {probe.text: probe.positions(self.values) for probe in rule.probes}
        return entry

    def _table(self, result: TableResult) -> dict:
        stage = result.stage
        table = stage.target
        return {
            "id": stage.id, "kind": "table", "table": table.name, "hit_policy": table.hit_policy,
            "read": {path: self.shown(path) for path in table.inputs},
            "rows": [table.rows[i].id for i in result.rows],
            "conflict": result.conflict,
            "outputs": self._outputs(stage),
        }

    def _scorecard(self, result: ScorecardResult) -> dict:
        stage = result.stage
        card = stage.target
        characteristics = []
        for characteristic, position in zip(card.characteristics, result.picked):
            bin_ = characteristic.bins[position] if position >= 0 else None
            points = bin_.points if bin_ else 0
            characteristics.append({
                "id": characteristic.id, "value": self.shown(characteristic.input),
                "bin": bin_.id if bin_ else None, "points": points,
                "lost": characteristic.best_points - points,
            })
        shown = {"id": stage.id, "kind": "scorecard", "scorecard": card.name,
                 "base_points": card.base_points, "characteristics": characteristics,
                 "score": result.score, "band": result.band}
        if stage.pd_name is not None:
            scaling = card.scaling
            shown["pd"] = self.values.get(stage.pd_name)
            shown["scaling"] = {"pdo": scaling.pdo, "odds": scaling.odds, "points": scaling.points}
        return shown

    def _limit(self) -> dict | None:
        result = self.limit
        if result is None:
            return None
        spec = self.parts.limit
        return {
            "base": to_json(result.base),
            "caps": [{"id": cap.id, "value": to_json(value)}
                     for cap, value in zip(spec.caps, result.caps)],
            "binding_cap": result.binding_cap,
            "before_rounding": to_json(result.before_rounding),
            "round_down_to": spec.round_down_to,
            "minimum": to_json(result.minimum),
            "limit": result.limit,
        }


_PLAIN = frozenset({int, str, bool, type(None)})
