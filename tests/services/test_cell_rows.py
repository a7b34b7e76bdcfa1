"""A CSV row read straight from its cells (batch.cell_rows, fastinput.cells_parser) gives exactly
what the nested way gives (CsvLayout.rows, split_shared, Policy.parse_input): the same typed input
and shared values; and a chunk decided from its cells the same Partial (decisions, counts, invalid
rows with their numbers and messages) as the same rows decided the nested way. Rows are drawn
from generated applicants with cells replaced by odd or bad text, and with cells added or cut."""
import datetime
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app.files import CsvLayout
from app.services.batch import Job, VersionSpec, cell_rows, decide_cells, decide_chunk, file_item
from support.differential import (ODD_CELLS, assert_read_alike, exact, nested_typed, odd_rows,
                                  policy_with_input, reference_cells, two_versions)

@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    baseline, candidate, types, shared = two_versions(tmp_path_factory.mktemp("narrow"))
    layout, pool = reference_cells(baseline, types, shared)
    return baseline, candidate, layout, shared, pool


def nested(policy, layout, shared, number, cells):
    """The nested way: (typed input, shared values), or (None, the errors or the RowError)."""
    [row] = layout.rows(number, [cells])
    return nested_typed(policy, shared, row)


def test_plainly_valid_rows_go_straight_from_their_cells(setting):
    baseline, candidate, layout, shared, pool = setting
    for policy in (baseline, candidate):
        direct = cell_rows(policy, layout, shared)
        for number, cells in enumerate(pool, start=1):
            made = direct.typed(cells)
            expected, values = nested(policy, layout, shared, number, cells)
            if policy is candidate and expected is None:
                # longer than the candidate's longest term: refused
                assert "requested_term_months" in values and made is None
                continue
            assert_read_alike(policy, made, expected, number)
            assert exact(direct.shared(cells)) == exact(values)


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_a_row_read_from_its_cells_is_the_row_read_the_nested_way(setting, data):
    baseline, candidate, layout, shared, pool = setting
    cells = data.draw(odd_rows(pool, len(layout.header)))
    for policy in (baseline, candidate):
        made = cell_rows(policy, layout, shared).typed(cells)
        event("straight from the cells" if made is not None else "the nested way")
        if made is None:
            continue  # the nested way takes the row (the chunk test below holds its results)
        expected, values = nested(policy, layout, shared, 1, cells)
        assert expected is not None and exact(made[0]) == exact(expected)
        assert exact(made[1]) == exact(policy.input_schema.flatten(expected))
        assert exact(cell_rows(policy, layout, shared).shared(cells)) == exact(values)


@given(data=st.data(), with_candidate=st.booleans())
@settings(max_examples=60, deadline=None)
def test_a_chunk_decided_from_its_cells_is_the_chunk_decided_the_nested_way(setting, data, with_candidate):
    baseline, candidate, layout, shared, pool = setting
    versions = (baseline, candidate) if with_candidate else (baseline,)
    job = Job({p.hash: VersionSpec.of(p) for p in versions}, candidate.hash if with_candidate else None,
              keep_rows=True)
    chunk = data.draw(st.lists(odd_rows(pool, len(layout.header)), min_size=1, max_size=5))
    first = data.draw(st.integers(min_value=1, max_value=10_000))
    direct = outcome(decide_cells, job, layout, first, chunk, baseline.hash, shared)
    old = outcome(lambda *_: decide_chunk(job, [file_item(row, baseline.hash, shared)
                                                 for row in layout.rows(first, chunk)]))
    assert direct == old


def outcome(function, *arguments):
    """What a call gave (a shared value's cell that is no number is an invalid row in both ways:
    tests/services/test_simulation.py)."""
    return function(*arguments)


@pytest.mark.parametrize("header", [
    ["decision_date", "applicant", "applicant.name"],            # a column that is also a section
    ["decision_date", "applicant.name", "applicant.name"],       # a column twice
    ["decision_date", "applicant"],                              # a section as a column
    ["decision_date", "shared.nothing_declared"],                # a shared value no version has
])
def test_layouts_the_direct_way_does_not_handle_are_decided_the_nested_way(setting, header):
    baseline, candidate, layout, shared, pool = setting
    odd = CsvLayout.of(header, layout.types)
    assert cell_rows(baseline, odd, shared) is None
    job = Job({baseline.hash: VersionSpec.of(baseline)}, None, keep_rows=True)
    cells = [["2026-11-01", "x", "y"], ["2026-11-01", "", "\u674e"], [""]]
    direct = decide_cells(job, odd, 7, cells, baseline.hash, shared)
    old = decide_chunk(job, [file_item(row, baseline.hash, shared) for row in odd.rows(7, cells)])
    assert direct == old and direct.read == 3


def test_the_typed_values_are_of_the_declared_types(setting):
    """The direct way types as the fast path does: dates, integers, booleans, lists of records."""
    baseline, _, layout, shared, pool = setting
    typed, values = cell_rows(baseline, layout, shared).typed(pool[0])
    assert values["bureau.accounts"] == tuple(typed["bureau"]["accounts"])
    assert isinstance(typed["decision_date"], datetime.date)
    assert isinstance(typed["requested_amount"], int)
    assert all(isinstance(account, dict) for account in typed["bureau"]["accounts"])
    assert not any(isinstance(v, (float, Decimal)) for v in typed.values())


# Cells for a small policy with every kind of field the fast path types: decimals (with bounds),
# text, enums, booleans, dates, lists of values (JSON text or a|b), a section of personal data.
SMALL_CELLS = st.one_of(ODD_CELLS, st.sampled_from(
    ["1.5", "0.35", "1", "0", "-0.0", "1.0000000000000000001", "12345678901234567890.5", "RED", "GREEN",
     "red", "a|b", '["RED", "BLUE"]', '["PINK"]', "[1, 2]", '["1"]', "[true]", "2026-11-28", "330102199001011234"]))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from engine.support import INPUT
    return policy_with_input(tmp_path_factory.mktemp("small"), dict(INPUT, rate={"type": "decimal", "min": 0, "max": 1}))


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_every_kind_of_field_reads_from_its_cells_as_the_nested_way_reads_it(small, data):
    policy, layout = small
    plain = {"integer": ["5", "0", "-3", ""], "decimal": ["0.35", "1", "12.50", ""], "string": ["abc", "\u674e", ""],
             "enum": ["RED", "BLUE", ""], "boolean": ["true", "0", "FALSE", ""], "date": ["2026-11-28", ""]}
    lists = {"tags": ["a|b", '["x"]', ""], "nums": ["[1, 2]", "[]", ""], "colours": ['["RED"]', "GREEN|BLUE", ""]}
    cells = [data.draw(st.sampled_from(lists.get(name) or plain[layout.types[name]])) for name in layout.header]
    cells[0] = "2026-11-28"
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        cells[data.draw(st.integers(min_value=0, max_value=len(cells) - 1))] = data.draw(SMALL_CELLS)
    made = cell_rows(policy, layout, {}).typed(cells)
    event("straight from the cells" if made is not None else "the nested way")
    expected, _ = nested(policy, layout, {}, 1, cells)
    if made is not None:
        assert expected is not None and exact(made[0]) == exact(expected)
        assert exact(made[1]) == exact(policy.input_schema.flatten(expected))
    job = Job({policy.hash: VersionSpec.of(policy)}, None, keep_rows=True)
    assert decide_cells(job, layout, 3, [cells], policy.hash, {}) == decide_chunk(
        job, [file_item(row, policy.hash, {}) for row in layout.rows(3, [cells])])


@given(data=st.data(), with_candidate=st.booleans())
@settings(max_examples=60, deadline=None)
def test_a_chunk_decided_from_its_bytes_is_the_chunk_decided_the_nested_way(setting, data, with_candidate):
    """As a CSV file's chunk reaches a worker (files.CsvBlock): split by Polars where it splits as
    the csv module does, typed and decided by columns; else split by the csv module."""
    import csv
    import io

    from app.files import CsvBlock
    baseline, candidate, layout, shared, pool = setting
    versions = (baseline, candidate) if with_candidate else (baseline,)
    job = Job({p.hash: VersionSpec.of(p) for p in versions}, candidate.hash if with_candidate else None,
              keep_rows=True)
    chunk = data.draw(st.lists(odd_rows(pool, len(layout.header)), min_size=1, max_size=5))
    text = io.StringIO()
    csv.writer(text, lineterminator=data.draw(st.sampled_from(["\n", "\r\n"]))).writerows(chunk)
    read = list(csv.reader(io.StringIO(text.getvalue(), newline="")))
    block = CsvBlock(text.getvalue().encode("utf-8"), len(read))
    event("split by Polars" if block.columns(len(layout.header)) is not None else "split by the csv module")
    first = data.draw(st.integers(min_value=1, max_value=10_000))
    direct = decide_cells(job, layout, first, block, baseline.hash, shared)
    old = decide_chunk(job, [file_item(row, baseline.hash, shared) for row in layout.rows(first, read)])
    assert direct == old


@pytest.mark.parametrize("keep_rows", [True, False])
def test_a_field_the_versions_type_differently_is_decided_as_the_nested_way_decides_it(tmp_path, keep_rows):
    """The run's layout types a column as the candidate declares it (a text x for both versions):
    the baseline, which declares x an integer, is given text, which it refuses row by row; typed
    by its columns as the baseline declares it, it was decided (or the run stopped)."""
    from engine.support import make_policy, ruleset

    def version(folder, kind, when):
        rules = {"r": ruleset("r", [{"id": "HIT", "when": when, "then": {"action": "DECLINE", "reason": "HIT"}}])}
        return make_policy(folder, rules, stages=[{"id": "r", "ruleset": "r"}],
                           input={"decision_date": {"type": "date", "required": True}, "x": kind})

    baseline = version(tmp_path / "b", "integer", "x > 3")
    candidate = version(tmp_path / "c", "string", 'x == "1"')
    types = {p: s.type.name for policy in (baseline, candidate) for p, s in policy.input_schema.fields.items()}
    layout = CsvLayout.of(["decision_date", "x"], types)
    job = Job({p.hash: VersionSpec.of(p) for p in (baseline, candidate)}, candidate.hash, keep_rows=keep_rows)
    cells = [["2026-11-01", "5"], ["2026-11-01", "1"], ["2026-11-01", ""]]
    direct = decide_cells(job, layout, 1, cells, baseline.hash, {})
    old = decide_chunk(job, [file_item(row, baseline.hash, {}) for row in layout.rows(1, cells)])
    assert [i.row for i in old.invalid] == [1, 2]
    assert direct == old


def test_a_list_cell_nested_past_the_recursion_limit_is_an_invalid_row_not_a_stopped_run(setting):
    """json.loads raises RecursionError (no ValueError) on arrays nested some thousands deep: the
    cell stays text, which the list field refuses, in both ways; the run goes on."""
    baseline, candidate, layout, shared, pool = setting
    job = Job({p.hash: VersionSpec.of(p) for p in (baseline, candidate)}, candidate.hash, keep_rows=True)
    index = layout.header.index("bureau.accounts")
    cells = [list(pool[0]), list(pool[1])]
    cells[0][index] = "[" * 100_000 + "]" * 100_000
    direct = decide_cells(job, layout, 1, cells, baseline.hash, shared)
    old = decide_chunk(job, [file_item(row, baseline.hash, shared) for row in layout.rows(1, cells)])
    assert direct == old
    assert [i.row for i in direct.invalid if i.version == "baseline"] == [1] and direct.read == 2


def test_a_chunk_the_column_typing_fails_on_goes_the_row_way(setting):
    """Whatever the column typing raises (here Polars: a bound past 64 bits, which a loaded
    policy never has, compared with an integer column), nothing is counted and the caller types
    every row the row way: a run never stops on it."""
    from app.engine.columnar.cells import CellTyper
    from app.engine.schema import FieldSpec, InputSchema
    from app.engine.types import Type
    from app.services.batch import _Chunk, _decide_typed
    baseline, candidate, layout, shared, pool = setting
    spec = FieldSpec("requested_amount", Type("integer"), maximum=10 ** 20)
    typer = CellTyper(InputSchema(tree={"requested_amount": spec}, fields={"requested_amount": spec}),
                      [name if name == "requested_amount" else None for name in layout.header], [])
    with pytest.raises(OverflowError):
        typer.type(pool[:2])
    job = Job({baseline.hash: VersionSpec.of(baseline)}, None, keep_rows=True)
    chunk = _Chunk(job)
    makers = [cell_rows(baseline, layout, shared)]
    assert not _decide_typed(chunk, baseline.hash, layout, 1, pool[:2], shared, makers, [typer])
    assert chunk.finish() == decide_chunk(job, [])
