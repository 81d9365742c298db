"""Submitting, refreshing, the background worker and the runtime shared by the pages and the CLI.

Each name is imported from its module on first use: ``status`` opens the runtime without
loading the client (requests) or the planner (the intake) it never calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .actions import (
        cancel_upload,
        has_unfinished_work,
        resolve_uncertain,
        retry_failed,
        submit_held,
    )
    from .identity import Heartbeat, WorkerIdentity, recover_orphans
    from .planning import UploadPlan, plan_upload, queue_upload
    from .refreshing import RefreshSummary, refresh_batch, refresh_batches
    from .runtime import Runtime, open_runtime
    from .submitting import SendSummary, send_queued, send_until_answered
    from .worker import Worker, WorkerStatus

__all__ = [
    "Heartbeat",
    "RefreshSummary",
    "Runtime",
    "SendSummary",
    "UploadPlan",
    "Worker",
    "WorkerIdentity",
    "WorkerStatus",
    "cancel_upload",
    "has_unfinished_work",
    "open_runtime",
    "plan_upload",
    "queue_upload",
    "recover_orphans",
    "refresh_batch",
    "refresh_batches",
    "resolve_uncertain",
    "retry_failed",
    "send_queued",
    "send_until_answered",
    "submit_held",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "actions": ("cancel_upload", "has_unfinished_work", "resolve_uncertain", "retry_failed", "submit_held"),
        "identity": ("Heartbeat", "WorkerIdentity", "recover_orphans"),
        "planning": ("UploadPlan", "plan_upload", "queue_upload"),
        "refreshing": ("RefreshSummary", "refresh_batch", "refresh_batches"),
        "runtime": ("Runtime", "open_runtime"),
        "submitting": ("SendSummary", "send_queued", "send_until_answered"),
        "worker": ("Worker", "WorkerStatus"),
    },
)
