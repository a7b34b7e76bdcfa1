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

from .zen import (NULL_VALUE, Z_BOOLEAN, Z_NULL, Z_NUMBER, Z_STRING, ObjectValue, Scope,
                  Translator, _common,
                  Unsupported, Value, ZType, failures, mangle, parse, parse_unary)

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
    types: dict[str, ZType] = field(default_factory=dict)  # feature name -> its Zen type

    def feature(self, hint: str, value: Value) -> Value:
        """A feature holding a value (constants and nulls stay as they are)."""
        if value.type.name in ("null", "empty_object"):
            return value if value.type.name == "empty_object" else NULL_VALUE
        if isinstance(value, ObjectValue) or value.type.name == "object":
            raise Unsupported("an object value here")
        self.count += 1
        name = f"v{self.count}_{mangle(hint.rsplit('.', 1)[-1])}"[:60]
        self.features[name] = value.text
        self.types[name] = value.type
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
        if "*" in env:
            raise Unsupported("reading what a loop or a collect table produced")
        binding = env.get(path)
        parts = path.split(".")
        for i in range(1, len(parts)):
            above = env.get(".".join(parts[:i]))
            if above is not None and above.value.type.name == "opaque":
                raise Unsupported("reading what a loop or a collect table produced")
        if binding is not None:
            if binding.value.type.name == "opaque":
                raise Unsupported("reading what a loop or a collect table produced")
            return binding.value
        below = {key[len(path) + 1:]: b for key, b in env.items() if key.startswith(path + ".")}
        if below:  # an object: its fields as they are bound
            if any(b.value.type.name == "opaque" or b.input_path is not None
                   for b in below.values()):
                raise Unsupported("an object of the input, or one a loop produced, used as a "
                                  "value")
            return _object_of({key: b.value for key, b in below.items()})
        kind = input_types.get(path)
        if kind is not None and kind.name == "mixed":
            raise Unsupported(f"input '{path}' of more than one type")
        if kind is not None and kind.name != "section" and _declaration(kind) is None:
            raise Unsupported(f"input '{path}' of a shape Firefly does not declare ({kind.name})")
        return None
    return lookup


def _object_of(leaves: dict[str, Value]) -> ObjectValue:
    """An object value from its fields' values by dotted path."""
    tree: dict = {}
    for path, value in leaves.items():
        node = tree
        *parts, last = path.split(".")
        for part in parts:
            node = node.setdefault(part, {})
        node[last] = value

    def build(node: dict) -> ObjectValue:
        return ObjectValue("null", ZType("object"), tuple(
            (key, build(child) if isinstance(child, dict) else child)
            for key, child in node.items()))
    return build(tree)


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
        if content.get("executionMode") not in (None, "single", "loop"):
            raise Unsupported(f"executionMode {content.get('executionMode')}")
        if node["type"] == "decisionTableNode" and content.get("hitPolicy") not in (
                "first", "collect"):
            raise Unsupported(f"hitPolicy {content.get('hitPolicy')}")
    if sum(1 for n in nodes if n["type"] == "inputNode") != 1:
        raise Unsupported("a graph without exactly one input node")
    input_types = infer_input(cases)
    builder = _Builder(flow, input_types)
    envs: dict[str, dict[str, Binding]] = {}
    active: dict[str, str | None] = {}  # when a node runs (a boolean feature); None: always
    chosen: dict[tuple[str, str | None], str] = {}  # (switch, statement id) -> when it is chosen
    for node in _order(nodes, edges):
        incoming = [e["sourceId"] for e in edges if e["targetId"] == node["id"]]
        conditions = []  # per incoming edge: when it carries data (None: always)
        for edge in (e for e in edges if e["targetId"] == node["id"]):
            source = edge["sourceId"]
            parts = [p for p in (active.get(source),) if p]
            if _kind(nodes, source) == "switchNode":
                parts.append(chosen.get((source, edge.get("sourceHandle")), "false"))
            conditions.append(" and ".join(parts) or None)
        if node["type"] != "inputNode":
            active[node["id"]] = None if None in conditions or not conditions else \
                builder.feature("runs", Value(" or ".join(f"({c})" for c in conditions),
                                              Z_BOOLEAN)).text
        env: dict[str, Binding] = {}
        joined = len(set(incoming)) > 1 and any(c is not None for c in conditions)
        for source, condition in zip(incoming, conditions):
            for path, binding in envs.get(source, {}).items():
                if joined and condition is not None:
                    # branches meet: a value of a branch that did not run reads as null
                    before = env.get(path)
                    other = before.value if before is not None else NULL_VALUE
                    if binding.value.type.name == "opaque" or other.type.name == "opaque":
                        binding = _OPAQUE
                    else:
                        binding = Binding(Value(
                            f"({binding.value.text} if {condition} else {other.text})",
                            _common_type(binding.value.type, other.type)))
                _insert(env, path, binding)
        kind = node["type"]
        recipe = {"id": node["id"], "kind": kind, "incoming": incoming,
                  "pass_through": bool((node.get("content") or {}).get("passThrough")),
                  "results": []}
        builder.recipes.append(recipe)
        if kind == "inputNode":
            out = {path: Binding(Value(_input_name(path), t), input_path=path)
                   for path, t in input_types.items()
                   if t.name not in ("section", "mixed") and _declaration(t) is not None}
        elif kind == "outputNode":
            out = env
        elif kind == "switchNode":
            out = env
            _switch_node(builder, node, env, recipe)
            earlier: list[str] = []
            for statement in recipe["statements"]:
                test = statement["test"] or "true"
                if recipe["hit_policy"] == "first":
                    chosen[(node["id"], statement["id"])] = " and ".join(
                        [test] + [f"not {t}" for t in earlier]) if earlier else test
                else:
                    chosen[(node["id"], statement["id"])] = test
                earlier.append(test)
        elif kind == "expressionNode":
            out = _expression_node(builder, node, env, recipe)
        else:
            out = _table_node(builder, node, env, recipe)
        envs[node["id"]] = out
    return _assemble(file_name, flow, builder, input_types, edges, cases)


def _common_type(a: ZType, b: ZType) -> ZType:
    if a.name == "null":
        return b
    if b.name == "null" or a == b:
        return a
    raise Unsupported(f"branches that give a value as {a.name} and as {b.name}")


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
    """How the runner reads a value from a decision: a value name, null, or an empty object."""
    if value.type.name == "empty_object":
        return {"empty": True}
    return {"null": True} if value.type.name == "null" else {"value": value.text}


def _leaves(path: str, value: Value):
    """(path, value) for a value, or for every field of an object literal (an empty object is a
    leaf of its own)."""
    if not isinstance(value, ObjectValue):
        yield path, value
        return
    if not value.fields:
        yield path, Value("null", ZType("empty_object"))
    for key, field_value in value.fields:
        yield from _leaves(f"{path}.{key}", field_value)


@dataclass
class _Context:
    """Where a node reads: the whole input, the object at `inputField`, or (loop mode) each
    item of the list at `inputField` in turn, as `var` over the list `source`."""

    lookup: Any
    source: str | None = None
    var: str | None = None

    def each(self, value: Value) -> Value:
        """A value per item as a list (loop mode), or the value itself."""
        if self.source is None or value.type.name == "null":
            return value
        return Value(f"[{value.text} for {self.var} in {self.source}]",
                     ZType("list", item=value.type))


_OPAQUE = Binding(Value("null", ZType("opaque")))


def _context(builder: _Builder, node: dict, env: dict[str, Binding], recipe: dict) -> _Context:
    content = node.get("content") or {}
    lookup = _lookup(env, builder.input_types)
    field_text = (content.get("inputField") or "").strip()
    loop = content.get("executionMode") == "loop"
    recipe["input_field"] = field_text or None
    recipe["output_path"] = (content.get("outputPath") or "").strip() or None
    recipe["loop"] = loop
    if not field_text:
        if loop:
            raise Unsupported("a loop without inputField")
        return _Context(lookup)
    path = Translator(Scope(lookup))._path(parse(field_text))
    if path is None:
        raise Unsupported("an inputField that is not a path")
    if not loop:
        return _Context(lambda p: lookup(f"{path}.{p}"))
    binding = env.get(path)
    kind = binding.value.type if binding else None
    if binding is None or binding.input_path is None or kind.name != "list" or (
            kind.item is None or kind.item.name != "record"):
        raise Unsupported("a loop over a list that is not a list of objects of the input")
    recipe["input_field"] = path
    var = "each0"
    declared = {name: t for name, t in kind.item.fields}

    def item_lookup(p: str) -> Value | None:
        head, _, rest = p.partition(".")
        if head not in declared:
            return None
        field_type = declared[head]
        if rest or field_type.name in ("record", "mixed") or (
                field_type.name == "list" and (field_type.item or Z_NULL).name == "record"):
            raise Unsupported("a nested object inside a loop item")
        return Value(f"{var}.{mangle(head)}", field_type)

    return _Context(item_lookup, binding.value.text, var)


def _finish(env: dict[str, Binding], own: dict[str, Binding], content: dict,
            recipe: dict) -> dict:
    """The node's data as later nodes read it: its own results (under outputPath), merged into
    its input with passThrough; nothing can be read from what a loop produced."""
    if recipe["loop"]:
        own = {"*": _OPAQUE}
    if recipe["output_path"]:
        own = {f"{recipe['output_path']}.{path}": b for path, b in own.items()} or \
            {recipe["output_path"]: _OPAQUE}
    if recipe["loop"] and not recipe["output_path"]:
        return own
    out = dict(env) if content.get("passThrough") else {}
    for path, binding in own.items():
        _insert(out, path, binding)
    return out


def _expression_node(builder: _Builder, node: dict, env: dict[str, Binding],
                     recipe: dict) -> dict:
    content = node["content"]
    context = _context(builder, node, env, recipe)
    results: dict[str, Value] = {}
    own: dict[str, Binding] = {}
    for expression in content.get("expressions") or []:
        key, text = expression.get("key") or "", expression.get("value") or ""
        if not key or not text:
            continue
        whole = Translator(Scope(context.lookup, results=results)).value(parse(text))
        for path, value in _leaves(key, whole):
            if context.source is None:
                value = builder.feature(path, value)
            # in a loop an item's earlier result is written out where it is read
            results[path] = value
            feature = value if context.source is None else builder.feature(path,
                                                                           context.each(value))
            _insert(own, path, Binding(value))
            recipe["results"].append({"path": path, **_reference(feature)})
    return _finish(env, own, content, recipe)


def _table_node(builder: _Builder, node: dict, env: dict[str, Binding], recipe: dict) -> dict:
    content = node["content"]
    context = _context(builder, node, env, recipe)
    lookup = context.lookup
    inputs, outputs = content.get("inputs") or [], content.get("outputs") or []
    recipe["hit_policy"] = content.get("hitPolicy")
    recipe["rows"] = []
    tests_of_rows: list[Value] = []
    for row in content.get("rules") or []:
        tests = []
        for column in inputs:
            cell = (row.get(column["id"]) or "").strip()
            if not cell:
                continue
            subject_text = (column.get("field") or "").strip()
            if subject_text:
                subject = Translator(Scope(lookup)).value(parse(subject_text))
                test = Translator(Scope(lookup, dollar=subject)).boolean(parse_unary(cell))
            else:
                test = Translator(Scope(lookup)).boolean(parse(cell))
            tests.append(f"coalesce({test.text}, false)")
        for column in outputs:  # Zen skips a row whose output raises an error
            cell = (row.get(column["id"]) or "").strip()
            if (column.get("field") or "").strip() and cell:
                tests.extend(f"not {fail}" for fail in failures(parse(cell),
                                                                 Translator(Scope(lookup))))
        test = Value(" and ".join(f"({t})" for t in tests) if tests else "true", Z_BOOLEAN)
        tests_of_rows.append(test)
        cells = []
        for column in outputs:
            path, cell = (column.get("field") or "").strip(), (row.get(column["id"]) or "").strip()
            if not path or not cell:
                continue  # Zen writes nothing for an empty cell
            if path.endswith("[]"):
                raise Unsupported("collect output columns")
            value = Translator(Scope(lookup)).value(parse(cell))
            for leaf, leaf_value in _leaves(path, value):  # an object: each field at its path
                cells.append({"path": leaf,
                              **_reference(builder.feature(leaf, context.each(leaf_value)))})
        recipe["rows"].append({"test": builder.feature(f"row_{row.get('_id', '')}",
                                                       context.each(test)).text, "cells": cells})
    own: dict[str, Binding] = {}
    if recipe["hit_policy"] == "first" and context.source is None:
        # what later nodes read: each output as the first matching row gives it
        for column in outputs:
            path = (column.get("field") or "").strip()
            if not path:
                continue
            per_row = []
            for row in content.get("rules") or []:
                cell = (row.get(column["id"]) or "").strip()
                value = Translator(Scope(lookup)).value(parse(cell)) if cell else NULL_VALUE
                per_row.append(dict(_leaves(path, value)))
            leaves = list(dict.fromkeys(leaf for row in per_row for leaf in row))
            for leaf in leaves:  # an object output: each of its fields, row by row
                chain, kind = "null", Z_NULL
                for values, entry in reversed(list(zip(per_row, recipe["rows"]))):
                    value = values.get(leaf, NULL_VALUE)
                    if value.type.name == "empty_object":
                        raise Unsupported("an empty object in a table output a later node reads")
                    if value.type.name != "null":
                        try:
                            kind = value.type if kind.name == "null" else _common(kind, value.type)
                        except Unsupported:
                            raise Unsupported(f"a table output that is {kind.name} or "
                                              f"{value.type.name}") from None
                    chain = f"({value.text} if {entry['test']} else {chain})"
                _insert(own, leaf, Binding(builder.feature(leaf, Value(chain, kind))
                                           if kind.name != "null" else NULL_VALUE))
    elif recipe["hit_policy"] == "collect":
        if recipe["output_path"] and not recipe["loop"]:
            # later nodes may read the list of matching rows: row indices, fields by index
            out = dict(env) if content.get("passThrough") else {}
            _insert(out, recipe["output_path"], Binding(_collected(builder, outputs,
                                                                   recipe["rows"])))
            return out
        for column in outputs:
            path = (column.get("field") or "").strip()
            if path:
                _insert(own, path, _OPAQUE)
    if recipe["hit_policy"] == "collect" and not recipe["output_path"] and not recipe["loop"]:
        return {"*": _OPAQUE}  # an array replaces the node's data
    return _finish(env, own, content, recipe)


def _collected(builder: _Builder, outputs: list[dict], rows: list[dict]) -> Value:
    """The rows a collect table matched, as a list later expressions can go over: the indices
    of the matching rows; a row's field is read by its index."""
    fields, texts = {}, {}
    for column in outputs:
        path = (column.get("field") or "").strip()
        if not path or "." in path:
            continue
        values = []
        kind = Z_NULL
        for row in rows:
            cell = next((c for c in row["cells"] if c["path"] == path), None)
            text = "null" if cell is None or cell.get("null") else cell["value"]
            values.append(text)
        for row in rows:
            cell = next((c for c in row["cells"] if c["path"] == path), None)
            if cell is not None and not cell.get("null"):
                found = builder.types.get(cell["value"], Z_NULL)
                kind = found if kind.name == "null" else kind
        fields[path], texts[path] = kind, tuple(values)
    indices = ", ".join(str(i) for i in range(len(rows)))
    chain = "false"
    for index in reversed(range(len(rows))):
        chain = f"({rows[index]['test']} if row_index == {index} else {chain})"
    text = f"[row_index for row_index in [{indices}] if {chain}]" if rows else "[]"
    record = ZType("record", fields=tuple(fields.items()), rows=tuple(texts.items()))
    return Value(builder.feature("collected", Value(text, ZType("list", item=Z_NUMBER))).text,
                 ZType("list", item=record))


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
            if not item.fields:  # objects whose fields no case shows: only their number counts
                fields = {"jdm_no_field": "string"}
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
