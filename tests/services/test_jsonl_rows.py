"""A JSON Lines row read straight from its object (files.JsonLayout.cells, batch.cell_rows,
decide_batch) gives exactly what the nested way gives (read_rows: the line parsed, nest,
split_shared, Policy.parse_input): the same typed input, flat values and shared values; and a file's
chunks of lines decided where they run the same Partial (decisions, counts, invalid rows with their
numbers and messages) as its rows decided the nested way. Objects are drawn from generated
applicants with values replaced by odd ones (nulls, wrong types, objects, numbers with a point),
keys dropped, unknown or dotted keys added, sections emptied, nulled or made no object, and lines
that are no JSON or no object, among blank lines."""
import json

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app import files
from app.files import JsonLayout, RowError
from app.services.batch import Job, VersionSpec, cell_rows, decide_batch, decide_chunk, file_item
from support.differential import (ODD_CELLS, ODD_ITEM_VALUES, assert_read_alike, exact, nested_typed,
                                  two_versions)
from support.applicants import generate, generate_shared
from support.simulation import with_shared


def nested(policy, shared, line):
    """The nested way for one line: (typed input, shared values), or (None, the errors or RowError)."""
    row = _old_row(1, line)
    return nested_typed(policy, shared, row)


def by_name(values):
    """Shared values by name, exactly typed (in the header's order straight, the object's the
    nested way: the engine reads them by name, Policy.decide)."""
    return None if values is None else exact(dict(sorted(values.items())))


def _old_row(number, line):
    """A line as read_rows has always read it."""
    from decimal import Decimal
    try:
        item = json.loads(line, parse_float=Decimal)
    except ValueError as error:
        return files.Row(number, RowError(f"not valid JSON: {error}"))
    return files._object(number, item)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    baseline, candidate, types, shared = two_versions(tmp_path_factory.mktemp("narrow"))
    pool = [with_shared(r, {k: v for k, v in s.items() if v is not None})
            for r, s in zip(generate(60, seed=43), generate_shared(60, seed=43))]
    return baseline, candidate, types, shared, pool


ODD_VALUES = st.one_of(ODD_ITEM_VALUES, ODD_CELLS, st.sampled_from([{}, {"x": 1}, {"a": None}, 0.5, 36.0, 1e-05,
                                                                    float("nan"), 10 ** 20, [], [None]]))


def paths(value, prefix=()):
    """Every key path of an object (sections and values)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield prefix + (key,)
            yield from paths(inner, prefix + (key,))


@st.composite
def objects(draw, pool):
    item = json.loads(json.dumps(draw(st.sampled_from(pool))))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 4]))):
        where = list(paths(item))
        if not where:
            break
        path = draw(st.sampled_from(where))
        node = item
        for key in path[:-1]:
            node = node[key]
        change = draw(st.sampled_from(["value"] * 4 + ["drop", "unknown", "dotted", "null section", "empty"]))
        if change == "value":
            node[path[-1]] = draw(ODD_VALUES)
        elif change == "drop":
            del node[path[-1]]
        elif change == "unknown":
            node[draw(st.sampled_from(["extra", "nickname", "x"]))] = draw(ODD_VALUES)
        elif change == "dotted":  # a dotted key nest splits: the same field, or an unknown one
            dotted = ".".join(path)
            item[dotted if draw(st.booleans()) else dotted + ".x"] = draw(st.one_of(st.just(node[path[-1]]),
                                                                                   ODD_VALUES))
        elif change == "null section":
            node[path[-1]] = None
        else:
            node[path[-1]] = draw(st.sampled_from([{}, {"k": None}, {"inner": {}}]))
    return item


@st.composite
def lines(draw, pool):
    kind = draw(st.sampled_from(["object"] * 12 + ["not json", "not an object", "blank"]))
    if kind == "not json":
        return draw(st.sampled_from(["{not json", "{\"a\": 1", "nul", "'x'"])) + "\n"
    if kind == "not an object":
        return draw(st.sampled_from(["[1, 2]", "5", "\"x\"", "null", "true"])) + "\n"
    if kind == "blank":
        return draw(st.sampled_from(["\n", "  \n"]))
    return json.dumps(draw(objects(pool)), ensure_ascii=draw(st.booleans())) + "\n"


def test_plainly_valid_rows_go_straight_from_their_objects(setting):
    baseline, candidate, types, shared, pool = setting
    layout = JsonLayout.of(types)
    for policy in (baseline, candidate):
        direct = cell_rows(policy, layout, shared)
        for number, item in enumerate(pool, start=1):
            line = json.dumps(item, ensure_ascii=False)
            [cells] = layout.cells([line])
            made = direct.typed(cells)
            expected, values = nested(policy, shared, line)
            if policy is candidate and expected is None:
                assert "requested_term_months" in values and made is None  # refused by the candidate
                continue
            assert_read_alike(policy, made, expected, number)
            assert by_name(direct.shared(cells)) == by_name(values)


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_a_row_read_from_its_object_is_the_row_read_the_nested_way(setting, data):
    baseline, candidate, types, shared, pool = setting
    line = data.draw(lines(pool))
    if not line.strip():
        return
    layout = JsonLayout.of(types)
    [cells] = layout.cells([line])
    assert exact(next(layout.rows(1, [cells]))) == exact(_old_row(1, line))
    for policy in (baseline, candidate):
        made = cell_rows(policy, layout, shared).typed(cells)
        event("straight from the object" if made is not None else "the nested way")
        if made is None:
            continue  # the nested way takes the row (the file test below holds its results)
        expected, values = nested(policy, shared, line)
        assert expected is not None and exact(made[0]) == exact(expected)
        assert exact(made[1]) == exact(policy.input_schema.flatten(expected))
        assert by_name(cell_rows(policy, layout, shared).shared(cells)) == by_name(values)


@given(data=st.data(), with_candidate=st.booleans())
@settings(max_examples=40, deadline=None)
def test_a_file_decided_from_its_lines_is_the_file_decided_the_nested_way(setting, data, with_candidate,
                                                                         tmp_path_factory):
    baseline, candidate, types, shared, pool = setting
    versions = (baseline, candidate) if with_candidate else (baseline,)
    job = Job({p.hash: VersionSpec.of(p) for p in versions}, candidate.hash if with_candidate else None,
              keep_rows=True)
    path = tmp_path_factory.mktemp("file") / "applications.jsonl"
    path.write_text("".join(data.draw(st.lists(lines(pool), min_size=1, max_size=8))), encoding="utf-8")
    size = data.draw(st.integers(min_value=1, max_value=4))
    chunks = files.jsonl_chunks(path, types, size)
    if chunks is None:  # a first line that starts a JSON array: read_rows reads the file whole
        return
    # The nested way decides one chunk, empty for a file of blank lines, with zero tallies; the
    # straight way sends no chunk for such a file. Start from an empty chunk's Partial, as they
    # differ in nothing else: `flask policy simulate` wrote the same report.json both ways for a
    # file of one blank line.
    total = decide_chunk(job, [])
    for layout, first, chunk in chunks:
        total.merge(decide_batch(job, layout, first, chunk, baseline.hash, shared))
    old = decide_chunk(job, [file_item(row, baseline.hash, shared) for row in files.read_rows(path, types)])
    assert total.sort() == old.sort()


def test_a_json_array_file_is_read_whole_the_nested_way(setting, tmp_path):
    baseline, candidate, types, shared, pool = setting
    path = tmp_path / "applications.json"
    path.write_text(json.dumps(pool[:2]), encoding="utf-8")
    assert files.jsonl_chunks(path, types, 10) is None
    assert len(list(files.read_rows(path, types))) == 2


def test_what_the_direct_way_leaves_to_the_nested_way(setting):
    """A null is an absent field; an empty section, a dotted key, an object as a value, an unknown
    key are the nested way's."""
    baseline, _, types, shared, pool = setting
    layout = JsonLayout.of(types)
    direct = cell_rows(baseline, layout, shared)
    item = json.loads(json.dumps(pool[0]))
    item["applicant"]["education"] = None
    [cells] = layout.cells([json.dumps(item)])
    made = direct.typed(cells)
    assert made is not None and "education" not in made[0]["applicant"]
    for odd in ({"applicant.name": "x"}, {"extra": 1}, {"bank": {}}, {"bank": {"payroll": None}},
                {"requested_amount": {"x": 1}}, {"shared": {"fraud_links_30d": {"x": 1}}}, {"shared": {}}):
        [cells] = layout.cells([json.dumps({**item, **odd})])
        assert direct.typed(cells) is None, odd
        assert cells == [cells[-1]]
