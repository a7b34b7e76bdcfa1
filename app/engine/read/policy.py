"""The policy document: version, engine, input, parameters, named lists, features, the stages
(each read by the module of its kind), limit, outputs and reasons; and `build_policies`, which
reads every policy of a set of files and returns every problem at once, never only the first."""
from __future__ import annotations

import ast
import re
from decimal import Decimal
from typing import Any, Callable

from .. import model as m
from ..backends import BACKENDS
from ..errors import ERROR, WARNING, Diagnostic, Location, did_you_mean
from ..language.compiler import CodeBuilder
from ..language.expressions import MAX_TEXT, referenced_paths
from ..language.magnitude import MAX_MAGNITUDE, magnitude
from ..literals import coerce_literal, literal_type
from ..schema import InputSchema
from ..source import Node
from ..types import LIST, T_STRING, Type
from .context import NAME, BuildContext
from .documents import Document, policy_hash, read_documents
from .input_schema import read_input_schema, read_type
from .coverage import check_coverage
from .limit import read_limit
from .reasons import read_reasons
from .challenger import read_challenger
from .models import read_models
from .outcomes import read_outcomes
from .requirements import read_requirements
from .rulesets import read_ruleset
from .scorecards import read_scorecard
from .shared import list_lookups, read_shared
from .tables import read_table

_POLICY_KEYS = {"policy", "version", "name", "engine", "reasons", "input", "parameters",
                "features", "stages", "limit", "requires", "outputs", "description", "models",
                "challenger", "shared", "outcomes"}


def build_policies(files: dict[str, str], engine: str | None = None
                   ) -> tuple[dict[str, m.PolicyParts], list[Diagnostic]]:
    """Validate and compile every policy in a set of files ({relative path: text}); report every
    problem. `engine` overrides the backend every policy names (the service's configuration)."""
    if engine is not None and engine not in BACKENDS:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(BACKENDS)}")
    diagnostics: list[Diagnostic] = []
    catalogue = read_documents(files, diagnostics)
    built: dict[str, m.PolicyParts] = {}
    used: set[str] = set()
    for document in catalogue.policies:
        ctx = BuildContext(document, catalogue)
        parts = read_policy(ctx, files)
        used |= ctx.used_files
        if parts is not None:
            parts.engine = engine or parts.engine
        # the durable checks run on every rule that read cleanly, even when the policy has other
        # errors: all problems at once
        if (engine or ctx.engine) == "durable" and _durable_problems(ctx.stages, ctx.diagnostics):
            parts = None
        for diagnostic in ctx.diagnostics:
            if diagnostic not in diagnostics:  # a rule file shared by two policies: report once
                diagnostics.append(diagnostic)
        if parts is not None:
            built[parts.name] = parts
    for (kind, name), document in catalogue.documents.items():
        if kind != "list" and document.file not in used:
            diagnostics.append(Diagnostic("DOC_UNUSED", f"{kind} '{name}' is not used by any "
                                          "policy, so its expressions were not checked",
                                          document.node.location, WARNING))
    diagnostics.sort(key=lambda d: ((d.location.file, d.location.line, d.location.column)
                                    if d.location else ("", 0, 0), d.code))
    return built, diagnostics


def _durable_problems(stages: list[m.Stage], diagnostics: list[Diagnostic]) -> bool:
    """Report every rule the durable backend cannot match; True if there is one. A computation in
    a condition that durable refuses is reported once, as that error, not also as the warning."""
    from ..backends.durable import check_expressible  # loads durable_rules only when used

    found = False
    for stage in stages:
        if stage.kind == "ruleset":
            for problem in check_expressible(stage.target.rules):
                if problem.severity == ERROR and "computes a value" in problem.message:
                    diagnostics[:] = [d for d in diagnostics if not (
                        d.code == "CONDITION_COMPUTES" and d.location == problem.location)]
                diagnostics.append(problem)
                found = found or problem.severity == ERROR
    return found


def read_policy(ctx: BuildContext, files: dict[str, str]) -> m.PolicyParts | None:
    """One policy document with the documents it uses; None when it has an error."""
    node = ctx.node
    ctx.unknown_keys(node, _POLICY_KEYS, "the policy")
    version_node = node.get("version")
    if version_node is None or not isinstance(version_node.value, (str, int, Decimal)):
        ctx.error("POLICY_VERSION", "the policy needs a version string, e.g. version: "
                  "\"2026.11.1\"", node.location)
    version = str(version_node.value) if version_node else ""
    engine_node = node.get("engine")
    engine = engine_node.value if engine_node else "compiled"
    if engine not in BACKENDS:
        ctx.error("POLICY_ENGINE", f"engine must be one of {', '.join(BACKENDS)}"
                  f"{did_you_mean(str(engine), BACKENDS)}", engine_node.location)
        engine = "compiled"
    ctx.engine = engine
    ctx.outcomes = read_outcomes(ctx, node.get("outcomes"))

    input_node = node.get("input")
    if input_node is None:
        ctx.error("POLICY_INPUT", "the policy needs an 'input' schema", node.location)
        return None
    schema = read_input_schema(input_node, ctx.diagnostics)
    for path, spec in schema.fields.items():
        ctx.scope.values[path] = (spec.type, not spec.required)
    ctx.scope.sections = schema.sections()
    ctx.scope.input_fields = frozenset(schema.fields)
    required = frozenset(p for p, s in schema.fields.items() if s.required)
    ctx.pii_sources = schema.pii_fields()
    ctx.builder = CodeBuilder(ctx.document.file, required)

    parameters = _parameters(ctx, node.get("parameters"))
    _named_lists(ctx)
    shared = read_shared(ctx, node.get("shared"))
    features, compute = _features(ctx, node.get("features"))
    stages = ctx.stages = _stages(ctx, node.get("stages"), features)
    limit = read_limit(ctx, node.get("limit"))
    requirements, check_requirements = read_requirements(ctx, node.get("requires"))
    models = read_models(ctx, node.get("models"))
    challenger = read_challenger(ctx, node.get("challenger"))
    outputs, output_outcomes = _outputs(ctx, node.get("outputs"))
    reasons = read_reasons(ctx, node.get("reasons"), parameters)
    title = ctx.text(node.get("name"))
    shared += list_lookups(ctx)
    for name in ctx.used_lists:
        ctx.used_files.add(ctx.catalogue.documents[("list", name)].file)
    if any(d.severity == ERROR for d in ctx.diagnostics):
        return None
    check_coverage(ctx, schema, stages, limit, requirements)
    _check_customer_group(ctx, stages)
    used = {path: files[path] for path in sorted(ctx.used_files)}
    return m.PolicyParts(
        name=ctx.document.name, version=version, title=title, engine=engine,
        file=ctx.document.file, input_schema=schema, parameters=parameters, features=features,
        compute_features=compute, stages=stages, limit=limit, outputs=outputs, reasons=reasons,
        files=used, hash=policy_hash(used, version), pii_kinds=_trace_pii(schema, features),
        score_stage=next((s for s in stages if s.kind == "scorecard"), None),
        requirements=requirements, check_requirements=check_requirements,
        output_outcomes=output_outcomes, models=models, challenger=challenger, shared=shared,
        outcomes=ctx.outcomes)


def _trace_pii(schema: InputSchema, features: list[m.Feature]) -> dict[str, str]:
    """What traces mask: personal data fields, and features computed from them that could reveal
    them (text keeps the field's masking; dates and lists are hidden)."""
    kinds = schema.pii_fields()
    for feature in features:
        if feature.pii and feature.type.name in ("string", "enum"):
            kinds[feature.name] = feature.pii
        elif feature.pii and feature.type.name in ("date", "list"):
            kinds[feature.name] = "derived"
    return kinds


def _parameters(ctx: BuildContext, node: Node | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if node is None:
        return params
    if not node.is_map:
        ctx.error("PARAMETERS_SHAPE", "parameters must be a mapping of name: value", node.location)
        return params
    for name, child in node.items():
        for item in child.value if child.is_list else [child]:
            if isinstance(item.value, str) and not item.quoted and _NUMBER_AS_TEXT.match(item.value):
                ctx.error("PARAMETER_NUMBER", f"parameter '{name}': YAML reads {item.value} as text, "
                          "not a number; write the number in full (100000, 0.5: a decimal needs a "
                          "digit before the point, an exponent a sign, 1.0e+5), or quote it if text "
                          "is meant", item.location)
        value = tuple(item.value for item in child.value) if child.is_list else child.value
        kind = _parameter_type(value)
        if not NAME.match(name) or kind is None:
            ctx.error("PARAMETER", f"parameter '{name}' must have a lower-case name and a "
                      "number, text, true/false or date value, or a non-empty list of values "
                      "of one of those types", child.location)
            continue
        params[name] = value
        ctx.scope.params[name] = (value, kind)
    return params


# What reads as a number to a person but as text to YAML 1.1: 1e5 and 1.0e5 (an exponent needs a
# point and a sign), -.5, 1,000, 01, 0o17, 12:30 (a base-60 number when valid, else text).
_NUMBER_AS_TEXT = re.compile(r"^[-+]?(?:(?:\d[\d_,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
                             r"|0[oObBxX][0-9a-fA-F_]+|\d+(?::\d+)+(?:\.\d*)?)$")


def _parameter_type(value: Any) -> Type | None:
    """A parameter's type: a constant's, or a list of constants of one type (read after `in`)."""
    if not isinstance(value, tuple):
        return literal_type(value)
    kinds = {literal_type(item) for item in value}
    if len(kinds) != 1 or None in kinds:
        return None
    return Type(LIST, item=kinds.pop())


class _TrackingLists(dict):
    """Named lists that record which of them the policy's expressions use (for its file set)."""

    def __init__(self, used: set[str]):
        super().__init__()
        self.used = used

    def __getitem__(self, key: str) -> Any:
        self.used.add(key)
        return super().__getitem__(key)


def _named_lists(ctx: BuildContext) -> None:
    lists = _TrackingLists(ctx.used_lists)
    for (kind, name), document in ctx.catalogue.documents.items():
        if kind != "list":
            continue
        type_node = document.node.get("type")
        item_type = read_type(type_node, f"list {name}", ctx.diagnostics) \
            if type_node else T_STRING
        values_node = document.node.get("values")
        if item_type is None or values_node is None or not values_node.is_list:
            if values_node is None or not values_node.is_list:
                ctx.error("LIST_VALUES", f"named list '{name}' needs a 'values' list",
                          document.node.location)
            continue
        values = set()
        for item in values_node.value:
            value = coerce_literal(item.value, item_type)
            if value is None:
                ctx.error("LIST_VALUE", f"'{item.value}' in list '{name}' is not a "
                          f"{item_type}", item.location)
                continue
            values.add(value)
        lists[name] = (frozenset(values), item_type)
    ctx.scope.lists = lists


def _features(ctx: BuildContext,
              node: Node | None) -> tuple[list[m.Feature], Callable[[dict], None]]:
    """The features in dependency order, and one generated function computing them all."""
    features: list[m.Feature] = []
    if node is None:
        return features, ctx.builder.compile_body("v", ["pass"])
    if not node.is_map:
        ctx.error("FEATURES_SHAPE", "features must be a mapping of name: expression",
                  node.location)
        return features, ctx.builder.compile_body("v", ["pass"])
    entries = {}
    for name, child in node.items():
        if not NAME.match(name):
            ctx.error("FEATURE_NAME", f"feature name '{name}' must be lower case letters, "
                      "digits and underscores", child.location)
            continue
        expression_node = child.get("expr") if child.is_map else child
        if expression_node is None:
            ctx.error("FEATURE_EXPR", f"feature '{name}' needs an expression", child.location)
            continue
        after = child.get("after") if child.is_map else None
        if child.is_map:
            ctx.unknown_keys(child, {"expr", "after", "description"}, f"feature '{name}'")
        if after is not None:  # computed once that stage has run (read with the stages)
            ctx.deferred_features.setdefault(str(after.value), {})[name] = expression_node
            ctx.deferred_locations[name] = after.location
            continue
        entries[name] = expression_node
    return _feature_lines(ctx, entries, features)


def _feature_lines(ctx: BuildContext, entries: dict[str, Node], features: list[m.Feature],
                   ) -> tuple[list[m.Feature], Callable[[dict], None]]:
    """Check the features in dependency order, add them to `features`, and compile them into
    one function."""
    lines = []
    bounds: dict[str, float] = {}
    for name in _feature_order(ctx, entries):
        expression_node = entries[name]
        expr = ctx.expression(expression_node)
        if expr is None:
            continue
        bounds[name] = magnitude(expr, bounds)
        if bounds[name] > MAX_MAGNITUDE:
            ctx.error("FEATURE_TOO_LARGE", f"feature '{name}' can compute numbers beyond "
                      f"10**{MAX_MAGNITUDE} from inputs of 18 digits; bound it (min, max, or "
                      "fewer products)", expression_node.text_location)
            continue
        if not ctx.add_value(name, expr.type, expr.nullable, expression_node.location):
            continue
        sources = [ctx.pii_sources.get(path) for path in referenced_paths(expr)]
        pii = next((kind for kind in sources if kind), None)
        if pii:
            ctx.pii_sources[name] = pii
        ctx.feature_exprs[name] = expr
        features.append(m.Feature(name, expr.type, expression_node.location, pii, expr))
        # A computation that fails on some input (a date out of the calendar) is missing data,
        # like a division by zero: evaluation never raises.
        lines += ["try:", f"    v[{name!r}] = {ctx.builder.value(expr)}",
                  "except (ArithmeticError, ValueError, TypeError):", f"    v[{name!r}] = None"]
    return features, ctx.builder.compile_body("v", lines or ["pass"])


def _feature_order(ctx: BuildContext, entries: dict[str, Node]) -> list[str]:
    """Features in dependency order; a cycle is reported once per feature in it."""
    depends = {}
    for name, node in entries.items():
        names = set()
        try:
            text = str(node.expression_text)
            tree = ast.parse("(" + text + "\n)", mode="eval") if len(text) <= MAX_TEXT else None
            names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass  # reported when the expression is checked
        depends[name] = sorted(n for n in names if n in entries and n != name)
        if name in names:
            ctx.error("FEATURE_CYCLE", f"feature '{name}' refers to itself", node.text_location)
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = chain[chain.index(name):] + [name]
            ctx.error("FEATURE_CYCLE", "features refer to each other in a circle: "
                      + " -> ".join(cycle), entries[name].text_location)
            return
        state[name] = "visiting"
        for dependency in depends[name]:
            visit(dependency, chain + [name])
        state[name] = "done"
        order.append(name)

    for name in entries:
        visit(name, [])
    return order


def _stages(ctx: BuildContext, node: Node | None,
            features: list[m.Feature]) -> list[m.Stage]:
    stages: list[m.Stage] = []
    if node is None or not node.is_list or not node.value:
        ctx.error("STAGES", "the policy needs a list of stages", (node or ctx.node).location)
        return stages
    scorecards = sum(1 for s in node.value if s.is_map and "scorecard" in s.value)
    for stage_node in node.value:
        if not stage_node.is_map:
            ctx.error("STAGE_SHAPE", "a stage is a mapping such as {id: eligibility, "
                      "ruleset: eligibility}", stage_node.location)
            continue
        ctx.unknown_keys(stage_node, {"id", "ruleset", "table", "scorecard", "name"}, "a stage")
        kinds = [k for k in ("ruleset", "table", "scorecard") if k in stage_node.value]
        id_node = stage_node.get("id")
        if len(kinds) != 1 or id_node is None:
            ctx.error("STAGE_SHAPE", "a stage needs an id and exactly one of ruleset, table "
                      "or scorecard", stage_node.location)
            continue
        stage_id = ctx.claim_id(id_node.value, id_node.location, "a stage")
        document = ctx.document_named(kinds[0], stage_node.get(kinds[0]))
        if stage_id is None or document is None:
            continue
        stage = _read_stage(ctx, kinds[0], document, stage_id, stage_node.location,
                            scorecards > 1)
        if stage is not None:
            stage.conflict = ctx.unsettled("RULESET_CONFLICT")
            for name, kind in stage.outputs.items():
                ctx.add_value(name, kind, True, stage_node.location)
            stages.append(stage)
            deferred = ctx.deferred_features.pop(stage_id, None)
            if deferred:
                before = len(features)
                stage.then_features = _feature_lines(ctx, deferred, features)[1]
                stage.then_names = tuple(f.name for f in features[before:])
    for stage_id, entries in ctx.deferred_features.items():
        for name in entries:
            ctx.error("FEATURE_AFTER", f"feature '{name}' is computed after stage '{stage_id}', "
                      "which the policy does not have (or which comes in a wrong place)",
                      ctx.deferred_locations[name])
    return stages


def _check_customer_group(ctx: BuildContext, stages: list[m.Stage]) -> None:
    """A decision's customer_group is the value of that name. A policy that names its group
    otherwise (`segment`) would decide with customer_group null and nothing would say why; a policy
    with no grouping at all (a drawdown) is left alone."""
    if "customer_group" in ctx.scope.values:
        return
    for stage in stages:
        for name in stage.outputs:
            if "group" in name or "segment" in name:
                ctx.error("CUSTOMER_GROUP_MISSING", f"stage {stage.id} outputs '{name}' but no "
                          "value is called customer_group, so every decision will report "
                          f"customer_group null: rename '{name}' to customer_group if it places "
                          "the applicant in a customer group", stage.location, WARNING)
                return


def _read_stage(ctx: BuildContext, kind: str, document: Document, stage_id: str,
                location: Location, many_scorecards: bool) -> m.Stage | None:
    if kind == "ruleset":
        return read_ruleset(ctx, document, stage_id, location)
    if kind == "table":
        return read_table(ctx, document, stage_id, location)
    return read_scorecard(ctx, document, stage_id, location, many_scorecards)


def _outputs(ctx: BuildContext, node: Node | None) -> tuple[list[str], dict[str, frozenset]]:
    """The values a decision reports: names, or {name: x, outcomes: [...]} for a value shown only
    with some outcomes (null with the others: a DECLINE carries no price)."""
    names: list[str] = []
    outcomes: dict[str, frozenset] = {}
    if node is None:
        return names, outcomes
    for item in node.value if node.is_list else [node]:
        name_node, on_node = ((item.get("name"), item.get("outcomes")) if item.is_map
                              else (item, None))
        if item.is_map:
            ctx.unknown_keys(item, {"name", "outcomes"}, "an output")
        if name_node is None or not isinstance(name_node.value, str):
            ctx.error("OUTPUT_NAME", "outputs is a list of value names, e.g. [customer_group, "
                      "{name: price_tier, outcomes: [APPROVE]}]", item.location)
            continue
        name = name_node.value
        if name not in ctx.scope.values:
            ctx.error("OUTPUT_UNKNOWN", f"output '{name}' is not a feature or stage "
                      f"output{did_you_mean(name, ctx.scope.values)}", name_node.location)
            continue
        ctx.read_paths.add(name)
        names.append(name)
        if on_node is not None:
            shown = [o.value for o in (on_node.value if on_node.is_list else [on_node])]
            known = ctx.outcomes.order
            wrong = [o for o in shown if o not in known]
            if wrong or not shown:
                ctx.error("OUTPUT_OUTCOMES", f"output '{name}': outcomes lists some of "
                          f"{', '.join(known)}{did_you_mean(str(wrong[:1] or ''), known)}",
                          on_node.location)
                continue
            outcomes[name] = frozenset(shown)
    return names, outcomes
