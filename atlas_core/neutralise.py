"""Making cells safe for spreadsheets: formula neutralisation and the limits of the XLSX format.

Every file the product writes for a spreadsheet (results in every layout, the problems file,
failed documents, the reconciliation report) takes its cells from here, so one rule holds.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a line break or a NUL, or with
blanks before one of those signs (Excel and LibreOffice skip leading spaces when they read a
formula), could be run as a formula when the file is opened (CSV injection); OWASP's advice is to
prefix it with a single quote, which the CSV files and the results XLSX do, so both read the same.
The full-width forms of the signs are included because some spreadsheet locales accept them.
Only text is touched: a real number (-5.0) stays a number, while the *text* "-5" gets the quote.
A NUL byte never reaches a file: many readers stop at it, so it becomes U+FFFD.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import IO, Any

FORMULA_SIGNS: tuple[str, ...] = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A cell starting with any of these is quoted, whatever follows.
FORMULA_PREFIXES: tuple[str, ...] = (*FORMULA_SIGNS, "\t", "\r", "\n", "\0")
# Blanks a spreadsheet may skip before a formula sign: every Unicode space, zero-width ones, NUL.
LEADING_BLANKS = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u2060\u3000\ufeff\0"
)
XLSX_MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
_CSV_FLUSH_CHARS = 1 << 18  # text held before it is encoded and written
XLSX_TRUNCATED_MARK = "…[truncated]"
# Excel keeps 15 significant digits; a bigger integer would come back altered, so it goes as text.
_XLSX_EXACT_INT = 10**15
# Control characters the XML inside an XLSX cannot hold (openpyxl refuses them).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Every first character that can make text formula-like (each prefix is one character): text
# starting with none of them and holding no NUL is returned as it is, with one set lookup.
_RISKY_FIRST = frozenset(FORMULA_PREFIXES) | frozenset(LEADING_BLANKS)


def is_formula_like(text: str) -> bool:
    """True for text a spreadsheet might run as a formula (a sign first, or after blanks)."""
    if text.startswith(FORMULA_PREFIXES):
        return True
    return text[:1] in LEADING_BLANKS and text.lstrip(LEADING_BLANKS).startswith(FORMULA_SIGNS)


def neutralise_text(text: str) -> str:
    """Text safe in a spreadsheet cell: NUL replaced, and a quote before anything formula-like."""
    if text[:1] not in _RISKY_FIRST and "\0" not in text:  # most cells: nothing to do
        return text
    quote = "'" if is_formula_like(text) else ""
    return quote + text.replace("\0", "\ufffd") if "\0" in text else quote + text


def csv_cell(value: Any) -> Any:
    """A cell ready for csv.writer: finite numbers as they are, everything else neutralised text."""
    if value is None:
        return ""
    if type(value) is str:  # the common case first: this runs once per cell of an export
        return neutralise_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return neutralise_text(value if isinstance(value, str) else str(value))


def csv_cells(values: Iterable[Any]) -> list[Any]:
    """``csv_cell`` of each value; text that cannot be formula-like is taken without the call."""
    risky = _RISKY_FIRST
    return [
        value
        if (kind := type(value)) is str and value[:1] not in risky and "\0" not in value
        # a finite float (inf - inf and nan - nan are nan)
        or kind is float and value - value == 0.0
        else "" if value is None  # the many empty cells, without a call each
        else csv_cell(value)
        for value in values
    ]


def xlsx_cells(values: Iterable[Any]) -> list[Any]:
    """``xlsx_cell`` of each value; printable ASCII that cannot be formula-like skips the call."""
    risky = _RISKY_FIRST
    return [
        value
        if type(value) is str
        and value[:1] not in risky
        and value.isascii()
        and value.isprintable()
        and len(value) <= XLSX_MAX_CELL_CHARS
        or value is None
        else xlsx_cell(value)
        for value in values
    ]


def xlsx_cell(value: Any) -> Any:
    """A cell for an XLSX: a number Excel holds exactly, or neutralised, legal, bounded text."""
    if value is None:
        return None
    if type(value) is str and value.isascii() and value.isprintable() and len(value) < 32_000:
        # the common case first: printable ASCII holds no character XML refuses
        return neutralise_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < _XLSX_EXACT_INT:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    text = neutralise_text(value if isinstance(value, str) else str(value))
    text = _XML_ILLEGAL.sub("\ufffd", text)
    if len(text) > XLSX_MAX_CELL_CHARS:
        text = text[: XLSX_MAX_CELL_CHARS - len(XLSX_TRUNCATED_MARK)] + XLSX_TRUNCATED_MARK
    return text


def write_csv_table(table: Iterable[Sequence[Any]], target: IO[bytes]) -> int:
    """Write a header and rows as CSV (UTF-8 BOM, text quoted, neutralised); returns data rows.

    Every text cell is quoted, so a line break inside one (CR too) never splits the row.
    """
    lines = iter(table)
    header = next(lines, None)
    if header is None:
        return write_csv_pages(None, (), target)
    pages = ([[csv_cell(value) for value in line]] for line in lines)
    return write_csv_pages([csv_cell(value) for value in header], pages, target)


def write_csv_pages(
    header: Sequence[Any] | None, pages: Iterable[Sequence[Sequence[Any]]], target: IO[bytes]
) -> int:
    """Write a header and pages of rows whose cells ``csv_cell`` already made; returns data rows.

    The same file as ``write_csv_table``, for exports that neutralise their cells as they make
    them (only the cells present, before the wide layout spreads them over empty columns).
    """
    # Rows are written to text a page at a time and encoded once per page (not once per row,
    # as a TextIOWrapper does). The BOM Excel needs to read Devanagari goes first, with the first
    # text (an empty export stays empty, as utf-8-sig writes it); "replace" survives lone
    # surrogates.
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    bom = codecs.BOM_UTF8
    count = 0

    def flush() -> None:
        nonlocal bom
        text = buffer.getvalue()
        if text:
            target.write(bom + text.encode("utf-8", errors="replace"))
            bom = b""
            buffer.seek(0)
            buffer.truncate()

    if header is not None:
        writer.writerow(header)
    for page in pages:
        writer.writerows(page)
        count += len(page)
        if buffer.tell() >= _CSV_FLUSH_CHARS:
            flush()
    flush()
    return count
