"""GoRules Zen's own test graphs as conformance: every graph is imported as a Firefly policy and
every embedded case decided and compared as a whole output object; a graph that uses what
Firefly does not support is reported JDM_UNSUPPORTED with the construct, never approximated."""
from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from app.engine.jdm.conformance import read_graph, run_graph, same

GRAPHS = sorted((Path(__file__).parent / "zen" / "graphs").glob("*.json"))

# Graphs whose cases differ for a reason of arithmetic, not of meaning, each with the reason.
KNOWN_DIFFERENCES = {
    # Zen divides with rust_decimal, which keeps up to 28 digits after the point (29
    # significant); Firefly keeps 28 significant digits: 3.3333333333333333333333333336 against
    # 3.333333333333333333333333334.
    "customer-lifetime-value.json": "decimal precision of division",
}
# Graphs passing today, all their cases; a graph that stops passing is a regression.
MINIMUM_PASSING = 75


@pytest.fixture(scope="module")
def results():
    return {path.name: run_graph(path) for path in GRAPHS}


def test_the_suite_is_vendored_whole():
    assert len(GRAPHS) == 89
    assert sum(len(read_graph(path).get("tests") or []) for path in GRAPHS) == 131


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.stem)
def test_each_graph_passes_or_names_what_is_unsupported(results, path):
    result = results[path.name]
    if path.name in KNOWN_DIFFERENCES:
        assert result.status == "failed", "a known difference is gone: remove it from the list"
        return
    if result.status == "unsupported":
        assert result.detail.startswith("JDM_UNSUPPORTED ") and len(result.detail) > 16
        return
    assert result.status == "passed", result.detail
    assert result.passed == result.cases > 0


def test_how_many_graphs_pass(results):
    passed = [name for name, r in results.items() if r.status == "passed"]
    statuses = [r.status for r in results.values()]
    assert statuses.count("error") == 0
    assert len(passed) >= MINIMUM_PASSING, sorted(passed)


def _mutate(value):
    """The same value changed: numbers by one, text by a letter, booleans flipped."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, Decimal)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if value is None:
        return 0
    if isinstance(value, list):
        return [_mutate(value[0])] + value[1:] if value else [0]
    if isinstance(value, dict):
        if not value:
            return {"x": 1}
        key = sorted(value)[0]
        return {**value, key: _mutate(value[key])}
    return value


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.stem)
def test_a_changed_expected_value_fails_its_case(results, path):
    if results[path.name].status != "passed":
        return
    graph = read_graph(path)
    for index in range(len(graph["tests"])):
        changed = copy.deepcopy(graph)
        case = changed["tests"][index]
        case["output"] = _mutate(case["output"])
        assert not same(graph["tests"][index]["output"], case["output"])
        result = run_graph(path, changed)
        assert result.status == "failed" and result.passed == len(graph["tests"]) - 1


@pytest.mark.parametrize("expected, got, equal", [
    ({"a": 1}, {"a": Decimal("1.0")}, True),
    ({"a": 1}, {"a": True}, False),
    ({"a": None}, {}, False),               # null is not absent
    ({"a": [1, 2]}, {"a": [2, 1]}, False),  # order counts
    ({"a": "1"}, {"a": 1}, False),
    ({"a": {"b": None}}, {"a": {"b": None}}, True),
])
def test_the_comparison_is_exact(expected, got, equal):
    assert same(expected, got) is equal
