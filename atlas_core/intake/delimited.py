"""Reading CSV and TSV files into a grid of text, whatever their encoding and delimiter."""

from __future__ import annotations

import csv
import io
import itertools
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from ..errors import IntakeError
from .excel import _gc_paused
from .rowshape import MAX_LINE_BYTES, RowShape, measure_rows
from .sniffing import detect_encoding, legacy_note, sniff_delimiter

log = logging.getLogger(__name__)

Source = Path | bytes
# Arrow's parser reads in blocks of about a megabyte and cannot follow a longer line, nor a quoted
# line break across blocks; the csv module reads those files instead.
FAST_LINE_BYTES = 1024 * 1024
_ARROW_BLOCK_BYTES = 32 * 1024 * 1024  # more than any line measure_rows lets through
_ROWS_PER_BATCH_CELLS = 1_000_000  # the slow path turns rows into Arrow columns this many cells at a time


def read_delimited(
    source: Source, head: bytes, *, max_rows: int
) -> tuple[pd.DataFrame, str, str, list[str]]:
    """A text file as a grid of strings (no header taken yet), with its encoding, delimiter and notes."""
    encoding, note = detect_encoding(head)
    notes = [note] if note else []
    delimiter = sniff_delimiter(head.decode(encoding, errors="ignore"))
    # Measured first, in bounded time and memory: a parser would lay out whatever it is given.
    shape = measure_rows(source, delimiter, encoding, max_rows=max_rows)
    width = max(shape.reach, 1)  # fields after the furthest value are empty in every row
    try:
        grid = _read_utf(source, delimiter, encoding, width, shape)
    except _NotUtf8:
        encoding, notes = "cp1252", [legacy_note()]
        grid = _read_legacy(source, delimiter, width)
    return grid, encoding, delimiter, notes


def _read_utf(
    source: Source, delimiter: str, encoding: str, width: int, shape: RowShape
) -> pd.DataFrame:
    """The grid, read by Arrow when it can follow the file, else by the csv module."""
    try:
        if shape.quoted_breaks or shape.longest_line > FAST_LINE_BYTES:
            return _read_arrow(source, delimiter, encoding, min(width, shape.widest))
        return _read_fast(source, delimiter, encoding, width if width < shape.widest else None)
    except _Ragged:
        log.info("rows of different widths; reading with the csv module")
        return _read_ragged(_text(source, encoding), delimiter, width)


class _NotUtf8(Exception):
    pass


class _Ragged(Exception):
    pass


def _read_fast(source: Source, delimiter: str, encoding: str, width: int | None) -> pd.DataFrame:
    # The pyarrow engine parses in parallel and keeps strings in Arrow buffers, which is what
    # makes a million rows cheap; every cell stays text and "NA"/"null" stay as typed. Columns
    # past ``width`` (empty in every row, like the commas Excel pads rows with) are not kept.
    src = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return pd.read_csv(
            src,
            engine="pyarrow",
            dtype=str,
            header=None,
            sep=delimiter,
            encoding=encoding,
            keep_default_na=False,
            skip_blank_lines=False,
            usecols=None if width is None else range(width),
        )
    except pd.errors.EmptyDataError:
        raise IntakeError(
            "The file is empty.",
            hint="Upload a spreadsheet with a header row and one row per document.",
        ) from None
    except UnicodeDecodeError:
        if encoding == "utf-8":
            raise _NotUtf8 from None
        raise _unreadable_text(encoding) from None
    except pd.errors.ParserError as exc:
        text = str(exc)
        if "UTF8" in text or "utf-8" in text.lower():
            if encoding == "utf-8":
                raise _NotUtf8 from None
            raise _unreadable_text(encoding) from None
        if "Expected" in text and "columns" in text:
            raise _Ragged from None
        raise IntakeError(
            f"The file could not be read as CSV ({text.splitlines()[0][:120]}).",
            hint="Open it in Excel and save it again as 'CSV UTF-8', or upload the .xlsx file.",
        ) from None


def _read_arrow(source: Source, delimiter: str, encoding: str, width: int) -> pd.DataFrame:
    """Arrow's parser told that values hold line breaks, with blocks big enough for long lines."""
    names = [f"f{j}" for j in range(width)]
    src = pa.BufferReader(source) if isinstance(source, bytes) else str(source)
    try:
        table = pcsv.read_csv(
            src,  # type: ignore[arg-type]  # pyarrow-stubs: read_csv takes a NativeFile too
            pcsv.ReadOptions(
                autogenerate_column_names=True, block_size=_ARROW_BLOCK_BYTES, encoding=encoding
            ),
            pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
            pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), include_columns=names,
                null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "UTF8" in text or "utf-8" in text.lower():
            raise _NotUtf8 if encoding == "utf-8" else _unreadable_text(encoding) from None
        raise _Ragged from None  # rows of other widths, or a row longer than a block
    text_types: dict[pa.DataType, pd.api.extensions.ExtensionDtype] = {
        pa.string(): pd.StringDtype(na_value=np.nan)
    }
    grid = table.to_pandas(types_mapper=text_types.get)
    grid.columns = pd.RangeIndex(grid.shape[1])
    return grid


def _read_legacy(source: Source, delimiter: str, width: int) -> pd.DataFrame:
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        # Five byte values are undefined in cp1252; latin-1 keeps them as (flagged) control chars.
        text = data.decode("latin-1")
    return _read_ragged(text, delimiter, width)


def _text(source: Source, encoding: str) -> str:
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        if encoding == "utf-8":
            raise _NotUtf8 from None
        raise _unreadable_text(encoding) from None


def _read_ragged(text: str, delimiter: str, width: int) -> pd.DataFrame:
    """Slow path (rows of different widths, long lines, quoted line breaks): rows padded or cut
    to ``width``, the furthest field holding a value, and turned into Arrow a batch at a time."""
    if text.startswith("\ufeff"):
        text = text[1:]
    # measure_rows has refused every line over MAX_LINE_BYTES, so no field is longer.
    if csv.field_size_limit() <= MAX_LINE_BYTES:
        csv.field_size_limit(MAX_LINE_BYTES + 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    chunks: list[list[pa.Array]] = [[] for _ in range(width)]
    batch_rows = max(1, _ROWS_PER_BATCH_CELLS // width)
    try:
        # The rows' lists form no cycles; collections walking them would only slow the read.
        with _gc_paused():
            while batch := list(itertools.islice(reader, batch_rows)):
                for j, column in enumerate(_columns(batch, width)):
                    # A list converts several times faster than the tuple zip gives.
                    chunks[j].append(pa.array(list(column), type=pa.large_string()))
    except csv.Error as exc:
        raise IntakeError(
            f"The file could not be read as CSV ({exc}).",
            hint="Open it in Excel and save it again as 'CSV UTF-8', or upload the .xlsx file.",
        ) from None
    if not chunks[0]:
        raise IntakeError(
            "The file is empty.",
            hint="Upload a spreadsheet with a header row and one row per document.",
        )
    return pd.DataFrame(
        {
            j: pd.array(pa.chunked_array(parts), dtype="str")  # type: ignore[call-overload]  # pandas-stubs: Arrow arrays are taken
            for j, parts in enumerate(chunks)
        }
    )


def _columns(rows: list[list[str]], width: int) -> Iterable[tuple[str, ...]]:
    """Rows padded with empty cells, or cut, to ``width``, as columns."""
    padded = [r if len(r) == width else (r + [""] * (width - len(r)))[:width] for r in rows]
    return zip(*padded, strict=True)


def _unreadable_text(encoding: str) -> IntakeError:
    return IntakeError(
        f"The file looks like {encoding} text but contains bytes that are not valid {encoding}.",
        hint="Open it in Excel and save it again as 'CSV UTF-8'.",
    )
