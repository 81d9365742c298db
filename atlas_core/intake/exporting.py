"""The file to fix and re-upload: the rows as read plus a ``problems`` column, as CSV or xlsx.

Cells go through ``atlas_core.neutralise`` like every other file the product writes: in CSV a
formula-like cell gets a leading quote (a sheet cell is untrusted input, and the file is opened
in Excel); in xlsx the text stays exact and the cell is marked as typed-in text (quotePrefix),
so Excel never evaluates it, even on edit.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..neutralise import is_formula_like, write_csv_table

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell

    from .report import ValidationReport

# Characters XML (and so xlsx) cannot hold, or turns into another (a lone CR reads back as LF);
# the xlsx export shows them as \xNN.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")


def export_frame(report: ValidationReport, *, only_problems: bool = False) -> pd.DataFrame:
    """The sheet's rows: the spreadsheet row number, the original columns and a ``problems`` column.

    Rows with problems come first (in sheet order), then the rest, so a person opening the file
    starts with what to fix; the row number says where each row sits in their own sheet.
    """
    frame = report.sheet.frame.copy()
    messages = report.messages_by_position()
    column, row_column = "problems", "row"
    while column in frame.columns:
        column = f"_{column}"
    while row_column in frame.columns:
        row_column = f"_{row_column}"
    problems = pd.Series("", index=range(len(frame)), dtype=object)
    problems[messages.index] = messages.to_numpy(dtype=object)
    frame[column] = problems.to_numpy()
    frame.insert(0, row_column, np.asarray(report.sheet.row_numbers))
    flagged = messages.index.to_numpy(dtype=np.int64)
    if only_problems:
        return frame.iloc[flagged]
    rest = np.ones(len(frame), dtype=bool)
    rest[flagged] = False
    return frame.iloc[np.concatenate([flagged, np.flatnonzero(rest)])]


def problems_file(
    report: ValidationReport, fmt: str = "csv", *, only_problems: bool = False
) -> bytes:
    """CSV (UTF-8 with BOM, so Excel shows every script) or xlsx bytes of ``export_frame``."""
    frame = export_frame(report, only_problems=only_problems)
    if fmt == "csv":
        buffer = io.BytesIO()
        rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        write_csv_table([list(frame.columns), *rows], buffer)
        return buffer.getvalue()
    if fmt == "xlsx":
        return _xlsx_bytes(frame)
    raise ValueError(f"unknown export format {fmt!r}; use 'csv' or 'xlsx'")


def _xlsx_bytes(frame: pd.DataFrame) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("rows")

    def text_cell(value: object) -> Cell:
        text = _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
        cell = WriteOnlyCell(sheet)
        # Set as a plain string: assigning through .value would make "=..." a live formula.
        cell._value = text  # type: ignore[attr-defined]  # openpyxl's stubs omit Cell._value
        cell.data_type = "s"
        if is_formula_like(text):
            cell.quotePrefix = True  # typed-in text marker: Excel never evaluates it, even on edit
        return cell

    sheet.append([text_cell(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        sheet.append([text_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
