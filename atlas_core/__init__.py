"""Atlas Bulk Ops core: everything but the Streamlit pages. Never imports streamlit.

The names below are the public face a page, the CLI or a script needs; the rooms behind them
(client, sandbox, intake, ledger, engine, results) are described in docs/architecture.md.
Each name is imported from its room on first use, so ``import atlas_core`` (and every command
that needs one room) does not load requests, pandas or the sandbox server for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "client": ("AtlasClient", "UploadItem"),
        "config": ("Settings",),
        "engine": (
            "Runtime",
            "Worker",
            "cancel_upload",
            "open_runtime",
            "plan_upload",
            "queue_upload",
            "refresh_batches",
            "resolve_uncertain",
            "retry_failed",
        ),
        "errors": ("AtlasError",),
        "intake": ("ValidationReport", "read_spreadsheet", "validate_sheet"),
        "results": ("export_documents", "reconcile"),
        "sandbox": ("SandboxServer",),
    },
)
