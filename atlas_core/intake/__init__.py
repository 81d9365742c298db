"""Spreadsheet intake: read any sheet an analyst has, find the URL and ID columns, explain every bad row.

read_spreadsheet(source) -> SheetData        every cell as text, row numbers as the user sees them
detect_columns(frame) -> ColumnMapping       by header name, else by content
validate_sheet(sheet) -> ValidationReport    vectorised checks; nothing about a value is changed
"""

from __future__ import annotations

from .mapping import detect_columns
from .models import ColumnMapping, Problem, SheetData, ValidRow
from .reading import list_sheets, read_spreadsheet
from .report import ValidationReport
from .rules import ERROR_CODES, WARNING_CODES
from .validation import validate_sheet

__all__ = [
    "ERROR_CODES",
    "WARNING_CODES",
    "ColumnMapping",
    "Problem",
    "SheetData",
    "ValidRow",
    "ValidationReport",
    "detect_columns",
    "list_sheets",
    "read_spreadsheet",
    "validate_sheet",
]
