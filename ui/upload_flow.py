"""Session state of the Upload page: the file as read, the user's fixes, the report and the plan.

Reading and validating a large sheet takes a moment, so each is kept in session state under a
key of what it depends on and redone only when that changes (a new file, new fixes, other columns).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from atlas_core.config import Settings
from atlas_core.intake import SheetData, ValidationReport, read_spreadsheet, validate_sheet
from atlas_core.intake.rules import KnownIds

from . import sheet_fixes, state
from .sheet_fixes import Fixes, apply_fixes, merge_fixes

MB = 1024 * 1024
URL_PICKER, ID_PICKER = "url_column", "id_column"  # the column pickers' widget keys
SPREADSHEET_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "ods"]


def sheet_for(
    uploaded: UploadedFile, settings: Settings, sheet_name: str | None = None
) -> SheetData:
    """The uploaded file (one sheet of it) read as a SheetData, read again only when either changes."""
    cached = st.session_state.get(state.UPLOAD_SHEET)
    if cached is None or cached[0][0] != uploaded.file_id:
        sheet_name = None  # a sheet chosen in the previous file means nothing in this one
        st.session_state.pop(state.SHEET_NAME, None)
    key = (uploaded.file_id, uploaded.name, uploaded.size, sheet_name)
    if cached and cached[0] == key:
        return cached[1]
    forget_file()
    sheet = read_spreadsheet(
        uploaded.getvalue(),
        filename=uploaded.name,
        sheet=sheet_name,
        max_bytes=settings.max_file_mb * MB,
        max_rows=settings.max_rows,
    )
    st.session_state[state.UPLOAD_SHEET] = (key, sheet)
    return sheet


def uploader_key() -> str:
    """The file_uploader's key; a new one after sending clears the widget for the next file."""
    return f"{state.UPLOAD_FILE}_{st.session_state.get(state.UPLOADS_SENT, 0)}"


def sent(upload_id: int) -> None:
    """After queueing: remember the upload to follow and start afresh for the next file."""
    st.session_state[state.LAST_UPLOAD_ID] = upload_id
    st.session_state[state.UPLOADS_SENT] = st.session_state.get(state.UPLOADS_SENT, 0) + 1
    forget_file()


def forget_file() -> None:
    """Drop everything derived from the previous file (its fixes, report and plan)."""
    if state.UPLOAD_SHEET not in st.session_state and state.UPLOAD_PLAN not in st.session_state:
        return
    for key in (state.UPLOAD_SHEET, state.UPLOAD_FIXES, state.UPLOAD_REPORT, state.UPLOAD_PLAN):
        st.session_state.pop(key, None)
    # The column pickers of the previous file mean nothing in this one: each file starts from
    # its own detected columns (else an old pick would pass for the analyst's choice).
    for key in (URL_PICKER, ID_PICKER):
        st.session_state.pop(key, None)
    st.session_state[state.UPLOAD_EDITOR_VERSION] = (
        st.session_state.get(state.UPLOAD_EDITOR_VERSION, 0) + 1
    )


def fixes() -> Fixes:
    """The cells the user fixed in this file so far."""
    return st.session_state.get(state.UPLOAD_FIXES, {})


def add_fixes(new: Fixes) -> None:
    """Keep more fixes and reset the editor so it shows the rows still in error."""
    st.session_state[state.UPLOAD_FIXES] = merge_fixes(fixes(), new)
    st.session_state[state.UPLOAD_EDITOR_VERSION] = (
        st.session_state.get(state.UPLOAD_EDITOR_VERSION, 0) + 1
    )
    st.session_state.pop(state.UPLOAD_PLAN, None)


def problems_digest(report: ValidationReport) -> str:
    """A short name for the set of problems of a report (rows and kinds), for widget keys."""
    table = report.problems_frame()
    hashed = pd.util.hash_pandas_object(table[["row", "code"]], index=False).to_numpy()
    digest = hashlib.blake2b(hashed.tobytes(), digest_size=8)
    digest.update(f"{report.sheet.sha256}|{report.url_column}|{report.id_column}".encode())
    return digest.hexdigest()


def filter_key(report: ValidationReport) -> str:
    """The "Show problems of kind" key: new whenever the set of problems changes."""
    return f"problem_filter_{problems_digest(report)}"


def editor_key(report: ValidationReport | None = None, kinds: list[str] | None = None) -> str:
    """A fresh data_editor key after each re-validation or filter change, so old edits do not
    linger on rows they were not made on."""
    version = st.session_state.get(state.UPLOAD_EDITOR_VERSION, 0)
    if report is None:
        return f"upload_editor_{version}"
    shown = hashlib.blake2b(",".join(kinds or ()).encode(), digest_size=4).hexdigest()
    return f"upload_editor_{version}_{problems_digest(report)}_{shown}"


def confirm_key(sheet: SheetData, url_column: str, id_column: str) -> str:
    """The column confirmation's key: a confirmation is for these two columns of this file only."""
    raw = f"{sheet.sha256}|{sheet.sheet_name}|{url_column}|{id_column}".encode()
    return f"confirm_columns_{hashlib.blake2b(raw, digest_size=8).hexdigest()}"


def grid_columns(report: ValidationReport) -> dict[str, Any]:
    """How the problem grid shows its columns: what to do second and wide, IDs and links editable."""
    return {
        sheet_fixes.ROW: st.column_config.TextColumn(
            "Row", help="The row number in your spreadsheet", width="small"
        ),
        sheet_fixes.PROBLEMS: st.column_config.TextColumn("What to do", width=460),
        report.id_column: st.column_config.TextColumn(
            report.id_column, help="The document ID: edit it here to fix it"
        ),
        report.url_column: st.column_config.TextColumn(
            report.url_column, help="The file link: edit it here to fix it", width="medium"
        ),
        sheet_fixes.KIND: st.column_config.TextColumn("Kind", width="small"),
    }


def report_for(
    sheet: SheetData, url_column: str | None, id_column: str | None,
    known_ids: KnownIds | None,
) -> ValidationReport:
    """The validation report of the sheet with the user's fixes, for the chosen columns."""
    current = fixes()
    key = (sheet.sha256, repr(sorted(current.items())), url_column, id_column)
    cached = st.session_state.get(state.UPLOAD_REPORT)
    if cached and cached[0] == key:
        return cached[1]
    fixed = apply_fixes(sheet, current)
    report = validate_sheet(fixed, url_column=url_column, id_column=id_column, known_ids=known_ids)
    st.session_state[state.UPLOAD_REPORT] = (key, report)
    # A plan made for other columns would send what the page no longer shows.
    st.session_state.pop(state.UPLOAD_PLAN, None)
    return report


def remember_submitter() -> None:
    """Copy the typed name out of the widget's state, which Streamlit drops on other pages."""
    st.session_state[state.SUBMITTER_NAME] = st.session_state.get(state.SUBMITTER_INPUT, "").strip()


class Steps:
    """Numbers the page's sections in order, so a section shown only sometimes leaves no gap."""

    def __init__(self) -> None:
        self.count = 0

    def next(self, title: str) -> str:
        """The next section title, numbered: '2. Check'."""
        self.count += 1
        return f"{self.count}. {title}"
