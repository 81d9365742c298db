"""Writing downloads as Excel: rustpy-xlsxwriter in constant memory, one or more sheets.

Every sheet has its header row frozen and filters on it; ID columns are stored as text (an
"@" format, and no "number stored as text" warning), so "00123" stays "00123". A table past
Excel's 1,048,576 rows carries on in a new sheet. Cells come made by ``neutralise.xlsx_cell``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any, BinaryIO, cast

from .. import neutralise
from ..errors import AtlasError

SHEET_NAME_CHARS = 31  # Excel's limit
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


@dataclass
class XlsxSheet:
    """One table to write: its title, header, rows (sequences of made cells) and row count."""

    title: str
    header: list[Any]
    rows: Iterator[Sequence[Any]]
    count: int
    text_columns: Sequence[str] = field(default_factory=tuple)  # IDs: stored as text


def sheet_title(name: object, taken: set[str]) -> str:
    """A sheet name Excel takes (31 characters, none of []:*?/\\, unique in any case)."""
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("' ") or "sheet"
    if base.casefold() == "history":  # Excel reserves it
        base = "history_"
    title, n = base[:SHEET_NAME_CHARS], 1
    while title.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        title = base[: SHEET_NAME_CHARS - len(suffix)] + suffix
    taken.add(title.casefold())
    return title


def write_xlsx(sheets: Sequence[XlsxSheet], target: IO[bytes]) -> int:
    """Write the tables as sheets of one workbook; returns the first table's row count."""
    import rustpy_xlsxwriter  # imported here: only Excel downloads pay for it

    entries: list[tuple[str, Any]] = []
    text: dict[str, list[str]] = {}
    taken: set[str] = set()
    for sheet in sheets:
        if len(sheet.header) > neutralise.XLSX_MAX_COLUMNS:
            raise AtlasError(
                f"This export needs {len(sheet.header):,} columns, more than Excel's"
                f" {neutralise.XLSX_MAX_COLUMNS:,}.",
                hint="Export the long layout or CSV instead.",
            )
        header = unique_names(sheet.header)
        per_sheet = neutralise.XLSX_MAX_ROWS - 1  # the header takes one row
        parts = max(1, (sheet.count + per_sheet - 1) // per_sheet)
        for n in range(parts):
            title = sheet_title(sheet.title if n == 0 else f"{sheet.title} ({n + 1})", taken)
            entries.append((title, _records(header, sheet.rows, sheet.count, per_sheet)))
            ids = [h for h, original in zip(header, sheet.header, strict=True)
                   if original in sheet.text_columns]
            if ids:
                text[title] = ids
    titles = [title for title, _ in entries]
    as_text = rustpy_xlsxwriter.Format().set_num_format("@")
    # the writer takes a list of columns or a dict of cell ranges per sheet; we give columns
    ignored: dict[str, list[str] | dict[str, str]] = {title: ids for title, ids in text.items()}
    rustpy_xlsxwriter.write_worksheets(
        entries,
        cast(BinaryIO, target),  # it only writes
        freeze_panes={"general": {"row": 1, "col": 0}},  # the header stays in view
        autofilter=dict.fromkeys(titles, True),  # and filters on it
        ignore_errors=ignored or None,
        column_formats={title: dict.fromkeys(ids, as_text) for title, ids in text.items()} or None,
    )
    return sheets[0].count if sheets else 0


def _records(header: list[str], rows: Iterator[Sequence[Any]], count: int, per_sheet: int) -> Any:
    if not count:  # no rows: a frame with the columns only, so the header is still written
        import pandas as pd

        return pd.DataFrame(columns=header)
    # the writer takes one dict per row; it reads the sheets one after the other, each taking
    # its share of the same stream
    return (dict(zip(header, line, strict=True)) for line in islice(rows, per_sheet))


def unique_names(header: Sequence[Any]) -> list[str]:
    """The header as text with a number on each repeat: the writer keys a row by column name,
    and two names made equal by neutralising ("=a" and "'=a") would lose a column."""
    seen: set[str] = set()
    names = []
    for name in header:
        text, n = str(name), 1
        while text in seen:
            n += 1
            text = f"{name}_{n}"
        seen.add(text)
        names.append(text)
    return names
