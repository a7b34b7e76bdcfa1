"""A stored decision arranged for a reader: the headline, the reasons with their rules, the data
requirements, each stage with the rules that matched and the values they read, the scorecard, the
limit step by step, each item with its text as written in the stored version."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.services.versions import Written, WrittenText


@dataclass
class Read:
    """One value a rule read; `missing` when it was absent or null."""

    name: str
    value: Any
    missing: bool


@dataclass
class RuleView:
    id: str
    matched: bool
    read: list[Read]
    written: Written | None


@dataclass
class StageView:
    id: str
    kind: str
    source: str               # the rule set, table or scorecard it ran
    title: tuple[str, str]
    hit_policy: str | None
    outputs: dict[str, Any]
    matched: list[RuleView] = field(default_factory=list)
    unmatched: list[RuleView] = field(default_factory=list)
    rows: list[RuleView] = field(default_factory=list)
    score: dict[str, Any] | None = None


@dataclass
class CapView:
    id: str
    value: Any
    applies: bool
    binding: bool
    written: Written | None


@dataclass
class LimitView:
    base: Any
    caps: list[CapView]
    before_rounding: Any
    round_down_to: Any
    minimum: Any
    limit: Any


@dataclass
class Explained:
    decision: dict[str, Any]
    reasons: list[dict[str, Any]]
    requirements: list[dict[str, Any]]
    stages: list[StageView]
    limit: LimitView | None
    features: list[Read]
    input: dict[str, Any]
    written: WrittenText


def explain(decision: dict[str, Any], written: WrittenText) -> Explained:
    trace = decision.get("trace") or {}
    items = written.items
    stages = {stage["id"]: stage for stage in trace.get("stages", [])}
    reasons = [{**reason, "written": items.get(reason.get("rule") or ""), "origin": _origin(reason, stages)}
               for reason in decision.get("reasons", [])]
    requirements = [{**req, "written": items.get(req["id"]), "read_list": _reads(req.get("read") or {})}
                    for req in trace.get("requirements", [])]
    return Explained(
        decision=decision, reasons=reasons, requirements=requirements,
        stages=[_stage(stage, written) for stage in trace.get("stages", [])],
        limit=_limit(trace["limit"], items) if trace.get("limit") else None,
        features=_reads(trace.get("features") or {}), input=trace.get("input") or {}, written=written)


def _origin(reason: dict[str, Any], stages: dict[str, dict[str, Any]]) -> tuple[str, Any] | None:
    """What gave a reason that no single rule gave (its `rule` is None), as (text key, detail): a
    scorecard's band, a stage where no rule matched, or the limit (below the minimum, or a value it
    needs missing); None when a rule, row or bin gave it (the page shows that id)."""
    if reason.get("rule"):
        return None
    stage = stages.get(reason.get("stage") or "")
    if stage is None:
        return ("reason.from_limit", None) if reason.get("stage") == "limit" else ("reason.from_stage", None)
    if stage.get("kind") == "scorecard":
        return "reason.from_band", stage.get("band")
    if not any(rule.get("matched") for rule in stage.get("rules") or []) and not stage.get("rows"):
        return "reason.from_no_match", None
    return "reason.from_stage", None


def _reads(values: dict[str, Any]) -> list[Read]:
    return [Read(name, value, value is None) for name, value in values.items()]


def _stage(stage: dict[str, Any], written: WrittenText) -> StageView:
    source = stage.get("ruleset") or stage.get("table") or stage.get("scorecard") or stage["id"]
    view = StageView(id=stage["id"], kind=stage.get("kind", ""), source=source,
                     title=written.titles.get(source, (source, source)), hit_policy=stage.get("hit_policy"),
                     outputs=stage.get("outputs") or {})
    items = written.items
    for rule in stage.get("rules") or []:
        shown = RuleView(rule["id"], bool(rule.get("matched")), _reads(rule.get("read") or {}), items.get(rule["id"]))
        (view.matched if shown.matched else view.unmatched).append(shown)
    if stage.get("kind") == "table":
        read = _reads(stage.get("read") or {})
        view.rows = [RuleView(row, True, read, items.get(row)) for row in stage.get("rows") or []]
    if stage.get("kind") == "scorecard":
        view.score = {
            "base_points": stage.get("base_points"), "score": stage.get("score"), "band": stage.get("band"),
            "characteristics": [{**c, "written": items.get(c["id"]), "bin_written": items.get(c.get("bin") or ""),
                                 "missing": c.get("value") is None}
                                for c in stage.get("characteristics", [])]}
    return view


def _limit(limit: dict[str, Any], items: dict[str, Written]) -> LimitView:
    binding = limit.get("binding_cap")
    caps = [CapView(cap["id"], cap.get("value"), cap.get("value") is not None, cap["id"] == binding,
                    items.get(cap["id"])) for cap in limit.get("caps", [])]
    return LimitView(base=limit.get("base"), caps=caps, before_rounding=limit.get("before_rounding"),
                     round_down_to=limit.get("round_down_to"), minimum=limit.get("minimum"),
                     limit=limit.get("limit"))


def money(value: Any) -> str:
    """Whole yuan with thousands separators, exactly as stored (a fraction is shown, never rounded)."""
    if value is None:
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,}"
