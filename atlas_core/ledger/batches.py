"""Polling batches: which are due, storing their results, and the backoff schedule."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..backoff import backoff_delay
from ..errors import redact
from . import states as S
from .jsontext import dump_standard
from .records import Interpreted
from .reviews import note_results_for_review
from .rows import BatchRow
from .store import LedgerCore, now_ts
from .targets import SANDBOX_TARGET, UNKNOWN_TARGET, TargetScope
from .uploads import adopt_unknown_uploads

if TYPE_CHECKING:
    import sqlite_utils

POLL_BASE = 5.0  # seconds before the first re-poll of a batch without progress
POLL_CAP = 300.0  # an old batch is still looked at every five minutes
POLL_LEASE = 120.0  # a batch being polled is not due for others for this long
_IDS_PER_QUERY = 500  # well under SQLite's limit on bound parameters


def poll_delay(step: int) -> float:
    """Seconds until the next poll after ``step`` polls in a row without progress."""
    return backoff_delay(step, POLL_BASE, POLL_CAP)


@dataclass(frozen=True)
class BatchProgress:
    """A batch's counts after storing a poll's results."""

    batch_id: str
    documents: int
    extracted: int
    failed: int
    state: str
    changed: int  # documents whose result is new or different this time
    next_poll_at: float | None

    @property
    def pending(self) -> int:
        """Documents sent in this batch that have no result yet."""
        return self.documents - self.extracted - self.failed


class BatchLedger(LedgerCore):
    """Batches and the results stored for their documents."""

    def due_batches(self, *, now: float | None = None, all_unfinished: bool = False) -> list[str]:
        """Ids of this target's unfinished batches due a poll (or all unfinished ones), oldest first."""
        now = now_ts() if now is None else now
        in_scope, scope_args = self.scope.positional("target")
        with self.reading() as db:
            return [r[0] for r in db.execute(
                "SELECT batch_id FROM batches WHERE state = ? AND (? OR next_poll_at <= ?)"
                f" AND {in_scope} ORDER BY next_poll_at, created_at",
                [S.PROCESSING, int(all_unfinished), now, *scope_args],
            )]

    def next_poll_due(self) -> float | None:
        """When this target's earliest unfinished batch is next due, or None when all are finished."""
        in_scope, scope_args = self.scope.positional("target")
        with self.reading() as db:
            return db.execute(
                f"SELECT min(next_poll_at) FROM batches WHERE state = ? AND {in_scope}",
                [S.PROCESSING, *scope_args],
            ).fetchone()[0]

    def claim_poll(self, batch_id: str, *, force: bool = False, now: float | None = None) -> bool:
        """Take the right to poll a batch now (so two workers do not poll it at once).

        Never a batch of another target: a sandbox batch id means nothing to Atlas, and asking
        for it would only fail, again and again.
        """
        now = now_ts() if now is None else now
        in_scope, scope_args = self.scope.positional("target")
        with self.transaction() as db:
            return bool(db.execute(
                "UPDATE batches SET next_poll_at = ? WHERE batch_id = ? AND state = ?"
                f" AND (? OR next_poll_at IS NULL OR next_poll_at <= ?) AND {in_scope}",
                [now + POLL_LEASE, batch_id, S.PROCESSING, int(force), now, *scope_args],
            ).rowcount)

    def record_documents(
        self, batch_id: str, results: Sequence[Interpreted], *, now: float | None = None
    ) -> int:
        """Store some of a poll's results (one page or a few) and return how many changed.

        A refresh stores pages while later ones are still on their way, then calls
        ``finish_poll``, which recounts the batch from its documents. A refresh that dies in
        between keeps the stored results; the batch's (and so the upload's) counters lag until
        the next poll, which comes when its lease ends.

        On PostgreSQL pages are stored beside each other and beside the send path (the write
        lock shared, see pgstore.py): a store only updates its documents' own rows, by id, so two
        stores of one page wait on those rows, never lose one; retry, resolve and cancel still
        run alone, so they see a page stored whole or not at all.
        """
        now = now_ts() if now is None else now
        with self.sending() as db:
            return self._store_documents(db, batch_id, results, now)

    def finish_poll(
        self,
        batch_id: str,
        changed: int,
        *,
        total_items_reported: int | None = None,
        keep_open: bool = False,
        now: float | None = None,
    ) -> BatchProgress:
        """Update a batch's counts, state and next poll time after its results were stored."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            self._adopt_answered(db, batch_id, self.scope)
            return self._update_batch(db, batch_id, changed, total_items_reported, keep_open, now)

    @staticmethod
    def _adopt_answered(db: sqlite_utils.Database, batch_id: str, scope: TargetScope) -> None:
        # Atlas answered for this batch id, so a batch from before targets were recorded is its.
        if scope.target is None or scope.target == SANDBOX_TARGET:
            return
        row = db.execute(
            "UPDATE batches SET target = ? WHERE batch_id = ? AND target = ? RETURNING upload_id",
            [scope.target, batch_id, UNKNOWN_TARGET],
        ).fetchone()
        if row is not None:
            adopt_unknown_uploads(db, scope.target, row[0])

    @staticmethod
    def _store_documents(db: sqlite_utils.Database, batch_id: str, results: Sequence[Interpreted], now: float) -> int:
        finished = [res for res in results if res.state in S.FINISHED_DOCUMENT_STATES]
        if not finished:
            return 0
        known: dict[str, list[Any]] = {}
        query = (
            "SELECT id, document_id, state, file_data, error FROM documents"
            " WHERE batch_id = ? AND state IN (?, ?, ?)"
        )
        params: list[Any] = [batch_id, S.SUBMITTED, S.EXTRACTED, S.FAILED]
        if len(finished) <= _IDS_PER_QUERY:  # a page: read only its documents, not the batch's
            query += f" AND document_id IN ({', '.join('?' * len(finished))})"
            params += [res.document_id for res in finished]
        for row in db.conn.execute(query, params):
            known.setdefault(row[1], []).append(row)
        updates: list[tuple[Any, ...]] = []
        for res in finished:
            data = res.file_data_json
            if data is None and res.file_data is not None:
                data = dump_standard(res.file_data)
            for row in known.get(res.document_id, ()):
                if row[2] == res.state and row[3] == data and row[4] == res.error:
                    continue
                updates.append((res.state, res.error, res.document_type, data, res.min_confidence,
                                now, now, row[0]))
        # In id order: two stores of one page (a lease that ran out) lock its rows in the same
        # order, so on PostgreSQL one waits for the other instead of deadlocking.
        updates.sort(key=lambda update: update[-1])
        db.conn.executemany(
            "UPDATE documents SET state = ?, error = ?, document_type = ?, file_data = ?,"
            " min_confidence = ?, updated_at = ?, finished_at = ? WHERE id = ?",
            updates,
        )
        # The review queue takes the new results through its rule on its next look.
        note_results_for_review(db, [update[-1] for update in updates])
        return len(updates)

    @staticmethod
    def _update_batch(db: sqlite_utils.Database, batch_id: str, changed: int, total_items: int | None,
                      keep_open: bool, now: float) -> BatchProgress:
        counts = db.execute(
            "SELECT count(*), sum(state = ?), sum(state = ?) FROM documents WHERE batch_id = ?",
            [S.EXTRACTED, S.FAILED, batch_id],
        ).fetchone()
        documents, extracted, failed = counts[0], counts[1] or 0, counts[2] or 0
        batch = db.execute(
            "SELECT extracted, failed, poll_step FROM batches WHERE batch_id = ?", [batch_id]
        ).fetchone()
        progressed = batch is not None and (extracted + failed) > (batch[0] + batch[1])
        step = 0 if progressed else (batch[2] + 1 if batch else 0)
        # keep_open: some failures may only mean "not done yet", so a later answer may still win.
        done = documents > 0 and extracted + failed >= documents and not keep_open
        state = (S.COMPLETE if failed == 0 else S.COMPLETE_WITH_FAILURES) if done else S.PROCESSING
        next_poll = None if done else now + poll_delay(step)
        db.execute(
            "UPDATE batches SET documents = ?, extracted = ?, failed = ?, state = ?, last_polled_at = ?,"
            " next_poll_at = ?, poll_step = ?, last_error = NULL,"
            " total_items_reported = coalesce(?, total_items_reported),"
            " last_progress_at = CASE WHEN ? THEN ? ELSE last_progress_at END,"
            " completed_at = CASE WHEN ? THEN coalesce(completed_at, ?) ELSE NULL END"
            " WHERE batch_id = ?",
            [documents, extracted, failed, state, now, next_poll, step, total_items,
             int(progressed), now, int(done), now, batch_id],
        )
        return BatchProgress(batch_id, documents, extracted, failed, state, changed, next_poll)

    def record_poll_error(self, batch_id: str, error: str | None, *, now: float | None = None) -> float:
        """Note a failed or not-ready poll: keep the reason, back off; return the next poll time."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            row = db.execute("SELECT poll_step FROM batches WHERE batch_id = ?", [batch_id]).fetchone()
            step = (row[0] if row else 0) + 1
            next_poll = now + poll_delay(step)
            db.execute(
                "UPDATE batches SET last_polled_at = ?, next_poll_at = ?, poll_step = ?, last_error = ?"
                " WHERE batch_id = ? AND state = ?",
                [now, next_poll, step, redact(error) if error else error, batch_id, S.PROCESSING],
            )
        return next_poll

    def batch(self, batch_id: str) -> BatchRow | None:
        """One batch's stored row (counts, schedule, last error), or None."""
        with self.reading() as db:
            row = db.execute("SELECT * FROM batches WHERE batch_id = ?", [batch_id]).fetchone()
        return cast(BatchRow, dict(row)) if row else None

    def unknown_batches(self) -> int:
        """How many batches were recorded before targets were (their target is "unknown")."""
        with self.reading() as db:
            return db.execute(
                "SELECT count(*) FROM batches WHERE target = ?", [UNKNOWN_TARGET]
            ).fetchone()[0]

    def place_sandbox_batches(self, sandbox_batch_ids: Iterable[str]) -> int:
        """Move unknown batches the sandbox accepted, and uploads sent only to it, to "sandbox".

        An upload moves only when every batch it has is a sandbox one; its chunks follow it.
        Returns how many batches moved.
        """
        ids = json.dumps(sorted(set(sandbox_batch_ids)))
        with self.transaction() as db:
            moved = db.execute(
                "UPDATE batches SET target = ? WHERE target = ?"
                " AND batch_id IN (SELECT value FROM json_each(?))",
                [SANDBOX_TARGET, UNKNOWN_TARGET, ids],
            ).rowcount
            if moved:
                adopt_unknown_uploads(db, SANDBOX_TARGET)
        return moved
