"""The intermediate form of a policy: validated, typed, compiled, ready to evaluate.

The readers (read/) build these from the YAML documents; stages.py and policy.py evaluate them,
and a decision's trace renders from them. Every rule, table row, scorecard bin and limit cap keeps
its stable id and its location, so a trace or a diagnostic can name exactly what it is about.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from .errors import Location
from .language.conditions import Condition
from .schema import InputSchema
from .types import Type

DECLINE = "DECLINE"
REFER = "REFER"
APPROVE = "APPROVE"
OUTCOME_NAME = r"^[A-Z][A-Z0-9_]{0,19}$"   # an outcome's name (it is stored in 20 characters)


@dataclass(frozen=True)
class Outcomes:
    """A policy's outcome vocabulary (`outcomes:`): the names in order of severity, most severe
    first, the last being the outcome when nothing acts; the outcomes that carry the computed
    limit; and `unsettled`, what the engine itself gives when it cannot settle a decision
    (conflicting rules, a model score it cannot use)."""

    order: tuple[str, ...]
    with_limit: frozenset[str]
    unsettled: str

    @property
    def default(self) -> str:
        return self.order[-1]

    @property
    def actions(self) -> tuple[str, ...]:
        """What a rule, row, band or requirement may give: every outcome but the default."""
        return self.order[:-1]

    def rank(self, outcome: str) -> int:
        """Lower ranks are more severe: they decide the outcome and come first in the reasons."""
        return self.order.index(outcome)

    def to_dict(self) -> dict:
        return {"order": list(self.order), "limit": [o for o in self.order if o in self.with_limit],
                "unsettled": self.unsettled}


# The vocabulary of a policy that declares none: DECLINE beats REFER beats APPROVE.
DEFAULT_OUTCOMES = Outcomes((DECLINE, REFER, APPROVE), frozenset({APPROVE}), REFER)
OUTCOMES = (APPROVE, DECLINE, REFER)  # the default vocabulary's names

HIT_POLICIES = ("first", "unique", "priority", "collect", "any")
TABLE_HIT_POLICIES = ("first", "unique", "any")

# Reason codes the engine itself may give; a catalogue may override their text.
ENGINE_REASONS = {
    "RULESET_CONFLICT": {"zh": "规则冲突，需人工审核",
                         "en": "Conflicting rules matched; manual review required",
                         "customer": {"zh": "您的申请需要进一步审核", "en": "Your application needs a further review"}},
    # the default effect of a declared model score that is absent, out of range or from another
    # model or version (a policy's `models:` may name its own reason instead)
    "MODEL_SCORE_UNUSABLE": {"zh": "模型评分缺失、超出有效范围或模型版本不符，需人工审核",
                             "en": "Model score absent, out of range or from another model version; manual review required",
                             "customer": {"zh": "您的申请需要进一步审核", "en": "Your application needs a further review"}},
}
# Where a reason comes from when it is not a stage: the data requirements rank before every
# stage (the controls could not run without their data); the limit after every stage.
REQUIRES = "requires"
MODELS = "models"   # a model score that cannot be used: its reasons rank before the requirements'
LIMIT = "limit"


@dataclass(frozen=True)
class Text:
    """A bilingual name."""

    zh: str = ""
    en: str = ""

    def to_dict(self) -> dict:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Effect:
    """What a match contributes to the outcome: an action and its reason codes; `rank` is the
    action's place in the policy's outcome vocabulary (0 the most severe)."""

    action: str
    reasons: tuple[str, ...]
    rank: int = 0


class OutputExpr:
    """An output a rule or table row computes (`{expr: ...}`) instead of writing a constant:
    called with the values when the rule or row is chosen."""

    __slots__ = ("text", "function", "nullable", "expr")

    def __init__(self, text: str, function: Callable[[dict], Any], nullable: bool, expr: Any = None):
        self.text, self.function, self.nullable = text, function, nullable
        self.expr = expr  # the checked tree (columnar/ evaluates it over a chunk of rows)

    def __repr__(self) -> str:
        return f"OutputExpr({self.text!r})"


def output_value(value: Any, values: dict) -> Any:
    """The value of an output as a rule or row gives it (computed if it is an expression)."""
    return value.function(values) if value.__class__ is OutputExpr else value


@dataclass
class ItemProbe:
    """A list a rule's condition goes over (`text` as written) and a function of the values
    giving the positions of the items that matched, for the trace."""

    text: str
    positions: Callable[[dict], Any]


@dataclass
class Rule:
    id: str
    name: Text
    condition: Condition
    effect: Effect | None
    outputs: dict[str, Any]
    priority: int
    location: Location
    reads: tuple[str, ...]
    probes: tuple[ItemProbe, ...] = ()


@dataclass
class RuleSet:
    name: str
    title: Text
    hit_policy: str
    rules: list[Rule]
    outputs: dict[str, Type]
    when_none: Effect | None
    file: str


@dataclass
class TableRow:
    id: str
    condition: Condition
    outputs: dict[str, Any]
    location: Location


@dataclass
class Table:
    name: str
    title: Text
    hit_policy: str
    inputs: list[str]
    outputs: dict[str, Type]
    rows: list[TableRow]
    when_none: Effect | None
    file: str


@dataclass
class Bin:
    id: str
    condition: Condition
    points: int | Decimal
    reason: str | None
    location: Location


@dataclass
class Characteristic:
    id: str
    name: Text
    input: str
    bins: list[Bin]

    @property
    def best_points(self) -> int:
        return max(b.points for b in self.bins)


@dataclass
class Band:
    band: str
    minimum: int | Decimal | None
    effect: Effect | None


@dataclass(frozen=True)
class Scaling:
    """How points map to odds: `odds` good:bad at `points`, doubled every `pdo` points."""
    pdo: Decimal
    odds: Decimal
    points: Decimal


@dataclass
class Scorecard:
    name: str
    title: Text
    base_points: int | Decimal
    characteristics: list[Characteristic]
    bands: list[Band]
    max_reasons: int
    file: str
    scaling: Scaling | None = None


@dataclass
class Stage:
    """One step of a policy's flow: `kind` is ruleset, table or scorecard; `outputs` maps the value
    names the stage writes to their types; the compiled matcher of its kind is set by its reader."""

    id: str
    kind: str
    target: RuleSet | Table | Scorecard
    outputs: dict[str, Type]
    location: Location
    # compiled matchers (set by the reader)
    match: Callable[[dict], tuple] | None = None        # ruleset: one bool per rule
    pick_rows: Callable[[dict], Any] | None = None      # table: row index, or tuple of bools
    pick_bins: Callable[[dict], tuple] | None = None    # scorecard: bin index per characteristic
    score_name: str = "score"
    band_name: str = "score_band"
    # what the engine gives when the stage's rules or rows conflict (the policy's unsettled outcome)
    conflict: Effect | None = None
    # features declared `after:` this stage, computed once it has run
    then_features: Callable[[dict], None] | None = None
    pd_name: str | None = None      # a scorecard with scaling: its probability of default
    then_names: tuple[str, ...] = ()  # the names then_features computes, in order


@dataclass
class Cap:
    """A limit cap: `value` gives the cap, or None when it is missing or its `when` condition
    does not hold (a cap that is None does not apply)."""

    id: str
    name: Text
    value: Callable[[dict], Any]
    condition: Condition | None = None
    location: Location | None = None
    # an underwriter closing a referral may approve above it (a cap that stands for a check the
    # rules could not make, such as income not yet verified); every other cap binds them too
    review_may_lift: bool = False
    expr: Any = None   # the value's checked tree, before `condition` (columnar/ evaluates it)


@dataclass
class LimitSpec:
    base: Callable[[dict], Any]
    caps: list[Cap]
    round_down_to: int
    minimum: Callable[[dict], Any]
    below_minimum: Effect
    when_missing: Effect
    result: str | None = None  # the value name under which the computed limit is kept
    base_expr: Any = None      # the checked trees of base and minimum (columnar/ evaluates them)
    minimum_expr: Any = None


@dataclass
class Requirement:
    """Data an automatic APPROVE needs: when `condition` holds (always, without one), every value
    of `fields` must be present; otherwise `effect` (REFER or DECLINE with its reasons)."""

    id: str
    name: Text
    fields: tuple[str, ...]
    condition: Condition | None
    effect: Effect
    location: Location
    reads: tuple[str, ...]  # the fields, then what the condition reads (for the trace)


# Shared-state values (`shared:` and `in_list`): what the service computes from its own records
# and hands to the engine, by kind (docs/anti_fraud.md).
SHARED_KINDS = ("count", "distinct", "days_since", "linked_count", "linked_days_since", "list")


@dataclass(frozen=True)
class SharedValue:
    """One value the service computes from shared state and the engine reads as `name`: a count
    of events per key in a window, a distinct count, the days since a key's last decision with an
    outcome, the fraud declines linked through keys, or a list match (`in_list`). `keys` are the
    input paths whose values key it; `subject` is the event stream (count), the path counted
    (distinct), the outcome (days_since) or the list (list)."""

    name: str
    kind: str
    keys: tuple[str, ...]
    subject: str
    window: str | None = None          # as written ("24h"); None: no window (lists)
    window_seconds: int | None = None
    reasons: tuple[str, ...] = ()      # linked_*: the DECLINE reasons that mark a fraud decline
    type_name: str = "integer"         # integer, or boolean for a list match
    entry_kind: str | None = None      # list: the kind of entries matched (in_list's third argument)


@dataclass(frozen=True)
class ModelInput:
    """An external model's score the policy uses (`models:`): the model id and versions it
    expects, its valid range (inclusive), and the effect when the score is absent, out of range
    or from another model or version. The id and version arrive as input fields beside the score."""
    id: str
    name: Text
    score: str                         # the input field holding the score
    model_field: str | None            # the input field naming the model that produced it
    version_field: str | None
    expected_model: str | None
    expected_versions: tuple[str, ...]
    minimum: Any
    maximum: Any
    effect: Effect
    location: Location


# The state of a model score in one decision; anything but USABLE applies the model's effect.
USABLE, ABSENT, OUT_OF_RANGE, OTHER_MODEL, OTHER_VERSION = (
    "USABLE", "ABSENT", "OUT_OF_RANGE", "OTHER_MODEL", "OTHER_VERSION")


def model_state(model: ModelInput, values: dict) -> str:
    score = values.get(model.score)
    if score is None:
        return ABSENT
    if model.expected_model is not None and values.get(model.model_field) != model.expected_model:
        return OTHER_MODEL
    if model.expected_versions and values.get(model.version_field) not in model.expected_versions:
        return OTHER_VERSION
    if (model.minimum is not None and score < model.minimum) or (
            model.maximum is not None and score > model.maximum):
        return OUT_OF_RANGE
    return USABLE


SHADOW, SPLIT = "shadow", "split"


@dataclass(frozen=True)
class Challenger:
    """Another policy of the same root run beside this one (the champion): `shadow` decides it
    beside every decision and stores it, the champion answers; `split` sends `share` per cent of
    applicants (a stable keyed hash of the applicant) to it, and it answers them."""
    policy: str
    mode: str
    share: int
    location: Location


# The state of a requirement in one decision.
NOT_APPLICABLE, MET, UNMET = 0, 1, 2


@dataclass
class Feature:
    name: str
    type: Type
    location: Location
    # The kind of personal data this feature is computed from, if any (traces mask it when the
    # feature is text, a date or a list, which could reveal the data).
    pii: str | None = None
    expr: Any = None   # the checked tree (columnar/ evaluates it over a chunk of rows)


@dataclass
class ReasonText:
    """A reason code's internal text (for staff and compliance) and the text shown to the
    applicant (`customer_zh`, `customer_en`), parameters already filled in."""

    code: str
    zh: str
    en: str
    customer_zh: str = ""
    customer_en: str = ""


@dataclass
class PolicyParts:
    """Everything the readers validated for one policy (the Policy object wraps it; a decision's
    trace renders from it). `hash` covers `files` and the version; `pii_kinds` says what a trace
    masks (personal data fields, and features that could reveal them); `score_stage` is the first
    scorecard stage, which gives a decision its score and band; `requirements` are the data an
    automatic APPROVE needs (the policy's `requires:`)."""

    name: str
    version: str
    title: Text
    engine: str
    file: str
    input_schema: InputSchema
    parameters: dict[str, Any]
    features: list[Feature]
    compute_features: Callable[[dict], None]
    stages: list[Stage]
    limit: LimitSpec | None
    outputs: list[str]
    reasons: dict[str, ReasonText]
    files: dict[str, str]
    hash: str
    pii_kinds: dict[str, str]
    score_stage: Stage | None
    requirements: list[Requirement]
    # one state per requirement (NOT_APPLICABLE, MET, UNMET), or None without requirements
    check_requirements: Callable[[dict], tuple] | None
    # outputs shown only for some outcomes: {name: outcomes}; the others are shown for all
    output_outcomes: dict[str, frozenset[str]]
    models: list[ModelInput] = field(default_factory=list)   # external model scores (`models:`)
    challenger: Challenger | None = None                       # a policy run beside this one
    shared: list[SharedValue] = field(default_factory=list)    # `shared:` values and `in_list` matches
    outcomes: Outcomes = DEFAULT_OUTCOMES                      # the outcome vocabulary (`outcomes:`)
