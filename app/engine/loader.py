"""Documents -> diagnostics -> intermediate form.

`build_policies(files)` reads every YAML file of a policy root (given as {relative path: text}),
validates everything it can and returns every problem at once, never only the first.
"""
from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import model as m
from .errors import ERROR, WARNING, Diagnostic, Location, did_you_mean
from .language import conditions as c
from .language.compiler import CodeBuilder, is_simple, lower_condition
from .language.expressions import Expr, Scope, parse_expression, referenced_paths
from .literals import coerce_literal, literal_type
from .schema import _read_type, read_input_schema
from .source import Node, parse_yaml
from .tables import TablesAndScorecards
from .types import BOOLEAN, T_STRING, Type

KINDS = ("policy", "ruleset", "table", "scorecard", "list", "reason_codes")
ENGINES = ("compiled", "durable")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_POLICY_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_POLICY_KEYS = {"policy", "version", "name", "engine", "reasons", "input", "parameters",
                "features", "stages", "limit", "outputs", "description"}


@dataclass
class Document:
    kind: str
    name: str
    node: Node
    file: str


@dataclass
class Catalogue:
    """Every document of a policy root, indexed by kind and name."""

    documents: dict[tuple[str, str], Document] = field(default_factory=dict)
    policies: list[Document] = field(default_factory=list)


def policy_hash(files: dict[str, str], version: str) -> str:
    """The content hash of a policy version: every file it uses, plus its version string."""
    digest = hashlib.sha256()
    digest.update(f"version\0{version}\0".encode())
    for path in sorted(files):
        digest.update(f"{path}\0{len(files[path].encode())}\0".encode())
        digest.update(files[path].encode())
    return digest.hexdigest()


def read_documents(files: dict[str, str], diagnostics: list[Diagnostic]) -> Catalogue:
    """Parse every file and index its document by kind and name."""
    catalogue = Catalogue()
    for path in sorted(files):
        node, problems = parse_yaml(files[path], path)
        diagnostics.extend(problems)
        if node is None:
            continue
        if not node.is_map:
            diagnostics.append(Diagnostic("DOC_SHAPE", "a rule file must be a mapping that starts "
                                          f"with one of: {', '.join(KINDS)}", node.location))
            continue
        kinds = [k for k in KINDS if k in node.value]
        if len(kinds) != 1:
            message = (f"the file must say what it is with exactly one of: {', '.join(KINDS)}"
                       if not kinds else f"the file declares several kinds: {', '.join(kinds)}")
            diagnostics.append(Diagnostic("DOC_KIND", message, node.location))
            continue
        kind = kinds[0]
        name_node = node.get(kind)
        if kind == "reason_codes":
            name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        elif not isinstance(name_node.value, str) or not name_node.value:
            diagnostics.append(Diagnostic("DOC_NAME", f"'{kind}' needs a name", name_node.location))
            continue
        else:
            name = name_node.value
        document = Document(kind, name, node, path)
        if kind == "policy":
            if not _POLICY_NAME.match(name):
                diagnostics.append(Diagnostic("POLICY_NAME", f"policy name '{name}' must be "
                                              "<product>.<flow> in lower case, e.g. "
                                              "zhishandai.application", name_node.location))
            if any(p.name == name for p in catalogue.policies):
                diagnostics.append(Diagnostic("DOC_DUPLICATE", f"policy '{name}' is defined twice",
                                              name_node.location))
                continue
            catalogue.policies.append(document)
            continue
        key = (kind, name)
        if key in catalogue.documents:
            other = catalogue.documents[key].file
            diagnostics.append(Diagnostic("DOC_DUPLICATE", f"{kind} '{name}' is also defined in "
                                          f"{other}", name_node.location if name_node else None))
            continue
        catalogue.documents[key] = document
    return catalogue


class PolicyBuilder(TablesAndScorecards):
    """Validates and compiles one policy document with the documents it uses."""

    def __init__(self, document: Document, catalogue: Catalogue, files: dict[str, str]):
        self.doc = document
        self.node = document.node
        self.catalogue = catalogue
        self.all_files = files
        self.diagnostics: list[Diagnostic] = []
        self.used_files: set[str] = {document.file}
        self.scope = Scope()
        self.used_lists: set[str] = set()
        self.ids: dict[str, Location] = {}
        self.reason_uses: list[tuple[str, Location]] = []
        self.builder: CodeBuilder | None = None

    # --- small helpers -------------------------------------------------------------------------
    def error(self, code: str, message: str, location: Location | None,
              severity: str = ERROR) -> None:
        self.diagnostics.append(Diagnostic(code, message, location, severity))

    def text(self, node: Node | None) -> m.Text:
        if node is None:
            return m.Text()
        if node.is_map:
            zh, en = node.get("zh"), node.get("en")
            for key, child in node.items():
                if key not in ("zh", "en"):
                    hint = (" (text with a comma or colon inside {...} must be quoted: en: \"a, b\")"
                            if " " in key else "")
                    self.error("NAME_LANGUAGE", f"names are given as zh and en, not '{key}'{hint}",
                               child.location)
            return m.Text(str(zh.value) if zh else "", str(en.value) if en else "")
        return m.Text(en=str(node.value))

    def unknown_keys(self, node: Node, allowed: set[str], what: str) -> None:
        for key, _ in node.items():
            if key not in allowed:
                self.error("UNKNOWN_KEY", f"unknown key '{key}' in {what}"
                           f"{did_you_mean(key, allowed)}", node.key_location(key))

    def claim_id(self, identifier: Any, location: Location, what: str) -> str | None:
        if not isinstance(identifier, str) or not _ID.match(identifier):
            self.error("ID_INVALID", f"{what} needs an id of letters, digits, '-', '_' or '.', "
                       "starting with a letter", location)
            return None
        if identifier in self.ids:
            first = self.ids[identifier]
            self.error("ID_DUPLICATE", f"id '{identifier}' is already used at {first}", location)
            return None
        self.ids[identifier] = location
        return identifier

    def expression(self, node: Node | None, what: str) -> Expr | None:
        if node is None:
            return None
        expr, problems = parse_expression(node.expression_text, node.text_location, self.scope,
                                          node.text_map)
        self.diagnostics.extend(problems)
        return expr

    def condition(self, node: Node, what: str, rule_id: str | None) -> c.Condition | None:
        expr = self.expression(node, what)
        if expr is None:
            return None
        if expr.type.name != BOOLEAN:
            self.error("CONDITION_TYPE", f"the condition of {what} is {expr.type}, not true/false; "
                       "compare it with something", node.text_location)
            return None
        condition = lower_condition(expr, self.builder)
        if not is_simple(condition):
            self.error("CONDITION_COMPUTES", f"the condition of {what} computes a value "
                       f"('{expr.text}'); put the computation in a feature and compare the feature "
                       "(the durable engine cannot match it)", node.text_location, WARNING)
        return condition

    def effect(self, node: Node | None, what: str, check_keys: bool = True) -> m.Effect | None:
        if node is None:
            return None
        if not node.is_map:
            self.error("EFFECT_SHAPE", f"{what} must be a mapping with action and reason",
                       node.location)
            return None
        if check_keys:
            self.unknown_keys(node, {"action", "reason"}, what)
        action_node, reason_node = node.get("action"), node.get("reason")
        action = action_node.value if action_node else None
        if action not in m.ACTIONS:
            self.error("EFFECT_ACTION", f"{what}: action '{action}' must be DECLINE or REFER"
                       f"{did_you_mean(str(action), m.ACTIONS)}",
                       (action_node or node).location)
            return None
        reasons = self.reason_codes(reason_node, what)
        if not reasons:
            self.error("EFFECT_REASON", f"{what}: a {action} needs a reason code", node.location)
            return None
        return m.Effect(action, reasons)

    def reason_codes(self, node: Node | None, what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        items = node.value if node.is_list else [node]
        codes = []
        for item in items:
            if not isinstance(item.value, str):
                self.error("REASON_CODE", f"{what}: reason codes are names such as DTI_HIGH",
                           item.location)
                continue
            codes.append(item.value)
            self.reason_uses.append((item.value, item.location))
        return tuple(codes)

    def document(self, kind: str, name_node: Node) -> Document | None:
        name = name_node.value
        if not isinstance(name, str):
            self.error("DOC_NAME", f"name the {kind} by its name, e.g. {kind}: eligibility",
                       name_node.location)
            return None
        document = self.catalogue.documents.get((kind, name))
        if document is None:
            known = [n for (k, n) in self.catalogue.documents if k == kind]
            self.error("DOC_MISSING", f"no {kind} named '{name}' under rules/"
                       f"{did_you_mean(str(name), known)}", name_node.location)
            return None
        self.used_files.add(document.file)
        return document

    def add_value(self, name: str, kind: Type, nullable: bool, location: Location) -> bool:
        if name in self.scope.values or name in self.scope.sections or name in ("params", "lists"):
            self.error("NAME_TAKEN", f"'{name}' is already the name of an input field, feature "
                       "or stage output", location)
            return False
        self.scope.values[name] = (kind, nullable)
        return True

    # --- the policy ----------------------------------------------------------------------------
    def build(self) -> m.PolicyParts | None:
        node = self.node
        self.unknown_keys(node, _POLICY_KEYS, "the policy")
        version_node = node.get("version")
        if version_node is None or not isinstance(version_node.value, (str, int, Decimal)):
            self.error("POLICY_VERSION", "the policy needs a version string, e.g. version: "
                       "\"2026.11.1\"", node.location)
        version = str(version_node.value) if version_node else ""
        engine_node = node.get("engine")
        engine = engine_node.value if engine_node else "compiled"
        if engine not in ENGINES:
            self.error("POLICY_ENGINE", f"engine must be one of {', '.join(ENGINES)}"
                       f"{did_you_mean(str(engine), ENGINES)}", engine_node.location)
            engine = "compiled"

        input_node = node.get("input")
        if input_node is None:
            self.error("POLICY_INPUT", "the policy needs an 'input' schema", node.location)
            return None
        schema = read_input_schema(input_node, self.diagnostics)
        for path, spec in schema.fields.items():
            self.scope.values[path] = (spec.type, not spec.required)
        self.scope.sections = schema.sections()
        required = frozenset(p for p, s in schema.fields.items() if s.required)
        self.pii_sources = schema.pii_fields()
        self.builder = CodeBuilder(self.doc.file, required)

        parameters = self.parameters(node.get("parameters"))
        self.named_lists()
        features, compute = self.features(node.get("features"))
        stages = self.stages(node.get("stages"))
        limit = self.limit(node.get("limit"))
        outputs = self.outputs(node.get("outputs"))
        reasons = self.reasons(node.get("reasons"))
        title = self.text(node.get("name"))
        for name in self.used_lists:
            self.used_files.add(self.catalogue.documents[("list", name)].file)
        if any(d.severity == ERROR for d in self.diagnostics):
            return None
        files = {path: self.all_files[path] for path in sorted(self.used_files)}
        return m.PolicyParts(
            name=self.doc.name, version=version, title=title,
            engine=engine, file=self.doc.file, input_schema=schema, parameters=parameters,
            features=features, compute_features=compute, stages=stages, limit=limit,
            outputs=outputs, reasons=reasons, files=files,
            generated_source=list(self.builder.sources))

    def parameters(self, node: Node | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if node is None:
            return params
        if not node.is_map:
            self.error("PARAMETERS_SHAPE", "parameters must be a mapping of name: value",
                       node.location)
            return params
        for name, child in node.items():
            kind = literal_type(child.value)
            if not _NAME.match(name) or kind is None:
                self.error("PARAMETER", f"parameter '{name}' must have a lower-case name and a "
                           "number, text, true/false or date value", child.location)
                continue
            params[name] = child.value
            self.scope.params[name] = (child.value, kind)
        return params

    def named_lists(self) -> None:
        used = self.used_lists

        class TrackingLists(dict):
            """Records which named lists the policy's expressions use (for its file set)."""

            def __getitem__(self, key):
                used.add(key)
                return super().__getitem__(key)

        lists = TrackingLists()
        for (kind, name), document in self.catalogue.documents.items():
            if kind != "list":
                continue
            type_node = document.node.get("type")
            item_type = _read_type(type_node, f"list {name}", self.diagnostics) \
                if type_node else T_STRING
            values_node = document.node.get("values")
            if item_type is None or values_node is None or not values_node.is_list:
                if values_node is None or not values_node.is_list:
                    self.error("LIST_VALUES", f"named list '{name}' needs a 'values' list",
                               document.node.location)
                continue
            values = set()
            for item in values_node.value:
                value = coerce_literal(item.value, item_type)
                if value is None:
                    self.error("LIST_VALUE", f"'{item.value}' in list '{name}' is not a "
                               f"{item_type}", item.location)
                    continue
                values.add(value)
            lists[name] = (frozenset(values), item_type)
        self.scope.lists = lists

    def features(self, node: Node | None):
        features: list[m.Feature] = []
        if node is None:
            return features, self.builder.compile_body("v", ["pass"])
        if not node.is_map:
            self.error("FEATURES_SHAPE", "features must be a mapping of name: expression",
                       node.location)
            return features, self.builder.compile_body("v", ["pass"])
        entries = {}
        for name, child in node.items():
            if not _NAME.match(name):
                self.error("FEATURE_NAME", f"feature name '{name}' must be lower case letters, "
                           "digits and underscores", child.location)
                continue
            expression_node = child.get("expr") if child.is_map else child
            if expression_node is None:
                self.error("FEATURE_EXPR", f"feature '{name}' needs an expression",
                           child.location)
                continue
            entries[name] = expression_node
        lines = []
        for name in self._feature_order(entries):
            expression_node = entries[name]
            expr = self.expression(expression_node, f"feature '{name}'")
            if expr is None:
                continue
            if not self.add_value(name, expr.type, expr.nullable, expression_node.location):
                continue
            sources = [self.pii_sources.get(path) for path in referenced_paths(expr)]
            pii = next((kind for kind in sources if kind), None)
            if pii:
                self.pii_sources[name] = pii
            features.append(m.Feature(name, expr.text, expr.type, expression_node.location, pii))
            lines.append(f"v[{name!r}] = {self.builder.value(expr)}")
        return features, self.builder.compile_body("v", lines or ["pass"])

    def _feature_order(self, entries: dict[str, Node]) -> list[str]:
        """Features in dependency order; a cycle is reported once per feature in it."""
        depends = {}
        for name, node in entries.items():
            names = set()
            try:
                tree = ast.parse("(" + str(node.expression_text) + "\n)", mode="eval")
                names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            except SyntaxError:
                pass  # reported when the expression is checked
            depends[name] = sorted(n for n in names if n in entries and n != name)
            if name in names:
                self.error("FEATURE_CYCLE", f"feature '{name}' refers to itself",
                           node.text_location)
        order, state = [], {}

        def visit(name: str, chain: list[str]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = chain[chain.index(name):] + [name]
                self.error("FEATURE_CYCLE", "features refer to each other in a circle: "
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

    # --- stages --------------------------------------------------------------------------------
    def stages(self, node: Node | None) -> list[m.Stage]:
        stages: list[m.Stage] = []
        if node is None or not node.is_list or not node.value:
            self.error("STAGES", "the policy needs a list of stages", (node or self.node).location)
            return stages
        scorecards = sum(1 for s in node.value if s.is_map and "scorecard" in s.value)
        for stage_node in node.value:
            if not stage_node.is_map:
                self.error("STAGE_SHAPE", "a stage is a mapping such as {id: eligibility, "
                           "ruleset: eligibility}", stage_node.location)
                continue
            self.unknown_keys(stage_node, {"id", "ruleset", "table", "scorecard", "name"},
                              "a stage")
            kinds = [k for k in ("ruleset", "table", "scorecard") if k in stage_node.value]
            id_node = stage_node.get("id")
            if len(kinds) != 1 or id_node is None:
                self.error("STAGE_SHAPE", "a stage needs an id and exactly one of ruleset, table "
                           "or scorecard", stage_node.location)
                continue
            stage_id = self.claim_id(id_node.value, id_node.location, "a stage")
            document = self.document(kinds[0], stage_node.get(kinds[0]))
            if stage_id is None or document is None:
                continue
            build = {"ruleset": self.ruleset, "table": self.table,
                     "scorecard": self.scorecard}[kinds[0]]
            stage = build(document, stage_id, stage_node.location, scorecards > 1)
            if stage is not None:
                for name, kind in stage.outputs.items():
                    self.add_value(name, kind, True, stage_node.location)
                stages.append(stage)
        return stages

    def ruleset(self, document: Document, stage_id: str, location: Location,
                _many_scorecards: bool) -> m.Stage | None:
        node = document.node
        what = f"rule set '{document.name}'"
        self.unknown_keys(node, {"ruleset", "name", "hit_policy", "outputs", "when_none", "rules",
                                 "description"}, what)
        hit_policy = self.hit_policy(node, m.HIT_POLICIES, what)
        outputs = self.declared_outputs(node.get("outputs"), what)
        if outputs and hit_policy == "collect":
            self.error("RULESET_OUTPUTS", f"{what}: a collect rule set cannot set outputs (several "
                       "rules may match); use first, unique, priority or any",
                       node.get("outputs").location)
        rules_node = node.get("rules")
        if rules_node is None or not rules_node.is_list or not rules_node.value:
            self.error("RULESET_RULES", f"{what} needs a non-empty list of rules", node.location)
            return None
        rules = [r for r in (self.rule(r, outputs, hit_policy, document)
                             for r in rules_node.value) if r]
        if not rules:
            return None  # every rule has an error, each already reported
        ruleset = m.RuleSet(document.name, self.text(node.get("name")), hit_policy, rules, outputs,
                            self.effect(node.get("when_none"), f"{what} when_none"), document.file)
        stage = m.Stage(stage_id, "ruleset", ruleset, outputs, location)
        body = ", ".join(self.builder.condition(r.condition) for r in rules)
        stage.match = self.builder.compile_function("v", f"({body},)")
        return stage

    def hit_policy(self, node: Node, allowed: tuple, what: str) -> str:
        hp = node.get("hit_policy")
        if hp is None:
            self.error("HIT_POLICY", f"{what} needs a hit_policy: one of {', '.join(allowed)}",
                       node.location)
            return allowed[0]
        if hp.value not in allowed:
            self.error("HIT_POLICY", f"{what}: hit_policy must be one of {', '.join(allowed)}"
                       f"{did_you_mean(str(hp.value), allowed)}", hp.location)
            return allowed[0]
        return hp.value

    def declared_outputs(self, node: Node | None, what: str) -> dict[str, Type]:
        outputs: dict[str, Type] = {}
        if node is None:
            return outputs
        if not node.is_map:
            self.error("OUTPUTS_SHAPE", f"{what}: outputs must be a mapping of name: type",
                       node.location)
            return outputs
        for name, child in node.items():
            if not _NAME.match(name):
                self.error("OUTPUT_NAME", f"output name '{name}' must be lower case",
                           child.location)
                continue
            kind = _read_type(child, name, self.diagnostics)
            if kind is not None:
                outputs[name] = kind
        return outputs

    def rule(self, node: Node, outputs: dict[str, Type], hit_policy: str,
             document: Document) -> m.Rule | None:
        if not node.is_map:
            self.error("RULE_SHAPE", "a rule is a mapping with id, name, when and then",
                       node.location)
            return None
        self.unknown_keys(node, {"id", "name", "when", "then", "priority", "description"}, "a rule")
        id_node = node.get("id")
        rule_id = self.claim_id(id_node.value if id_node else None,
                                (id_node or node).location, "a rule")
        what = f"rule {rule_id or '?'}"
        when = node.get("when")
        if when is None:
            self.error("RULE_WHEN", f"{what} needs a 'when' condition", node.location)
            return None
        condition = self.condition(when, what, rule_id)
        then = node.get("then")
        effect, values = None, {}
        if then is None or not then.is_map:
            self.error("RULE_THEN", f"{what} needs 'then' with an action and reason, or 'set'",
                       (then or node).location)
        else:
            self.unknown_keys(then, {"action", "reason", "set"}, f"{what} then")
            if then.get("action") is not None or then.get("reason") is not None:
                effect = self.effect(then, what, check_keys=False)
            values = self.output_values(then.get("set"), outputs, what)
            if effect is None and not values and then.get("action") is None:
                self.error("RULE_THEN", f"{what}: 'then' must give an action and reason, or set "
                           "outputs", then.location)
        priority_node = node.get("priority")
        priority = 0
        if priority_node is not None:
            if not isinstance(priority_node.value, int) or isinstance(priority_node.value, bool):
                self.error("RULE_PRIORITY", f"{what}: priority must be a whole number",
                           priority_node.location)
            else:
                priority = priority_node.value
        elif hit_policy == "priority":
            self.error("RULE_PRIORITY", f"{what}: rules of a priority rule set need a priority "
                       "(higher wins)", node.location)
        if rule_id is None or condition is None:
            return None
        return m.Rule(rule_id, self.text(node.get("name")), condition, effect, values, priority,
                      (id_node or node).location, c.fields_read(condition))

    def output_values(self, node: Node | None, outputs: dict[str, Type], what: str) -> dict:
        values: dict[str, Any] = {}
        if node is None:
            return values
        if not node.is_map:
            self.error("SET_SHAPE", f"{what}: set must be a mapping of output: value",
                       node.location)
            return values
        for name, child in node.items():
            kind = outputs.get(name)
            if kind is None:
                self.error("SET_UNKNOWN", f"{what} sets '{name}', which is not a declared output"
                           f"{did_you_mean(name, outputs)}", child.location)
                continue
            value = coerce_literal(child.value, kind)
            if value is None:
                hint = did_you_mean(str(child.value), kind.values or ())
                self.error("SET_VALUE", f"{what}: '{child.value}' is not a {kind}{hint}",
                           child.location)
                continue
            values[name] = value
        return values

    # --- limit, outputs, reasons ---------------------------------------------------------------
    def limit(self, node: Node | None) -> m.LimitSpec | None:
        if node is None:
            return None
        self.unknown_keys(node, {"base", "caps", "round_down_to", "minimum", "below_minimum",
                                 "when_missing"}, "limit")
        base = self.number_expression(node.get("base"), "limit base", node)
        caps = []
        caps_node = node.get("caps")
        for cap_node in (caps_node.value if caps_node and caps_node.is_list else []):
            if not cap_node.is_map:
                self.error("CAP_SHAPE", "a cap is a mapping with id, name and value",
                           cap_node.location)
                continue
            self.unknown_keys(cap_node, {"id", "name", "value"}, "a cap")
            id_node = cap_node.get("id")
            cap_id = self.claim_id(id_node.value if id_node else None,
                                   (id_node or cap_node).location, "a cap")
            expr = self.number_expression(cap_node.get("value"), f"cap {cap_id}", cap_node)
            if cap_id and expr:
                caps.append(m.Cap(cap_id, self.text(cap_node.get("name")),
                                  self.builder.compile_function("v", self.builder.value(expr)),
                                  expr.text))
        round_node = node.get("round_down_to")
        round_to = round_node.value if round_node else 1
        if not isinstance(round_to, int) or round_to < 1:
            self.error("LIMIT_ROUNDING", "round_down_to must be a positive whole number of yuan",
                       round_node.location)
            round_to = 1
        minimum = self.number_expression(node.get("minimum"), "limit minimum", node)
        below = self.effect(node.get("below_minimum"), "limit below_minimum")
        missing = self.effect(node.get("when_missing"), "limit when_missing")
        if below is None or missing is None:
            self.error("LIMIT_EFFECTS", "limit needs below_minimum and when_missing, each with an "
                       "action and a reason", node.location)
        if base is None or minimum is None or below is None or missing is None:
            return None
        return m.LimitSpec(self.builder.compile_function("v", self.builder.value(base)), base.text,
                           caps, round_to,
                           self.builder.compile_function("v", self.builder.value(minimum)),
                           below, missing)

    def number_expression(self, node: Node | None, what: str, parent: Node) -> Expr | None:
        if node is None:
            self.error("LIMIT_EXPRESSION", f"{what} is required", parent.location)
            return None
        expr = self.expression(node, what)
        if expr is not None and not expr.type.numeric:
            self.error("LIMIT_TYPE", f"{what} must be a number, not {expr.type}",
                       node.text_location)
            return None
        return expr

    def outputs(self, node: Node | None) -> list[str]:
        names: list[str] = []
        if node is None:
            return names
        for item in node.value if node.is_list else [node]:
            if not isinstance(item.value, str):
                self.error("OUTPUT_NAME", "outputs is a list of value names, e.g. "
                           "[customer_group, price_tier]", item.location)
                continue
            if item.value not in self.scope.values:
                self.error("OUTPUT_UNKNOWN", f"output '{item.value}' is not a feature or stage "
                           f"output{did_you_mean(str(item.value), self.scope.values)}",
                           item.location)
                continue
            names.append(item.value)
        return names

    def reasons(self, node: Node | None) -> dict[str, m.ReasonText]:
        name = node.value if node is not None else "reason_codes"
        if not isinstance(name, str):
            self.error("REASONS_NAME", "reasons names the catalogue file under rules/, e.g. "
                       "reasons: reason_codes", node.location)
            name = "reason_codes"
        document = self.catalogue.documents.get(("reason_codes", name))
        texts = {code: m.ReasonText(code, t["zh"], t["en"])
                 for code, t in m.ENGINE_REASONS.items()}
        if document is None:
            self.error("REASONS_MISSING", f"no reason-code catalogue '{name}' under rules/ (a file "
                       "rules/<name>.yaml with reason_codes:)", (node or self.node).location)
            return texts
        self.used_files.add(document.file)
        entries = document.node.get("reason_codes")
        if entries is None or not entries.is_map:
            self.error("REASONS_SHAPE", "reason_codes must be a mapping of CODE: {zh, en}",
                       document.node.location)
            return texts
        for code, entry in entries.items():
            if not entry.is_map or entry.get("zh") is None or entry.get("en") is None:
                self.error("REASON_TEXT", f"reason code {code} needs both zh and en text",
                           entry.location)
                continue
            texts[code] = m.ReasonText(code, str(entry.get("zh").value),
                                       str(entry.get("en").value))
        for code, location in self.reason_uses:
            if code not in texts:
                self.error("REASON_UNKNOWN", f"reason code '{code}' is not in the catalogue "
                           f"{document.file}{did_you_mean(code, texts)}", location)
        return texts


def build_policies(files: dict[str, str], engine: str | None = None
                   ) -> tuple[dict[str, m.PolicyParts], list[Diagnostic]]:
    """Validate and compile every policy in a set of files; report every problem. `engine`
    overrides the backend every policy names (the service's configuration)."""
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    diagnostics: list[Diagnostic] = []
    catalogue = read_documents(files, diagnostics)
    built: dict[str, m.PolicyParts] = {}
    used: set[str] = set()
    for document in catalogue.policies:
        builder = PolicyBuilder(document, catalogue, files)
        parts = builder.build()
        used |= builder.used_files
        if parts is not None:
            parts.engine = engine or parts.engine
            if parts.engine == "durable" and _durable_problems(parts, builder.diagnostics):
                parts = None
        for diagnostic in builder.diagnostics:
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


def _durable_problems(parts: m.PolicyParts, diagnostics: list[Diagnostic]) -> bool:
    """Report every rule the durable backend cannot match; True if there is one."""
    from .backends.durable import check_expressible  # loads durable_rules only when used

    found = False
    for stage in parts.stages:
        if stage.kind == "ruleset":
            for problem in check_expressible(stage.target.rules):
                diagnostics.append(problem)
                found = found or problem.severity == ERROR
    return found
