"""A CSV chunk typed column by column (app/engine/columnar/cells.py, CellTyper) is typed exactly as
its rows are typed one by one (batch.cell_rows, fastinput.cells_parser): every row the column
typing is sure of, the row way types too, to the same values and types; rows it is not sure of
are left to the row way. Plain rows are all typed by their columns (else the column typing would
be right only by never being sure). Cells are drawn from generated applicants with odd text put in,
and for a small policy with every kind of field the column typing handles, from plain and odd text
of each kind."""
import datetime
import json
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app.engine.columnar.cells import CellTyper
from app.engine.columnar.evaluate import Items, Py
from app.files import CsvLayout
from app.services.batch import cell_rows
from support.differential import (ODD_CELLS, ODD_ITEM_VALUES, odd_rows, policy_with_input, reference_cells,
                                  two_versions)


def typer_for(policy, layout, shared):
    declared = {d.name: d.type_name for d in policy.parts.shared}
    columns = [None if name in shared else name for name in layout.header]
    cells = [(i, name, declared[name]) for i, name in enumerate(layout.header) if name in declared]
    return CellTyper(policy.input_schema, columns, cells, declared.items())


def column_values(column, n):
    """A typed column as one Python value per row (a list of records: a tuple of dicts, every
    declared field of the record present)."""
    if isinstance(column, Py):
        return column.values
    if isinstance(column, Items):
        fields = [name for name in column.frame.columns if name != "_row"]
        per_row = [[] for _ in range(n)]
        for record in column.frame.iter_rows(named=True):
            per_row[record.pop("_row")].append(record)
        present = column.present.to_list()
        return [tuple(per_row[i]) if present[i] else None for i in range(n)], fields
    return column.to_list()


def same(want, have):
    """Equal values of the same type (a decimal by value: a column holds one scale for all rows)."""
    if isinstance(want, Decimal) or isinstance(have, Decimal):
        return type(want) is type(have) and want == have
    if isinstance(want, datetime.datetime):
        return isinstance(have, datetime.datetime) and want == have and want.utcoffset() == have.utcoffset()
    return type(want) is type(have) and want == have


def assert_typed_alike(policy, layout, shared, cells):
    """Every row the column typing is sure of is typed by the row way to the same values; returns
    how many rows it was sure of."""
    typed = typer_for(policy, layout, shared).type(cells)
    rows = cell_rows(policy, layout, shared)
    n = len(cells)
    columns = {name: column_values(column, n) for name, column in typed.values.items()}
    declared = {d.name: d.type_name for d in policy.parts.shared}
    for i in range(n):
        if not typed.sure[i]:
            continue
        made = rows.typed(cells[i])
        assert made is not None, f"row {i}: sure by its columns, refused by the row way: {cells[i]}"
        flat = made[1]
        for path in policy.input_schema.fields:
            want = flat[path]
            column = columns[path]
            if isinstance(column, tuple):  # a list of records
                values, fields = column
                have = values[i]
                want = None if want is None else tuple({f: item.get(f) for f in fields} for item in want)
                assert want == have and all(
                    same(a[f], b[f]) for a, b in zip(want or (), have or ()) for f in fields
                    if a[f] is not None), (i, path, want, have)
            else:
                assert same(want, column[i]) or (want is None and column[i] is None), (i, path, want, column[i])
        given_shared = rows.shared(cells[i]) or {}
        for name, kind in declared.items():
            want = given_shared.get(name)
            if want is None and kind == "boolean":
                want = False  # a list match missing: on no list
            assert same(want, columns[name][i]) or (want is None and columns[name][i] is None), (i, name)
    return int(typed.sure.sum())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    baseline, candidate, types, shared = two_versions(tmp_path_factory.mktemp("narrow"))
    layout, pool = reference_cells(baseline, types, shared)
    return baseline, candidate, layout, shared, pool


def test_plain_reference_rows_are_all_typed_by_their_columns(reference):
    baseline, candidate, layout, shared, pool = reference
    for policy in (baseline, candidate):
        plain = [cells for cells in pool if cell_rows(policy, layout, shared).typed(cells) is not None]
        assert len(plain) > 40  # the candidate refuses terms past 24 months
        assert assert_typed_alike(policy, layout, shared, plain) == len(plain)


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_a_reference_chunk_typed_by_its_columns_is_typed_as_row_by_row(reference, data):
    baseline, candidate, layout, shared, pool = reference
    chunk = data.draw(st.lists(odd_rows(pool, len(layout.header)), min_size=1, max_size=6))
    for policy in (baseline, candidate):
        sure = assert_typed_alike(policy, layout, shared, chunk)
        event(f"{'all' if sure == len(chunk) else 'some' if sure else 'no'} rows sure")


# A small policy with every kind of field the column typing handles, bounds, a pattern, a length
# and a list of records of every kind of record field.
SMALL_INPUT = {
    "decision_date": {"type": "date", "required": True},
    "a": {"type": "integer", "min": 0, "max": 500},
    "b": "integer",
    "d": {"type": "decimal", "min": 0, "max": 1},
    "d2": "decimal",
    "s": {"type": "string", "max_length": 5, "pattern": "^[A-Z][0-9]+$"},
    "t": {"type": "string", "required": True},
    "e": {"type": "enum", "values": ["RED", "GREEN", "BLUE"]},
    "flag": "boolean",
    "day": "date",
    "at": "datetime",
    "loans": {"type": "list", "max_items": 3, "items": {"fields": {
        "kind": {"type": "enum", "values": ["LOAN", "CARD"], "required": True},
        "amount": {"type": "integer", "min": 0, "max": 1000},
        "code": {"type": "string", "max_length": 4, "pattern": "^[A-Z]+$"},
        "opened": {"type": "date"},
        "secured": {"type": "boolean"}}}},
}

PLAIN = {
    "decision_date": ["2026-11-28", "2026-02-28", "2024-02-29"],
    "a": ["0", "5", "500", "42", ""], "b": ["-3", "0", "999999999999999999", "-999999999999999999", ""],
    "d": ["0.35", "1", "0", "0.5000", "1.0", ""], "d2": ["12.50", "-7", "0.000000000000000001", "123456789012345678", ""],
    "s": ["A1", "Z9999", ""], "t": ["abc", "\u674e\u521a", "x"], "e": ["RED", "BLUE", ""],
    "flag": ["true", "false", "1", "0", "TRUE", "False", ""], "day": ["2026-11-28", "0001-01-01", "9999-12-31", ""],
    "at": ["2026-11-01T10:00:00+08:00", "2026-11-01T10:00:00Z", ""],
}
ODD = ["1.5", "-0.0", "0.35", "1.0000000000000000001", "12345678901234567890.5", "0000000000000000000001",
       "1e2", " 1", "1 ", "+1", "-1", "0.", ".5", "A12345", "a1", "A1\n", "\u0661", "RED ", "red", "yes",
       "True ", "2026-1-01", "0000-01-01", "2026-02-29", "2026-11-01T10:00:00", "2026-11-01 10:00:00+08:00",
       "20261101", "2026-11-01T25:00:00+08:00"]


def record(draw):
    record = {"kind": draw(st.sampled_from(["LOAN", "CARD"])), "amount": draw(st.sampled_from([0, 5, 1000, None])),
              "code": draw(st.sampled_from(["AB", "XYZW", None])), "opened": draw(st.sampled_from(["2020-01-01", None])),
              "secured": draw(st.sampled_from([True, False, None]))}
    record = {k: v for k, v in record.items() if v is not None or draw(st.booleans())}
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        key = draw(st.sampled_from([*record, "extra", "amount", "code"]))
        record[key] = draw(st.one_of(ODD_ITEM_VALUES, st.sampled_from(
            [1001, -1, 2 ** 63, 2 ** 64 + 1, 1.0, "12", "ab", "ABCDE", "2026-02-30", "2026-1-01", "0000-01-01", 0, 1])))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        record.pop(draw(st.sampled_from(list(record) or ["kind"])), None)
    return record


@st.composite
def small_cell(draw, name, odd):
    if name == "loans":
        if odd:
            return draw(st.sampled_from(["", "[]", "[null]", "[1]", "{}", "LOAN|CARD", " []", "[", '[{"kind": "LOAN"}] ',
                                         '[{"kind": "LOAN", "amount": 1e2}]', '[{"kind": "LOAN", "kind": "CARD"}]',
                                         '[{"kind": "LOAN", "amount": NaN}]', '[{"kind": "\\ud800"}]',
                                         json.dumps([{"kind": "LOAN"}] * 4)]))
        items = [record(draw) for _ in range(draw(st.integers(min_value=0, max_value=3)))]
        return json.dumps(items, ensure_ascii=draw(st.booleans()))
    if odd:
        return draw(st.one_of(st.sampled_from(ODD), ODD_CELLS))
    return draw(st.sampled_from(PLAIN[name]))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return policy_with_input(tmp_path_factory.mktemp("typed"), SMALL_INPUT)


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_every_kind_of_field_is_typed_by_its_columns_as_row_by_row(small, data):
    policy, layout = small
    chunk = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=5))):
        # mostly one odd cell in a row of plain ones: a row is sure only if all its cells are
        odd = set(data.draw(st.lists(st.sampled_from(layout.header), max_size=2)))
        cells = [data.draw(small_cell(name, name in odd)) for name in layout.header]
        change = data.draw(st.sampled_from(["none"] * 8 + ["add", "cut"]))
        if change == "add":
            cells.append("x")
        elif change == "cut":
            del cells[data.draw(st.integers(min_value=0, max_value=len(cells) - 1)):]
        chunk.append(cells)
    sure = assert_typed_alike(policy, layout, {}, chunk)
    event(f"{'all' if sure == len(chunk) else 'some' if sure else 'no'} rows sure")


def test_plain_rows_of_every_kind_are_typed_by_their_columns(small):
    policy, layout = small
    rows = [[PLAIN[name][i % len(PLAIN[name])] if name != "loans" else
             json.dumps([{"kind": "LOAN", "amount": i, "code": "AB", "opened": "2020-01-01", "secured": True}] * (i % 4))
             for name in layout.header] for i in range(12)]
    assert assert_typed_alike(policy, layout, {}, rows) == 12


def test_a_decimal_column_holds_every_row_exactly():
    """Decimals of different scales in one column keep every digit (the column takes the largest)."""
    from app.engine.schema import FieldSpec, InputSchema
    from app.engine.types import Type
    spec = FieldSpec("d", Type("decimal"))
    typer = CellTyper(InputSchema(tree={"d": spec}, fields={"d": spec}), ["d"], [])
    typed = typer.type([["0.000000000000000001"], ["123456789012345678"], ["-1.5"], [""]])
    assert typed.sure.all()
    assert typed.values["d"].to_list() == [Decimal("0.000000000000000001"), Decimal("123456789012345678"),
                                           Decimal("-1.5"), None]
    assert isinstance(typed.values["d"].dtype, pl.Decimal)


def test_each_odd_cell_alone_in_a_plain_row_is_typed_as_row_by_row(small):
    """Every odd text in every column, each in an otherwise plain row: one chunk, every case."""
    policy, layout = small
    plain = [PLAIN[name][0] if name != "loans" else "[]" for name in layout.header]
    odd = ODD + ["", " ", "abc", "99999999999999999999", "1_000", "\uff13", "NaN", "[]", "[null]",
                 '[{"kind": "LOAN", "amount": 1001}]', '[{"kind": "LOAN", "amount": 18446744073709551615}]',
                 '[{"kind": "LOAN", "opened": "0000-01-01"}]', '[{"kind": "LOAN", "code": "ABCDE"}]',
                 '[{"kind": "LOAN", "secured": 1}]', '[{"kind": "LOAN", "amount": true}]', '[{"kind": null}]']
    chunk = [plain]
    for index in range(len(layout.header)):
        for text in odd:
            cells = list(plain)
            cells[index] = text
            chunk.append(cells)
    sure = assert_typed_alike(policy, layout, {}, chunk)
    assert 0 < sure < len(chunk)


# An integer field whose bounds are not whole (min: 0.5): the row way compares the integer with the
# decimal bound; Polars would truncate the bound toward zero (0 >= 0.5 true), so the column typing
# takes the integers inside the bounds. So do a record's integer fields.
FRACTIONAL_BOUNDS = {
    "decision_date": {"type": "date", "required": True},
    "a": {"type": "integer", "min": 0.5, "max": 10.5},
    "n": {"type": "integer", "min": -10.5, "max": -0.5},
    "loans": {"type": "list", "items": {"fields": {
        "kind": {"type": "enum", "values": ["LOAN", "CARD"], "required": True},
        "amount": {"type": "integer", "min": 0.5, "max": 2.5}}}},
}


def test_integers_against_bounds_that_are_not_whole_are_typed_as_row_by_row(tmp_path):
    from engine.support import make_policy
    policy = make_policy(tmp_path, input=FRACTIONAL_BOUNDS)
    types = {path: spec.type.name for path, spec in policy.input_schema.fields.items()}
    layout = CsvLayout.of(list(types), types)
    chunk = []
    for a in ["0", "1", "10", "11", "-0"]:
        for n in ["0", "-1", "-10", "-11"]:
            for amount in [0, 1, 2, 3]:
                chunk.append(["2026-11-28", a, n, json.dumps([{"kind": "LOAN", "amount": amount}])])
    sure = assert_typed_alike(policy, layout, {}, chunk)
    assert sure == 2 * 2 * 2  # a in 1..10, n in -10..-1, amount in 1..2


# A policy of free text in a record (no enum or pattern to refuse what orjson and json read
# otherwise), a section with a required field, bounds that are negative or not whole, an enum
# of text that is no ASCII; its cells drawn as any text, numbers, dates and datetimes, and JSON
# lists of records holding any JSON value (floats, integers past 64 bits, nested lists and
# objects, nulls, unknown keys).
WIDE_INPUT = {
    "decision_date": {"type": "date", "required": True},
    "a": {"type": "integer", "min": -5, "max": 999999999999999999},
    "b": "integer",
    "d": {"type": "decimal", "min": -0.5, "max": 100},
    "d2": "decimal",
    "s": {"type": "string", "max_length": 3},
    "e": {"type": "enum", "values": ["RED", "1", "\u00e9"]},
    "flag": "boolean",
    "day": "date",
    "at": "datetime",
    "sec": {"x": {"type": "string", "required": True}},
    "loans": {"type": "list", "max_items": 3, "items": {"fields": {
        "kind": {"type": "enum", "values": ["LOAN", "CARD"], "required": True},
        "amount": {"type": "integer", "min": -2, "max": 1000},
        "note": {"type": "string"},
        "note2": {"type": "string", "max_length": 2},
        "opened": {"type": "date"},
        "secured": {"type": "boolean"}}}},
}
WIDE_ODD = st.one_of(
    st.lists(st.sampled_from(list("0123456789-+._ eE:TZ\u0663\uff13\u00e9\u00a0\t\n\"[]{},|")
                             + ["true", "True", "FALSE", "2026-02-28", "0000", "-0", "\u2028"]), max_size=8).map("".join),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=6), st.integers(-10 ** 20, 10 ** 20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str), st.dates().map(str),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()))
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 65, 2 ** 65), st.floats(allow_nan=False), st.text(max_size=4),
              st.sampled_from(["LOAN", "CARD", "2020-02-29", "2021-02-29", "0000-01-01", "2020-1-01"])),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)
ODD_RECORD = st.fixed_dictionaries({}, optional={
    "kind": JSON_VALUE | st.sampled_from(["LOAN", "CARD"]), "amount": JSON_VALUE | st.integers(-3, 1001),
    "note": JSON_VALUE, "note2": JSON_VALUE, "opened": JSON_VALUE, "secured": JSON_VALUE, "zz": JSON_VALUE})
PLAIN_RECORD = st.fixed_dictionaries({"kind": st.sampled_from(["LOAN", "CARD"])}, optional={
    "amount": st.integers(-3, 1001) | st.none(), "note": st.text(max_size=3) | st.none(), "note2": st.text(max_size=3),
    "opened": st.dates().map(str) | st.none() | st.sampled_from(["2021-02-29", "0000-01-01"]),
    "secured": st.booleans() | st.none()})
WIDE_PLAIN = {
    "decision_date": st.dates(min_value=datetime.date(1, 1, 1)).map(str),
    "a": st.integers(-6, 10 ** 18).map(str), "b": st.integers(-10 ** 18, 10 ** 18).map(str),
    "d": st.builds(lambda i, f, z: z + str(i) + ("." + f if f else ""), st.integers(-1, 101),
                   st.text("0123456789", max_size=19), st.sampled_from(["", "0", "00"])),
    "d2": st.builds(lambda i, f: str(i) + ("." + f if f else ""), st.integers(-10 ** 19, 10 ** 19),
                    st.text("0123456789", max_size=19)),
    "s": st.text(max_size=4), "e": st.sampled_from(["RED", "1", "\u00e9", "e\u0301", "red"]),
    "flag": st.sampled_from(["true", "false", "1", "0", "TRUE", "False", "tRue", " 1"]),
    "day": st.dates().map(str), "at": st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    "sec.x": st.text(max_size=3),
    "loans": st.lists(PLAIN_RECORD, max_size=4).map(lambda v: json.dumps(v, ensure_ascii=bool(len(v) % 2)))}


@st.composite
def wide_cell(draw, name):
    if draw(st.integers(min_value=0, max_value=24)) == 0:  # odd text
        if name == "loans":
            return draw(st.lists(ODD_RECORD, max_size=4).map(
                lambda v: json.dumps(v, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))))
        return draw(WIDE_ODD)
    return draw(WIDE_PLAIN[name] | st.just(""))


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    return policy_with_input(tmp_path_factory.mktemp("wide"), WIDE_INPUT)


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_any_text_and_any_json_in_cells_is_typed_by_its_columns_as_row_by_row(wide, data):
    policy, layout = wide
    chunk = [[data.draw(wide_cell(name)) for name in layout.header]
             for _ in range(data.draw(st.integers(min_value=1, max_value=6)))]
    sure = assert_typed_alike(policy, layout, {}, chunk)
    event(f"{'all' if sure == len(chunk) else 'some' if sure else 'no'} rows sure")


def test_json_that_orjson_and_json_read_otherwise_leaves_its_row_unsure(wide):
    """json.loads reads a lone surrogate, NaN, 1e400 and integers past 64 bits (orjson refuses
    them, or reads 2**64 as a float); a free text field takes any text, so only the row way says."""
    policy, layout = wide
    plain = ["2026-11-28", "1", "2", "0.5", "1.5", "ab", "RED", "true", "2026-01-01", "", "x", "[]"]
    loans = ['[{"kind": "LOAN", "note": "\\ud800"}]', '[{"kind": "LOAN", "note": "\\udc00\\ud800"}]',
             '[{"kind": "LOAN", "amount": NaN}]', '[{"kind": "LOAN", "amount": 1e400}]',
             '[{"kind": "LOAN", "amount": 18446744073709551616}]', '[{"kind": "LOAN", "amount": 18446744073709551615}]',
             '[{"kind": "LOAN", "amount": -9223372036854775809}]', '[{"kind": "LOAN", "amount": 999999999999999999}]',
             '[{"kind": "LOAN", "note": "a", "note": 1}]', '[{"kind": "LOAN", "note": 1, "note": "a"}]',
             '[{"kind": "LOAN", "\\u006eote": "\\u0041"}]', '[{"kind": "LOAN", "note": "\\u0000"}]',
             '[{"kind": "LOAN", "secured": 1}]', '[{"kind": "LOAN", "amount": true}]', '[{"kind": "LOAN", "amount": 1.0}]',
             '[{"kind": "LOAN", "amount": -0}]', '[{"kind": "LOAN", "note": null, "amount": null}]',
             '[{"kind": "LOAN", "note": ["a"]}]', '[{"kind": "LOAN", "note": {"a": 1}}]', '[{"kind": null}]', '[{}]',
             '[null]', '[[]]', '[{"kind": "LOAN"}] ', '[{"kind": "LOAN"}]\r\n', ' [{"kind": "LOAN"}]',
             '[{"kind" : "LOAN" , "note":"\\t"}]', '[{"kind": "LOAN", "opened": "2020-02-29"}]',
             '[{"kind": "LOAN", "opened": "0000-01-01"}]', '[{"kind": "LOAN", "opened": "20200101"}]']
    chunk = [plain[:-1] + [cell] for cell in loans]
    sure = assert_typed_alike(policy, layout, {}, chunk)
    assert 0 < sure < len(chunk)


@pytest.mark.parametrize("name, texts", [
    ("b", ["1000000000000000000", "-1000000000000000000", "999999999999999999", "-999999999999999999",
           "0000000000000000001", "000000000000000001", "9223372036854775807", "9223372036854775808", "-0", "-00",
           "0", "+0", "1_0", " 1", "1\n", "\u0661", "\uff11", "1.0", "1e0", "0x1", "--1", "-"]),
    ("a", ["-5", "-6", "-0", "999999999999999999", "1000000000000000000"]),
    ("d", ["-0.5", "-0.50", "-0.500000000000000001", "-0.6", "100", "100.000000000000000000", "100.0000000000000000001",
           "0100", "-0", "-.5", "-0.", ".5", "1e1", "1E-1", "+1", "NaN", "Infinity", "\u0661", " 1"]),
    ("d2", ["999999999999999999.999999999999999999", "1000000000000000000", "0000000000000000000000001.5",
            "0.0000000000000000001", "0.000000000000000001", "-999999999999999999", "1" + "0" * 17 + ".5"]),
    ("flag", ["true", "false", "1", "0", "TRUE", "FALSE", "True", "False", "tRUE", " true", "true ", "yes", "01", "2"]),
    ("day", ["2024-02-29", "2023-02-29", "0001-01-01", "0000-12-31", "9999-12-31", "2026-1-01", "2026-01-1",
             "20260101", "2026-W01-1", "2026-01-01T00:00", "2026-13-01", "2026-00-10", "2026-01-32", "\u0662026-01-01"]),
    ("at", ["2026-11-01T10:00:00+08:00", "2026-11-01T10:00:00Z", "2026-11-01T10:00:00", "2026-11-01 10:00:00+08:00",
            "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-11-01T10:00:00+24:00"]),
    ("s", ["abc", "abcd", "\u674e\u521a\u674e", "\U0001F600\U0001F600\U0001F600", "e\u0301e", "a\x00b"]),
    ("e", ["RED", "red", "RED ", "1", "01", "\u00e9", "e\u0301"]),
])
def test_edge_cells_of_each_kind_are_typed_as_row_by_row(wide, name, texts):
    """Each edge text alone in a plain row: the 18-digit bounds, signs, zeros, other digits,
    the words of a boolean, days that do not exist, offsets, lengths counted in characters."""
    policy, layout = wide
    plain = {"decision_date": "2026-11-28", "a": "1", "b": "2", "d": "0.5", "d2": "1.5", "s": "ab", "e": "RED",
             "flag": "true", "day": "2026-01-01", "at": "", "sec.x": "x", "loans": "[]"}
    chunk = [[text if column == name else plain[column] for column in layout.header] for text in texts]
    assert assert_typed_alike(policy, layout, {}, chunk) > 0


@pytest.fixture(scope="module")
def wide_versions(tmp_path_factory):
    """Two versions of WIDE_INPUT whose rules read every kind of field (thresholds one apart)."""
    from engine.support import make_policy, ruleset

    def version(step):
        rules = [
            {"id": "A", "when": f"a > {3 + step} or b < -5", "then": {"action": "DECLINE", "reason": "HIT"}},
            {"id": "D", "when": f"d > 0.5 and d2 * 3 > {10.25 + step}", "then": {"action": "REFER", "reason": "HIT"}},
            {"id": "Y", "when": "day < decision_date", "then": {"action": "REFER", "reason": "HIT"}},
            {"id": "E", "when": 'e == "RED" or flag == true', "then": {"action": "DECLINE", "reason": "HIT"}},
            {"id": "S", "when": 's == "ab" or sec.x == "x"', "then": {"action": "REFER", "reason": "HIT"}},
            {"id": "L", "when": f"sum(l.amount for l in loans) > {10 + step} or any(l.secured == true for l in loans)",
             "then": {"action": "DECLINE", "reason": "HIT"}}]
        return make_policy(tmp_path_factory.mktemp("wide_rules"), {"r": ruleset("r", rules)},
                           stages=[{"id": "r", "ruleset": "r"}], input=WIDE_INPUT)
    baseline, candidate = version(0), version(1)
    types = {path: spec.type.name for policy in (baseline, candidate) for path, spec in policy.input_schema.fields.items()}
    return baseline, candidate, CsvLayout.of(list(types), types)


# Cells a valid row of WIDE_INPUT is made of (decimals of many places, 18-digit integers).
CLEAN = {**WIDE_PLAIN, "decision_date": st.sampled_from(["2026-11-28", "2024-02-29", "0001-01-01", "9999-12-31"]),
         "d2": st.builds(lambda i, f: str(i) + ("." + f if f else ""), st.integers(-10 ** 6, 10 ** 6),
                         st.text("0123456789", max_size=18)),
         "s": st.sampled_from(["ab", "x", "abc", "\u674e", ""]), "e": st.sampled_from(["RED", "1", "\u00e9", ""]),
         "flag": st.sampled_from(["true", "false", "1", "0", "TRUE", "False", ""]),
         "sec.x": st.sampled_from(["x", "y", "\u674e\u521a"]), "at": st.sampled_from(["2026-11-01T10:00:00+08:00", ""]),
         "loans": st.lists(PLAIN_RECORD.filter(lambda r: r.get("opened") not in ("2021-02-29", "0000-01-01")
                                               and len(r.get("note2", "")) <= 2), max_size=3).map(json.dumps)}


@given(data=st.data(), with_candidate=st.booleans(), keep_rows=st.booleans())
@settings(max_examples=80, deadline=None)
def test_a_chunk_typed_by_its_columns_is_decided_as_its_rows_decided_the_nested_way(wide_versions, data,
                                                                                    with_candidate, keep_rows):
    from app.services.batch import Job, VersionSpec, decide_cells, decide_chunk, file_item
    baseline, candidate, layout = wide_versions
    versions = (baseline, candidate) if with_candidate else (baseline,)
    job = Job({p.hash: VersionSpec.of(p) for p in versions}, candidate.hash if with_candidate else None,
              keep_rows=keep_rows)
    chunk = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        clean = data.draw(st.booleans())  # mostly valid cells, one odd one at most: rows decided
        odd = data.draw(st.sampled_from(layout.header)) if clean and data.draw(st.booleans()) else None
        chunk.append([data.draw(CLEAN[name] if clean and name != odd else wide_cell(name)) for name in layout.header])
    direct = decide_cells(job, layout, 3, chunk, baseline.hash, {})
    old = decide_chunk(job, [file_item(row, baseline.hash, {}) for row in layout.rows(3, chunk)])
    assert direct == old
    event(f"{'some' if direct.tallies['baseline'].decided else 'no'} rows decided")
