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


# --- the review step: ten documents after the results, two corrected, one rejected -----------

REVIEWER = "Meena"
REVIEWED = 10
CORRECTED_AT = {1: "RAVI KUMAR (checked)", 4: "PRIYA NAIR (checked)"}  # the 2nd and 5th documents
REJECTED_AT = 6  # the 7th


@dataclass
class Reviewed:
    """What the reviewer did: document id -> decision, and the corrections with Atlas's value."""

    decisions: dict[str, str] = field(default_factory=dict)  # document id -> confirm/correct/reject
    corrections: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # id -> (field, atlas, new)

    def decision_at(self, n: int) -> str:
        """The n-th document's decision (0-based)."""
        return "correct" if n in CORRECTED_AT else "reject" if n == REJECTED_AT else "confirm"


def _frame(data: bytes, fmt: str, sheet_name: str | int = 0):  # noqa: ANN202 - pandas, see frame
    import pandas as pd

    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return pd.read_excel(io.BytesIO(data), sheet_name=sheet_name, dtype=str, keep_default_na=False,
                         engine="openpyxl")


def check_sheet_cells(frame, sheet: WalkSheet) -> None:  # noqa: ANN001 - a DataFrame
    """The sheet's own columns, in order, every row in order, cell for cell (fixed cells as sent)."""
    from atlas_core.neutralise import neutralise_text

    assert list(frame.columns[: len(sheet.columns)]) == sheet.columns
    expected = sheet.frame.copy()
    for row, url in sheet.fixed.items():  # a fixed cell holds what was sent
        expected.loc[row - 2, sheet.url_column] = url
    expected = expected.map(neutralise_text)
    got = frame[sheet.columns].reset_index(drop=True)
    differing = (got != expected).to_numpy().nonzero()
    assert len(differing[0]) == 0, [
        (int(r) + 2, sheet.columns[c], got.iat[r, c], expected.iat[r, c])
        for r, c in zip(*differing, strict=True)][:5]


def check_corrections_everywhere(files: dict[str, bytes], sheet: WalkSheet, done: Reviewed) -> None:
    """Every export gives the corrected values and names the corrected fields; long has both
    values; the queue workbook no longer holds a decided document. ``files`` by download key."""
    import json

    assert len(done.decisions) == REVIEWED and len(done.corrections) == len(CORRECTED_AT)
    by_id_column = sheet.id_column
    tables = {
        "download_sheet_csv": _frame(files["download_sheet_csv"], "csv"),
        "download_sheet_xlsx": _frame(files["download_sheet_xlsx"], "xlsx"),
        "download_csv_wide": _frame(files["download_csv_wide"], "csv"),
        "download_xlsx": _frame(files["download_xlsx"], "xlsx"),
    }
    for key, frame in tables.items():
        assert by_id_column in frame.columns, (key, list(frame.columns)[:8])
        rows = frame.set_index(by_id_column)
        for document_id, (name, atlas, new) in done.corrections.items():
            row = rows.loc[document_id]
            assert new in set(row.values), (key, document_id, name)
            assert atlas not in set(row.values) or atlas == new, (key, document_id, name)
            assert row["corrected_fields"] == name, (key, document_id)
        others = [d for d in done.decisions if d not in done.corrections]
        assert set(rows.loc[others, "corrected_fields"]) == {""}, key
        if key.startswith("download_sheet"):
            check_sheet_cells(frame, sheet)  # the corrections leave the sheet's own cells alone
            assert [int(n) for n in frame.index + 2] == sheet.row_numbers()
        else:
            # the other downloads start with the sheet's ID header and row number, its columns carried
            assert list(frame.columns[:2]) == [by_id_column, "row"], (key, list(frame.columns)[:4])
            assert sheet.columns[1] in frame.columns, key
    long = _frame(files["download_csv_long"], "csv")
    for document_id, (name, atlas, new) in done.corrections.items():
        lines = long[(long[by_id_column] == document_id) & (long["field"] == name)]
        assert list(zip(lines["atlas_value"], lines["value"], strict=True)) == [(atlas, new)], document_id
    unchanged = long[long[by_id_column].isin([d for d in done.decisions if d not in done.corrections])]
    assert len(unchanged) and (unchanged["atlas_value"] == unchanged["value"]).all()
    objects = {o["document_id"]: o for o in json.loads(files["download_json"])}
    for document_id, (name, atlas, new) in done.corrections.items():
        obj = objects[document_id]
        assert obj["corrected_fields"] == name and obj["atlas_values"] == {name: atlas}, obj
        assert json.dumps(new, ensure_ascii=False) in json.dumps(obj["file_data"], ensure_ascii=False)
    queue = _frame(files["review_download"], "xlsx", "review")
    assert not set(done.decisions) & set(queue["document_id"])  # the queue got shorter
