"""Reading CSV and TSV files into a grid of text, whatever their encoding and delimiter."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pandas as pd

from ..errors import IntakeError
from .sniffing import detect_encoding, legacy_note, sniff_delimiter

log = logging.getLogger(__name__)

Source = Path | bytes


def read_delimited(source: Source, head: bytes) -> tuple[pd.DataFrame, str, str, list[str]]:
    """A text file as a grid of strings (no header taken yet), with its encoding, delimiter and notes."""
    encoding, note = detect_encoding(head)
    notes = [note] if note else []
    delimiter = sniff_delimiter(head.decode(encoding, errors="ignore"))
    try:
        grid = _read_fast(source, delimiter, encoding)
    except _NotUtf8:
        encoding, notes = "cp1252", [legacy_note()]
        grid = _read_legacy(source, delimiter)
    except _Ragged:
        log.info("rows of different widths; reading with the csv module")
        grid = _read_ragged(_text(source, encoding), delimiter)
    return grid, encoding, delimiter, notes


class _NotUtf8(Exception):
    pass


class _Ragged(Exception):
    pass


def _read_fast(source: Source, delimiter: str, encoding: str) -> pd.DataFrame:
    # The pyarrow engine parses in parallel and keeps strings in Arrow buffers, which is what
    # makes a million rows cheap; every cell stays text and "NA"/"null" stay as typed.
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


def _read_legacy(source: Source, delimiter: str) -> pd.DataFrame:
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        # Five byte values are undefined in cp1252; latin-1 keeps them as (flagged) control chars.
        text = data.decode("latin-1")
    return _read_ragged(text, delimiter)


def _text(source: Source, encoding: str) -> str:
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise _unreadable_text(encoding) from None


def _read_ragged(text: str, delimiter: str) -> pd.DataFrame:
    """Slow path for files whose rows differ in width: short rows are padded, long rows kept."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise IntakeError(
            f"The file could not be read as CSV ({exc}).",
            hint="Open it in Excel and save it again as 'CSV UTF-8', or upload the .xlsx file.",
        ) from None
    if not rows:
        raise IntakeError(
            "The file is empty.",
            hint="Upload a spreadsheet with a header row and one row per document.",
        )
    width = max(len(r) for r in rows)
    padded = [r + [""] * (width - len(r)) for r in rows]
    columns = list(zip(*padded, strict=True))
    return pd.DataFrame({i: pd.array(col, dtype="str") for i, col in enumerate(columns)})


def _unreadable_text(encoding: str) -> IntakeError:
    return IntakeError(
        f"The file looks like {encoding} text but contains bytes that are not valid {encoding}.",
        hint="Open it in Excel and save it again as 'CSV UTF-8'.",
    )
