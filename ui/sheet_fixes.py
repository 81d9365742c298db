"""Fixing problem rows in place: the editable table of rows with errors and applying the edits.

Plain pandas, no Streamlit: the Upload page shows ``problem_rows`` in st.data_editor and hands
what came back to ``edits_from_editor``; ``apply_fixes`` gives a new SheetData to re-validate.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable
from typing import cast

import numpy as np
import pandas as pd

from atlas_core.intake import ERROR_CODES, WARNING_CODES, SheetData, ValidationReport
from atlas_core.intake.rules import PROBLEM_TITLES, warning_summary
from atlas_core.intake.textops import arrow_strings, subset
from atlas_core.ledger import CellFix

ROW = "Row"
PROBLEMS = "What to do"
KIND = "Kind"
EDITABLE_ROWS = 500  # more than this is a job for the spreadsheet itself (problems file)
IDENTIFYING_COLUMNS = 3  # the sheet's own columns shown beside a row (name, branch, ...)

TEMPLATE_CSV = (
    "document_id,file_url,customer_name\r\n"
    "APP-0001,https://your-bucket.s3.amazonaws.com/scans/APP-0001.jpg,Asha Rao\r\n"
    "APP-0002,https://your-bucket.s3.amazonaws.com/scans/APP-0002.jpg,Ravi Kumar\r\n"
).encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The template as an Excel workbook: the ID column formatted as Text, so Excel keeps long
    IDs and leading zeros as typed, and an example extra column (extra columns are kept)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.worksheets[0]  # a new workbook holds one sheet: the active one
    sheet.title = "documents"
    rows = [line.split(",") for line in TEMPLATE_CSV.decode("utf-8-sig").split("\r\n") if line]
    for row in rows:
        sheet.append(row)
    for r in range(1, 1001):  # the rows an analyst will type into, formatted as Text ("@")
        sheet.cell(row=r, column=1).number_format = "@"
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 64
    sheet.column_dimensions["C"].width = 20
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


Fixes = dict[int, dict[str, str]]  # spreadsheet row number -> {column: new text}


def problem_kinds(report: ValidationReport) -> list[str]:
    """The kinds of problem in the report, errors first, in the order of the checks."""
    present = set(report.problems_frame()["code"])
    return [c for c in ERROR_CODES + WARNING_CODES if c in present]


def problem_grid(
    report: ValidationReport, kinds: list[str] | None = None, limit: int = EDITABLE_ROWS
) -> pd.DataFrame:
    """The problem list and the fix grid in one table.

    First one line per row in error (at most ``limit``): its row number, what to do, the ID and
    URL (editable) and the sheet's own identifying columns; then one line per kind of warning,
    with a count. ``kinds`` (codes) limits the table to those kinds.
    """
    table = report.problems_frame()
    if kinds is not None:
        table = table[table["code"].isin(kinds)]
    sheet = report.sheet
    numbers = np.asarray(sheet.row_numbers)
    errors = table[table["severity"] == "error"]
    error_rows = pd.unique(errors["row"].to_numpy())[:limit]
    positions = np.flatnonzero(np.isin(numbers, error_rows))
    # Errors of a row first (the table is ordered by row, then by check), in words.
    said = errors[errors["row"].isin(error_rows)].groupby("row", sort=False)
    what = said["message"].agg(" · ".join)
    kind = said["code"].agg(
        lambda codes: ", ".join(dict.fromkeys(PROBLEM_TITLES[c] for c in codes))
    )
    shown = numbers[positions].astype(int)
    grid = pd.DataFrame(
        {
            ROW: shown.astype(str).astype(object),  # text, so a warning line can say "4 rows"
            PROBLEMS: what.reindex(shown).fillna("").to_numpy(dtype=object),
        }
    )
    # The sheet's own columns (name, branch) right beside the row, before the long link.
    for column in [*identifying_columns(report), report.id_column, report.url_column]:
        grid[column] = _cells(sheet.frame[column], positions)
    grid[KIND] = kind.reindex(shown).fillna("").to_numpy(dtype=object)
    warnings = table[table["severity"] == "warning"]
    if len(warnings):
        counts = warnings.groupby("code")["row"].nunique()
        lines = pd.DataFrame(
            {
                ROW: [_rows(int(counts[c])) for c in _ordered(counts.index)],
                PROBLEMS: [warning_summary(c, int(counts[c]), report.earlier_uploads)
                           for c in _ordered(counts.index)],  # fmt: skip
                KIND: [PROBLEM_TITLES[c] for c in _ordered(counts.index)],
            }
        )
        grid = pd.concat([grid, lines], ignore_index=True).fillna("")
    return grid


def identifying_columns(report: ValidationReport) -> list[str]:
    """The sheet's other columns that tell a person which row this is (name, branch), at most a few."""
    chosen = (report.id_column, report.url_column)
    return [c for c in report.sheet.columns if c not in chosen and c not in (ROW, PROBLEMS, KIND)][
        :IDENTIFYING_COLUMNS
    ]


def _cells(column: pd.Series, positions: np.ndarray) -> np.ndarray:
    """The cells at ``positions`` as text, taken chunk by chunk (no copy of the whole column)."""
    taken = subset(arrow_strings(column), positions)
    return taken.to_numpy(zero_copy_only=False).astype(object)


def is_sheet_row(grid: pd.DataFrame) -> pd.Series:
    """Which lines of ``problem_grid`` are rows of the sheet (the others sum up warnings)."""
    return grid[ROW].astype(str).str.fullmatch(r"\d+")


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def _ordered(codes: Iterable[object]) -> list[str]:
    present = set(codes)
    return [c for c in ERROR_CODES + WARNING_CODES if c in present]


def problem_rows(report: ValidationReport, limit: int = EDITABLE_ROWS) -> pd.DataFrame:
    """The rows with errors (at most ``limit``), as in ``problem_grid`` without the warning lines."""
    grid = problem_grid(report, limit=limit)
    return grid[is_sheet_row(grid)].reset_index(drop=True)


def edits_from_editor(
    before: pd.DataFrame, after: pd.DataFrame, editable: tuple[str, ...] | None = None
) -> Fixes:
    """The cells the user changed in the editor, by spreadsheet row number and column.

    Lines without a row number (the warning summaries) are not rows of the sheet: edits there
    are ignored.
    """
    fixes: Fixes = {}
    columns = [c for c in before.columns if c not in (ROW, PROBLEMS, KIND)]
    if editable is not None:
        columns = [c for c in columns if c in editable]
    rows = before[ROW].where(is_sheet_row(before), None)
    for column in columns:
        old = before[column].fillna("").astype(str).to_numpy()
        new = after[column].fillna("").astype(str).to_numpy()
        for i in np.flatnonzero(old != new):
            if pd.isna(rows.iloc[i]):
                continue
            fixes.setdefault(int(rows.iloc[i]), {})[column] = new[i]
    return fixes


def merge_fixes(earlier: Fixes, later: Fixes) -> Fixes:
    """Earlier fixes with later ones on top (a cell fixed twice keeps the last text)."""
    merged = {row: dict(cells) for row, cells in earlier.items()}
    for row, cells in later.items():
        merged.setdefault(row, {}).update(cells)
    return merged


def fixed_cells(sheet: SheetData, fixes: Fixes) -> tuple[CellFix, ...]:
    """The cells ``fixes`` changes in the sheet as read: row, column, the sheet's value and the new
    one, by row then column. A cell retyped as it was is no change, and is left out."""
    numbers = np.asarray(sheet.row_numbers)
    position_of = {int(n): i for i, n in enumerate(numbers)}
    found = []
    for row in sorted(fixes):
        if row not in position_of:
            continue
        for column, new in fixes[row].items():
            if column not in sheet.frame.columns:
                continue
            position = cast(int, sheet.frame.columns.get_loc(column))
            old = sheet.frame.iloc[position_of[row], position]
            old_text = None if old is None or (isinstance(old, float) and np.isnan(old)) else str(old)
            if (old_text or "") != (new or ""):
                found.append(CellFix(row, str(column), old_text, new))
    return tuple(found)


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
    # A cell the analyst retyped is no longer what Excel stored: its "mangled number" flag goes.
    mangled = {
        column: frozenset(r for r in rows if column not in fixes.get(int(r), {}))
        for column, rows in sheet.mangled_numbers.items()
    }
    return dataclasses.replace(sheet, frame=frame, mangled_numbers=mangled)
