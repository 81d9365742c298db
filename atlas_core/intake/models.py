"""The plain data the intake rooms hand each other: a sheet as read, a column mapping, problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class SheetData:
    """A spreadsheet read as text: every cell a string ("" when empty), as the user typed it.

    ``row_numbers[i]`` is the row number the user sees in their spreadsheet for ``frame.iloc[i]``
    (1-based, counting title and header rows). ``mangled_numbers`` maps a column name to the row
    numbers of cells Excel stored as a number too long to be exact (more than 15 digits).
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    header_row: int
    filename: str | None
    sha256: str
    size_bytes: int
    file_format: str  # "csv", "xlsx", "xlsm", "xls", "ods"
    sheet_name: str | None = None
    sheet_names: tuple[str, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    notes: tuple[str, ...] = ()  # things the user should know about how the file was read
    mangled_numbers: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The column names, as shown in the header row (blank ones named by their letter)."""
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds the file URLs and which the document IDs, and how each was found."""

    url_column: str
    id_column: str
    url_found_by: str  # "name", "content" or "override"
    id_found_by: str
    # Why each column was taken, in words ("its header reads 'Applicant Ref'"), for the page and
    # `validate --json`; empty for a column the user chose.
    url_reason: str = ""
    id_reason: str = ""

    @property
    def guessed(self) -> bool:
        """Whether either column was guessed from what its cells hold (so a person should confirm)."""
        return "content" in (self.url_found_by, self.id_found_by)

    def to_dict(self) -> dict[str, dict[str, str]]:
        """How each column was found, as the ``columns`` object of ``validate --json``."""
        return {
            "url": {
                "column": self.url_column,
                "found_by": self.url_found_by,
                "why": self.url_reason,
            },
            "id": {"column": self.id_column, "found_by": self.id_found_by, "why": self.id_reason},
        }


@dataclass(frozen=True)
class Problem:
    """One problem in one cell: the row as the user sees it, a stable code and a plain message."""

    row: int
    column: str
    value: str
    code: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, object]:
        """The problem as the JSON shape of ``validate --json``."""
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class ValidRow:
    """A row that may be sent to Atlas, with its ID and URL exactly as read."""

    row_number: int
    document_id: str
    file_url: str
