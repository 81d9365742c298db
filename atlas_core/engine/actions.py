"""The user's decisions on queued and finished work, each returning counts a page can show."""

from __future__ import annotations

from dataclasses import dataclass

from ..ledger import Ledger
from ..ledger import states as S


@dataclass(frozen=True)
class ActionResult:
    """What an action did, as counts and one plain sentence."""

    documents: int
    chunks: tuple[int, ...]
    message: str


def retry_failed(ledger: Ledger, *, upload_id: int | None = None,
                 batch_id: str | None = None, retriable_only: bool = False) -> ActionResult:
    """Queue the failed documents of an upload or a batch again, as attempt+1 in new chunks.

    ``retriable_only``: only those a retry may help (results.failures): a link Atlas could not
    download fails the same way again, so those stay failed, ready to be fixed.
    """
    # Imported here: the results package loads the exporters, which other commands never need.
    from ..results.failures import FIX, count_of, explain_failures, is_retriable

    keep = is_retriable if retriable_only else None
    docs, chunk_ids = ledger.retry_failed(upload_id=upload_id, batch_id=batch_id, keep=keep)
    ids = tuple(chunk_ids)
    where = f"upload {upload_id}" if upload_id is not None else f"batch {batch_id}"
    message = (f"{docs} failed document(s) of {where} queued again in {len(ids)} request(s)."
               if docs else f"No failed documents in {where} that a retry may help.")
    if retriable_only and upload_id is not None:
        to_fix = count_of(explain_failures(ledger.failure_reasons(upload_id)), FIX)
        if to_fix:
            message += (f" {to_fix:,} left as they are: their file or link needs fixing"
                        " (the failed documents file lists them).")
    return ActionResult(docs, ids, message)


def resolve_uncertain(ledger: Ledger, chunk_id: int, action: str, *,
                      resolved_by: str | None = None) -> ActionResult:
    """Resend (as a new chunk, attempt+1) or drop (cancel) the documents of an uncertain chunk."""
    before = next((c for c in ledger.chunks_in_state(S.UNCERTAIN) if c["id"] == chunk_id), None)
    new_chunk = ledger.resolve_uncertain(chunk_id, action, resolved_by=resolved_by)
    docs = before["documents"] if before else 0
    if new_chunk is None:
        return ActionResult(docs, (), f"The documents of request {chunk_id} were dropped.")
    return ActionResult(docs, (new_chunk,),
                        f"The documents of request {chunk_id} will be sent again (request {new_chunk}).")


def cancel_upload(ledger: Ledger, upload_id: int) -> ActionResult:
    """Cancel whatever of an upload is still queued (nothing in flight or sent is touched)."""
    docs = ledger.cancel_queued(upload_id=upload_id)
    return ActionResult(docs, (), f"{docs} queued document(s) of upload {upload_id} cancelled.")


def submit_held(ledger: Ledger, upload_id: int, *, force: bool = False) -> ActionResult:
    """Queue the rows a pilot run held back."""
    queued = ledger.queue_held(upload_id, force=force)
    message = f"{queued.queued} held document(s) of upload {upload_id} queued."
    if queued.skipped:
        message += f" {queued.skipped} skipped: already submitted."
    return ActionResult(queued.queued, queued.chunk_ids, message)


def has_unfinished_work(ledger: Ledger, upload_id: int | None = None) -> bool:
    """True while something is queued, in flight or waiting for results (drives auto-refresh)."""
    work = ledger.queued_work(upload_id=upload_id)
    if work["queued"] or work["sending"]:
        return True
    _, processing = ledger.batches_overview(upload_id=upload_id, state=S.PROCESSING, limit=1)
    _, stalled = ledger.batches_overview(upload_id=upload_id, state=S.STALLED, limit=1)
    return bool(processing or stalled)
