"""A JDM decision graph (GoRules Zen's JSON format) as a Firefly policy.

The graph's nodes are walked in the order Zen runs them; every value a node computes becomes a
feature (an expression node's expressions; a decision table's row tests and outputs, a `first`
table as a chain of `if`/`else` over its rows), so the whole graph is one typed Firefly policy
that the engine checks and compiles like any other. The input types are read from the graph's
embedded test cases. What comes out (`Imported`) is the files of a policy root and a mapping the
conformance runner uses to build Zen's output object from a decision: for every output path the
value it holds and when it is present (Zen distinguishes an absent key from a null one).

Constructs Firefly does not support raise `Unsupported` with the construct named; nothing is
approximated.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from .zen import (NULL_VALUE, Z_BOOLEAN, Z_NULL, Z_NUMBER, Z_STRING, Scope, Translator,
                  Unsupported, Value, ZType, mangle, parse, parse_unary)

PRODUCT = "jdm"
NOOP_RULESET = "jdm_noop"
NOOP_TEXT = (f"ruleset: {NOOP_RULESET}\nname: {{zh: 无规则, en: No rules}}\nhit_policy: collect\n"
             "rules:\n  - {id: JDM-NOOP, name: {en: never}, when: false, then: {action: REFER, "
             "reason: JDM_NEVER}}\n")
REASONS_TEXT = ("reason_codes:\n  JDM_NEVER: {zh: 不适用, en: Never used, customer: "
                "{zh: 不适用, en: Never used}}\n")


@dataclass
class Binding:
    """What a path of Zen's data holds: a value read from the input as sent (`input`), or a
    Firefly value (`value`) present when `present` (a boolean feature; None: always)."""

    value: Value
    input_path: str | None = None
    present: str | None = None


@dataclass
class Imported:
    name: str          # the Firefly policy name (jdm.<flow>)
    flow: str
    files: dict[str, str]
    inputs: dict        # the declared input: zen key -> {"name": firefly name, "type"/"fields"}
    outputs: list[dict]  # per node in run order: {id, kind, incoming, pass_through, results}
    cases: list[dict]   # the graph's test cases: {input, output}
    edges: list[dict] = field(default_factory=list)  # {source, target, handle}


def flow_name(file_name: str) -> str:
    stem = re.sub(r"\.json$", "", file_name.rsplit("/", 1)[-1])
    return mangle(stem.replace("-", "_"))


# --- input types from the test cases ----------------------------------------------------------------
class _Mixed(Exception):
    pass


def _type_of(value: Any) -> ZType:
    if value is None:
        return Z_NULL
    if isinstance(value, bool):
        return Z_BOOLEAN
    if isinstance(value, (int, Decimal, float)):
        return Z_NUMBER
    if isinstance(value, str):
        return Z_STRING
    if isinstance(value, list):
        item = Z_NULL
        for element in value:
            item = _merge(item, _type_of(element))
        return ZType("list", item=item)
    if isinstance(value, dict):
        return ZType("record", fields=tuple((k, _type_of(v)) for k, v in value.items()))
    raise _Mixed()


def _merge(a: ZType, b: ZType) -> ZType:
    if a.name == "null":
        return b
    if b.name == "null" or a == b:
        return a
    if a.name == b.name == "list":
        return ZType("list", item=_merge(a.item or Z_NULL, b.item or Z_NULL))
    if a.name == b.name == "record":
        merged = dict(a.fields)
        for key, kind in b.fields:
            merged[key] = _merge(merged[key], kind) if key in merged else kind
        return ZType("record", fields=tuple(merged.items()))
    return ZType("mixed")


def infer_input(cases: list[dict]) -> dict[str, ZType]:
    """Every top-level and nested input path's type over all cases: {dotted path: type} for
    leaves (objects are walked; lists and scalars are leaves)."""
    found: dict[str, ZType] = {}

    def walk(value: dict, prefix: str) -> None:
        for key, child in value.items():
            path = prefix + key
            if isinstance(child, dict):
                if path in found and found[path].name != "section":
                    found[path] = ZType("mixed")
                    continue
                found[path] = ZType("section")
                walk(child, path + ".")
                continue
            try:
                kind = _type_of(child)
            except _Mixed:
                kind = ZType("mixed")
            if path in found and found[path].name == "section":
                found[path] = ZType("mixed")
            else:
                found[path] = _merge(found.get(path, Z_NULL), kind)

    for case in cases:
        walk(case.get("input") or {}, "")
    return found


# --- the graph --------------------------------------------------------------------------------------
@dataclass
class _Builder:
    flow: str
    input_types: dict[str, ZType]
    features: dict[str, str] = field(default_factory=dict)
    count: int = 0
    recipes: list[dict] = field(default_factory=list)  # what each node outputs, in run order

    def feature(self, hint: str, value: Value) -> Value:
        """A feature holding a value (constants and nulls stay as they are)."""
        if value.type.name == "null":
            return NULL_VALUE
        self.count += 1
        name = f"v{self.count}_{mangle(hint.rsplit('.', 1)[-1])}"[:60]
        self.features[name] = value.text
        return Value(name, value.type)


def _order(nodes: list[dict], edges: list[dict]) -> list[dict]:
    """The nodes in an order where every node follows the nodes it reads (Kahn, stable)."""
    incoming = {n["id"]: 0 for n in nodes}
    for edge in edges:
        incoming[edge["targetId"]] = incoming.get(edge["targetId"], 0) + 1
    ready = [n for n in nodes if incoming[n["id"]] == 0]
    ordered = []
    by_id = {n["id"]: n for n in nodes}
    while ready:
        node = ready.pop(0)
        ordered.append(node)
        for edge in edges:
            if edge["sourceId"] == node["id"]:
                incoming[edge["targetId"]] -= 1
                if incoming[edge["targetId"]] == 0:
                    ready.append(by_id[edge["targetId"]])
    if len(ordered) != len(nodes):
        raise Unsupported("a graph with a cycle")
    return ordered


def _lookup(env: dict[str, Binding], input_types: dict[str, ZType]):
    def lookup(path: str) -> Value | None:
        binding = env.get(path)
        if binding is not None:
            return binding.value
        if any(key.startswith(path + ".") for key in env):
            raise Unsupported("an object used as a value")
        kind = input_types.get(path)
        if kind is not None and kind.name == "mixed":
            raise Unsupported(f"input '{path}' of more than one type")
        return None
    return lookup


def _insert(env: dict[str, Binding], path: str, binding: Binding) -> None:
    """Set a path, replacing what was there and anything under it (Zen's dot insert)."""
    for key in [k for k in env if k.startswith(path + ".")]:
        del env[key]
    parts = path.split(".")
    for i in range(1, len(parts)):
        env.pop(".".join(parts[:i]), None)
    env[path] = binding


def import_graph(file_name: str, graph: dict) -> Imported:
    """The Firefly policy of one JDM graph; raises Unsupported naming what it cannot express."""
    flow = flow_name(file_name)
    nodes, edges = graph.get("nodes") or [], graph.get("edges") or []
    cases = graph.get("tests") or []
    for node in nodes:
        if node["type"] not in ("inputNode", "outputNode", "expressionNode", "decisionTableNode",
                                "switchNode"):
            raise Unsupported(node["type"])
        content = node.get("content") or {}
        if content.get("inputField") or content.get("outputPath"):
            raise Unsupported("inputField/outputPath")
        if content.get("executionMode") not in (None, "single"):
            raise Unsupported(f"executionMode {content.get('executionMode')}")
        if node["type"] == "decisionTableNode" and content.get("hitPolicy") != "first":
            raise Unsupported(f"hitPolicy {content.get('hitPolicy')}")
    if sum(1 for n in nodes if n["type"] == "inputNode") != 1:
        raise Unsupported("a graph without exactly one input node")
    input_types = infer_input(cases)
    builder = _Builder(flow, input_types)
    envs: dict[str, dict[str, Binding]] = {}
    behind_switch: set[str] = set()  # nodes that run only on some switch branches
    for node in _order(nodes, edges):
        incoming = [e["sourceId"] for e in edges if e["targetId"] == node["id"]]
        if any(s in behind_switch or _kind(nodes, s) == "switchNode" for s in incoming):
            behind_switch.add(node["id"])
            if len(set(incoming)) > 1 and node["type"] != "outputNode":
                # what it reads depends on which branches ran: Zen reads null from the others
                raise Unsupported("switch branches joining before the output")
        env: dict[str, Binding] = {}
        for source in incoming:
            for path, binding in envs.get(source, {}).items():
                _insert(env, path, binding)
        kind = node["type"]
        recipe = {"id": node["id"], "kind": kind, "incoming": incoming,
                  "pass_through": bool((node.get("content") or {}).get("passThrough")),
                  "results": []}
        builder.recipes.append(recipe)
        if kind == "inputNode":
            out = {path: Binding(Value(_input_name(path), t), input_path=path)
                   for path, t in input_types.items() if t.name != "section"}
        elif kind == "outputNode":
            out = env
        elif kind == "switchNode":
            out = env
            _switch_node(builder, node, env, recipe)
        elif kind == "expressionNode":
            out = _expression_node(builder, node, env, recipe)
        else:
            out = _table_node(builder, node, env, recipe)
        envs[node["id"]] = out
    return _assemble(file_name, flow, builder, input_types, edges, cases)


def _kind(nodes: list[dict], node_id: str) -> str:
    return next((n["type"] for n in nodes if n["id"] == node_id), "")


def _switch_node(builder: _Builder, node: dict, env: dict[str, Binding], recipe: dict) -> None:
    """Each statement's condition as a feature; the runner follows the edges of the statements
    Zen selects (the first that holds, or every one for `collect`)."""
    content = node.get("content") or {}
    lookup = _lookup(env, builder.input_types)
    recipe["hit_policy"] = content.get("hitPolicy") or "first"
    if recipe["hit_policy"] not in ("first", "collect"):
        raise Unsupported(f"switch hitPolicy {recipe['hit_policy']}")
    recipe["statements"] = []
    for statement in content.get("statements") or []:
        text = (statement.get("condition") or "").strip()
        if text:
            test = Translator(Scope(lookup)).boolean(parse(text))
            name = builder.feature("when", Value(f"coalesce({test.text}, false)", Z_BOOLEAN)).text
        else:
            name = None  # an empty condition always holds
        recipe["statements"].append({"id": statement.get("id"), "test": name})


def _input_name(path: str) -> str:
    return ".".join(mangle(part) for part in path.split("."))


def _reference(value: Value) -> dict:
    """How the runner reads a value from a decision: a value name, or null."""
    return {"null": True} if value.type.name == "null" else {"value": value.text}


def _expression_node(builder: _Builder, node: dict, env: dict[str, Binding],
                     recipe: dict) -> dict:
    content = node["content"]
    results: dict[str, Value] = {}
    out = dict(env) if content.get("passThrough") else {}
    own: dict[str, Binding] = {}
    for expression in content.get("expressions") or []:
        key, text = expression.get("key") or "", expression.get("value") or ""
        if not key or not text:
            continue
        value = Translator(Scope(_lookup(env, builder.input_types), results=results)).value(
            parse(text))
        value = builder.feature(key, value)
        results[key] = value
        _insert(own, key, Binding(value))
        recipe["results"].append({"path": key, **_reference(value)})
    for path, binding in own.items():
        _insert(out, path, binding)
    return out


def _table_node(builder: _Builder, node: dict, env: dict[str, Binding], recipe: dict) -> dict:
    content = node["content"]
    lookup = _lookup(env, builder.input_types)
    inputs, outputs = content.get("inputs") or [], content.get("outputs") or []
    row_tests: list[Value] = []
    for row in content.get("rules") or []:
        tests = []
        for column in inputs:
            cell = (row.get(column["id"]) or "").strip()
            if not cell or cell == "-":
                continue
            subject_text = (column.get("field") or "").strip()
            if subject_text:
                subject = Translator(Scope(lookup)).value(parse(subject_text))
                test = Translator(Scope(lookup, dollar=subject)).boolean(parse_unary(cell))
            else:
                test = Translator(Scope(lookup)).boolean(parse(cell))
            tests.append(f"coalesce({test.text}, false)")
        condition = " and ".join(tests) if tests else "true"
        row_tests.append(builder.feature(f"row_{row.get('_id', '')}", Value(condition, Z_BOOLEAN)))
    out = dict(env) if content.get("passThrough") else {}
    own: dict[str, Binding] = {}
    for column in outputs:
        path = (column.get("field") or "").strip()
        if not path:
            continue
        chain, kind = "null", Z_NULL
        values = []
        for row in content.get("rules") or []:
            cell = (row.get(column["id"]) or "").strip()
            values.append(Translator(Scope(lookup)).value(parse(cell)) if cell else NULL_VALUE)
        for value in values:
            if value.type.name != "null":
                kind = value.type if kind.name == "null" else kind
                if value.type != kind:
                    raise Unsupported(f"a table output that is {kind.name} or {value.type.name}")
        for test, value in reversed(list(zip(row_tests, values))):
            chain = f"({value.text} if {test.text} else {chain})"
        own_value = builder.feature(path, Value(chain, kind)) if kind.name != "null" else NULL_VALUE
        # Zen leaves a key out when the matching row's cell is empty.
        filled = "false"
        for test, row in reversed(list(zip(row_tests, content.get("rules") or []))):
            written = "true" if (row.get(column["id"]) or "").strip() else "false"
            filled = f"({written} if {test.text} else {filled})"
        present = builder.feature(f"{path}_present", Value(filled, Z_BOOLEAN))
        _insert(own, path, Binding(own_value, present=present.text))
        recipe["results"].append({"path": path, **_reference(own_value),
                                  "present": present.text})
    for path, binding in own.items():
        _insert(out, path, binding)
    return out


# --- the files --------------------------------------------------------------------------------------
def _declare(input_types: dict[str, ZType]) -> tuple[dict, dict]:
    """The Firefly `input:` tree and the runner's map from Zen keys to it: {key: {name, type,
    fields (a section's or a record's: zen key -> firefly name)}}."""
    tree: dict = {}
    mapping: dict = {}
    for path, kind in input_types.items():
        if kind.name in ("section", "mixed"):
            continue
        declaration = _declaration(kind)
        if declaration is None:
            continue
        parts = path.split(".")
        node, names = tree, mapping
        for part in parts[:-1]:
            node = node.setdefault(mangle(part), {})
            names = names.setdefault(part, {"name": mangle(part), "section": {}})["section"]
        node[mangle(parts[-1])] = declaration
        entry = {"name": mangle(parts[-1]), "type": kind.name}
        if isinstance(declaration, dict) and isinstance(declaration.get("items"), dict):
            entry["record"] = {key: mangle(key) for key, _ in kind.item.fields
                               if mangle(key) in declaration["items"]["fields"]}
        names[parts[-1]] = entry
    return tree, mapping


_FIREFLY = {"number": "decimal", "string": "string", "boolean": "boolean", "null": "string"}


def _declaration(kind: ZType) -> Any:
    if kind.name in _FIREFLY:
        return _FIREFLY[kind.name]
    if kind.name == "list":
        item = kind.item or Z_NULL
        if item.name in _FIREFLY:
            return {"type": "list", "items": _FIREFLY[item.name]}
        if item.name == "record":
            fields = {}
            for name, field_kind in item.fields:
                declared = _declaration(field_kind)
                if declared is not None and not isinstance(declared, dict) or (
                        isinstance(declared, dict) and field_kind.item is not None
                        and field_kind.item.name in _FIREFLY):
                    fields[mangle(name)] = declared
            return {"type": "list", "items": {"fields": fields}} if fields else None
    return None


def _assemble(file_name: str, flow: str, builder: _Builder, input_types: dict[str, ZType],
              edges: list[dict], cases: list[dict]) -> Imported:
    tree, mapping = _declare(input_types)
    outputs = builder.recipes
    plain_edges = [{"source": e["sourceId"], "target": e["targetId"],
                    "handle": e.get("sourceHandle")} for e in edges]
    policy = {
        "policy": f"{PRODUCT}.{flow}", "version": "jdm",
        "name": {"en": f"JDM graph {file_name}"},
        "reasons": "reason_codes",
        "input": tree or {"unused": "string"},
        **({"features": builder.features} if builder.features else {}),
        "stages": [{"id": "noop", "ruleset": NOOP_RULESET}],
    }
    text = yaml.safe_dump(policy, allow_unicode=True, sort_keys=False, width=10**6)
    files = {f"policies/{PRODUCT}/{flow}.yaml": text, f"rules/{NOOP_RULESET}.yaml": NOOP_TEXT,
             "rules/reason_codes.yaml": REASONS_TEXT,
             f"jdm/{flow}.json": json.dumps({"graph": file_name, "inputs": mapping,
                                             "nodes": outputs, "edges": plain_edges},
                                            ensure_ascii=False, indent=1)}
    return Imported(f"{PRODUCT}.{flow}", flow, files, mapping, outputs, cases, plain_edges)
