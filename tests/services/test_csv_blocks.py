"""A CSV file cut into chunks of bytes where its rows end (files.csv_blocks), without reading it
into cells, gives the chunks csv_chunks reads with Python's csv module: the same rows, cells and
numbers, whatever the quoting, line breaks, blank lines or byte order mark, and wherever a read
of the file ends. A stretch whose row ends cannot be told from its bytes (a quote inside an
unquoted field, a file ending inside a quoted field) is read into cells from there on. A file that
is not UTF-8 is refused with the row it goes wrong in."""
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app import files
from app.files import CsvBlock, FileProblem
from app.services.errors import InvalidInput
from app.services.simulation import Simulating, SimulationRequest
from support.settings import POLICY_ROOT
from support.simulation import POLICY, example_rows, write_csv

# Pieces a CSV file is made of: plain and quoted cells (doubled quotes, line breaks inside),
# delimiters, every kind of line break, and the odd ones (a quote inside an unquoted cell, text
# after a closing quote, a lone quote).
PIECES = st.sampled_from([
    "a", "b1", "\u674e\u521a", ",", ",", ",", "\n", "\n", "\r\n", "\r", '"x,y"', '"x""y"', '""', '"multi\nline"',
    '"cr\r\nlf"', '"' + "z" * 30 + '"', " ", "1.5", '"', 'x"y', '"ab"c', "[{\"\"k\"\"\": 1}]"])


def chunks_of(read, path, size, **options):
    out = []
    for layout, first, cells in read(path, {}, None, size, **options):
        if isinstance(cells, CsvBlock):
            cells = cells.cells(first)
        out.append((layout.header, first, cells))
    return out


@given(pieces=st.lists(PIECES, max_size=60), header=st.sampled_from(["a,b\n", "a,b\r\n", "\ufeffa,b\n", '"a",b\n',
                                                                       "a,b"]),
       size=st.integers(min_value=1, max_value=4), block=st.integers(min_value=1, max_value=64))
@settings(max_examples=400, deadline=None)
def test_blocks_hold_the_rows_csv_chunks_reads(tmp_path_factory, pieces, header, size, block):
    path = tmp_path_factory.mktemp("blocks") / "f.csv"
    path.write_bytes((header + "".join(pieces)).encode("utf-8"))
    expected = chunks_of(files.csv_chunks, path, size)
    blocks = [c for _, _, c in files.csv_blocks(path, {}, None, size, block_bytes=block)]
    event("all as bytes" if all(isinstance(c, CsvBlock) for c in blocks) else "some read into cells")
    assert chunks_of(files.csv_blocks, path, size, block_bytes=block) == expected


def test_a_plain_file_goes_out_as_bytes_and_an_odd_stretch_as_cells(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,"x\ny"\n2,3\n4,x"y\n5,6\n', encoding="utf-8")
    kinds = [(first, type(cells).__name__) for _, first, cells in files.csv_blocks(path, {}, None, 1, block_bytes=16)]
    # rows 1 and 2 as bytes; the stretch read at row 3 holds the quote inside a cell: cells from there
    assert kinds == [(1, "CsvBlock"), (2, "CsvBlock"), (3, "list"), (4, "list")]
    assert chunks_of(files.csv_blocks, path, 1, block_bytes=16) == chunks_of(files.csv_chunks, path, 1)


def test_a_file_that_is_not_utf8_is_refused_with_its_row(tmp_path):
    rows = example_rows()
    path = write_csv(tmp_path / "latin.csv", rows)
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].rstrip(b"\r") + b"\xff\r"  # a byte UTF-8 never holds, in the third row's last cell
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(FileProblem, match="row 3 of the file is not UTF-8"):
        for _, first, cells in files.csv_blocks(path, {}, None, 100):
            cells.cells(first)
    with pytest.raises(InvalidInput, match="row 3 of the file is not UTF-8"):
        Simulating(POLICY_ROOT, None).simulate(SimulationRequest(POLICY, path))
    header = tmp_path / "header.csv"
    header.write_bytes(b"decision_date,applicant.n\xff\n2026-11-01,x\n")
    with pytest.raises(InvalidInput, match="header row is not UTF-8"):
        Simulating(POLICY_ROOT, None).simulate(SimulationRequest(POLICY, header))


def rows_of(body: bytes):
    import csv
    import io
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


@given(pieces=st.lists(PIECES, min_size=1, max_size=60), width=st.integers(min_value=1, max_value=4))
@settings(max_examples=500, deadline=None)
def test_a_block_polars_splits_is_split_as_the_csv_module_splits_it(pieces, width):
    body = "".join(pieces).encode("utf-8")
    rows = rows_of(body)
    if not rows:
        return
    columns = CsvBlock(body, len(rows)).columns(width)
    event("split by Polars" if columns is not None else "split by the csv module")
    if columns is not None:
        assert [list(row) for row in columns.rows()] == rows
        assert all(len(row) == width for row in rows)


@pytest.mark.parametrize("body, width", [
    (b"a,b\n\nc,d\n", 2),            # a blank line: no cells to the csv module
    (b"\n", 1),
    (b"a\r\n\r\nb\r\n", 1),
    (b"a,b\rc,d\n", 2),              # a lone CR ends a row for the csv module only
    (b'a,"b"c\n', 2),                # text after a closing quote
    (b'a, "b"\n', 2),                # a quote not at a cell's start is text
    (b"a,b,c\n", 2),                 # another width
    (b"a,\xff\n", 2),                # not UTF-8
    (b"a,b\x00\n", 2),
    (b"\xef\xbb\xbfa,b\n", 2),       # a cell that starts with U+FEFF (Polars drops a BOM)
])
def test_blocks_polars_might_split_otherwise_are_left_to_the_csv_module(body, width):
    rows = sum(1 for _ in body.split(b"\n")[:-1]) if body.endswith(b"\n") else None
    assert CsvBlock(body, rows or 1).columns(width) is None


def test_a_plain_file_is_split_by_polars(tmp_path):
    path = write_csv(tmp_path / "plain.csv", example_rows())
    [(layout, first, block)] = list(files.csv_blocks(path, {}, None, 100))
    columns = block.columns(len(layout.header))
    assert columns is not None and [list(row) for row in columns.rows()] == block.cells(first)


@given(rows=st.lists(st.lists(st.text(alphabet=',"\n\r ab\u674e\u00e9\t', max_size=6), min_size=3, max_size=3),
                     min_size=1, max_size=8),
       ending=st.sampled_from(["\n", "\r\n"]), quoting=st.sampled_from(["minimal", "all"]))
@settings(max_examples=300, deadline=None)
def test_cells_written_by_a_csv_writer_are_split_by_polars_as_by_the_csv_module(rows, ending, quoting):
    import csv
    import io
    text = io.StringIO()
    csv.writer(text, lineterminator=ending,
               quoting=csv.QUOTE_ALL if quoting == "all" else csv.QUOTE_MINIMAL).writerows(rows)
    body = text.getvalue().encode("utf-8")
    expected = rows_of(body)
    columns = CsvBlock(body, len(expected)).columns(3)
    event("split by Polars" if columns is not None else "split by the csv module")
    if columns is not None:
        assert [list(row) for row in columns.rows()] == expected


# Bytes a CSV file may hold that the pieces above do not: a NUL, bytes that are no UTF-8 (alone,
# or half of a character), a byte order mark after the start, line breaks Python's str.splitlines
# knows but the csv module does not (NEL, LS, VT, FF), a backslash, a tab.
BYTES = st.sampled_from([
    b"a", b",", b",", b"\n", b"\r\n", b"\r", b'"', b'""', b'"x"', b'"x\r\ny"', b"\x00", b"\xff", b"\xe6\x9d\x8e",
    b"\xe6\x9d", b"\x8e", b"\xef\xbb\xbf", b"\xc2\x85", b"\xe2\x80\xa8", b"\x0b", b"\x0c", b"\\", b"\t", b" ", b"'"])


def read_or_refuse(read, path, size, **options):
    """The chunks read, ending with "not UTF-8" if the file was refused as not UTF-8 text (csv_chunks
    may refuse it before a chunk that csv_blocks gives, as its reads decode ahead)."""
    out = []
    try:
        out.extend(chunks_of(read, path, size, **options))
    except FileProblem as problem:
        assert "UTF-8" in str(problem)
        return "not UTF-8"
    return out


@given(pieces=st.lists(BYTES, max_size=80),
       header=st.sampled_from([b"a,b\n", b"\xef\xbb\xbfa,b\r\n", b"a,b\r", b"a" * 70 + b",b\n", b'"a\nb",c\n',
                               b"\xe6\x9d\x8e,b\n"]),
       size=st.integers(min_value=1, max_value=5), block=st.integers(min_value=1, max_value=90))
@settings(max_examples=500, deadline=None)
def test_blocks_of_any_bytes_hold_the_rows_csv_chunks_reads_or_both_refuse_the_file(tmp_path_factory, pieces,
                                                                                      header, size, block):
    path = tmp_path_factory.mktemp("bytes") / "f.csv"
    path.write_bytes(header + b"".join(pieces))
    expected = read_or_refuse(files.csv_chunks, path, size)
    assert read_or_refuse(files.csv_blocks, path, size, block_bytes=block) == expected


@pytest.mark.parametrize("row", [b"1,x\r\n", '2,\u674e\u521a\U0001F600\r\n'.encode("utf-8"), b'3,"q\r\n""r"\r\n', b"4,\r"])
def test_a_read_may_end_inside_any_row_s_line_break_or_character(tmp_path, row):
    """Every block size up to twice the file: a CR LF, a character of four bytes, a quoted line
    break cut between reads."""
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\r\n" + row * 3 + row.rstrip(b"\r\n"))
    expected = chunks_of(files.csv_chunks, path, 2)
    assert sum(len(cells) for _, _, cells in expected) == 4
    for block in range(1, 2 * len(path.read_bytes()) + 1):
        assert chunks_of(files.csv_blocks, path, 2, block_bytes=block) == expected, block


def test_a_cell_past_the_csv_module_limit_is_refused_with_its_row_not_a_traceback(tmp_path):
    import csv
    rows = example_rows()
    path = write_csv(tmp_path / "long.csv", rows)
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].rstrip(b"\r") + b"x" * (csv.field_size_limit() + 1) + b"\r"  # the second row's last cell
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InvalidInput, match="row 2 of the file: field larger than field limit"):
        Simulating(POLICY_ROOT, None).simulate(SimulationRequest(POLICY, path))
    with pytest.raises(FileProblem, match="line 3: field larger than field limit"):
        list(files.csv_chunks(path, {}, None, 100))


def test_a_json_line_nested_past_the_recursion_limit_is_an_invalid_row(tmp_path):
    from support.simulation import write_jsonl
    path = write_jsonl(tmp_path / "deep.jsonl", example_rows()[:2])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("[" * 100_000 + "]" * 100_000 + "\n")
    report = Simulating(POLICY_ROOT, None).simulate(SimulationRequest(POLICY, path)).report
    assert report["source"]["decided"] == 2
    assert [(i["row"], i["errors"]) for i in report["invalid_rows"]] == [
        (3, {"_row": ["not valid JSON: nested too deeply"]})]
