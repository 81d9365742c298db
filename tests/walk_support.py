"""Issue 11's walk sheet (no tests here): 500 rows with the analyst's own columns, some in error.

Shared by the AppTest walk (tests/test_walk_issue11.py) and the Chromium walk
(tests/browser/test_walk_issue11_browser.py), so both check the same expected outcome.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

WALK_SUBMITTER = "Asha Rao"
ROWS = 500
BROKEN_EVERY, BROKEN_AT = 50, 10  # rows whose link is not a web address (10 of them)
FIXED_IN_APP = 6  # the first six of those the analyst fixes in the app; the rest are left out
FAILING_EVERY, FAILING_AT = 100, 33  # rows whose image Atlas cannot read (the sandbox fails them)


def _ref(i: int) -> str:
    return f"APP-{i:04d}"


def _url(i: int, kind: str = "scans") -> str:
    # Not the ref's digits: "APP-0404" in a link would read as the sandbox's "404" failure hint.
    return f"https://bucket.s3.amazonaws.com/{kind}/s{i // 100}-{i % 100:02d}.jpg"


@dataclass
class WalkSheet:
    """The walk's sheet as the analyst has it, and what should become of each row."""

    name: str = "branch-applicants.csv"
    columns: list[str] = field(default_factory=lambda: [
        "Applicant Ref", "Customer Name", "Branch", "Loan Amount", "Document Link", "Notes"])
    url_column: str = "Document Link"
    id_column: str = "Applicant Ref"
    rows: list[list[str]] = field(default_factory=list)
    broken: dict[int, str] = field(default_factory=dict)  # sheet row number -> the bad link
    fixed: dict[int, str] = field(default_factory=dict)  # sheet row number -> the link typed in
    failing: list[int] = field(default_factory=list)  # sheet rows Atlas fails

    @classmethod
    def make(cls, fixed_in_app: int = FIXED_IN_APP) -> WalkSheet:
        """The 500-row sheet: header on row 1, rows 2..501; ``fixed_in_app`` rows get fixed."""
        sheet = cls()
        names = ["Asha Rao", "प्रिया शर्मा", "Ravi Kumar", "=1+1 (typed by someone)", "O'Brien, Tom"]
        for i in range(ROWS):
            number = i + 2
            url = _url(i)
            if i % FAILING_EVERY == FAILING_AT:
                url = _url(i, "unreadable")
                sheet.failing.append(number)
            if i % BROKEN_EVERY == BROKEN_AT:
                url = f"scan {_ref(i)} (ask branch)"
                sheet.broken[number] = url
                if len(sheet.fixed) < fixed_in_app:
                    sheet.fixed[number] = _url(i, "fixed")
            sheet.rows.append([_ref(i), names[i % len(names)], f"Branch {i % 7}",
                               f"{(i * 7919) % 90000 + 10000}", url, "" if i % 3 else "urgent"])
        return sheet

    def csv(self) -> bytes:
        """The sheet as the CSV the analyst uploads."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue().encode("utf-8")

    def row_numbers(self) -> list[int]:
        """Every row's number in the sheet, in order."""
        return [i + 2 for i in range(len(self.rows))]

    def broken_rows(self) -> list[int]:
        """The rows in error when the sheet is first checked."""
        return sorted(self.broken)

    def left_out_rows(self) -> list[int]:
        """The rows still in error after the fixes: never sent."""
        return [n for n in self.broken_rows() if n not in self.fixed]

    def to_send(self) -> int:
        """Documents sent to Atlas."""
        return len(self.rows) - len(self.left_out_rows())

    def expected_counts(self) -> dict[str, int]:
        """The balance's counts, as the report's counts row has them."""
        left_out = len(self.left_out_rows())
        return {"rows": len(self.rows), "extracted": self.to_send() - len(self.failing),
                "failed": len(self.failing), "left_out": left_out, "missing": 0, "pending": 0,
                "unexpected": 0}

    def expected_balance(self) -> str:
        """The balance sentence every page, the CLI and the report show at the end."""
        c = self.expected_counts()
        return (f"{c['rows']:,} rows: {c['extracted']:,} extracted, {c['failed']:,} failed, "
                f"{c['left_out']:,} left out, 0 missing, 0 pending")

    def expected_exceptions(self) -> list[tuple[int, str]]:
        """(sheet row, balance part) of every row that did not end extracted, in sheet order."""
        parts = [(n, "failed") for n in self.failing] + [(n, "left out") for n in self.left_out_rows()]
        return sorted(parts)

    @property
    def frame(self):  # noqa: ANN201 - pandas is imported by the tests that compare cells
        """The sheet as a DataFrame of text, for cell-by-cell comparisons."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns, dtype=str)
