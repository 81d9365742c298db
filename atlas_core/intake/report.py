"""ValidationReport: the totals, the problems and the rows that may go to Atlas."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .models import ColumnMapping, Problem, SheetData, ValidRow

PROBLEM_COLUMNS = ("row", "column", "value", "code", "severity", "message")


class ValidationReport:
    """What validate_sheet found: totals, one Problem per problem, and the rows fit to submit.

    ``warnings`` counts rows with at least one warning (valid or not), so that ``valid +
    invalid == rows`` and a reader sees how many rows deserve a look before sending.
    """

    def __init__(
        self,
        *,
        sheet: SheetData,
        mapping: ColumnMapping,
        problems_table: pd.DataFrame,
        earlier_uploads: tuple[int, ...] = (),
    ) -> None:
        self.sheet = sheet
        self.mapping = mapping
        # The earlier uploads that sent IDs of this sheet (ID_IN_LEDGER), when the ledger said.
        self.earlier_uploads = earlier_uploads
        self._table = problems_table
        positions = problems_table["position"].to_numpy(dtype=np.int64)
        errors = (problems_table["severity"] == "error").to_numpy(dtype=bool)
        n = len(sheet.frame)
        self._blocked = np.zeros(n, dtype=bool)
        self._blocked[positions[errors]] = True
        warned = np.zeros(n, dtype=bool)
        warned[positions[~errors]] = True
        self.rows = n
        self.invalid = int(self._blocked.sum())
        self.valid = n - self.invalid
        self.warnings = int(warned.sum())

    @property
    def url_column(self) -> str:
        """The column the URLs were read from."""
        return self.mapping.url_column

    @property
    def id_column(self) -> str:
        """The column the document IDs were read from."""
        return self.mapping.id_column

    @cached_property
    def problems(self) -> list[Problem]:
        """Every problem, ordered by row, as Problem objects."""
        t = self._table
        return [
            Problem(int(r), c, v, code, s, m)
            for r, c, v, code, s, m in zip(
                t["row"],
                t["column"],
                t["value"],
                t["code"],
                t["severity"],
                t["message"],
                strict=True,
            )
        ]

    @cached_property
    def repeats(self) -> int:
        """Rows that repeat an earlier row exactly (same ID and URL): valid, but sent only once."""
        return int((self._table["code"] == "ROW_REPEATED").sum())

    def codes(self) -> dict[str, int]:
        """How many times each problem code occurs."""
        return {str(k): int(v) for k, v in self._table["code"].value_counts().items()}

    def problems_frame(self) -> pd.DataFrame:
        """The problems as a table with the columns of Problem."""
        return self._table.loc[:, list(PROBLEM_COLUMNS)].reset_index(drop=True)

    def valid_frame(self) -> pd.DataFrame:
        """The rows fit to submit as a table: row_number, document_id, file_url (exactly as read)."""
        keep = ~self._blocked
        return pd.DataFrame(
            {
                "row_number": np.asarray(self.sheet.row_numbers)[keep],
                "document_id": self.sheet.frame[self.id_column].to_numpy(dtype=object)[keep],
                "file_url": self.sheet.frame[self.url_column].to_numpy(dtype=object)[keep],
            }
        )

    def valid_items(self) -> list[ValidRow]:
        """The rows fit to submit (no errors; warnings allowed), with ID and URL exactly as read."""
        f = self.valid_frame()
        return [
            ValidRow(int(r), d, u)
            for r, d, u in zip(f["row_number"], f["document_id"], f["file_url"], strict=True)
        ]

    def messages_by_position(self) -> pd.Series:
        """All messages of each row joined into one text, indexed by row position in the sheet."""
        t = self._table
        labelled = "[" + t["code"].astype(str) + "] " + t["message"].astype(str)
        return labelled.groupby(t["position"].to_numpy()).agg(" | ".join)

    def to_dict(self, *, max_issues: int | None = None) -> dict[str, Any]:
        """The ``validate --json`` shape: totals, the chosen columns and every issue."""
        table = self._table if max_issues is None else self._table.iloc[:max_issues]
        issues = [
            {"row": int(r), "column": c, "value": v, "code": code, "severity": s, "message": m}
            for r, c, v, code, s, m in zip(
                table["row"], table["column"], table["value"], table["code"], table["severity"],
                table["message"], strict=True,
            )
        ]  # fmt: skip
        return {
            "rows": self.rows,
            "valid": self.valid,
            "invalid": self.invalid,
            "warnings": self.warnings,
            "url_column": self.url_column,
            "id_column": self.id_column,
            "columns": self.mapping.to_dict(),
            "columns_guessed": self.mapping.guessed,
            "issues": issues,
        }

    def problems_file(self, fmt: str = "csv", *, only_problems: bool = False) -> bytes:
        """The original rows plus a ``problems`` column, as CSV (UTF-8 with BOM) or xlsx bytes."""
        from .exporting import problems_file

        return problems_file(self, fmt, only_problems=only_problems)

    def __repr__(self) -> str:
        return (
            f"ValidationReport(rows={self.rows}, valid={self.valid}, invalid={self.invalid}, "
            f"warnings={self.warnings}, url_column={self.url_column!r}, id_column={self.id_column!r})"
        )
