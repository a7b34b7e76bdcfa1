"""A loaded policy version and how it decides.

Evaluation order: flatten the typed input into the values dict, compute the features, run every
stage in order (stages.py), compute the limit, check the data requirements, then combine the
reasons: the most severe action of the policy's outcome vocabulary wins (DECLINE beats REFER beats
APPROVE by default), the least severe outcome when nothing acts; reasons ordered by severity, then source (the
requirements, each stage in order, the limit), then rule, each code once.
"""
from __future__ import annotations

from decimal import localcontext
from operator import itemgetter
from typing import Any, Mapping

from . import model as m
from .backends import BACKENDS
from .decision import Decision, PolicyRef, Reason, Trace
from .errors import SharedValueError
from .fastinput import fast_parser
from .language.compiler import DECIMAL_CONTEXT
from .stages import MODELS_INDEX, Matcher, RankedReason, run_limit, run_models, run_requirements, run_stages
from .validation import RequestSchema, parse_input, request_schema


class Policy:
    """One version of one policy, compiled and ready to decide."""

    def __init__(self, parts: m.PolicyParts):
        self.parts = parts
        self.name = parts.name
        self.version = parts.version
        self.engine = parts.engine
        self.files = parts.files
        self.hash = parts.hash
        self.input_schema = parts.input_schema
        self.outcomes = parts.outcomes
        self.ref = PolicyRef(parts.name, parts.version, parts.hash, parts.engine)
        self._request_schema: RequestSchema | None = None
        self._fast = fast_parser(self.input_schema)  # None for a declaration it does not handle
        self._durable: dict[str, Matcher] | None = None
        if self.engine == "durable":
            self._durable_matchers()  # build now: problems show at load, not on a request

    def __repr__(self) -> str:
        return f"<Policy {self.name} {self.version} {self.hash[:12]}>"

    # --- input ---------------------------------------------------------------------------------
    def request_schema(self) -> RequestSchema:
        """The marshmallow schema of this policy's input (built once)."""
        if self._request_schema is None:
            self._request_schema = request_schema(self.input_schema)
        return self._request_schema

    def parse_input(self, raw: Any) -> dict:
        """Typed input from JSON-style data; raises InputError with every error by field path.
        A plainly valid input is typed by the fast path (fastinput.py); anything else by
        marshmallow, which words every error."""
        if self._fast is not None:
            typed = self._fast(raw)
            if typed is not None:
                return typed
        return parse_input(raw, self.request_schema())

    def pii_fields(self) -> dict[str, str]:
        """{input path: personal data kind} of the declared input."""
        return self.input_schema.pii_fields()

    def free_text_fields(self) -> tuple[str, ...]:
        """The input paths of free text (strings with no `pii:` kind and no restrictive pattern)."""
        return self.input_schema.free_text_fields()

    # --- deciding ------------------------------------------------------------------------------
    def decide(self, typed: dict, backend: str | None = None,
               shared: Mapping[str, Any] | None = None,
               sources: Mapping[str, str] | None = None, values: dict | None = None) -> Decision:
        """Decide on a typed input (from parse_input). Pure: no clock, no environment.
        `shared` holds the values of the policy's shared-state declarations (`parts.shared`) as
        the service computed them, by name (a value not given is missing); `sources` says where
        each came from, for the trace. `values`, when given, is a fresh dict equal to
        `input_schema.flatten(typed)` (a file's rows read by `fastinput.cells_parser` come with
        it), taken as the decision's values instead of flattening again."""
        backend = backend or self.engine
        if backend not in BACKENDS:
            raise ValueError(f"unknown engine backend {backend!r}; use one of {BACKENDS}")
        # Decimal arithmetic in generated code must not depend on the caller's thread context.
        with localcontext(DECIMAL_CONTEXT):
            return self._decide(typed, backend, shared or {}, sources or {}, values)

    def _decide(self, typed: dict, backend: str, shared: Mapping[str, Any],
                sources: Mapping[str, str], values: dict | None = None) -> Decision:
        parts = self.parts
        if values is None:
            values = parts.input_schema.flatten(typed)
        for declared in parts.shared:
            value = shared.get(declared.name)
            # the common cases inline (this runs for every shared value of every decision);
            # anything else is checked, or refused, by shared_value
            if value is None or value.__class__ is not (bool if declared.type_name == "boolean" else int) \
                    or (value.__class__ is int and value < 0):
                value = shared_value(declared, value)
            values[declared.name] = value
        parts.compute_features(values)
        ranked: list[RankedReason] = []
        matchers = self._durable_matchers() if backend == "durable" else None
        results = run_stages(parts.stages, values, ranked, matchers)
        limit = run_limit(parts.limit, len(parts.stages), values, ranked) if parts.limit else None
        requirements = run_requirements(parts, values, ranked)
        if parts.models:
            run_models(parts, values, ranked)
        ranked.sort(key=_ORDER)
        vocabulary = parts.outcomes
        outcome = vocabulary.order[ranked[0].rank] if ranked else vocabulary.default
        reasons, seen = [], set()
        stages = parts.stages
        for entry in ranked:
            code = entry.code
            if code not in seen:
                seen.add(code)
                text = parts.reasons[code]
                index = entry.stage_index
                source = (stages[index].id if 0 <= index < len(stages)
                          else m.MODELS if index == MODELS_INDEX
                          else m.REQUIRES if index < 0 else m.LIMIT)
                reasons.append(Reason(code, text.zh, text.en, entry.action, source,
                                      entry.rule_id, text.customer_zh, text.customer_en))
        trace = Trace(self.ref, backend, typed, values, results, limit, parts, requirements,
                      {d.name: sources.get(d.name) for d in parts.shared})
        score = parts.score_stage  # the first scorecard gives the decision's score
        return Decision(self.ref, backend, outcome,
                        limit.limit if (limit and outcome in vocabulary.with_limit) else None,
                        values.get("customer_group"),
                        values.get(score.score_name) if score else None,
                        values.get(score.band_name) if score else None, reasons, trace)

    def _durable_matchers(self) -> dict[str, Matcher]:
        """durable_rules matchers, one per rule-set stage, built on first use."""
        if self._durable is None:
            from .backends.durable import DurableMatcher  # imported only when asked for
            self._durable = {
                stage.id: DurableMatcher(f"{self.hash[:16]}:{stage.id}", stage.target.rules)
                for stage in self.parts.stages if stage.kind == "ruleset"}
        return self._durable


def shared_value(declared: m.SharedValue, value: Any) -> Any:
    """A shared value as handed in, checked against its declaration: a whole number (not a
    boolean) for counts and days, a boolean for a list match, or None (missing)."""
    if value is None:  # a list match is never missing: a missing value is on no list
        return False if declared.type_name == "boolean" else None
    if declared.type_name == "boolean":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if not ok:
        expected = "true or false" if declared.type_name == "boolean" else "a whole number of at least 0"
        raise SharedValueError(declared.name, f"must be {expected}, not {value!r}")
    return value


# Reasons sort by rank, stage, position and order (a stable sort: nothing else is compared).
_ORDER = itemgetter(0, 1, 2, 3)
