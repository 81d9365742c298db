"""Session-state keys, named in one place so pages and tests agree on them."""

from __future__ import annotations

SUBMITTER_NAME = "submitter_name"  # the name typed on the Upload page, remembered for the session
SUBMITTER_INPUT = "submitter_input"  # the text_input widget for it (widget state is per page)
UPLOAD_FILE = "upload_file"  # the st.file_uploader widget (key prefix, see UPLOADS_SENT)
UPLOADS_SENT = "uploads_sent"  # how many uploads this session sent; renews the uploader
SHEET_NAME = "sheet_name"  # the sheet picked in a workbook with several
UPLOAD_SHEET = "upload_sheet"  # (file signature, SheetData) of the file being prepared
UPLOAD_FIXES = "upload_fixes"  # {row number: {column: text}} the user fixed in place
UPLOAD_EDITOR_VERSION = "upload_editor_version"  # bumped to give the data_editor a fresh key
UPLOAD_REPORT = "upload_report"  # (inputs, ValidationReport) of the current sheet and fixes
UPLOAD_PLAN = "upload_plan"  # the UploadPlan shown in the confirmation step
LAST_UPLOAD_ID = "last_upload_id"  # the upload this session submitted last
CONNECTION_RESULT = "connection_result"  # outcome of the last "test connection"
REVIEW_THRESHOLD = "review_threshold"  # the confidence threshold chosen on Results
ACTION_MESSAGE = "action_message"  # what the last retry/resolve/cancel did, shown once
# The Review page (issue 11):
REVIEWER_NAME = "reviewer_name"  # who decides, when nobody is signed in (typed once a session)
REVIEWER_INPUT = "reviewer_input"  # the text_input widget for it
REVIEW_HISTORY = "review_history"  # document row ids this session was shown, oldest first
REVIEW_SKIPPED = "review_skipped"  # document row ids this session skipped (let go of)
REVIEW_POSITION = "review_position"  # index into REVIEW_HISTORY of the document shown
REVIEW_MESSAGE = "review_message"  # (kind, text) of what the last decision did, shown once
REVIEW_QC_RATE = "review_qc_rate"  # the QC sample rate slider
REVIEW_IMPORT_FILE = "review_import_file"  # the corrected queue Excel being checked
REVIEW_PAGE_THRESHOLD = "review_page_threshold"  # the Review page's own threshold slider
