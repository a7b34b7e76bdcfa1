"""What `policy check` warns about missing data, once a policy has read without errors:

- FAILS_OPEN: a DECLINE rule (or a branch of its `or`), a limit cap or a conditional requirement
  that is switched off when some optional input is missing and no requirement lists it. A missing
  value makes every comparison false: right for the language, wrong as the only protection of a
  knock-out control.
- INPUT_UNUSED: a declared input field that no rule, feature, table, scorecard, limit, requirement
  or output reads (personal data that is not needed should not be collected).

Each value a control reads is traced back to the optional input fields (and the stage outputs
that may be missing) whose absence leaves it missing: `coalesce`, `min` and `max` are missing only
when all their arguments are, `exists` and `missing` never. A requirement that lists a value
covers it (whatever its `when`: policy check trusts that it applies where the control matters).
A value a function cannot compute from data that is present (an ID number that is not valid,
a division by zero) is left to the rules that check validity.
"""
from __future__ import annotations

from itertools import product
from typing import Iterable

from .. import model as m
from ..errors import WARNING, Location
from ..language import conditions as c
from ..language.expressions import Call, Expr, Ref, children
from ..schema import InputSchema
from .context import BuildContext

# Absent data that leaves a value missing: alternatives, each a set of names missing together.
Gaps = list[frozenset]
_ALL_NEEDED = ("coalesce", "min", "max")  # missing only when every argument is
_MAX_ALTERNATIVES = 64


def check_coverage(ctx: BuildContext, schema: InputSchema, stages: list[m.Stage],
                   limit: m.LimitSpec | None, requirements: list[m.Requirement]) -> None:
    """Add the FAILS_OPEN and INPUT_UNUSED warnings of one policy to ctx.diagnostics."""
    gaps = _Gaps(ctx, schema, stages, requirements)
    for stage in stages:
        if stage.kind != "ruleset":
            continue
        for rule in stage.target.rules:
            if rule.effect is not None and rule.effect.action == m.DECLINE:
                _warn(ctx, gaps.condition(rule.condition), rule.location,
                      f"rule {rule.id} (DECLINE)")
    for cap in limit.caps if limit else []:
        found = gaps.value_of(ctx.cap_exprs[cap.id])
        if cap.condition is not None:
            found = _any([found, gaps.condition(cap.condition)])
        _warn(ctx, found, cap.location, f"limit cap {cap.id} (it does not apply)")
    for requirement in requirements:
        if requirement.condition is not None:
            _warn(ctx, gaps.condition(requirement.condition), requirement.location,
                  f"requirement {requirement.id} (it does not apply)")
    for path, spec in schema.fields.items():
        if path not in ctx.read_paths:
            ctx.error("INPUT_UNUSED", f"input field '{path}' is never read by a rule, feature, "
                      "table, scorecard, limit, requirement or output: remove it (data that is "
                      "not needed should not be collected) or use it", spec.location, WARNING)


def _warn(ctx: BuildContext, found: Gaps, location: Location | None, what: str) -> None:
    for gap in found:
        names = " and ".join(sorted(gap))
        verb, them = ("is", "it") if len(gap) == 1 else ("are", "them")
        ctx.error("FAILS_OPEN", f"{what} fails open when {names} {verb} missing: no requirement "
                  f"lists {them}, so an application can be approved without this check (list "
                  f"{them} under requires:, or test missing(...) in the condition)", location,
                  WARNING)


class _Gaps:
    """The absent data that leaves each value missing, in one policy."""

    def __init__(self, ctx: BuildContext, schema: InputSchema, stages: list[m.Stage],
                 requirements: list[m.Requirement]):
        self.ctx = ctx
        self.schema = schema
        self.listed = {name for r in requirements for name in r.fields}
        self.closed = _fail_closed_outputs(stages)
        self.memo: dict[str, Gaps] = {}

    def value(self, name: str) -> Gaps:
        if name in self.listed or name in self.closed:
            return []
        if name not in self.memo:
            self.memo[name] = []  # a feature cannot read itself; guards the recursion anyway
            spec = self.schema.fields.get(name)
            feature = self.ctx.feature_exprs.get(name)
            lookup = self.ctx.scope.list_lookups.get(name)
            if lookup is not None:  # in_list(list, field): off (false) when the field is missing
                found = self.value(lookup[1])
            elif spec is not None:
                found = [] if spec.required else [frozenset([name])]
            elif feature is not None:
                found = self.value_of(feature)
            else:  # a stage output or the limit's result that may be missing
                found = [frozenset([name])]
            self.memo[name] = found
        return self.memo[name]

    def value_of(self, expr: Expr) -> Gaps:
        if isinstance(expr, Ref):
            return self.value(expr.path)
        if isinstance(expr, Call) and expr.name in ("exists", "missing"):
            return []
        parts = [self.value_of(child) for child in children(expr)]
        if isinstance(expr, Call) and expr.name in _ALL_NEEDED:
            return _all(parts)
        return _any(parts)

    def condition(self, condition: c.Condition) -> Gaps:
        """The absent data that turns off a comparison of a condition: with `and`, the rule
        cannot fire; with `or`, that branch of the check cannot (`a >= 3 or b >= 6` misses a
        pattern in `a` when `a` is missing). Data the condition tests with missing(...) is
        handled by the condition itself."""
        atoms = list(c.atoms(condition))
        handled = _any([self.value(atom.field.path) for atom in atoms
                        if isinstance(atom, c.Presence) and not atom.present])
        found = _any([self._atom(atom) for atom in atoms])
        return [gap for gap in found if not any(known <= gap for known in handled)]

    def _atom(self, atom: c.Condition) -> Gaps:
        if isinstance(atom, c.Compare):
            right = [self.value(atom.right.path)] if isinstance(atom.right, c.FieldRef) else []
            return _any([self.value(atom.left.path), *right])
        if isinstance(atom, c.Member):
            return self.value(atom.field.path)
        if isinstance(atom, c.Presence):
            return self.value(atom.field.path) if atom.present else []
        if isinstance(atom, c.Computed):
            return _any([self.value(path) for path in atom.fields])
        return []


def _fail_closed_outputs(stages: list[m.Stage]) -> set[str]:
    """Stage outputs that are never missing without a REFER or DECLINE: scorecard outputs, and
    outputs that every rule or row sets in a rule set or table whose `when_none` has an action
    (a conflict REFERs too)."""
    closed: set[str] = set()
    for stage in stages:
        if stage.kind == "scorecard":
            closed.update(stage.outputs)
            continue
        target = stage.target
        if target.when_none is None:
            continue
        items = target.rules if stage.kind == "ruleset" else target.rows
        closed.update(name for name in stage.outputs
                      if all(name in item.outputs and not getattr(item.outputs[name], "nullable",
                                                                  False) for item in items))
    return closed


def _minimal(alternatives: Iterable[frozenset]) -> Gaps:
    """Without repeats and without any alternative that holds a smaller one."""
    unique = sorted(set(alternatives), key=lambda gap: (len(gap), sorted(gap)))
    kept: Gaps = []
    for gap in unique:
        if not any(smaller <= gap for smaller in kept):
            kept.append(gap)
    return kept


def _any(parts: list[Gaps]) -> Gaps:
    """Missing when any part is: every part's alternatives."""
    return _minimal(gap for part in parts for gap in part)


def _all(parts: list[Gaps]) -> Gaps:
    """Missing only when every part is: one alternative of each, together."""
    if not parts or any(not part for part in parts):
        return []
    combined = []
    for choice in product(*parts):
        combined.append(frozenset().union(*choice))
        if len(combined) >= _MAX_ALTERNATIVES:
            break
    return _minimal(combined)
