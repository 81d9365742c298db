"""Making cells safe for spreadsheets: formula neutralisation and the limits of the XLSX format.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return could be run
as a formula when a CSV is opened in Excel or LibreOffice (CSV injection); OWASP's advice is to
prefix it with a single quote, which we do in CSV and XLSX alike so both files read the same.
The full-width forms of those signs are included because some spreadsheet locales accept them.
Only text is touched: a real number (-5.0) stays a number, while the *text* "-5" gets the quote.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

FORMULA_PREFIXES: tuple[str, ...] = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)
XLSX_MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
XLSX_TRUNCATED_MARK = "…[truncated]"
# Excel keeps 15 significant digits; a bigger integer would come back altered, so it goes as text.
_XLSX_EXACT_INT = 10**15
# Control characters the XML inside an XLSX cannot hold (openpyxl refuses them).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def neutralise_text(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would run as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


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


def xlsx_cell(value: Any) -> Any:
    """A cell for openpyxl: a number Excel holds exactly, or neutralised, legal, bounded text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < _XLSX_EXACT_INT:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    text = _XML_ILLEGAL.sub("\ufffd", value if isinstance(value, str) else str(value))
    text = neutralise_text(text)
    if len(text) > XLSX_MAX_CELL_CHARS:
        text = text[: XLSX_MAX_CELL_CHARS - len(XLSX_TRUNCATED_MARK)] + XLSX_TRUNCATED_MARK
    return text
