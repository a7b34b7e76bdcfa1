"""A loaded policy version and how it decides.

Evaluation order: flatten the typed input into the values dict, compute the features, run every
stage in order (each may add outputs that later stages read), compute the limit, then combine the
effects: DECLINE beats REFER beats APPROVE; reasons ordered by severity, stage, rule.

The per-decision work is kept small: the trace records only what evaluation produced anyway (the
values dict, the matched flags, the chosen rows and bins) and renders it to a dict when asked.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any

from . import model as m
from .decision import Decision, Reason, Trace
from .language.compiler import DECIMAL_CONTEXT
from .loader import policy_hash

BACKENDS = ("compiled", "durable")


class Policy:
    """One version of one policy, compiled and ready to decide."""

    def __init__(self, parts: m.PolicyParts):
        self.parts = parts
        self.name = parts.name
        self.version = parts.version
        self.engine = parts.engine
        self.files = parts.files
        self.hash = policy_hash(parts.files, parts.version)
        self.input_schema = parts.input_schema
        # What traces mask: personal data fields, and features computed from them that could
        # reveal them (text keeps the field's masking; dates and lists are hidden).
        self.scorecard_stage = next((s for s in parts.stages if s.kind == "scorecard"), None)
        self.pii_kinds = parts.input_schema.pii_fields()
        for feature in parts.features:
            if feature.pii and feature.type.name in ("string", "enum"):
                self.pii_kinds[feature.name] = feature.pii
            elif feature.pii and feature.type.name in ("date", "list"):
                self.pii_kinds[feature.name] = "derived"
        self._request_schema = None
        self._durable: dict[str, Any] | None = None
        if self.engine == "durable":
            self._durable_matchers()  # build now: problems show at load, not on a request

    def __repr__(self) -> str:
        return f"<Policy {self.name} {self.version} {self.hash[:12]}>"

    # --- input ---------------------------------------------------------------------------------
    def request_schema(self):
        """The marshmallow schema of this policy's input (built once)."""
        if self._request_schema is None:
            self._request_schema = self.input_schema.marshmallow_schema()
        return self._request_schema

    def parse_input(self, raw: Any) -> dict:
        """Typed input from JSON-style data; raises InputError with every error by field path."""
        return self.input_schema.parse(raw, self.request_schema())

    def pii_fields(self) -> dict[str, str]:
        return self.input_schema.pii_fields()

    def mask_input(self, typed: dict) -> dict:
        return self.input_schema.mask(typed)

    # --- deciding ------------------------------------------------------------------------------
    def decide(self, typed: dict, backend: str | None = None) -> Decision:
        """Decide on a typed input (from parse_input). Pure: no clock, no environment."""
        backend = backend or self.engine
        if backend not in BACKENDS:
            raise ValueError(f"unknown engine backend {backend!r}; use one of {BACKENDS}")
        # Decimal arithmetic in generated code must not depend on the caller's thread context.
        with localcontext(DECIMAL_CONTEXT):
            return self._decide(typed, backend)

    def _decide(self, typed: dict, backend: str) -> Decision:
        parts = self.parts
        values = parts.input_schema.flatten(typed)
        parts.compute_features(values)
        effects: list[tuple] = []
        records: list[tuple] = []
        matchers = self._durable_matchers() if backend == "durable" else None
        for index, stage in enumerate(parts.stages):
            if stage.kind == "ruleset":
                matched = (matchers[stage.id].match(values) if matchers is not None
                           else stage.match(values))
                records.append(_run_ruleset(stage, index, matched, values, effects))
            elif stage.kind == "table":
                records.append(_run_table(stage, index, values, effects))
            else:
                records.append(_run_scorecard(stage, index, values, effects))
        limit_record = _run_limit(parts.limit, len(parts.stages), values, effects) \
            if parts.limit else None
        effects.sort(key=lambda e: e[:4])
        outcome = m.APPROVE
        if effects:
            outcome = m.DECLINE if effects[0][0] == m.SEVERITY[m.DECLINE] else m.REFER
        reasons, seen = [], set()
        for _, stage_index, _, _, code, action, rule_id in effects:
            if code not in seen:
                seen.add(code)
                text = parts.reasons[code]
                reasons.append(Reason(code, text.zh, text.en, action,
                                      parts.stages[stage_index].id
                                      if stage_index < len(parts.stages) else "limit", rule_id))
        limit = limit_record[-1] if (limit_record and outcome == m.APPROVE) else None
        trace = Trace(self, backend, typed, values, records, limit_record)
        return Decision(self, backend, outcome, limit, values, reasons, trace)

    def _durable_matchers(self) -> dict[str, Any]:
        """durable_rules matchers, one per rule-set stage, built on first use."""
        if self._durable is None:
            from .backends.durable import DurableMatcher  # imported only when asked for
            self._durable = {
                stage.id: DurableMatcher(f"{self.hash[:16]}:{stage.id}", stage.target.rules)
                for stage in self.parts.stages if stage.kind == "ruleset"}
        return self._durable


# --- stages -------------------------------------------------------------------------------------
def _add_effect(effects: list, effect: m.Effect, stage_index: int, position: int,
                rule_id: str | None) -> None:
    rank = m.SEVERITY[effect.action]
    for order, code in enumerate(effect.reasons):
        effects.append((rank, stage_index, position, order, code, effect.action, rule_id))


def _run_ruleset(stage: m.Stage, index: int, matched: tuple, values: dict,
                 effects: list) -> tuple:
    ruleset: m.RuleSet = stage.target
    rules = ruleset.rules
    hits = [i for i, hit in enumerate(matched) if hit]
    policy = ruleset.hit_policy
    conflict = False
    if policy == "collect" or not hits:
        selected = hits
    elif policy == "first":
        selected = hits[:1]
    elif policy == "priority":
        selected = [max(hits, key=lambda i: (rules[i].priority, -i))]
    elif policy == "unique":
        conflict = len(hits) > 1
        selected = [] if conflict else hits
    else:  # any: several matches must agree
        first = rules[hits[0]]
        conflict = any(rules[i].outputs != first.outputs or rules[i].effect != first.effect
                       for i in hits[1:])
        selected = [] if conflict else hits
    for i in selected:
        if rules[i].effect is not None:
            _add_effect(effects, rules[i].effect, index, i, rules[i].id)
    if conflict:
        _add_effect(effects, m.Effect(m.REFER, ("RULESET_CONFLICT",)), index, hits[0], None)
    elif not hits and ruleset.when_none is not None:
        _add_effect(effects, ruleset.when_none, index, len(rules), None)
    if stage.outputs:
        chosen = rules[selected[0]].outputs if selected else {}
        for name in stage.outputs:
            values[name] = chosen.get(name)
    return (stage, matched, tuple(selected), conflict)


def _run_table(stage: m.Stage, index: int, values: dict, effects: list) -> tuple:
    table: m.Table = stage.target
    picked = stage.pick_rows(values)
    conflict = False
    if table.hit_policy == "first":
        rows = (picked,) if picked >= 0 else ()
    else:
        rows = tuple(i for i, hit in enumerate(picked) if hit)
        if len(rows) > 1 and (table.hit_policy == "unique" or any(
                table.rows[i].outputs != table.rows[rows[0]].outputs for i in rows[1:])):
            conflict = True
    row = table.rows[rows[0]] if rows and not conflict else None
    for name in stage.outputs:
        values[name] = row.outputs.get(name) if row else None
    if conflict:
        _add_effect(effects, m.Effect(m.REFER, ("RULESET_CONFLICT",)), index, rows[0], None)
    elif row is None and table.when_none is not None:
        _add_effect(effects, table.when_none, index, 0, None)
    return (stage, rows, conflict)


def _run_scorecard(stage: m.Stage, index: int, values: dict, effects: list) -> tuple:
    card: m.Scorecard = stage.target
    picked = stage.pick_bins(values)
    score = card.base_points
    for characteristic, position in zip(card.characteristics, picked):
        if position >= 0:
            score += characteristic.bins[position].points
    band = card.bands[-1]
    for candidate in card.bands:
        if candidate.minimum is None or score >= candidate.minimum:
            band = candidate
            break
    values[stage.score_name] = score
    values[stage.band_name] = band.band
    if band.effect is not None:
        _add_effect(effects, band.effect, index, 0, None)
        for rank, (code, characteristic_id) in enumerate(_score_reasons(card, picked), start=1):
            effect = m.Effect(band.effect.action, (code,))
            _add_effect(effects, effect, index, rank, characteristic_id)
    return (stage, picked, score, band.band)


def _score_reasons(card: m.Scorecard, picked: tuple) -> list[tuple[str, str]]:
    """Scorecard reasons: characteristics ranked by points lost against their best bin."""
    losses = []
    for order, (characteristic, position) in enumerate(zip(card.characteristics, picked)):
        if position < 0:
            continue
        bin_ = characteristic.bins[position]
        lost = characteristic.best_points - bin_.points
        if lost > 0 and bin_.reason:
            losses.append((-lost, order, bin_.reason, characteristic.id))
    losses.sort()
    return [(code, cid) for _, _, code, cid in losses[:card.max_reasons]]


def _run_limit(spec: m.LimitSpec, index: int, values: dict, effects: list) -> tuple:
    """(base, cap values, binding cap id, before rounding, minimum, limit or None)."""
    base = spec.base(values)
    caps = tuple(cap.value(values) for cap in spec.caps)
    minimum = spec.minimum(values)
    if base is None:
        _add_effect(effects, spec.when_missing, index, 0, None)
        return (base, caps, None, None, minimum, None)
    amount, binding = base, None
    for cap, value in zip(spec.caps, caps):
        if value is not None and value < amount:
            amount, binding = value, cap.id
    whole = amount if amount.__class__ is int else int(
        Decimal(amount).to_integral_value(rounding=ROUND_FLOOR))
    rounded = whole // spec.round_down_to * spec.round_down_to
    if rounded < 0:
        rounded = 0
    if minimum is not None and rounded < minimum:
        _add_effect(effects, spec.below_minimum, index, 0, None)
    return (base, caps, binding, amount, minimum, rounded)
