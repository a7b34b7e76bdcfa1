"""A Parquet row read straight from its values (files.ParquetLayout.cells, batch.cell_rows,
decide_batch, decide_part) gives exactly what the nested way gives (each row as the dict of its
values, each value as files._parquet_value reads it for its declared type, nest, split_shared,
Policy.parse_input): the same typed input, flat values and shared values; and a chunk decided from
its record batch the same Partial (decisions, counts, invalid rows with their numbers and messages)
as the same rows decided the nested way. Tables are drawn from generated applicants with each
column stored as an Arrow type of its own (its natural one, or floats, text, decimals, dates,
timestamps, lists, structs, dictionary-encoded text, all nulls), cells replaced by odd values of that type or nulls, and
columns dropped, added (unknown ones) or repeated."""
import datetime
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app import files
from app.files import ParquetLayout
from app.services.batch import (Job, VersionSpec, cell_rows, decide_batch, decide_chunk, decide_part,
                                file_item)
from app.services.tally import Partial
from support.differential import ODD_CELLS, assert_read_alike, exact, nested_typed, two_versions
from support.applicants import generate, generate_shared
from support.simulation import flat


def nested_rows(data, types, first=1):
    """The nested way, as Parquet rows were read before their values were read column by column:
    each row the dict of its values (pyarrow's to_pylist), each value as _parquet_value reads it
    for its declared type, nested (a row nest refuses is a RowError)."""
    for number, record in enumerate(data.to_pylist(), start=first):
        yield files._nested(number, {k: files._parquet_value(v, types.get(k)) for k, v in record.items()})


def nested(policy, shared, row):
    """A nested row typed: (typed input, shared values), or (None, the errors or the RowError)."""
    return nested_typed(policy, shared, row)


# The Arrow types a column of each declared type may be stored as: its natural one (drawn most
# often) and others a file might hold (pandas writes an integer column with nulls as floats).
STORED = {
    "integer": [pa.int64()] * 4 + [pa.float64(), pa.string(), pa.int32(), pa.decimal128(20, 2), pa.bool_()],
    "decimal": [pa.string()] * 2 + [pa.float64(), pa.decimal128(20, 4), pa.int64()],
    "boolean": [pa.bool_()] * 4 + [pa.int64(), pa.string()],
    "string": [pa.string()] * 4 + [pa.large_string(), pa.int64(), pa.binary(), "categories"],
    "enum": [pa.string()] * 4 + [pa.large_string(), pa.int64(), "categories"],
    "date": [pa.string()] * 3 + [pa.date32(), pa.timestamp("s"), pa.timestamp("us", tz="+08:00")],
    "datetime": [pa.string()] * 3 + [pa.timestamp("s", tz="UTC"), pa.timestamp("ms")],
    "list": [pa.string()] * 3 + ["list", "bars"],  # JSON text; Arrow's own list type; a|b text
}
RARE = ["null", "struct"]  # any column: every value null; a struct holding the value


def stored(value, kind):
    """A pool value (as a generated applicant holds it) as a column of Arrow type `kind` holds it;
    None when it has no such form."""
    if value is None:
        return None
    text = (("true" if value else "false") if isinstance(value, bool) else
            json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value))
    try:
        if kind == "struct":
            return {"x": text}
        if kind == "bars":
            return "|".join(map(str, value)) if isinstance(value, list) else text
        if kind == "categories":
            return text
        if kind in ("list", "null"):
            return value
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return text
        if pa.types.is_binary(kind):
            return text.encode()
        if pa.types.is_boolean(kind):
            return value if isinstance(value, bool) else None
        if pa.types.is_integer(kind):
            return int(value) if not isinstance(value, list) else None
        if pa.types.is_floating(kind):
            return float(value)
        if pa.types.is_decimal(kind):
            return Decimal(text).quantize(Decimal(1).scaleb(-kind.scale))
        if pa.types.is_date(kind):
            return datetime.date.fromisoformat(text[:10])
        if pa.types.is_timestamp(kind):
            moment = datetime.datetime.fromisoformat(text)
            if kind.tz is None:
                return moment.replace(tzinfo=None)
            return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
    except (ValueError, ArithmeticError):
        return None
    raise AssertionError(kind)


def odd_values(kind):
    """Values a column of Arrow type `kind` might hold that a generated applicant does not."""
    if kind == "struct":
        return st.fixed_dictionaries({"x": st.one_of(st.none(), ODD_CELLS)})
    if kind == "null":
        return st.none()
    if kind == "list":
        return st.lists(st.one_of(st.text(max_size=3), st.fixed_dictionaries({"type": st.text(max_size=5)})),
                        max_size=2)
    if kind in ("bars", "categories") or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return ODD_CELLS
    if pa.types.is_binary(kind):
        return st.binary(max_size=4)
    if pa.types.is_boolean(kind):
        return st.booleans()
    if pa.types.is_integer(kind):
        bound = 2 ** (kind.bit_width - 1) - 1
        return st.one_of(st.sampled_from([0, -1, 1, 24, 25, 36, 37, 10 ** 17, 10 ** 18]),
                         st.integers(min_value=-bound, max_value=bound))
    if pa.types.is_floating(kind):
        return st.one_of(st.sampled_from([0.0, -0.0, 0.5, 3.0, 36.0, 37.0, 1e-05, 1e20, 0.35, 1.0]),
                         st.floats())
    if pa.types.is_decimal(kind):
        return st.decimals(min_value=-10 ** 15, max_value=10 ** 15, places=kind.scale, allow_nan=False,
                           allow_infinity=False)
    if pa.types.is_date(kind):
        return st.dates()
    if pa.types.is_timestamp(kind):
        zones = st.just(datetime.timezone.utc) if kind.tz else st.none()
        return st.datetimes(min_value=datetime.datetime(1900, 1, 1), timezones=zones)
    raise AssertionError(kind)


def arrow_column(values, kind):
    """An Arrow array of the values of type `kind`; text (as the values' JSON) when Arrow refuses."""
    try:
        if kind == "null":
            return pa.nulls(len(values))
        if kind == "struct":
            return pa.array(values, pa.struct([("x", pa.string())]))
        if kind == "list":  # Arrow's own list type, inferred (a list of records: a list of structs)
            return pa.array(values)
        if kind == "categories":  # text as pandas writes a categorical column: dictionary-encoded
            return pa.array(values, pa.string()).dictionary_encode()
        return pa.array(values, pa.string() if kind == "bars" else kind)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([None if v is None else json.dumps(v, default=str, ensure_ascii=False) for v in values],
                        pa.string())


@st.composite
def tables(draw, pool, header, types, size=5):
    """A record batch of 1 to `size` applicants of the pool, each column stored as a drawn Arrow
    type with odd values and nulls drawn into it; columns dropped, repeated or unknown ones added."""
    records = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=size))
    names = list(header)
    for _ in range(draw(st.sampled_from([0] * 5 + [1, 2]))):  # a column the file does not have
        names.remove(draw(st.sampled_from(names)))
    extra = draw(st.sampled_from([None] * 8 + ["applicant.nickname", "requested_amount", "shared.unknown",
                                               "bureau.accounts.type"]))
    if extra:  # an unknown column, or one twice
        names.insert(draw(st.integers(min_value=0, max_value=len(names))), extra)
    # columns stored as another Arrow type than their natural one
    odd_columns = set(draw(st.lists(st.sampled_from(names), max_size=draw(st.sampled_from([0, 0, 1, 1, 2, 4])))))
    kinds = [draw(st.sampled_from(STORED[types.get(name, "string")] + RARE)) if name in odd_columns
             else STORED[types.get(name, "string")][0] for name in names]
    columns = [[stored(record.get(name), kind) for record in records] for name, kind in zip(names, kinds)]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):  # a cell with an odd value or a null
        index = draw(st.integers(min_value=0, max_value=len(names) - 1))
        row = draw(st.integers(min_value=0, max_value=len(records) - 1))
        columns[index][row] = draw(st.one_of(st.none(), odd_values(kinds[index])))
    arrays = [arrow_column(values, kind) for values, kind in zip(columns, kinds)]
    return pa.RecordBatch.from_arrays(arrays, names=names)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    baseline, candidate, types, shared = two_versions(tmp_path_factory.mktemp("narrow"))
    pool = [{**flat(r), **s} for r, s in zip(generate(60, seed=37), generate_shared(60, seed=37))]
    header = [c for c in [*baseline.input_schema.fields, *shared] if any(c in f for f in pool)]
    return baseline, candidate, types, shared, pool, header


def natural(pool, header):
    """The pool as bench/simulate.py writes it: each column its values' own Arrow type, lists as JSON text."""
    return pa.table({c: [json.dumps(f[c], ensure_ascii=False) if isinstance(f.get(c), list) else f.get(c)
                         for f in pool] for c in header}).to_batches()[0]


def test_plainly_valid_rows_go_straight_from_their_values(setting):
    baseline, candidate, types, shared, pool, header = setting
    data = natural(pool, header)
    layout = ParquetLayout.of(data.schema, types)
    for policy in (baseline, candidate):
        direct = cell_rows(policy, layout, shared)
        for values, row in zip(layout.cells(data), nested_rows(data, types)):
            made = direct.typed(values)
            expected, shared_values = nested(policy, shared, row)
            if policy is candidate and expected is None:
                # longer than the candidate's longest term: refused
                assert "requested_term_months" in shared_values and made is None
                continue
            assert_read_alike(policy, made, expected, row.number)
            assert exact(direct.shared(values)) == exact(shared_values)


def test_a_row_read_from_its_values_is_the_row_read_the_nested_way_row_by_row(setting):
    """Every row of the natural table, both ways, is the same Row (what read_rows gives)."""
    baseline, _, types, shared, pool, header = setting
    data = natural(pool, header)
    layout = ParquetLayout.of(data.schema, types)
    assert [exact(r.data) for r in layout.rows(4, layout.cells(data))] == \
        [exact(r.data) for r in nested_rows(data, types, 4)]


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_a_row_read_from_its_values_is_the_row_read_the_nested_way(setting, data):
    baseline, candidate, types, shared, pool, header = setting
    batch = data.draw(tables(pool, header, types, size=3))
    layout = ParquetLayout.of(batch.schema, types)
    expected_rows = list(nested_rows(batch, types))
    assert [exact(r) for r in layout.rows(1, layout.cells(batch))] == [exact(r) for r in expected_rows]
    for policy in (baseline, candidate):
        direct = cell_rows(policy, layout, shared)
        event("a layout the direct way reads" if direct is not None else "a layout for the nested way")
        if direct is None:
            continue
        for values, row in zip(layout.cells(batch), expected_rows):
            made = direct.typed(values)
            event("straight from the values" if made is not None else "the nested way")
            if made is None:
                continue  # the nested way takes the row (the chunk test below holds its results)
            expected, shared_values = nested(policy, shared, row)
            assert expected is not None and exact(made[0]) == exact(expected)
            assert exact(made[1]) == exact(policy.input_schema.flatten(expected))
            assert exact(direct.shared(values)) == exact(shared_values)


@given(data=st.data(), with_candidate=st.booleans())
@settings(max_examples=60, deadline=None)
def test_a_chunk_decided_from_its_record_batch_is_the_chunk_decided_the_nested_way(setting, data, with_candidate):
    baseline, candidate, types, shared, pool, header = setting
    versions = (baseline, candidate) if with_candidate else (baseline,)
    job = Job({p.hash: VersionSpec.of(p) for p in versions}, candidate.hash if with_candidate else None,
              keep_rows=True)
    batch = data.draw(tables(pool, header, types))
    first = data.draw(st.integers(min_value=1, max_value=10_000))
    layout = ParquetLayout.of(batch.schema, types)
    direct = decide_batch(job, layout, first, batch, baseline.hash, shared)
    old = decide_chunk(job, [file_item(row, baseline.hash, shared) for row in nested_rows(batch, types, first)])
    assert direct == old and direct.read == batch.num_rows


@given(data=st.data())
@settings(max_examples=15, deadline=None)
def test_a_file_read_and_decided_by_parts_is_the_file_read_the_nested_way(setting, data, tmp_path_factory):
    """What read_rows gives for a written file, and its parts decided where they are read
    (decide_part, as on Dask), equal the nested way over the whole file, row numbers included."""
    baseline, candidate, types, shared, pool, header = setting
    batch = data.draw(tables(pool, header, types, size=12))
    if len(set(batch.schema.names)) != len(batch.schema.names):
        batch = batch.select(sorted({n: i for i, n in enumerate(batch.schema.names)}.values()))
    path = tmp_path_factory.mktemp("file") / "applications.parquet"
    pq.write_table(pa.Table.from_batches([batch]), path,
                   row_group_size=data.draw(st.integers(min_value=1, max_value=12)))
    written = pq.read_table(path)  # as Parquet stores it (an Arrow type it has no own of comes back as another)
    assert [exact(r) for r in files.read_rows(path, types)] == [exact(r) for r in nested_rows(written, types)]
    job = Job({baseline.hash: VersionSpec.of(baseline)}, None, keep_rows=True)
    total = Partial()
    for part in files.parquet_parts(path, None, data.draw(st.integers(min_value=1, max_value=12))):
        total.merge(decide_part(job, part, types, baseline.hash, shared))
    old = decide_chunk(job, [file_item(row, baseline.hash, shared) for row in nested_rows(written, types)])
    assert total.sort() == old.sort()


@pytest.mark.parametrize("column, values", [
    ("requested_amount", pa.array([{"x": 1}], pa.struct([("x", pa.int64())]))),   # a struct: a dict value
    ("shared.fraud_links_30d", pa.array([{"x": 1}], pa.struct([("x", pa.int64())]))),
])
def test_layouts_the_direct_way_does_not_handle_are_decided_the_nested_way(setting, column, values):
    baseline, candidate, types, shared, pool, header = setting
    data = natural(pool[:1], header)
    data = data.set_column(data.schema.get_field_index(column), column, values)
    layout = ParquetLayout.of(data.schema, types)
    assert cell_rows(baseline, layout, shared) is None
    job = Job({baseline.hash: VersionSpec.of(baseline)}, None, keep_rows=True)
    direct = decide_batch(job, layout, 7, data, baseline.hash, shared)
    assert direct == decide_chunk(job, [file_item(row, baseline.hash, shared) for row in nested_rows(data, types, 7)])
    assert direct.read == 1


def test_nulls_are_absent_and_empty_text_zero_and_false_are_not(setting):
    """A Parquet null is an absent field; an empty text, 0 or false is a value (unlike a CSV cell)."""
    baseline, _, types, shared, pool, header = setting
    data = natural(pool[:1], header)
    layout = ParquetLayout.of(data.schema, types)
    direct = cell_rows(baseline, layout, shared)
    [values] = layout.cells(data)
    typed, flat_values = direct.typed(values)
    index = header.index("bank.payroll")
    for cell, expected in ((False, False), (True, True)):
        changed = list(values)
        changed[index] = cell
        assert direct.typed(changed)[0]["bank"]["payroll"] is expected
    optional = header.index("applicant.education")
    changed = list(values)
    changed[optional] = None
    made = direct.typed(changed)
    assert made is not None and "education" not in made[0]["applicant"]
    assert made[1]["applicant.education"] is None
    changed[optional] = ""  # present: an empty text is no education the policy knows
    assert direct.typed(changed) is None
    count = header.index("shared.fraud_links_30d")
    changed = list(values)
    changed[count] = 0
    assert direct.shared(changed)["shared.fraud_links_30d"] == 0
    changed = [None if name.startswith(("shared.", "in_list.")) else v for name, v in zip(header, values)]
    assert direct.shared(changed) is None


# A small policy with every kind of field the fast path types: decimals (with bounds), text, enums,
# booleans, dates, lists of values, a section of personal data.
SMALL_POOL = [
    {"decision_date": "2026-11-28", "a": 5, "b": 0, "c": -3, "d": "0.35", "d2": "12.50", "rate": "0.5",
     "s": "abc", "e": "RED", "flag": True, "flag2": False, "day": "2026-11-28", "day2": "2020-02-29",
     "tags": ["a", "b"], "nums": [1, 2], "colours": ["RED", "GREEN"], "person.id_number": "330102199001011234",
     "person.name": "\u674e", "person.mobile": "13800000000"},
    {"decision_date": "2026-11-28", "a": None, "d": "1", "rate": "0", "e": "BLUE", "flag": False, "tags": [],
     "nums": [], "colours": ["BLUE"], "person.name": "x"},
    {"decision_date": "2026-01-01", "b": 7, "d2": "0.0001", "rate": "1", "s": "", "day": "2026-12-31"},
]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from engine.support import INPUT, make_policy
    policy = make_policy(tmp_path_factory.mktemp("small"), input=dict(INPUT, rate={
        "type": "decimal", "min": 0, "max": 1}))
    types = {path: spec.type.name for path, spec in policy.input_schema.fields.items()}
    return policy, types


@given(data=st.data())
@settings(max_examples=200, deadline=None)
def test_every_kind_of_field_reads_from_its_values_as_the_nested_way_reads_it(small, data):
    policy, types = small
    batch = data.draw(tables(SMALL_POOL, list(types), types, size=3))
    layout = ParquetLayout.of(batch.schema, types)
    direct = cell_rows(policy, layout, {})
    for values, row in zip(layout.cells(batch), nested_rows(batch, types)):
        made = direct.typed(values) if direct is not None else None
        event("straight from the values" if made is not None else "the nested way")
        if made is not None:
            expected, _ = nested(policy, {}, row)
            assert expected is not None and exact(made[0]) == exact(expected)
            assert exact(made[1]) == exact(policy.input_schema.flatten(expected))
    job = Job({policy.hash: VersionSpec.of(policy)}, None, keep_rows=True)
    assert decide_batch(job, layout, 3, batch, policy.hash, {}) == decide_chunk(
        job, [file_item(row, policy.hash, {}) for row in nested_rows(batch, types, 3)])


def test_a_categorical_column_is_read_straight_from_its_values(setting):
    """Text as pandas writes a categorical column (dictionary-encoded) goes the direct way too."""
    baseline, _, types, shared, pool, header = setting
    data = natural(pool, header)
    index = data.schema.get_field_index("applicant.education")
    data = data.set_column(index, "applicant.education", data.column(index).dictionary_encode())
    layout = ParquetLayout.of(data.schema, types)
    direct = cell_rows(baseline, layout, shared)
    assert direct is not None
    for values, row in zip(layout.cells(data), nested_rows(data, types)):
        made = direct.typed(values)
        expected, _ = nested(baseline, shared, row)
        assert made is not None and exact(made[0]) == exact(expected)
