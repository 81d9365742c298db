"""The wide table behind the wide and sheet downloads: cells spooled as they are made, then
placed under a header that is known only once every document has been seen.

Each entry is (front cells, file_data, document type): the front is the layout's own columns
(IDs, sheet cells, status...), the fields come from ``ShapeCache``. Cells are made for the file
(``convert``) before they are spooled, a page of 1,000 entries at a time, so 200,000 documents
never sit in memory; each shape's cells are then picked into the header's order by one
``itemgetter``. For Excel, each document type's entries are spooled apart too, for its sheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import IO, Any

from .flatten import ShapeCache, column_order
from .layout import is_url_column

SPOOL_PAGE = 1000  # entries pickled at once: one call per page, not per row
MAX_TYPE_SHEETS = 40  # an answer with hundreds of odd types gets sheets for the first ones
Convert = Callable[[list[Any]], list[Any]]
# A header's items: ("front", index into the front cells) or ("field", column name)
Item = tuple[str, Any]


class _Spool:
    """Pages of entries pickled to a temporary file, read back in order."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()
        self.page: list[Any] = []
        self.count = 0
        self.pages = 0

    def add(self, entry: Any) -> None:
        self.page.append(entry)
        if len(self.page) == SPOOL_PAGE:
            self.flush()

    def flush(self) -> None:
        if self.page:
            pickle.dump(self.page, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self.count += len(self.page)
            self.pages += 1
            self.page = []

    def read(self) -> Iterator[list[Any]]:
        self.flush()
        self.file.seek(0)
        for _ in range(self.pages):
            yield pickle.load(self.file)

    def close(self) -> None:
        self.file.close()


class WideTable:
    """One pass over the entries (``fill``), then the header and the rows, as often as needed."""

    def __init__(self, convert: Convert, *, type_sheets: bool = False) -> None:
        self.convert = convert
        self.missing = convert([None])[0]
        self.shapes = ShapeCache()
        self.main = _Spool()
        self.by_type: dict[Any, _Spool] | None = {} if type_sheets else None
        self.document_types: dict[Any, None] = {}

    def __enter__(self) -> WideTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.main.close()
        for spool in (self.by_type or {}).values():
            spool.close()

    @property
    def count(self) -> int:
        """How many entries were filled."""
        return self.main.count + len(self.main.page)

    def fill(self, entries: Iterable[tuple[list[Any], Any, Any]]) -> None:
        """Flatten and spool every entry: (front cells, file_data, document type)."""
        convert, missing, flatten = self.convert, self.missing, self.shapes.flatten
        add, types, by_type = self.main.add, self.document_types, self.by_type
        for front, file_data, document_type in entries:
            types[document_type] = None
            shape_id, cells = flatten(file_data, document_type)
            if shape_id is None:  # an odd shape: its cells by column name
                assert isinstance(cells, dict)
                flat = dict(zip(cells, convert(list(cells.values())), strict=True))
                own = {own: new for new, own in self.shapes.odd_own.items()}
                entry: tuple[Any, Any, Any] = (None, convert(front), (flat, own))
            else:
                # front cells, this shape's cells, then the filler the getter picks for a gap
                line = convert([*front, *cells])
                line.append(missing)
                entry = (shape_id, line, None)
            add(entry)
            if by_type is not None and file_data is not None and document_type is not None:
                spool = by_type.get(document_type)
                if spool is None and len(by_type) < MAX_TYPE_SHEETS:
                    spool = by_type[document_type] = _Spool()
                if spool is not None:
                    spool.add(entry)

    def field_columns(self) -> list[str]:
        """Every field column (common meanings renamed) in the export's order."""
        return column_order(self.shapes.keys, self.document_types, meanings=True)

    def arrange(self, before: Sequence[int], after: Sequence[int], last: Sequence[int]) -> list[Item]:
        """The header's items: front ``before``, the fields other than links, front ``after``,
        the link fields, front ``last``."""
        fields = self.field_columns()
        plain = [c for c in fields if not is_url_column(c)]
        links = [c for c in fields if is_url_column(c)]
        return [
            *(("front", i) for i in before), *(("field", c) for c in plain),
            *(("front", i) for i in after), *(("field", c) for c in links),
            *(("front", i) for i in last),
        ]  # fmt: skip

    def rows(self, items: Sequence[Item], front_size: int) -> Iterator[list[Any]]:
        """Pages of rows (tuples of cells) in the order of ``items``."""
        getters = [
            _placing(items, columns, front_size) for columns in self.shapes.columns
        ]
        for page in self.main.read():
            yield [
                getters[shape_id](line)
                if shape_id is not None
                else _odd_line(items, line, odd[0], self.missing)
                for shape_id, line, odd in page
            ]

    def type_sheets(self) -> list[Any]:
        """The document types that get a sheet of their own, in first-seen order."""
        if self.by_type is None:
            return []
        return [t for t, spool in self.by_type.items() if spool.count or spool.page]

    def type_items(self, document_type: Any, picks: Sequence[int]) -> list[Item]:
        """A type sheet's items: the ``picks`` of the front, then the type's fields as Atlas
        names them (in the contract's order for that type)."""
        keys = self.shapes.own_keys.get(document_type, {})
        own = column_order(keys, [document_type])
        return [*(("front", i) for i in picks), *(("own", c) for c in own)]

    def type_rows(self, document_type: Any, items: Sequence[Item], front_size: int) -> Iterator[Any]:
        """One type's rows, for its sheet."""
        assert self.by_type is not None
        getters: dict[int, Callable[[Any], Any]] = {}
        for page in self.by_type[document_type].read():
            for shape_id, line, odd in page:
                if shape_id is None:
                    flat, own = odd
                    yield tuple(
                        line[x] if kind == "front" else flat.get(own.get(x, x), self.missing)
                        for kind, x in items
                    )
                    continue
                getter = getters.get(shape_id)
                if getter is None:
                    own_items = [(k, x) if k == "front" else ("field", x) for k, x in items]
                    getter = getters[shape_id] = _placing(
                        own_items, self.shapes.own_columns[shape_id], front_size
                    )
                yield getter(line)

    def own_type_count(self, document_type: Any) -> int:
        """How many entries a type's sheet holds."""
        assert self.by_type is not None
        spool = self.by_type[document_type]
        return spool.count + len(spool.page)


def _placing(items: Sequence[Item], columns: Sequence[str], front_size: int) -> Callable[[Any], Any]:
    """Picks one shape's line (front, the shape's cells, the gap filler) into ``items`` order."""
    position = {column: front_size + i for i, column in enumerate(columns)}
    gap = front_size + len(columns)
    indexes = [x if kind == "front" else position.get(x, gap) for kind, x in items]
    if len(indexes) == 1:
        only = indexes[0]
        return lambda line: (line[only],)
    return itemgetter(*indexes)


def _odd_line(items: Sequence[Item], front: list[Any], flat: dict[str, Any], missing: Any) -> tuple:
    return tuple(front[x] if kind == "front" else flat.get(x, missing) for kind, x in items)



# The CSV text spool: each page of entries is written by csv.writer (in C) at once, cells apart
# by NUL and entries by NUL CR LF ",". A NUL never survives into a cell (``neutralise`` replaces
# it), so both split back exactly; placing an entry under the header is then a split, an
# itemgetter and a join on text already quoted, instead of pickling a list of cells per document
# and quoting every cell of every column again at the end.
# Quoting is minimal, as pandas writes it (a quarter smaller file than quoting all text; formula
# neutralising does not depend on quotes, ``neutralise`` prefixes the cell itself). csv.writer
# quotes a cell holding the delimiter, the quote or any character of the line terminator; the
# file's delimiter is "," and its terminator CR LF, which are not the spool's, so all three are
# put in the spool's terminator to have such a cell quoted exactly as the file needs.
_CELL_END = "\0"
_ENTRY_END = "\0\r\n,"
_EMPTY = ""  # how csv.writer (QUOTE_MINIMAL) writes an empty cell among others


class CsvWideTable(WideTable):
    """``WideTable`` for CSV: entries spooled as CSV text, rows given as CSV text pages."""

    def fill(self, entries: Iterable[tuple[list[Any], Any, Any]]) -> None:
        """Flatten every entry and spool its cells as CSV text, a page at a time."""
        self.filled = 0
        convert, flatten = self.convert, self.shapes.flatten
        types = self.document_types
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=_CELL_END, quoting=csv.QUOTE_MINIMAL,
                            lineterminator=_ENTRY_END)
        lines: list[list[Any]] = []
        ids: list[int] = []
        odd: dict[int, tuple[str, ...]] = {}
        add, flush = self.main.add, self.main.flush

        def spool() -> None:
            self.filled += len(lines)
            writer.writerows(lines)
            add((ids[:], buffer.getvalue(), dict(odd)))
            flush()  # a page of text is one spool entry: written at once, never held
            buffer.seek(0)
            buffer.truncate()
            lines.clear()
            ids.clear()
            odd.clear()

        for front, file_data, document_type in entries:
            types[document_type] = None
            shape_id, cells = flatten(file_data, document_type)
            if shape_id is None:
                assert isinstance(cells, dict)
                odd[len(ids)] = tuple(cells)
                ids.append(-1)
                front.extend(cells.values())
            else:
                ids.append(shape_id)
                front.extend(cells)
            lines.append(convert(front))  # the entry's front is its own list: extended, not copied
            if len(lines) == SPOOL_PAGE:
                spool()
        if lines:
            spool()
        self.main.flush()

    @property
    def count(self) -> int:
        """How many entries were filled."""
        return getattr(self, "filled", 0)

    def text_pages(self, items: Sequence[Item], front_size: int) -> Iterator[str]:
        """The rows in ``items`` order as CSV text (lines ending in CRLF), a page at a time."""
        getters = [_placing(items, columns, front_size) for columns in self.shapes.columns]
        for page in self.main.read():
            for ids, text, odd in page:
                lines = []
                for n, (shape_id, entry) in enumerate(zip(ids, text.split(_ENTRY_END), strict=False)):
                    cells = entry.split(_CELL_END)
                    cells.append(_EMPTY)
                    getter = getters[shape_id] if shape_id >= 0 else _placing(items, odd[n], front_size)
                    lines.append(",".join(getter(cells)))
                lines.append("")
                yield "\r\n".join(lines)


def write_csv_text(header: Sequence[Any], pages: Iterable[str], target: IO[bytes]) -> None:
    """The header (cells made by ``csv_cells``) and pages of CSV text, as UTF-8 with a BOM."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=csv.QUOTE_MINIMAL).writerow(header)
    target.write(codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8", errors="replace"))
    held: list[str] = []
    size = 0
    for text in pages:
        held.append(text)
        size += len(text)
        if size >= 1 << 18:  # encode a quarter million characters at once
            target.write("".join(held).encode("utf-8", errors="replace"))
            held, size = [], 0
    if held:
        target.write("".join(held).encode("utf-8", errors="replace"))
