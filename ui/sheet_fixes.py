"""Fixing problem rows in place: the editable table of rows with errors and applying the edits.

Plain pandas, no Streamlit: the Upload page shows ``problem_rows`` in st.data_editor and hands
what came back to ``edits_from_editor``; ``apply_fixes`` gives a new SheetData to re-validate.
"""

from __future__ import annotations

import dataclasses
from typing import cast

import numpy as np
import pandas as pd

from atlas_core.intake import SheetData, ValidationReport

ROW = "Row"
PROBLEMS = "Problems"
EDITABLE_ROWS = 500  # more than this is a job for the spreadsheet itself (problems file)

TEMPLATE_CSV = (
    "document_id,file_url\r\n"
    "APP-0001,https://your-bucket.s3.amazonaws.com/scans/APP-0001.jpg\r\n"
    "APP-0002,https://your-bucket.s3.amazonaws.com/scans/APP-0002.jpg\r\n"
).encode("utf-8-sig")


Fixes = dict[int, dict[str, str]]  # spreadsheet row number -> {column: new text}


def problem_rows(report: ValidationReport, limit: int = EDITABLE_ROWS) -> pd.DataFrame:
    """The rows with errors (at most ``limit``): row number, ID, URL and what is wrong, as text."""
    table = report.problems_frame()
    error_rows = pd.unique(table.loc[table["severity"] == "error", "row"].to_numpy())[:limit]
    sheet = report.sheet
    numbers = np.asarray(sheet.row_numbers)
    positions = np.flatnonzero(np.isin(numbers, error_rows))
    messages = report.messages_by_position()
    return pd.DataFrame(
        {
            ROW: numbers[positions].astype(int),
            report.id_column: sheet.frame[report.id_column].to_numpy(dtype=object)[positions],
            report.url_column: sheet.frame[report.url_column].to_numpy(dtype=object)[positions],
            PROBLEMS: messages.reindex(positions).fillna("").to_numpy(dtype=object),
        }
    )


def edits_from_editor(before: pd.DataFrame, after: pd.DataFrame) -> Fixes:
    """The cells the user changed in the editor, by spreadsheet row number and column."""
    fixes: Fixes = {}
    columns = [c for c in before.columns if c not in (ROW, PROBLEMS)]
    for column in columns:
        old = before[column].fillna("").astype(str).to_numpy()
        new = after[column].fillna("").astype(str).to_numpy()
        for i in np.flatnonzero(old != new):
            fixes.setdefault(int(before[ROW].iloc[i]), {})[column] = new[i]
    return fixes


def merge_fixes(earlier: Fixes, later: Fixes) -> Fixes:
    """Earlier fixes with later ones on top (a cell fixed twice keeps the last text)."""
    merged = {row: dict(cells) for row, cells in earlier.items()}
    for row, cells in later.items():
        merged.setdefault(row, {}).update(cells)
    return merged


def apply_fixes(sheet: SheetData, fixes: Fixes) -> SheetData:
    """A copy of the sheet with the fixed cells replaced (the original is left untouched)."""
    if not fixes:
        return sheet
    frame = sheet.frame.copy()
    numbers = np.asarray(sheet.row_numbers)
    position_of = {int(n): i for i, n in enumerate(numbers)}
    for row, cells in fixes.items():
        if row not in position_of:
            continue
        for column, value in cells.items():
            # An int: a sheet's column names are unique (intake numbers repeated ones).
            position = cast(int, frame.columns.get_loc(column))
            frame.iloc[position_of[row], position] = value
    return dataclasses.replace(sheet, frame=frame)
