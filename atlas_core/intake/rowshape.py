"""Measuring a CSV's rows before a parser lays them out, so one hostile line cannot take us down.

A CSV parser turns a line of 200,000 fields into 200,000 columns, and the padded grid of every row
to that width into gigabytes; a quote that never closes swallows the rest of the file into one
cell. ``measure_rows`` reads the bytes once, a segment at a time, with the quoting rules of
Python's csv module and of Arrow's parser (a quote opens a value only at the start of a field,
``""`` inside it is a quote, text after the closing quote joins the value), and refuses those files
with a sentence naming the line, in time and memory bounded by the segment size.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IntakeError
from .extent import MAX_GRID_CELLS, _read_ahead
from .framing import MAX_COLUMNS

MAX_FIELDS = 16_384  # Excel's last column (XFD): no spreadsheet program writes a wider row
MAX_LINE_BYTES = 8 * 1024 * 1024  # Excel holds 32,767 characters a cell; 8 MB is no row of one
NARROW = 26  # as for workbooks: a grid up to column Z is bounded by its rows alone
BLANK_LINES = 2_000_000  # blank lines allowed beyond the row limit (a million of them: ~0.3 s)
SEGMENT = 4 * 1024 * 1024
_CLOSE = re.compile(rb'(?:[^"]++|"")*+"')  # the rest of a quoted value, up to its closing quote


@dataclass(frozen=True)
class RowShape:
    """What the scan learnt about a text file's rows, for choosing how to parse it."""

    records: int  # rows as a parser sees them, blank ones included
    widest: int  # the most fields in one row
    reach: int  # the furthest field holding a value in any row (fields after it are all empty)
    quoted_breaks: bool  # a quoted value holds a line break (Arrow's block reader cannot split it)
    longest_line: int  # bytes in the longest physical line


def measure_rows(
    source: Path | bytes, delimiter: str, encoding: str, *, max_rows: int, segment: int = SEGMENT
) -> RowShape:
    """The shape of a CSV's rows; IntakeError naming the line when a row is too wide or too long,
    a quote never closes, or the grid would be too big to check."""
    # Blank lines are kept (row numbers stay those of the file), so they are bounded too.
    scan = _Scan(delimiter, max_lines=max_rows + BLANK_LINES)
    try:
        # The next segment is read from disk on a helper thread while this one is measured.
        with closing(_read_ahead(_segments(source, encoding, segment))) as pieces:
            for piece, final in pieces:
                scan.feed(piece, final)
        scan.finish()
    except _TooWide as wide:
        line = scan.line_of(wide.record, source, encoding, delimiter)
        count = f"{wide.reach:,}" if wide.reach else f"more than {MAX_FIELDS:,}"
        raise IntakeError(
            f"Line {line:,} has {count} columns; at most {MAX_COLUMNS} columns can be read.",
            hint="Check that line: a missing line break or a stray delimiter can run many values "
            "into one row. Keep only the URL and ID columns (and any you need for reference) and "
            "upload again.",
        ) from None
    if scan.over_grid():
        line = scan.line_of(scan.reach_record, source, encoding, delimiter)
        raise IntakeError(
            f"This file has {scan.records:,} rows and line {line:,} has values in "
            f"{scan.reach:,} columns: more than can be checked at once.",
            hint="Keep only the URL and ID columns (and any you need for reference), or split the "
            "file, and upload again.",
        )
    return RowShape(
        records=scan.records, widest=scan.widest, reach=scan.reach,
        quoted_breaks=scan.quoted_breaks, longest_line=scan.longest_line,
    )  # fmt: skip


def _segments(source: Path | bytes, encoding: str, size: int) -> Generator[tuple[bytes, bool]]:
    """The file's bytes a segment at a time (UTF-16 is measured as UTF-8: same rows, same fields)."""
    if encoding.startswith("utf-16"):
        data = source if isinstance(source, bytes) else source.read_bytes()
        source = data.decode(encoding, errors="replace").encode("utf-8")
    if isinstance(source, bytes):
        view = memoryview(source)
        for at in range(0, max(len(view), 1), size):
            yield bytes(view[at : at + size]), at + size >= len(view)
        return
    with open(source, "rb") as fh:
        piece = fh.read(size)
        while True:
            following = fh.read(size)
            yield piece, not following
            if not following:
                return
            piece = following


def _breaks(data: bytes) -> int:
    """Line breaks as an editor counts them: CR LF, LF, or a lone CR."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _row_ends(a: np.ndarray, data: bytes) -> np.ndarray:
    """Positions of the line breaks: every LF, and every CR not followed by one."""
    ends = np.flatnonzero(a == 10)
    if b"\r" not in data:
        return ends
    cr = np.flatnonzero(a == 13)
    following = a[np.minimum(cr + 1, len(a) - 1)]
    lone = cr[(following != 10) | (cr + 1 == len(a))]
    return np.union1d(ends, lone) if len(lone) else ends


class _Scan:
    """One pass over a CSV's bytes, keeping the widest row, the reach and the line being read."""

    def __init__(self, delimiter: str, *, max_lines: int) -> None:
        self.max_lines = max_lines
        d = re.escape(delimiter.encode())
        starts = rb"[" + d + rb"\r\n]"  # a quote right after one of these opens a value
        quoted = rb'"(?:[^"]++|"")*+"'
        # The quote comes first so the search can jump from quote to quote.
        self.quoted = re.compile(rb'"(?<=' + starts + rb'")' + quoted[1:])
        # Everything up to a quote that opens a value and does not close in the data at hand.
        self.prefix = re.compile(
            rb'(?:[^"]++|(?<=' + starts + rb")" + quoted + rb'|(?<!' + starts + rb')")*+'
        )
        self.delim = delimiter.encode()[0]
        self.field_starts = (b"\r", b"\n", delimiter.encode())
        self.previous = b"\n"  # the byte before the unread data, as far as field starts go
        self.held = b""  # last bytes whose meaning depends on the next one (a CR, a run of quotes)
        self.line = self.segment_line = 1  # the physical line the unread data starts on
        self.line_length = 0  # bytes of that line read so far
        self.longest_line = 0
        self.in_quote = False
        self.quote_line = self.quote_bytes = 0
        self.quoted_breaks = False
        self.records = 0  # rows finished
        self.delims = 0  # delimiters of the unfinished row
        self.row_reach = 0  # fields up to the last value in the unfinished row (0: none yet)
        self.widest = self.reach = 0
        self.open_row = False  # bytes read after the last row end
        self.reach_record = 0  # the first row reaching self.reach

    def feed(self, segment: bytes, final: bool) -> None:
        """Take the next segment of the file (``final`` for the last)."""
        data = self.held + segment if self.held else segment
        self.held = b""
        if not final:
            # A CR may be half of a CR LF, and a run of quotes means something else once the
            # next byte is known (""" is a quote and a closing one): both wait for the next segment.
            kept = data[:-1] if data.endswith(b"\r") else data.rstrip(b'"')
            data, self.held = kept, data[len(kept) :]
        a = np.frombuffer(data, dtype=np.uint8)
        ends = _row_ends(a, data)
        self._lines(data, ends)
        if self.line_length + len(self.held) > MAX_LINE_BYTES:
            self._too_long(self.line)
        if not self.in_quote and b'"' not in data:  # the usual case: every byte is structure
            self._rows(a, ends, data)
            self._remember_last(data)
            return
        at = 0
        if self.in_quote:
            close = _CLOSE.match(data)
            if close is None:
                self._inside_quote(data)
                return
            at = close.end()
            self._inside_quote(data[:at])
            self.in_quote = False
            self.previous = b"x"  # text after a closing quote joins the value
        text = self.previous + data[at:]
        # The pattern is starred, so it always matches (if only the empty string at 1).
        end = prefix.end() if (prefix := self.prefix.match(text, 1)) else 1
        body = self.quoted.sub(b"Q", text[:end])
        if body.count(b"\n") != text.count(b"\n", 0, end) or body.count(b"\r") != text.count(
            b"\r", 0, end
        ):
            self.quoted_breaks = True
        if end < len(text):  # a value opens and runs past this segment (or never closes)
            self.quote_line = self.segment_line + _breaks(data[: at + end - 1])
            self.in_quote, self.quote_bytes = True, 0
            body += b"Q"
        body = body[1:]
        b = np.frombuffer(body, dtype=np.uint8)
        self._rows(b, _row_ends(b, body), body)
        if self.in_quote:
            self._inside_quote(text[end:])
        else:
            self._remember_last(text)

    def _remember_last(self, text: bytes) -> None:
        if text:
            last = text[-1:]
            self.previous = last if last in self.field_starts else b"x"

    def _lines(self, data: bytes, ends: np.ndarray) -> None:
        """Count the segment's physical lines and refuse one longer than MAX_LINE_BYTES."""
        self.segment_line = self.line
        if len(ends) == 0:
            self.line_length += len(data)
        else:
            gaps = np.diff(ends)
            inner = int(gaps.max()) - 1 if len(gaps) else 0
            first = self.line_length + int(ends[0])
            longest = max(first, inner)
            if longest > MAX_LINE_BYTES:
                self._too_long(self.line + (0 if first > MAX_LINE_BYTES else int(np.argmax(gaps)) + 1))
            self.longest_line = max(self.longest_line, longest)
            self.line += len(ends)
            self.line_length = len(data) - int(ends[-1]) - 1
        if self.line_length > MAX_LINE_BYTES:
            self._too_long(self.line)
        self.longest_line = max(self.longest_line, self.line_length)

    def _too_long(self, line: int) -> None:
        raise IntakeError(
            f"Line {line:,} runs for more than {MAX_LINE_BYTES // (1024 * 1024)} MB without a line "
            "break; no row of a spreadsheet is that long.",
            hint="Check that the file really is a CSV export of the sheet (one row per line), "
            "or upload the .xlsx file instead.",
        )

    def _inside_quote(self, data: bytes) -> None:
        """Bytes inside a quoted value: they hold no fields, and a value that long is a lost quote."""
        if b"\n" in data or b"\r" in data:
            self.quoted_breaks = True
        self.quote_bytes += len(data)
        if self.quote_bytes > MAX_LINE_BYTES:
            raise IntakeError(
                f"Line {self.quote_line:,} opens a quoted value (\") that runs on for more than "
                f"{MAX_LINE_BYTES // (1024 * 1024)} MB: its closing quote is probably missing.",
                hint="Open the file in a text editor, close or remove that quote, and upload again.",
            )

    def _rows(self, a: np.ndarray, ends: np.ndarray, data: bytes) -> None:
        """Count fields and values row by row in quote-free bytes (quoted values stand as Q)."""
        delims = np.flatnonzero(a == self.delim)
        done = len(ends)
        tail_start = int(ends[-1]) + 1 if done else 0  # bytes after the last row end
        before = np.searchsorted(delims, ends)  # delimiters before each row end
        starts = np.concatenate([[0], before[:-1]])  # delimiters before each row's start
        fields = before - starts + 1
        if done:
            fields[0] += self.delims
        open_delims = len(delims) - (int(before[-1]) if done else -self.delims)
        if open_delims >= MAX_FIELDS:
            raise _TooWide(self.records + done, None)
        widest = int(fields.max()) if done else 0
        if widest > MAX_FIELDS:
            worst = int(np.argmax(fields > MAX_FIELDS))
            raise _TooWide(self.records + worst, int(fields[worst]))
        self.widest = max(self.widest, widest)
        if max(widest, open_delims + 1, self.row_reach) > NARROW:
            reach, open_reach = self._exact_reach(a, ends, delims, before, starts, tail_start)
        else:  # every row within Z: its field count stands for its reach
            reach = fields
            open_reach = open_delims + 1 if len(a) > tail_start else self.row_reach
        if done:
            worst = int(np.argmax(reach))
            if int(reach[worst]) > MAX_COLUMNS:
                raise _TooWide(self.records + worst, int(reach[worst]))
            self._note_reach(self.records + worst, int(reach[worst]))
        self.records += done
        if self.records > self.max_lines:
            raise IntakeError(
                f"This file has more than {self.max_lines:,} lines (blank ones included): more "
                "than can be checked at once.",
                hint="Remove the empty lines, or split the file into smaller ones, and upload again.",
            )
        self.delims = open_delims
        self.row_reach = open_reach
        self.open_row = len(a) > tail_start or (self.open_row and not done)

    def _exact_reach(self, a, ends, delims, before, starts, tail_start):  # noqa: ANN001, ANN202
        """Per finished row, and for the open one, the furthest field holding a value."""
        values = np.flatnonzero((a != 10) & (a != 13) & (a != self.delim))
        row_starts = np.concatenate([[-1], ends[:-1]])
        last = np.searchsorted(values, ends) - 1  # the last value byte before each row end
        at = values[np.maximum(last, 0)] if len(values) else np.zeros(len(ends), dtype=np.int64)
        has = (last >= 0) & (at > row_starts)
        reach = np.where(has, np.searchsorted(delims, at) - starts + 1, 0)
        if len(ends):
            reach[0] = reach[0] + self.delims if has[0] else self.row_reach
        open_reach = 0 if len(ends) else self.row_reach
        if len(values) and int(values[-1]) >= tail_start:
            carried = 0 if len(ends) else self.delims
            done_delims = int(before[-1]) if len(ends) else 0
            open_reach = carried + int(np.searchsorted(delims, values[-1])) - done_delims + 1
        return reach, open_reach

    def _note_reach(self, record: int, reach: int) -> None:
        if reach > self.reach:
            self.reach, self.reach_record = reach, record

    def finish(self) -> None:
        """The end of the file: an open quote never closed; the last row without a line break."""
        if self.in_quote:
            raise IntakeError(
                f"Line {self.quote_line:,} opens a quoted value (\") that is never closed, so "
                "everything after it would be read as one cell.",
                hint="Open the file in a text editor, close or remove that quote, and upload again.",
            )
        if self.open_row:
            if self.row_reach > MAX_COLUMNS:
                raise _TooWide(self.records, self.row_reach)
            self.widest = max(self.widest, self.delims + 1)
            self._note_reach(self.records, self.row_reach)
            self.records += 1

    def over_grid(self) -> bool:
        """Whether the rows padded to the furthest value would be more cells than can be checked."""
        return self.reach > NARROW and self.records * self.reach > MAX_GRID_CELLS

    def line_of(self, record: int, source: Path | bytes, encoding: str, delimiter: str) -> int:
        """The physical line a row starts on: its number, unless quoted values held line breaks."""
        if not self.quoted_breaks:
            return record + 1
        return line_of_record(source, encoding, delimiter, record)


class _TooWide(Exception):
    def __init__(self, record: int, reach: int | None) -> None:
        super().__init__(record, reach)
        self.record, self.reach = record, reach


def line_of_record(source: Path | bytes, encoding: str, delimiter: str, record: int) -> int:
    """The physical line row ``record`` (0-based) starts on, read again with the csv module."""
    raw = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            for _ in itertools.islice(reader, record):
                pass
        except csv.Error:
            return record + 1
        return reader.line_num + 1
