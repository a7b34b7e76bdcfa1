"""Reading decision tables: hit policies, cells, rows and their outputs."""
from __future__ import annotations

import pytest

from engine.read.samples import GRADE, load_files, position
from engine.support import TIERS, codes, errors, load, table


def test_table_rejects_the_priority_hit_policy(tmp_path):
    result = load_files(tmp_path, rules__grade_yaml=GRADE.replace("first", "priority"))
    assert codes(result) == ["HIT_POLICY"]


def test_set_value_typo_with_suggestion(tmp_path):
    grade = GRADE.replace("then: {grade: G1}", "then: {grade: G3}")
    result = load_files(tmp_path, rules__grade_yaml=grade)
    [bad] = errors(result)
    assert bad.code == "SET_VALUE" and (bad.location.line, bad.location.column) == \
        position(grade, "G3")


@pytest.mark.parametrize("cell, message", [
    ("REDD", "did you mean 'RED'"),
    ("> RED", "is not a test of e"),
    ("[1, 2)", "is not a test of e"),
])
def test_bad_enum_cells(tmp_path, cell, message):
    result = load(tmp_path, {"t": table("t", ["e"], [
        {"id": "B-1", "when": [cell], "then": {"tier": "T1"}},
        {"id": "B-2", "when": ["-"], "then": {"tier": "T2"}}])},
        stages=[{"id": "tab", "table": "t"}])
    [error] = [d for d in result.diagnostics if d.severity == "error"]
    assert error.code == "CELL" and message in error.message
    assert error.location.file == "rules/t.yaml"


@pytest.mark.parametrize("cell", ["< 0.5", "'700'", "[a, b)", "abc"])
def test_bad_integer_cells(tmp_path, cell):
    result = load(tmp_path, {"t": table("t", ["a"], [
        {"id": "B-1", "when": [cell], "then": {"tier": "T1"}},
        {"id": "B-2", "when": ["-"], "then": {"tier": "T2"}}])},
        stages=[{"id": "tab", "table": "t"}])
    assert [d.code for d in result.diagnostics if d.severity == "error"] == ["CELL"]


def test_row_with_the_wrong_number_of_cells_and_missing_output(tmp_path):
    result = load(tmp_path, {"t": table("t", ["a", "e"], [
        {"id": "B-1", "when": ["-"], "then": {"tier": "T1"}},
        {"id": "B-2", "when": ["-", "-"], "then": {"tier": "T1"}},
        {"id": "B-3", "when": ["-", "-"], "then": {"n": 1}},
    ], outputs={"tier": TIERS, "n": {"type": "integer"}})},
        stages=[{"id": "tab", "table": "t"}])
    codes = sorted(d.code for d in result.diagnostics if d.severity == "error")
    assert codes == ["ROW_CELLS", "ROW_OUTPUTS", "ROW_OUTPUTS"]


@pytest.mark.parametrize("row", [{"id": "X-1", "when": ["> 1"]},
                                 {"id": "X-1", "when": ["> 1"], "then": {}}])
def test_a_table_row_must_give_its_outputs(tmp_path, row):
    result = load(tmp_path, {"t": table("t", ["a"], [
        row, {"id": "X-2", "when": ["-"], "then": {"tier": "T1"}}])},
        stages=[{"id": "tab", "table": "t"}], outputs=["tier"])
    assert not result.ok
    [error] = [d for d in result.diagnostics if d.severity == "error"]
    assert error.location.file == "rules/t.yaml"


# A row no application can reach (hit_policy first), or two rows some application matches both of
# (hit_policy unique: a conflict, REFERred), loaded silently before.
def _problems(tmp_path, grade, code):
    result = load_files(tmp_path, rules__grade_yaml=grade)
    return [d for d in result.diagnostics if d.code == code]


def test_a_row_below_one_matching_all_it_does_is_unreachable(tmp_path):
    grade = GRADE.replace('  - {id: G-2, when: ["-"], then: {grade: G2}}',
                          '  - {id: G-2, when: ["-"], then: {grade: G2}}\n  - {id: G-3, when: [[RED, BLUE]], then: {grade: G1}}')
    [dead] = _problems(tmp_path, grade, "ROW_UNREACHABLE")
    assert dead.severity == "error" and "row G-3 never matches: row G-2" in dead.message
    assert dead.location.line == 9
    # a row above a broader one is the point of first
    assert not _problems(tmp_path, GRADE, "ROW_UNREACHABLE")


def test_rows_that_meet_under_unique_are_a_conflict(tmp_path):
    unique = GRADE.replace("hit_policy: first", "hit_policy: unique")
    [overlap] = _problems(tmp_path, unique, "ROW_OVERLAP")
    assert overlap.severity == "warning" and "rows G-1 and G-2 both match" in overlap.message
    exclusive = unique.replace('when: ["-"]', "when: [[GREEN, BLUE]]")
    assert not _problems(tmp_path, exclusive, "ROW_OVERLAP")
    by_number = unique.replace("inputs: [e]", "inputs: [a]").replace("when: [RED]", 'when: ["< 10"]')
    assert _problems(tmp_path, by_number.replace('when: ["-"]', 'when: ["[5, 20)"]'), "ROW_OVERLAP")
    assert not _problems(tmp_path, by_number.replace('when: ["-"]', 'when: [">= 10"]'), "ROW_OVERLAP")
