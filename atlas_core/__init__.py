"""Atlas Bulk Ops core: everything but the Streamlit pages. Never imports streamlit.

The names below are the public face a page, the CLI or a script needs; the rooms behind them
(client, sandbox, intake, ledger, engine, results) are described in docs/architecture.md.
"""

from .client import AtlasClient, UploadItem
from .config import Settings
from .engine import (
    Runtime,
    Worker,
    cancel_upload,
    open_runtime,
    plan_upload,
    queue_upload,
    refresh_batches,
    resolve_uncertain,
    retry_failed,
)
from .errors import AtlasError
from .intake import ValidationReport, read_spreadsheet, validate_sheet
from .results import export_documents, reconcile
from .sandbox import SandboxServer

__all__ = [
    "AtlasClient",
    "AtlasError",
    "Runtime",
    "SandboxServer",
    "Settings",
    "UploadItem",
    "ValidationReport",
    "Worker",
    "cancel_upload",
    "export_documents",
    "open_runtime",
    "plan_upload",
    "queue_upload",
    "read_spreadsheet",
    "reconcile",
    "refresh_batches",
    "resolve_uncertain",
    "retry_failed",
    "validate_sheet",
]
