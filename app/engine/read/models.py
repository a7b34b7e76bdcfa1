"""Reading the external model scores a policy uses (`models:`):

    models:
      - id: MD-CREDIT
        name: {zh: 外部信用评分, en: External credit score}
        score: scores.credit_score                 # the input field holding the score
        model: scores.credit_score_model           # the input field naming the model (optional)
        version: scores.credit_score_version       # the input field naming its version (optional)
        expect: {model: BH-CREDIT, version: ["3.1", "3.2"]}
        range: "[300, 900]"                        # inclusive bounds; an open end: "[300, ]"
        else: {action: REFER, reason: CREDIT_SCORE_UNUSABLE}   # default: REFER MODEL_SCORE_UNUSABLE

A score that is absent, out of range, or sent with another model id or version than expected
applies `else`; the trace records each model's state with the id and version received.
"""
from __future__ import annotations

import re

from .. import model as m
from ..literals import coerce_literal, scalar_text
from ..source import Node
from .context import BuildContext

_KEYS = {"id", "name", "score", "model", "version", "expect", "range", "else", "description"}
_RANGE = re.compile(r"^\s*\[\s*([^,]*?)\s*,\s*([^,]*?)\s*\]\s*$")


def read_models(ctx: BuildContext, node: Node | None) -> list[m.ModelInput]:
    if node is None:
        return []
    if not node.is_list:
        ctx.error("MODELS_SHAPE", "models is a list of model scores, each with id, score, "
                  "expect and range", node.location)
        return []
    return [model for model in (_model(ctx, item) for item in node.value) if model]


def _field(ctx: BuildContext, node: Node | None, what: str, kinds: tuple[str, ...]) -> str | None:
    if node is None:
        return None
    name = node.value
    declared = ctx.scope.values.get(name) if isinstance(name, str) else None
    if declared is None or declared[0].name not in kinds:
        ctx.error("MODEL_FIELD", f"{what}: '{name}' must be an input field of type "
                  f"{' or '.join(kinds)}", node.location)
        return None
    ctx.read_paths.add(name)
    return name


def _model(ctx: BuildContext, node: Node) -> m.ModelInput | None:
    if not node.is_map:
        ctx.error("MODELS_SHAPE", "a model is a mapping with id, score, expect and range",
                  node.location)
        return None
    ctx.unknown_keys(node, _KEYS, "a model")
    id_node = node.get("id")
    model_id = ctx.claim_id(id_node.value if id_node else None, (id_node or node).location,
                            "a model")
    what = f"model {model_id or '?'}"
    score_node = node.get("score")
    if score_node is None:
        ctx.error("MODEL_FIELD", f"{what} needs score: the input field holding the score",
                  node.location)
        return None
    score = _field(ctx, score_node, what, ("integer", "decimal"))
    model_field = _field(ctx, node.get("model"), what, ("string", "enum"))
    version_field = _field(ctx, node.get("version"), what, ("string", "enum"))
    expected_model, versions = _expect(ctx, node.get("expect"), what, model_field, version_field)
    minimum, maximum = _range(ctx, node.get("range"), what, score)
    effect = ctx.effect(node.get("else"), f"{what} else") if node.get("else") \
        else ctx.unsettled("MODEL_SCORE_UNUSABLE")
    if model_id is None or score is None or effect is None:
        return None
    return m.ModelInput(model_id, ctx.text(node.get("name")), score, model_field, version_field,
                        expected_model, versions, minimum, maximum, effect,
                        (id_node or node).location)


def _expect(ctx, node, what, model_field, version_field):
    if node is None:
        return None, ()
    if not node.is_map:
        ctx.error("MODEL_EXPECT", f"{what}: expect is a mapping such as "
                  "{model: BH-CREDIT, version: [\"3.1\"]}", node.location)
        return None, ()
    ctx.unknown_keys(node, {"model", "version"}, f"{what} expect")
    expected_model = None
    if node.get("model") is not None:
        expected_model = str(node.get("model").value)
        if model_field is None:
            ctx.error("MODEL_EXPECT", f"{what} expects a model id but names no 'model' field "
                      "that carries it", node.get("model").location)
    versions: tuple[str, ...] = ()
    version_node = node.get("version")
    if version_node is not None:
        items = version_node.value if version_node.is_list else [version_node]
        versions = tuple(str(item.value) for item in items)
        if version_field is None:
            ctx.error("MODEL_EXPECT", f"{what} expects a version but names no 'version' field "
                      "that carries it", version_node.location)
    return expected_model, versions


def _range(ctx, node, what, score):
    if node is None or score is None:
        return None, None
    match = _RANGE.match(str(node.value)) if isinstance(node.value, str) else None
    kind = ctx.scope.values[score][0]
    bounds = []
    for text in (match.groups() if match else ()):
        bounds.append(coerce_literal(scalar_text(text), kind) if text else None)
    if not match or any(b is None and t for b, t in zip(bounds, match.groups())) or (
            bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]):
        ctx.error("MODEL_RANGE", f"{what}: range is the valid scores, both ends included, such "
                  "as \"[300, 900]\" (\"[0, ]\" leaves the top open)", node.location)
        return None, None
    return bounds[0], bounds[1]
