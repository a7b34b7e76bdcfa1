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


def output_object(imported: Imported, raw_input: dict, values: dict) -> dict:
    """Zen's output object: each node's output assembled from the decision's values the way Zen
    assembles it (incoming data merged, results dot-inserted, passThrough merging the input), the
    output node's data or else the merge of every node nothing follows."""
    data: dict[str, Any] = {}
    for recipe in imported.outputs:
        incoming = [data[i] for i in recipe["incoming"] if i in data]
        node_input = incoming[0] if incoming and isinstance(incoming[0], (dict, list)) else {}
        for more in incoming[1:]:
            node_input = merge(node_input, more)
        if recipe["kind"] == "inputNode":
            data[recipe["id"]] = copy.deepcopy(raw_input)
            continue
        if recipe["kind"] == "outputNode":
            return node_input
        result: dict = {}
        for entry in recipe["results"]:
            present = entry.get("present")
            if present is not None and values.get(present) is not True:
                continue
            value = None if entry.get("null") else to_json_exact(values.get(entry["value"]))
            dot_insert(result, entry["path"], value)
        data[recipe["id"]] = merge(node_input, result) if recipe["pass_through"] else result
    followed = {i for recipe in imported.outputs for i in recipe["incoming"]}
    final: Any = {}
    for recipe in imported.outputs:
        if recipe["id"] not in followed:
            final = merge(final, data[recipe["id"]])
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
