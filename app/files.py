"""Application files: CSV, JSON Lines and Parquet read into numbered rows of JSON-style values.

An adapter: it reads, it never decides. Columns are named by the input's dotted paths
(`applicant.id_number`, `bureau.overdue_months_24m`); a CSV cell is text, so it is given the JSON
type the policy declares for its column (`types`: path -> integer, decimal, boolean, ...) and a
cell that cannot be read as that type is passed on as it is, for validation to report with its
path. An empty cell or a null is an absent field. A row that cannot be read at all (a line that
is not JSON, a CSV row with more cells than the header) becomes a RowError and the file goes on.
"""
from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, partial
from itertools import islice
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Mapping

import numpy

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet",
           ".pq": "parquet"}


# A spreadsheet reads a cell that starts with one of these as a formula (=HYPERLINK(...) sends what
# is beside it away; +cmd|... runs a program through DDE); a tab or a carriage return first hides one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def spreadsheet_safe(cell: Any) -> Any:
    """A CSV cell people open in a spreadsheet: text that would start a formula gets a leading `'`
    (shown as written, never run); a number, negative too, and anything not text stay as they are."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


class FileProblem(Exception):
    """The file as a whole cannot be read (unknown format, no header, unknown columns)."""


@dataclass(frozen=True)
class RowError:
    """A row that could not be read; `reason` says why."""

    reason: str


@dataclass(frozen=True)
class Row:
    """One application of a file: its 1-based number (the header of a CSV is not counted) and its
    JSON-style input, or the RowError that kept it from being read."""

    number: int
    data: dict[str, Any] | RowError


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise FileProblem(f"{path}: unknown file type {suffix or '(none)'}; use .csv, .jsonl or .parquet")
    return FORMATS[suffix]


def count_rows(path: str | Path) -> int | None:
    """The number of rows, cheaply (for a progress bar's ETA); None when it cannot be told."""
    kind = file_format(path)
    if kind == "parquet":
        import pyarrow.parquet as pq
        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - (1 if kind == "csv" else 0), 0)


def read_rows(path: str | Path, types: Mapping[str, str], columns: set[str] | None = None) -> Iterator[Row]:
    """Every row of the file in order. `types` maps each declared input path to its type name;
    `columns`, when given, is the set of paths a column may name (others make a FileProblem)."""
    kind = file_format(path)
    if kind == "csv":
        return _csv_rows(Path(path), types, columns)
    if kind == "parquet":
        return _parquet_rows(Path(path), types, columns)
    return _jsonl_rows(Path(path))


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{"a.b": 1, "c": 2} -> {"a": {"b": 1}, "c": 2}; nulls dropped (an absent field)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        if isinstance(value, dict):
            value = nest(value)
        node = out
        *sections, leaf = key.split(".")
        for section in sections:
            node = node.setdefault(section, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key}: {section} is both a value and a section")
        if isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf].update(value)
        else:
            node[leaf] = value
    return out


def _check_columns(path: Path, names: list[str], columns: set[str] | None) -> None:
    if columns is None:
        return
    sections = {".".join(c.split(".")[:i]) for c in columns for i in range(1, c.count(".") + 1)}
    unknown = [n for n in names if n not in columns and n not in sections]
    if unknown:
        raise FileProblem(f"{path}: column(s) {', '.join(unknown)} name no field of the policy's input "
                          "(name columns by dotted paths such as applicant.id_number)")


def _csv_rows(path: Path, types: Mapping[str, str], columns: set[str] | None) -> Iterator[Row]:
    for layout, first, cells in csv_chunks(path, types, columns, 1000):
        yield from layout.rows(first, cells)


@dataclass(frozen=True)
class CsvLayout:
    """How the cells of a CSV file's rows become inputs: the header and each column's place in
    the nested input and conversion, worked out once. Plain data: a batch run sends it with the
    rows' cells, and whoever decides them (a worker process, a Dask worker) makes the Rows."""

    header: tuple[str, ...]
    types: dict[str, str]
    places: tuple[tuple[tuple[str, ...], str, Any], ...]  # (sections, leaf, converter or None)
    clash: bool  # a column is also a section of another: rows go through nest, which says so
    absent: ClassVar[Any] = ""  # the cell of an absent field
    plain: ClassVar[bool] = True  # every cell is text: the direct way may read any column
    extra: ClassVar[int] = 0  # cells after the header's (none)

    @classmethod
    def of(cls, header: list[str], types: Mapping[str, str]) -> "CsvLayout":
        places = tuple((tuple(name.split(".")[:-1]), name.rpartition(".")[2], _CONVERTERS.get(types.get(name)))
                       for name in header)
        return cls(tuple(header), dict(types), places, _clashing(header))

    @property
    def key(self) -> tuple:
        """What tells this layout apart from another (its rows read the same way if equal)."""
        return ("csv", self.header, tuple(self.types.items()))

    @property
    def converters(self) -> tuple[Callable[[str], Any] | None, ...]:
        """How each column's cell is read (None: the text itself), as `rows` reads it."""
        return tuple(place[2] for place in self.places)

    def rows(self, first: int, cells_of_rows: list[list[str]]) -> Iterator[Row]:
        """The Rows of consecutive rows' cells, the first numbered `first`."""
        header, places, width = self.header, self.places, len(self.header)
        for number, cells in enumerate(cells_of_rows, start=first):
            if len(cells) > width:
                yield Row(number, RowError(f"{len(cells)} cells, the header names {width} columns"))
                continue
            if self.clash:
                yield _nested(number, {name: _cell(cell, self.types.get(name)) for name, cell in zip(header, cells)
                                       if cell != ""})
                continue
            data: dict[str, Any] = {}
            for (sections, leaf, convert), cell in zip(places, cells):
                if cell == "":
                    continue
                node = data
                for section in sections:
                    node = node.get(section) or node.setdefault(section, {})
                node[leaf] = convert(cell) if convert else cell  # text stays text
            yield Row(number, data)


def csv_chunks(path: str | Path, types: Mapping[str, str], columns: set[str] | None,
               size: int) -> Iterator[tuple[CsvLayout, int, list[list[str]]]]:
    """The file's layout with its rows' cells, `size` rows at a time, and the number of each
    chunk's first row: what a batch run sends out, so that the process reading the file only
    splits it into cells (CsvLayout.rows makes the Rows where they are decided)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            layout = _csv_layout(path, next(reader, None), types, columns)
            first = 1
            while chunk := list(islice(reader, size)):
                yield layout, first, chunk
                first += len(chunk)
        except UnicodeDecodeError:
            raise FileProblem(f"{path}: not UTF-8 text (save the file as UTF-8)") from None
        except csv.Error as error:  # a cell past the csv module's length limit, above all
            raise FileProblem(f"{path}: line {reader.line_num}: {error}") from None


@dataclass(frozen=True)
class CsvBlock:
    """Consecutive whole rows of a CSV file as its bytes, and how many rows they hold: what a batch
    run sends out instead of the rows' cells, so that the process reading the file does not split
    it (`cells` does, where the rows are decided)."""

    data: bytes
    rows: int

    def cells(self, first: int) -> list[list[str]]:
        """The rows' cells, as csv_chunks reads them from the file (`first`: the first row's
        number, for the error of a row that is not UTF-8 text)."""
        try:
            text = self.data.decode("utf-8")
        except UnicodeDecodeError as error:
            row = first + int(_record_ends(self.data[:error.start], final=True)[0].size)
            raise FileProblem(f"row {row} of the file is not UTF-8 text (save the file as UTF-8)") from None
        try:
            cells = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as error:  # a cell past the csv module's length limit, above all
            cells = []
            reader = csv.reader(io.StringIO(text, newline=""))
            with contextlib.suppress(csv.Error):
                for row in reader:
                    cells.append(row)
            raise FileProblem(f"row {first + len(cells)} of the file: {error}") from None
        if len(cells) != self.rows:  # csv_blocks counted otherwise: never split a file so
            raise RuntimeError(f"a CSV block of {self.rows} rows read as {len(cells)}")
        return cells

    def columns(self, width: int) -> Any:
        """The rows' cells as `width` Polars text columns, split by Polars, when the block is
        laid out so plainly that Polars splits it as the csv module does (`cells`); else None.

        Plain: every row has `width` cells (a blank line is a row of none to the csv module), no
        NUL, every CR outside quotes is followed by LF (a lone CR ends a row for the csv module,
        not for Polars), every quote outside a quoted field opens one at a cell's start and every
        closing quote ends its cell (the csv module keeps text after it, Polars does not), no row
        is longer than the csv module's field limit, and the text is UTF-8.
        tests/services/test_csv_blocks.py compares the two on generated blocks."""
        import polars as pl
        data = self.data
        if not data or b"\x00" in data or data.startswith(b"\xef\xbb\xbf"):  # Polars would drop a BOM
            return None
        array = numpy.frombuffer(data, dtype=numpy.uint8)
        size = array.size
        quotes = _plain_quotes(array)
        if quotes is None or quotes.size % 2:
            return None
        closing = quotes[1::2]  # (Polars refuses text after a closing quote today; checked all the same)
        if closing.size and not _CELL_END[array[numpy.minimum(closing + 1, size - 1)]][closing + 1 < size].all():
            return None
        if b"\r" in data:  # every CR outside quotes followed by LF (so no quote opens after a CR either)
            returns = _outside(quotes, numpy.flatnonzero(array == ord("\r")))
            if returns.size and (returns[-1] + 1 >= size or not (array[returns + 1] == ord("\n")).all()):
                return None
        ends = _outside(quotes, numpy.flatnonzero(array == ord("\n"))) + 1
        if not ends.size or ends[-1] != size:
            ends = numpy.append(ends, size)  # a last row without a line break
        if ends.size != self.rows:
            return None
        starts = numpy.concatenate(([0], ends[:-1]))
        lengths = ends - starts
        if (lengths > csv.field_size_limit()).any():
            return None
        if (((lengths == 1) & (array[starts] == ord("\n"))) | ((lengths == 2) & (array[starts] == ord("\r")))).any():
            return None  # a blank line: a row of no cells to the csv module, of one empty cell to Polars
        # Every row has `width` cells: Polars refuses a row of more (truncate_ragged_lines off) and
        # fills a row of fewer with empty cells, so the delimiters outside quotes must number
        # rows * (width - 1) in all (none can then be short). Those inside quoted cells are
        # counted span by span, between each opening quote and its closing one.
        commas = array == ord(",")
        inside = int(numpy.add.reduceat(commas.view(numpy.uint8), quotes, dtype=numpy.uint32)[0::2].sum()) \
            if quotes.size else 0
        if data.count(b",") - inside != self.rows * (width - 1):
            return None
        try:
            frame = pl.read_csv(io.BytesIO(data), has_header=False, schema={f"c{i}": pl.String for i in range(width)},
                                quote_char='"', empty_string_is_null=False, infer_schema=False, raise_if_empty=False,
                                truncate_ragged_lines=False)
        except (pl.exceptions.PolarsError, ValueError):  # not UTF-8, above all; a row of more cells
            return None
        return frame if frame.height == self.rows else None


# Bytes a quote that opens a quoted field may follow (a delimiter, a line break; or a quote: the
# second of a doubled quote inside a quoted field).
_OPENERS = numpy.zeros(256, dtype=bool)
_OPENERS[[ord(","), ord("\n"), ord("\r"), ord('"')]] = True
_BLOCK_BYTES = 64 << 20
# What may come just after a quote that closes a quoted field (a delimiter, a line break; a quote:
# the pair of a doubled quote).
_CELL_END = numpy.zeros(256, dtype=bool)
_CELL_END[[ord(","), ord("\n"), ord("\r"), ord('"')]] = True


def _plain_quotes(array: numpy.ndarray) -> numpy.ndarray | None:
    """The positions of the quotes of bytes that start at a row's start, when every quote not
    inside a quoted field by the count of quotes before it opens one (it follows a delimiter, a
    line break or the start) or doubles a quote; else None."""
    quotes = numpy.flatnonzero(array == ord('"'))
    opening = quotes[0::2]
    follows = opening[opening > 0] - 1
    return quotes if not follows.size or _OPENERS[array[follows]].all() else None


def _outside(quotes: numpy.ndarray, positions: numpy.ndarray) -> numpy.ndarray:
    """The positions outside quoted fields (an even number of quotes before them)."""
    return positions[(numpy.searchsorted(quotes, positions) & 1) == 0]


def _record_ends(data: bytes, final: bool) -> tuple[numpy.ndarray, bool]:
    """Where the records of `data` (which starts at a row's start) end (offsets just past each
    row's line break), and whether its quoting is plain enough to tell them from its bytes.

    Plain: every quote that is not inside a quoted field by the count of quotes before it opens
    one (it follows a delimiter, a line break or the start), or doubles a quote. Then a line break
    is between rows exactly when an even number of quotes come before it, as Python's csv module
    reads the file (a quote inside an unquoted field, which that module takes as text, makes the
    file not plain). A CR LF ends one row; a lone CR or LF ends one too. When not `final`, a CR
    that is the last byte is not counted (its LF may follow)."""
    array = numpy.frombuffer(data, dtype=numpy.uint8)
    quotes = _plain_quotes(array)
    if quotes is None:
        return numpy.zeros(0, dtype=numpy.int64), False
    if b"\r" in data:
        breaks = numpy.flatnonzero((array == ord("\n")) | (array == ord("\r")))
    else:  # the common file: one pass fewer
        breaks = numpy.flatnonzero(array == ord("\n"))
    breaks = _outside(quotes, breaks)
    if breaks.size:
        carriage = array[breaks] == ord("\r")
        after = numpy.minimum(breaks + 1, array.size - 1)
        joined = carriage & (breaks + 1 < array.size) & (array[after] == ord("\n"))
        breaks = breaks[~joined]
        if not final and breaks.size and breaks[-1] == array.size - 1 and array[-1] == ord("\r"):
            breaks = breaks[:-1]
    return breaks + 1, True


def csv_blocks(path: str | Path, types: Mapping[str, str], columns: set[str] | None, size: int,
               block_bytes: int = _BLOCK_BYTES) -> Iterator[tuple[CsvLayout, int, "CsvBlock | list[list[str]]"]]:
    """csv_chunks' chunks (the same rows, `size` at a time, numbered alike) with each chunk's rows
    as a CsvBlock of bytes, found without reading them into cells: rows are told apart by their
    line breaks and the count of quotes before them (`_record_ends`). From the first stretch of
    the file where that cannot be trusted (a quote inside an unquoted field, the file ending inside
    a quoted one) to the end, the chunks are read into cells as csv_chunks reads them. The file is
    read `block_bytes` at a time."""
    path = Path(path)
    with open(path, "rb") as handle:
        data = handle.read(block_bytes)
        final = len(data) < block_bytes
        while True:
            ends, plain = _record_ends(data, final)
            if not plain or ends.size or final:
                break
            more = handle.read(block_bytes)  # a header longer than a block
            final = not more
            data += more
        if not plain or not ends.size:  # the header row itself: as csv_chunks reads it
            yield from csv_chunks(path, types, columns, size)
            return
        try:
            text = data[:ends[0]].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FileProblem(f"{path}: the header row is not UTF-8 text (save the file as UTF-8)") from None
        try:
            header = next(csv.reader(io.StringIO(text, newline="")), None)
        except csv.Error as error:
            raise FileProblem(f"{path}: the header row: {error}") from None
        layout = _csv_layout(path, header, types, columns)
        offset = int(ends[0])  # of data's start in the file
        data = data[offset:]
        ends = ends[1:] - offset  # the header's row is plain: so are the ends after it
        first = 1
        while True:
            if plain and final and data and (ends.size == 0 or ends[-1] < len(data)):
                if numpy.count_nonzero(numpy.frombuffer(data, dtype=numpy.uint8) == ord('"')) % 2:
                    plain = False  # the file ends inside a quoted field
                else:
                    ends = numpy.append(ends, len(data))  # a last row without a line break
            if not plain:
                yield from _csv_rest(path, offset, layout, first, size)
                return
            start = 0
            while ends.size >= size or (final and ends.size):
                taken = ends[:size]
                cut = int(taken[-1])
                yield layout, first, CsvBlock(data[start:cut], int(taken.size))
                first += int(taken.size)
                ends = ends[size:]
                start = cut
            offset += start
            data = data[start:]
            if final:
                return
            more = handle.read(block_bytes)
            final = len(more) < block_bytes
            data += more
            ends, plain = _record_ends(data, final)


def _csv_rest(path: Path, offset: int, layout: "CsvLayout", first: int,
              size: int) -> Iterator[tuple[CsvLayout, int, list[list[str]]]]:
    """The rows from byte `offset` on (a row's start) read into cells, as csv_chunks reads them."""
    with open(path, "rb") as raw:
        raw.seek(offset)
        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            try:
                while chunk := list(islice(reader, size)):
                    yield layout, first, chunk
                    first += len(chunk)
            except UnicodeDecodeError:
                raise FileProblem(f"{path}: not UTF-8 text from row {first} on (save the file as UTF-8)") from None
            except csv.Error as error:
                raise FileProblem(f"{path}: row {first} or after: {error}") from None


def _csv_layout(path: Path, header: list[str] | None, types: Mapping[str, str],
                columns: set[str] | None) -> "CsvLayout":
    if not header:
        raise FileProblem(f"{path}: no header row (the first row names the columns)")
    header = [name.strip() for name in header]
    _check_columns(path, header, columns)
    return CsvLayout.of(header, types)


def _clashing(header: list[str]) -> bool:
    """Whether a column is also a section of another (a.b and a.b.c): such rows go through nest,
    which reports it."""
    names = set(header)
    return any(".".join(name.split(".")[:i]) in names for name in header for i in range(1, name.count(".") + 1))


def _cell(text: str, kind: str | None) -> Any:
    """A CSV cell as the JSON value its declared type takes; text that does not read as that type
    stays text, so that validation names the field and the problem."""
    convert = _CONVERTERS.get(kind)
    return convert(text) if convert else text  # decimals stay text (read exactly), dates are ISO text


def _integer_cell(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def _boolean_cell(text: str) -> Any:
    return _BOOLEAN_CELLS.get(text.strip().lower(), text)


def _list_cell(text: str) -> Any:
    try:
        return json.loads(text) if text.lstrip().startswith("[") else text.split("|")
    except (ValueError, RecursionError):  # arrays nested past Python's recursion limit: no list either
        return text


_BOOLEAN_CELLS = {"true": True, "false": False, "1": True, "0": False}
# The types a CSV cell is converted to, and how (strings, enums, decimals and dates stay text).
_CONVERTERS = {"integer": _integer_cell, "boolean": _boolean_cell, "list": _list_cell}


def _nested(number: int, flat: Mapping[str, Any]) -> Row:
    try:
        return Row(number, nest(flat))
    except ValueError as error:
        return Row(number, RowError(str(error)))


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig") as handle:
        first = handle.read(1)
        handle.seek(0)
        if first == "[":  # a JSON array of applications
            try:
                items = json.load(handle, parse_float=Decimal)
            except ValueError as error:
                raise FileProblem(f"{path}: not valid JSON: {error}") from None
            for number, item in enumerate(items, start=1):
                yield _object(number, item)
            return
        number = 0
        for line in handle:
            if not line.strip():
                continue
            number += 1
            yield _line_row(number, _json_item(line))


def _json_item(line: str) -> Any:
    """A line of a JSON Lines file as its value, or the RowError of a line that is no JSON."""
    try:
        return json.loads(line, parse_float=Decimal)  # decimals exactly as written
    except ValueError as error:
        return RowError(f"not valid JSON: {error}")
    except RecursionError:  # json.loads on arrays or objects nested some thousands deep
        return RowError("not valid JSON: nested too deeply")


def _line_row(number: int, item: Any) -> Row:
    return Row(number, item) if isinstance(item, RowError) else _object(number, item)


@dataclass(frozen=True)
class JsonLayout:
    """How the lines of a JSON Lines file become inputs where they are decided (a batch run sends
    a chunk's lines of text). `cells` parses each line and reads the object's values into cells,
    one for each name the run reads (`header`: every version's declared paths and the shared
    values, in `types`' order; None for an absent one), followed by the object itself; a line
    whose object is not laid out plainly as those names (a key that names none of them, a dotted
    key, a section that is no object or holds no value, an object where a value belongs) or that
    is no JSON has the object (or the RowError) alone. `rows` makes the nested input as always
    (`_object`: nest, which drops nulls), from the object."""

    header: tuple[str, ...]
    types: dict[str, str]
    clash: bool  # a name is also a section of another (or there are none): the nested way for every row
    absent: ClassVar[Any] = None  # the cell of an absent field: a null, or no such key
    plain: ClassVar[bool] = True
    extra: ClassVar[int] = 1  # after the header's cells, the row's object itself (for the nested way)

    @classmethod
    def of(cls, types: Mapping[str, str]) -> "JsonLayout":
        header = tuple(types)
        return cls(header, dict(types), not header or _clashing(list(header)))

    @property
    def key(self) -> tuple:
        """What tells this layout apart from another (its rows read the same way if equal)."""
        return ("jsonl", self.header, tuple(self.types.items()))

    @property
    def converters(self) -> tuple[None, ...]:
        """A JSON value is the nested input's value as it is."""
        return (None,) * len(self.header)

    def cells(self, lines: list[str]) -> list[list[Any]]:
        """Each line's cells and object (or its object or RowError alone: the nested way's)."""
        extract = None if self.clash else _extractor(self.header)
        out = []
        for line in lines:
            item = _json_item(line)
            cells = None if extract is None or isinstance(item, RowError) else extract(item)
            if cells is None:
                out.append([item])
            else:
                cells.append(item)
                out.append(cells)
        return out

    def rows(self, first: int, cells_of_rows: Any) -> Iterator[Row]:
        """The Rows of consecutive rows' cells (as `cells` gives them), the first numbered `first`."""
        for number, cells in enumerate(cells_of_rows, start=first):
            yield _line_row(number, cells[-1])


def jsonl_chunks(path: str | Path, types: Mapping[str, str],
                 size: int) -> Iterator[tuple[JsonLayout, int, list[str]]] | None:
    """A JSON Lines file's layout with its non-blank lines, `size` at a time, and the number of
    each chunk's first row (blank lines are not counted, as read_rows counts them); None for a
    file that is one JSON array (read_rows reads it whole)."""
    handle = open(path, encoding="utf-8-sig")
    if handle.read(1) == "[":
        handle.close()
        return None
    handle.seek(0)
    layout = JsonLayout.of(types)

    def chunks() -> Iterator[tuple[JsonLayout, int, list[str]]]:
        with handle:
            lines = (line for line in handle if line.strip())
            first = 1
            while chunk := list(islice(lines, size)):
                yield layout, first, chunk
                first += len(chunk)
    return chunks()


class _Odd(Exception):
    """An object not laid out plainly as the header's names: the nested way reads it."""


_ODD = _Odd()


@lru_cache(maxsize=32)
def _extractor(header: tuple[str, ...]) -> Callable[[Any], list | None]:
    """A function from a JSON object to its values in the header's order (None: absent), or None
    when the object is not laid out plainly as the header's names (then `nest`, `split_shared`
    and the fast path could read it otherwise): every key must name a section or a name of the
    header (no dotted keys, which nest splits); a section must be an object holding at least one
    value that is not null (nest keeps an empty section, the direct way would not), or null (absent);
    a value may not be an object (nest and split_shared read into it)."""
    tree: dict[str, Any] = {}
    for index, name in enumerate(header):
        node = tree
        *sections, leaf = name.split(".")
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = index

    def section(node: dict[str, Any]) -> Callable[[Any, list], bool]:
        known = frozenset(node)
        leaves = tuple((key, index) for key, index in node.items() if not isinstance(index, dict))
        inner = tuple((key, section(child)) for key, child in node.items() if isinstance(child, dict))

        def read(value: Any, cells: list) -> bool:
            if value.__class__ is not dict or not value.keys() <= known:
                raise _ODD
            present = False
            for key, index in leaves:
                held = value.get(key)
                if held is not None:
                    if held.__class__ is dict:
                        raise _ODD
                    cells[index] = held
                    present = True
            for key, read_inner in inner:
                held = value.get(key)
                if held is not None:
                    if not read_inner(held, cells):
                        raise _ODD  # an object with no value: nest keeps it as an empty section
                    present = True
            return present
        return read

    top, width = section(tree), len(header)

    def extract(item: Any) -> list | None:
        cells = [None] * width
        try:
            top(item, cells)
        except _Odd:
            return None
        return cells
    return extract


def _object(number: int, item: Any) -> Row:
    if not isinstance(item, dict):
        return Row(number, RowError("not a JSON object"))
    return _nested(number, item)


def _parquet_rows(path: Path, types: Mapping[str, str], columns: set[str] | None) -> Iterator[Row]:
    chunks = parquet_chunks(path, types, columns, 8192)  # the columns checked now, not at the first row
    return (row for layout, first, batch in chunks for row in layout.rows(first, layout.cells(batch)))


@dataclass(frozen=True)
class ParquetLayout:
    """How the values of a Parquet file's rows become inputs, the counterpart of CsvLayout: a row's
    cells are its columns' Python values (read column by column, `cells`), an absent field is a
    null. `rows` makes the nested input as always (each value as `_parquet_value` reads it for its
    declared type, then `nest`); `converters` read one value as that does, for the direct way
    (batch.cell_rows). Plain data, sent with a chunk's record batch to whoever decides it."""

    header: tuple[str, ...]
    types: dict[str, str]
    arrow_types: tuple[str, ...]  # each column's Arrow type, as text
    converters: tuple[Callable[[Any], Any] | None, ...]  # a value as the nested way reads it (None: itself)
    clash: bool  # a column is also a section of another: rows go through nest, which says so
    plain: bool  # no column's values are dicts (a struct's are; nest reads into them): the direct way may read it
    absent: ClassVar[Any] = None  # the cell of an absent field
    extra: ClassVar[int] = 0  # cells after the header's (none)

    @classmethod
    def of(cls, schema: Any, types: Mapping[str, str]) -> "ParquetLayout":
        """The layout of a file with this Arrow schema."""
        header = list(schema.names)
        kinds = [schema.field(i).type for i in range(len(header))]
        return cls(tuple(header), dict(types), tuple(str(kind) for kind in kinds),
                   tuple(_parquet_converter(kind, types.get(name)) for name, kind in zip(header, kinds)),
                   _clashing(header), all(_plain_arrow(kind) for kind in kinds))

    @property
    def key(self) -> tuple:
        """What tells this layout apart from another (its rows read the same way if equal)."""
        return ("parquet", self.header, tuple(self.types.items()), self.arrow_types)

    def cells(self, data: Any) -> list[tuple]:
        """The rows of an Arrow record batch (or table) as tuples of their values, column by column."""
        values = [column.to_pylist() for column in data.columns]
        return list(zip(*values)) if values else [()] * data.num_rows

    def rows(self, first: int, cells_of_rows: Any) -> Iterator[Row]:
        """The Rows of consecutive rows' values (as `cells` gives them), the first numbered `first`."""
        header, types = self.header, self.types
        for number, values in enumerate(cells_of_rows, start=first):
            yield _nested(number, {name: _parquet_value(value, types.get(name))
                                   for name, value in zip(header, values)})


def parquet_chunks(path: str | Path, types: Mapping[str, str], columns: set[str] | None,
                   size: int) -> Iterator[tuple[ParquetLayout, int, Any]]:
    """The file's layout with its rows as Arrow record batches of at most `size` rows, and the
    number of each batch's first row: what a batch run sends out (a record batch pickles as its
    buffers), so that the process reading the file does not make a Python value of any cell.
    Checks the columns as read_rows does."""
    import pyarrow.parquet as pq  # imported when a Parquet file is read
    path = Path(path)
    source = pq.ParquetFile(path)
    _check_columns(path, source.schema_arrow.names, columns)
    layout = ParquetLayout.of(source.schema_arrow, types)

    def chunks() -> Iterator[tuple[ParquetLayout, int, Any]]:
        first = 1
        for batch in source.iter_batches(batch_size=size):
            yield layout, first, batch
            first += batch.num_rows
    return chunks()


def _parquet_converter(kind: Any, declared: str | None) -> Callable[[Any], Any] | None:
    """How the direct way reads a column's non-null value: as `_parquet_value` does for its
    declared type. Integers, booleans and text (not a list's) it leaves as they are: None."""
    import pyarrow as pa
    types = pa.types
    if types.is_integer(kind) or types.is_boolean(kind) or types.is_null(kind):
        return None
    if types.is_string(kind) or types.is_large_string(kind):
        return _list_cell if declared == "list" else None
    return partial(_parquet_value, kind=declared)


def _plain_arrow(kind: Any) -> bool:
    """Whether an Arrow type's values are never dicts (a struct's are; so may other nested types')."""
    import pyarrow as pa
    types = pa.types
    if types.is_dictionary(kind):  # pandas' categories: the values of its dictionary
        return _plain_arrow(kind.value_type)
    return any(test(kind) for test in (
        types.is_integer, types.is_floating, types.is_boolean, types.is_null, types.is_string,
        types.is_large_string, types.is_binary, types.is_large_binary, types.is_date, types.is_timestamp,
        types.is_decimal, types.is_list, types.is_large_list))


@dataclass(frozen=True)
class FilePart:
    """Consecutive row groups of a Parquet file, read by whoever decides them (a Dask worker reads
    its own part instead of being sent the rows); `first` is the number of the part's first row."""

    path: str
    row_groups: tuple[int, ...]
    first: int
    rows: int


def parquet_parts(path: str | Path, columns: set[str] | None, rows_per_part: int) -> list[FilePart]:
    """The file's row groups cut into parts of at least `rows_per_part` rows (a part is whole row
    groups: a file written as one row group is one part). Checks the columns as read_rows does."""
    import pyarrow.parquet as pq
    source = pq.ParquetFile(path)
    _check_columns(Path(path), source.schema_arrow.names, columns)
    parts, groups, rows, first = [], [], 0, 1
    metadata = source.metadata
    for index in range(metadata.num_row_groups):
        groups.append(index)
        rows += metadata.row_group(index).num_rows
        if rows >= rows_per_part or index == metadata.num_row_groups - 1:
            parts.append(FilePart(str(Path(path).resolve()), tuple(groups), first, rows))
            first += rows
            groups, rows = [], 0
    return parts


def part_cells(part: FilePart, types: Mapping[str, str]) -> tuple[ParquetLayout, Iterator[tuple]]:
    """The layout of a part's file and the part's rows' values (as ParquetLayout.cells gives them),
    read a record batch at a time; the first row is numbered `part.first`, as in the whole file."""
    import pyarrow.parquet as pq
    source = pq.ParquetFile(part.path)
    layout = ParquetLayout.of(source.schema_arrow, types)
    batches = source.iter_batches(batch_size=8192, row_groups=list(part.row_groups))
    return layout, (values for batch in batches for values in layout.cells(batch))


def _parquet_value(value: Any, kind: str | None = None) -> Any:
    """Parquet's typed values as JSON-style ones: dates as ISO text, floats through their text
    (a whole float in an integer column, as pandas writes integers with nulls, as the integer)."""
    if isinstance(value, float) and kind == "integer" and value.is_integer():
        return int(value)
    if isinstance(value, str) and kind == "list":
        return _cell(value, kind)  # a list kept as its JSON text
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _parquet_value(v) for k, v in value.items()}
    return value
