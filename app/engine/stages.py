"""Evaluating a policy's stages on one decision's values, and the named records they produce.

Every stage always runs, whatever happened before, so a trace always explains every rule. A stage
may write outputs into the values dict that later stages read, and may contribute reasons
(`RankedReason`) that decide the outcome: the most severe action of the policy's outcome vocabulary
wins (DECLINE beats REFER beats APPROVE unless the policy declares its own); reasons are ordered
by severity, stage, position in the stage and order within the rule.

The records keep only what evaluation produced anyway (matched flags, chosen rows and bins, the
limit figures); the trace renders them when asked. They are NamedTuples: cheap to build on every
decision.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from itertools import compress, count
from typing import Any, NamedTuple, Protocol, Sequence, Union

from . import model as m

# conflicting rules or rows in a policy of the default vocabulary (a stage built by the policy
# reader carries its policy's own `conflict` effect)
CONFLICT = m.Effect(m.REFER, ("RULESET_CONFLICT",), m.DEFAULT_OUTCOMES.rank(m.REFER))
REQUIRES_INDEX = -1  # the stage index of the requirements' reasons: before every stage
MODELS_INDEX = -2    # a declared model score that cannot be used: before the requirements
# Records are built with tuple.__new__: the same NamedTuple, without the generated __new__'s
# Python frame (this runs a dozen times per decision).
_new = tuple.__new__


class RankedReason(NamedTuple):
    """One reason code a stage contributes; the first four fields order the reasons."""

    rank: int                 # the action's severity: its place in the outcome vocabulary
    stage_index: int          # the stage's position (requirements -1, the limit after every stage)
    position: int             # the rule, row or bin within the stage
    order: int                # the code's place among the rule's reasons
    code: str
    action: str
    rule_id: str | None


class RulesetResult(NamedTuple):
    stage: m.Stage
    matched: Sequence[bool]   # one flag per rule, in file order
    selected: tuple[int, ...]  # the rules the hit policy chose
    conflict: bool


class TableResult(NamedTuple):
    stage: m.Stage
    rows: tuple[int, ...]      # the rows that matched (the first only, for hit policy first)
    conflict: bool


class ScorecardResult(NamedTuple):
    stage: m.Stage
    picked: tuple[int, ...]    # the bin used per characteristic, -1 when none matched
    score: int | Decimal
    band: str


class LimitResult(NamedTuple):
    base: Any
    caps: tuple                # each cap's value, in the order of the policy's caps
    binding_cap: str | None
    before_rounding: Any
    minimum: Any
    limit: int | None


StageResult = Union[RulesetResult, TableResult, ScorecardResult]


class Matcher(Protocol):
    def match(self, values: dict) -> Sequence[bool]: ...


def run_stages(stages: list[m.Stage], values: dict, reasons: list[RankedReason],
               matchers: dict[str, Matcher] | None = None) -> list[StageResult]:
    """Run every stage in order; rule sets match with the given matchers (by stage id) or with
    their compiled function."""
    results: list[StageResult] = []
    for index, stage in enumerate(stages):
        kind = stage.kind
        if kind == "ruleset":
            matched = (matchers[stage.id].match(values) if matchers is not None
                       else stage.match(values))
            results.append(run_ruleset(stage, index, matched, values, reasons))
        elif kind == "table":
            results.append(run_table(stage, index, values, reasons))
        else:
            results.append(run_scorecard(stage, index, values, reasons))
        if stage.then_features is not None:
            stage.then_features(values)
    return results


def add_reasons(reasons: list[RankedReason], effect: m.Effect, stage_index: int, position: int,
                rule_id: str | None) -> None:
    rank = effect.rank
    for order, code in enumerate(effect.reasons):
        reasons.append(_new(RankedReason, (rank, stage_index, position, order, code,
                                           effect.action, rule_id)))


def run_ruleset(stage: m.Stage, index: int, matched: Sequence[bool], values: dict,
                reasons: list[RankedReason]) -> RulesetResult:
    ruleset: m.RuleSet = stage.target
    rules = ruleset.rules
    hits = list(compress(count(), matched))  # the indices of the rules that matched
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
            add_reasons(reasons, rules[i].effect, index, i, rules[i].id)
    if conflict:
        add_reasons(reasons, stage.conflict or CONFLICT, index, hits[0], None)
    elif not hits and ruleset.when_none is not None:
        add_reasons(reasons, ruleset.when_none, index, len(rules), None)
    if stage.outputs:
        chosen = rules[selected[0]].outputs if selected else {}
        for name in stage.outputs:
            values[name] = m.output_value(chosen.get(name), values)
    return _new(RulesetResult, (stage, matched, tuple(selected), conflict))


def run_table(stage: m.Stage, index: int, values: dict,
              reasons: list[RankedReason]) -> TableResult:
    table: m.Table = stage.target
    picked = stage.pick_rows(values)
    conflict = False
    if table.hit_policy == "first":
        rows = (picked,) if picked >= 0 else ()
    else:
        rows = tuple(compress(count(), picked))
        if len(rows) > 1 and (table.hit_policy == "unique" or any(
                table.rows[i].outputs != table.rows[rows[0]].outputs for i in rows[1:])):
            conflict = True
    row = table.rows[rows[0]] if rows and not conflict else None
    for name in stage.outputs:
        values[name] = m.output_value(row.outputs.get(name), values) if row else None
    if conflict:
        add_reasons(reasons, stage.conflict or CONFLICT, index, rows[0], None)
    elif row is None and table.when_none is not None:
        add_reasons(reasons, table.when_none, index, 0, None)
    return _new(TableResult, (stage, rows, conflict))


def run_scorecard(stage: m.Stage, index: int, values: dict,
                  reasons: list[RankedReason]) -> ScorecardResult:
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
    if stage.pd_name is not None:
        values[stage.pd_name] = probability_of_default(score, card.scaling)
    if band.effect is not None:
        add_reasons(reasons, band.effect, index, 0, None)
        for rank, (code, characteristic_id) in enumerate(_score_reasons(card, picked), start=1):
            effect = m.Effect(band.effect.action, (code,), band.effect.rank)
            add_reasons(reasons, effect, index, rank, characteristic_id)
    return _new(ScorecardResult, (stage, picked, score, band.band))


_PD_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
_LN2 = Decimal(2).ln(_PD_CONTEXT)


# PDs already computed, by whole score and scorecard scaling (the scaling held, so that its id is
# never another's): a decimal exp costs a tenth of a decision, and a scorecard's whole scores are few.
_PDS: dict[tuple[int, int], tuple[m.Scaling, Decimal]] = {}


def probability_of_default(score, scaling: m.Scaling) -> Decimal:
    """PD = 1 / (1 + odds), odds = odds0 * 2 ** ((score - points0) / pdo): decimal arithmetic at
    28 digits, so the same score gives the same PD on every machine and in every replay."""
    if score.__class__ is not int:  # a score with a fraction: computed each time
        return _probability_of_default(score, scaling)
    known = _PDS.get((score, id(scaling)))
    if known is None or known[0] is not scaling:
        if len(_PDS) > 100_000:  # many scalings over a long life: start again
            _PDS.clear()
        known = _PDS[score, id(scaling)] = (scaling, _probability_of_default(score, scaling))
    return known[1]


def _probability_of_default(score, scaling: m.Scaling) -> Decimal:
    ctx = _PD_CONTEXT
    exponent = ctx.multiply(ctx.divide(ctx.subtract(Decimal(score), scaling.points), scaling.pdo), _LN2)
    odds = ctx.multiply(scaling.odds, ctx.exp(exponent))
    return ctx.divide(Decimal(1), ctx.add(Decimal(1), odds))


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


def run_limit(spec: m.LimitSpec, index: int, values: dict,
              reasons: list[RankedReason]) -> LimitResult:
    """The base, capped by every cap that is present, rounded down, checked against the minimum."""
    base = spec.base(values)
    caps = tuple(cap.value(values) for cap in spec.caps)
    minimum = spec.minimum(values)
    if base is None:
        add_reasons(reasons, spec.when_missing, index, 0, None)
        if spec.result is not None:
            values[spec.result] = None
        return _new(LimitResult, (base, caps, None, None, minimum, None))
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
        add_reasons(reasons, spec.below_minimum, index, 0, None)
    if spec.result is not None:
        values[spec.result] = rounded
    return _new(LimitResult, (base, caps, binding, amount, minimum, rounded))


def run_requirements(parts: m.PolicyParts, values: dict,
                     reasons: list[RankedReason]) -> tuple[int, ...]:
    """Each requirement's state (model.NOT_APPLICABLE, MET, UNMET); an unmet one adds its
    effect, ranked before every stage."""
    if parts.check_requirements is None:
        return ()
    states = parts.check_requirements(values)
    for position, (requirement, state) in enumerate(zip(parts.requirements, states)):
        if state == m.UNMET:
            add_reasons(reasons, requirement.effect, REQUIRES_INDEX, position, requirement.id)
    return states


def run_models(parts: m.PolicyParts, values: dict, reasons: list[RankedReason]) -> None:
    """Each declared model score that is absent, out of range or from another model or version
    adds its effect, ranked before the requirements."""
    for position, model in enumerate(parts.models):
        if m.model_state(model, values) != m.USABLE:
            add_reasons(reasons, model.effect, MODELS_INDEX, position, model.id)
