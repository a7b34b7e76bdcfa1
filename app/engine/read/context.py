"""What every reader of a policy shares while it builds one policy: the diagnostics found so far,
the names in scope, the ids claimed, the files used, the reason codes used, the code builder, and
the small checks all document kinds make (keys, ids, texts, expressions, effects, outputs, cells).

Every problem is recorded as a Diagnostic and reading carries on, so one run reports everything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .. import model as m
from ..errors import ERROR, WARNING, Diagnostic, Location, did_you_mean
from ..language import conditions as c
from ..language.compiler import CodeBuilder, is_simple, lower_condition, overs
from ..language.expressions import Expr, Ref, Scope, parse_expression, referenced_paths
from ..literals import coerce_literal, scalar_text
from ..source import Node
from ..types import BOOLEAN, DATE, DATETIME, DECIMAL, ENUM, INTEGER, TIME, Type
from .documents import Catalogue, Document
from .input_schema import read_type

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
MAX_ID = 64  # ids are in every stored decision's hits, the trace and the rule-hit metric's labels
_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,]*?)\s*,\s*([^,]*?)\s*([\])])\s*$")
_NAME_START = re.compile(r"^[A-Za-z_(]")
_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$")


@dataclass
class BuildContext:
    """The state of building one policy document with the documents it uses."""

    document: Document
    catalogue: Catalogue
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scope: Scope = field(default_factory=Scope)
    ids: dict[str, Location] = field(default_factory=dict)
    used_files: set[str] = field(default_factory=set)
    used_lists: set[str] = field(default_factory=set)
    reason_uses: list[tuple[str, Location]] = field(default_factory=list)
    pii_sources: dict[str, str] = field(default_factory=dict)  # value name -> personal data kind
    builder: CodeBuilder | None = None
    read_paths: set[str] = field(default_factory=set)  # every value any expression reads
    feature_exprs: dict[str, Expr] = field(default_factory=dict)  # feature name -> its tree
    cap_exprs: dict[str, Expr] = field(default_factory=dict)  # limit cap id -> its value's tree
    # what was read, kept even when the policy has errors, so that every check can report at once
    engine: str = "compiled"
    stages: list = field(default_factory=list)
    # features declared `after:` a stage: stage id -> {name: expression node}, read with stages
    deferred_features: dict[str, dict[str, Node]] = field(default_factory=dict)
    deferred_locations: dict[str, Location] = field(default_factory=dict)
    # the policy's outcome vocabulary (read before anything that gives an action)
    outcomes: m.Outcomes = m.DEFAULT_OUTCOMES

    def __post_init__(self) -> None:
        self.used_files.add(self.document.file)

    @property
    def node(self) -> Node:
        """The policy document's root mapping."""
        return self.document.node

    # --- reporting -----------------------------------------------------------------------------
    def error(self, code: str, message: str, location: Location | None,
              severity: str = ERROR) -> None:
        self.diagnostics.append(Diagnostic(code, message, location, severity))

    def unknown_keys(self, node: Node, allowed: set[str], what: str) -> None:
        for key, _ in node.items():
            if key not in allowed:
                self.error("UNKNOWN_KEY", f"unknown key '{key}' in {what}"
                           f"{did_you_mean(key, allowed)}", node.key_location(key))

    # --- names, ids and documents --------------------------------------------------------------
    def text(self, node: Node | None) -> m.Text:
        """A bilingual name: {zh, en}, or plain text (taken as English)."""
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

    def claim_id(self, identifier: Any, location: Location, what: str) -> str | None:
        """The id, if it is well formed and not yet used anywhere in the policy."""
        if not isinstance(identifier, str) or not _ID.match(identifier) or len(identifier) > MAX_ID:
            self.error("ID_INVALID", f"{what} needs an id of letters, digits, '-', '_' or '.', "
                       f"starting with a letter, at most {MAX_ID} characters", location)
            return None
        if identifier in self.ids:
            first = self.ids[identifier]
            self.error("ID_DUPLICATE", f"id '{identifier}' is already used at {first}", location)
            return None
        self.ids[identifier] = location
        return identifier

    def document_named(self, kind: str, name_node: Node) -> Document | None:
        """The rule file a stage names; its file becomes part of the policy version."""
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
        """Put a feature or stage output in scope for later expressions."""
        if name in self.scope.values or name in self.scope.sections or name in ("params", "lists"):
            self.error("NAME_TAKEN", f"'{name}' is already the name of an input field, feature "
                       "or stage output", location)
            return False
        self.scope.values[name] = (kind, nullable)
        return True

    # --- expressions and conditions ------------------------------------------------------------
    def expression(self, node: Node | None) -> Expr | None:
        if node is None:
            return None
        expr, problems = parse_expression(node.expression_text, node.text_location, self.scope,
                                          node.text_map)
        self.diagnostics.extend(problems)
        if expr is not None:
            self.read_paths.update(referenced_paths(expr))
        return expr

    def condition(self, node: Node, what: str,
                  probes: list[m.ItemProbe] | None = None) -> c.Condition | None:
        """A rule's condition; `probes` receives, for each list it goes over, a function giving
        the positions of the items that matched (the trace shows them)."""
        expr = self.expression(node)
        if expr is None:
            return None
        if expr.type.name != BOOLEAN:
            self.error("CONDITION_TYPE", f"the condition of {what} is {expr.type}, not true/false; "
                       "compare it with something", node.text_location)
            return None
        condition = lower_condition(expr, self.builder)
        if probes is not None:
            for over in overs(expr):
                if over.var or over.kind != "map":
                    probes.append(m.ItemProbe(over.text, self.builder.compile_function(
                        "v", self.builder.matching(over))))
        if not is_simple(condition, quantifiers=True):
            self.error("CONDITION_COMPUTES", f"the condition of {what} computes a value "
                       f"('{expr.text}'); put the computation in a feature and compare the feature "
                       "(the durable engine cannot match it)", node.text_location, WARNING)
        return condition

    # --- effects and reasons -------------------------------------------------------------------
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
        actions = self.outcomes.actions
        if action not in actions:
            self.error("EFFECT_ACTION", f"{what}: action '{action}' must be "
                       f"{' or '.join(actions)}{did_you_mean(str(action), actions)}",
                       (action_node or node).location)
            return None
        reasons = self.reason_codes(reason_node, what)
        if not reasons:
            self.error("EFFECT_REASON", f"{what}: a {action} needs a reason code", node.location)
            return None
        return m.Effect(action, reasons, self.outcomes.rank(action))

    def unsettled(self, code: str) -> m.Effect:
        """The effect the engine itself gives when it cannot settle a decision (the policy's
        unsettled outcome with this reason code)."""
        outcome = self.outcomes.unsettled
        return m.Effect(outcome, (code,), self.outcomes.rank(outcome))

    def reason_codes(self, node: Node | None, what: str) -> tuple[str, ...]:
        """Reason codes as written (checked against the catalogue once it is read)."""
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

    # --- hit policies and outputs --------------------------------------------------------------
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
        """The outputs a rule set or table declares: {name: type}."""
        outputs: dict[str, Type] = {}
        if node is None:
            return outputs
        if not node.is_map:
            self.error("OUTPUTS_SHAPE", f"{what}: outputs must be a mapping of name: type",
                       node.location)
            return outputs
        for name, child in node.items():
            if not NAME.match(name):
                self.error("OUTPUT_NAME", f"output name '{name}' must be lower case",
                           child.location)
                continue
            kind = read_type(child, name, self.diagnostics)
            if kind is not None:
                outputs[name] = kind
        return outputs

    def output_values(self, node: Node | None, outputs: dict[str, Type], what: str) -> dict:
        """The values a rule or row sets: each a declared output, each a constant of its type."""
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
            if child.is_map and child.get("expr") is not None:
                computed = self.output_expression(child.get("expr"), kind, f"{what}: {name}")
                if computed is not None:
                    values[name] = computed
                continue
            if kind.name == "list" and child.is_list and kind.item is not None:
                items = [coerce_literal(item.value, kind.item) for item in child.value]
                value = None if None in items else tuple(items)  # a list output: its items
            else:
                value = coerce_literal(child.value, kind)
            if value is None:
                hint = did_you_mean(str(child.value), kind.values or ())
                self.error("SET_VALUE", f"{what}: '{child.value}' is not {kind.with_article()}{hint}",
                           child.location)
                continue
            values[name] = value
        return values

    def output_expression(self, node: Node, kind: Type, what: str) -> m.OutputExpr | None:
        """An output written as {expr: ...}: an expression of the declared type, computed when
        its rule or row is chosen (it may read values of earlier stages)."""
        expr = self.expression(node)
        if expr is None:
            return None
        fits = expr.type == kind or (kind.name == DECIMAL and expr.type.numeric) or (
            kind.name == ENUM and expr.type.name == ENUM and set(expr.type.values or ())
            <= set(kind.values or ())) or (kind.name == "string" and expr.type.textual) or \
            expr.type.name == "null"
        if not fits:
            self.error("SET_VALUE", f"{what}: '{expr.text}' is {expr.type}, not {kind}",
                       node.text_location)
            return None
        function = self.builder.compile_function("v", self.builder.value(expr))
        return m.OutputExpr(expr.text, function, expr.nullable, expr)

    # --- table cells and scorecard bins --------------------------------------------------------
    def cell(self, node: Node, ref: Ref, what: str) -> c.Condition | None:
        """One unary test: a value, a list, '-', missing, exists, else, a comparison, an interval."""
        field_ref = c.FieldRef(ref.path, ref.type.name)
        value = node.value
        location = node.text_location
        if node.is_map and node.get("expr") is not None:  # any test, over any values
            expr = self.expression(node.get("expr"))
            if expr is None:
                return None
            if expr.type.name != BOOLEAN:
                self.error("CELL", f"{what}: the cell expression '{expr.text}' is {expr.type}, "
                           "not true/false", node.get("expr").text_location)
                return None
            return lower_condition(expr, self.builder)
        if node.is_list:
            values = [coerce_literal(item.value, ref.type) for item in node.value]
            if any(v is None for v in values):
                return self._bad_cell(node, ref, what)
            return c.Member(field_ref, frozenset(values), False, location)
        if isinstance(value, str):
            text = value.strip()
            if text in ("-", "else", "any"):
                return c.Always(True)
            if text in ("missing", "exists"):
                return c.Presence(field_ref, text == "exists", location)
            interval = _INTERVAL.match(text)
            if interval and ref.type.name in (INTEGER, DECIMAL, DATE, DATETIME, TIME):
                return self._interval(node, ref, what, interval.groups())
            comparison = _COMPARISON.match(text)
            if comparison:
                op, operand = comparison.groups()
                bound = coerce_literal(scalar_text(operand), ref.type)
                if bound is None and _NAME_START.match(operand):  # '>= params.min_score'
                    return self._computed_cell(node, ref, op, operand)
                if bound is None or (op not in ("==", "!=") and ref.type.name in (BOOLEAN, ENUM)):
                    return self._bad_cell(node, ref, what)
                return c.Compare(field_ref, op, c.Const(bound, ref.type.name), location)
        literal = coerce_literal(value, ref.type)
        if literal is None:
            return self._bad_cell(node, ref, what)
        return c.Compare(field_ref, "==", c.Const(literal, ref.type.name), location)

    def _computed_cell(self, node: Node, ref: Ref, op: str, operand: str) -> c.Condition | None:
        """A comparison of the input with an expression ('>= params.min_score', '< cap * 2')."""
        expr, problems = parse_expression(f"{ref.path} {op} ({operand})", node.text_location,
                                          self.scope)
        self.diagnostics.extend(problems)
        if expr is None:
            return None
        self.read_paths.update(referenced_paths(expr))
        return lower_condition(expr, self.builder)

    def _interval(self, node: Node, ref: Ref, what: str,
                  groups: tuple[str, ...]) -> c.Condition | None:
        """'[600, 700)': one comparison per closed end; an open end ('[700, )') is left out."""
        opening, low, high, closing = groups
        field_ref = c.FieldRef(ref.path, ref.type.name)
        parts: list[c.Condition] = []
        for text_bound, op in ((low, ">=" if opening == "[" else ">"),
                               (high, "<=" if closing == "]" else "<")):
            if not text_bound:
                continue
            bound = coerce_literal(scalar_text(text_bound), ref.type)
            if bound is None:
                return self._bad_cell(node, ref, what)
            parts.append(c.Compare(field_ref, op, c.Const(bound, ref.type.name),
                                   node.text_location))
        return all_of(parts) if parts else c.Presence(field_ref, True, node.text_location)

    def _bad_cell(self, node: Node, ref: Ref, what: str) -> None:
        hint = did_you_mean(str(node.value), ref.type.values or ()) if ref.type.values else ""
        self.error("CELL", f"{what}: '{node.plain()}' is not a test of {ref.path} ({ref.type}); "
                   "write a value, a list, '-', missing, a comparison such as '>= 700' or an "
                   f"interval such as '[600, 700)'{hint}", node.text_location)
        return None


def all_of(parts: list[c.Condition]) -> c.Condition:
    """The conjunction of conditions, without the ones that are always true."""
    parts = [p for p in parts if not (isinstance(p, c.Always) and p.value)]
    if not parts:
        return c.Always(True)
    return parts[0] if len(parts) == 1 else c.AllOf(tuple(parts))
