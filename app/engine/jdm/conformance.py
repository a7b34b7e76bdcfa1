"""Deciding a JDM graph's own test cases on its imported Firefly policy, and comparing Zen's whole
output object: numbers as exact decimals, null distinct from absent, list order significant,
true distinct from 1."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..loading import load_policy_files
from ..types import to_json
from .importer import Imported, import_graph
from .zen import Unsupported

# The graphs' tests were recorded with Zen's clock at this instant.
PINNED_CLOCK = "2025-08-19T16:55:02.078Z"


def read_graph(path: Path) -> dict:
    """A JDM file with every number read exactly (Decimal), never through a float."""
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def firefly_input(raw: Any, mapping: dict) -> dict:
    """A Zen input as the imported policy's input: keys renamed, undeclared ones left out."""
    result: dict = {}
    if not isinstance(raw, dict):
        return result
    for key, value in raw.items():
        entry = mapping.get(key)
        if entry is None:
            continue
        if "section" in entry:
            if isinstance(value, dict):
                result[entry["name"]] = firefly_input(value, entry["section"])
            continue
        if "record" in entry and isinstance(value, list):
            value = [{entry["record"][k]: v for k, v in item.items() if k in entry["record"]}
                     for item in value if isinstance(item, dict)]
        result[entry["name"]] = value
    return result


def merge(document: Any, patch: Any, top: bool = True) -> Any:
    """Zen's merge of node data (a JSON merge patch): a null in the patch removes the key,
    objects merge key by key, anything else replaces; at the top a list replaces and a scalar
    is ignored."""
    if isinstance(patch, list) and top:
        return copy.deepcopy(patch)
    if not isinstance(patch, dict) and top:
        return document
    if isinstance(document, dict) and isinstance(patch, dict):
        merged = dict(document)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge(merged.get(key), value, False)
        return merged
    return copy.deepcopy(patch)


def dot_insert(target: dict, path: str, value: Any) -> None:
    """Zen's dot insert: missing objects on the way are created; a non-object stops it."""
    parts = path.split(".")
    for part in parts[:-1]:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            return
        target = child
    target[parts[-1]] = value


class _Graph:
    """The edges Zen's walker still follows; a switch removes the edges of the statements it did
    not select, and removal spreads as in Zen (a node left without incoming edges loses its
    outgoing ones, a node left without outgoing edges loses its incoming ones)."""

    def __init__(self, nodes: list[str], edges: list[dict]):
        self.nodes = set(nodes)
        self.edges = {index: edge for index, edge in enumerate(edges)}

    def incoming(self, node: str) -> list[int]:
        # petgraph lists a node's neighbours newest edge first
        return sorted((i for i, e in self.edges.items() if e["target"] == node), reverse=True)

    def outgoing(self, node: str) -> list[int]:
        return sorted((i for i, e in self.edges.items() if e["source"] == node), reverse=True)

    def remove(self, index: int) -> None:
        edge = self.edges.pop(index, None)
        if edge is None:
            return
        for node, lost, other in ((edge["target"], self.incoming, self.outgoing),
                                  (edge["source"], self.outgoing, self.incoming)):
            if not lost(node):
                for more in other(node):
                    self.remove(more)
                if not self.incoming(node) and not self.outgoing(node):
                    self.nodes.discard(node)


def _node_output(recipe: dict, node_input: Any, values: dict) -> Any:
    """What an expression or table node gives, as Zen's transform attributes shape it."""
    if recipe["loop"]:
        found, items = _get(node_input, recipe["input_field"])
        if not found or not isinstance(items, list):
            raise ValueError(f"node {recipe['id']}: expected an array at {recipe['input_field']}")
        output: Any = []
        for index, item in enumerate(items):
            one = _evaluate(recipe, lambda name, i=index: _item(values.get(name), i))
            output.append(merge(item, one) if recipe["pass_through"] else one)
    else:
        output = _evaluate(recipe, lambda name: values.get(name))
    if recipe["output_path"]:
        wrapped: dict = {}
        dot_insert(wrapped, recipe["output_path"], output)
        output = wrapped
    return merge(node_input, output) if recipe["pass_through"] else output


def _item(value: Any, index: int) -> Any:
    return None if value is None else value[index]


def _evaluate(recipe: dict, read) -> Any:
    """One evaluation of a node: an expression node's object, a first table's matching row
    (null when none), a collect table's matching rows."""
    def cells(entries) -> dict:
        result: dict = {}
        for entry in entries:
            value = {} if entry.get("empty") else None if entry.get("null") else \
                to_json_exact(read(entry["value"]))
            dot_insert(result, entry["path"], value)
        return result

    if recipe["kind"] == "expressionNode":
        return cells(recipe["results"])
    matching = [row for row in recipe["rows"] if read(row["test"]) is True]
    if recipe["hit_policy"] == "collect":
        return [cells(row["cells"]) for row in matching]
    return cells(matching[0]["cells"]) if matching else None


def _get(raw: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if not isinstance(raw, dict) or part not in raw:
            return False, None
        raw = raw[part]
    return True, raw


def output_object(imported: Imported, raw_input: dict, values: dict) -> dict:
    """Zen's output object, assembled the way Zen's walker assembles it from the values the
    decision computed: incoming data merged, results dot-inserted, passThrough merging the
    input, switches pruning the edges they do not follow; the first output node's data, or else
    the merge of every node that ran and that nothing follows."""
    graph = _Graph([r["id"] for r in imported.outputs], imported.edges)
    data: dict[str, Any] = {}
    for recipe in imported.outputs:
        node = recipe["id"]
        sources = [graph.edges[i]["source"] for i in graph.incoming(node)]
        if recipe["kind"] != "inputNode" and (node not in graph.nodes or not sources
                                              or any(s not in data for s in sources)):
            continue  # Zen never reaches it
        incoming = [data[s] for s in sources]
        node_input = incoming[0] if incoming and isinstance(incoming[0], (dict, list)) else {}
        for more in incoming[1:]:
            node_input = merge(node_input, more)
        kind = recipe["kind"]
        if kind == "inputNode":
            data[node] = copy.deepcopy(raw_input)
        elif kind == "outputNode":
            return node_input
        elif kind == "switchNode":
            data[node] = node_input
            chosen = [s["id"] for s in recipe["statements"]
                      if s["test"] is None or values.get(s["test"]) is True]
            if recipe["hit_policy"] == "first":
                chosen = chosen[:1]
            for index in graph.outgoing(node):
                if graph.edges.get(index, {}).get("handle") not in chosen:
                    graph.remove(index)
        else:
            data[node] = _node_output(recipe, node_input, values)
    final: Any = {}
    for recipe in imported.outputs:
        node = recipe["id"]
        if node in data and node in graph.nodes and not graph.outgoing(node):
            final = merge(final, data[node])
    return final


def to_json_exact(value: Any) -> Any:
    """A Firefly value as JSON data, numbers kept as Decimal for exact comparison."""
    if isinstance(value, (Decimal, int, bool, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [to_json_exact(v) for v in value]
    return to_json(value)


def same(expected: Any, got: Any) -> bool:
    """Equal as JSON data with exact numbers: no bool for a number, key sets and order count."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected == got
    if isinstance(expected, (int, Decimal)) and isinstance(got, (int, Decimal)):
        return Decimal(expected) == Decimal(got)
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(same(expected[k], got[k]) for k in expected)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same(a, b) for a, b in zip(expected, got))
    return type(expected) is type(got) and expected == got


@dataclass
class GraphResult:
    graph: str
    status: str              # passed | failed | unsupported | error
    detail: str = ""
    cases: int = 0
    passed: int = 0


def run_graph(path: Path, graph: dict | None = None) -> GraphResult:
    """Import one graph, decide every case, compare; never raises."""
    graph = read_graph(path) if graph is None else graph
    cases = graph.get("tests") or []
    try:
        imported = import_graph(path.name, graph)
    except Unsupported as exc:
        return GraphResult(path.name, "unsupported", f"JDM_UNSUPPORTED {exc.construct}",
                           len(cases))
    policy, problem = load_imported(imported)
    if policy is None:
        return GraphResult(path.name, "unsupported", f"JDM_UNSUPPORTED {problem}", len(cases))
    passed, failures = 0, []
    for index, case in enumerate(cases):
        try:
            got = decide_case(policy, imported, case["input"])
        except Exception as exc:  # noqa: BLE001 - a case that cannot be decided is a failure
            failures.append(f"case {index}: {type(exc).__name__}: {exc}")
            continue
        if same(case.get("output"), got):
            passed += 1
        else:
            failures.append(f"case {index}: expected {case.get('output')!r}, got {got!r}")
    status = "passed" if passed == len(cases) else "failed"
    return GraphResult(path.name, status, "; ".join(failures)[:2000], len(cases), passed)


def load_imported(imported: Imported):
    """The imported policy, or (None, the first diagnostic) when Firefly refuses it."""
    files = {path: text for path, text in imported.files.items() if not path.startswith("jdm/")}
    try:
        return load_policy_files(imported.name, files), ""
    except Exception as exc:  # noqa: BLE001 - the engine's refusal, reported with its reason
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"firefly refused the translation: {message}"


def decide_case(policy, imported: Imported, raw: dict) -> dict:
    typed = policy.parse_input(firefly_input(raw, imported.inputs))
    decision = policy.decide(typed)
    return output_object(imported, raw, decision.trace.values)
