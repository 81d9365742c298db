"""Sending chunks: claiming one atomically, recording Atlas's answer, resolving uncertain ones."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import orjson

from ..errors import LedgerError, redact
from . import states as S
from .records import ClaimedChunk
from .rows import ChunkRow, QueuedWork, SendingChunk
from .store import LedgerCore, inserted_id, now_ts
from .targets import UNKNOWN_TARGET, TargetScope
from .uploads import adopt_unknown_uploads, queue_documents, require_in_scope

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger(__name__)

FIRST_POLL_DELAY = 5.0  # seconds after submitting before a batch is first polled


class _Claim(NamedTuple):
    """A chunk claimed by a transaction, its documents not read yet."""

    chunk_id: int
    upload_id: int
    product_type: str
    attempts: int


class _Matched(NamedTuple):
    """Receipts matched to a chunk's rows: per batch, JSON of [[row id, file_uuid], ...]."""

    per_batch: list[tuple[str, str]]
    pending: int  # the chunk's unsent rows the receipts were matched against


def match_receipts(
    documents: Sequence[tuple[Any, ...]], receipts: Sequence[tuple[str, str, str]]
) -> _Matched:
    """Match receipts (batch_id, document_id, file_uuid) to a chunk's unsent rows (row id,
    document_id, ...): one row per receipt, the lowest row id first for a repeated document_id."""
    pending: dict[str, list[int]] = defaultdict(list)
    for row in sorted(documents):
        pending[row[1]].append(row[0])
    per_batch: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for batch_id, document_id, file_uuid in receipts:
        ids = pending.get(document_id)
        if ids:
            per_batch[batch_id].append((ids.pop(0), file_uuid))
    return _Matched([(batch, json.dumps(rows)) for batch, rows in per_batch.items()],
                    len(documents))


class ChunkLedger(LedgerCore):
    """The life of a chunk from queued to sent, uncertain, rejected or cancelled."""

    def claim_chunk(
        self, worker_id: str, *, upload_id: int | None = None, now: float | None = None
    ) -> ClaimedChunk | None:
        """Take the next due queued chunk for ``worker_id`` (atomic across processes), or None."""
        now = now_ts() if now is None else now
        with self.sending() as db:
            claimed = self._claim(db, worker_id, upload_id, now, self.scope)
        return self._claimed(claimed)

    def record_sent(
        self,
        chunk_id: int,
        receipts: Sequence[tuple[str, str, str]],
        *,
        documents: Sequence[tuple[int, str, str]] | None = None,
        now: float | None = None,
    ) -> list[str]:
        """Record Atlas's receipts (batch_id, document_id, file_uuid) for a chunk; return batch ids.

        ``documents`` is the chunk as claimed (``ClaimedChunk.documents``); without it the ledger
        reads the chunk's unsent documents first.
        """
        now = now_ts() if now is None else now
        matched = self._match_receipts(chunk_id, receipts, documents)
        with self.sending() as db:
            return self._record_sent(db, chunk_id, matched, now, self.scope)

    def record_sent_and_claim(
        self,
        chunk_id: int,
        receipts: Sequence[tuple[str, str, str]],
        worker_id: str,
        *,
        documents: Sequence[tuple[int, str, str]] | None = None,
        upload_id: int | None = None,
        now: float | None = None,
    ) -> tuple[list[str], ClaimedChunk | None]:
        """``record_sent``, then ``claim_chunk`` for the same worker, in one transaction."""
        now = now_ts() if now is None else now
        matched = self._match_receipts(chunk_id, receipts, documents)
        with self.sending() as db:
            batches = self._record_sent(db, chunk_id, matched, now, self.scope)
            claimed = self._claim(db, worker_id, upload_id, now, self.scope)
        try:
            following = self._claimed(claimed)
        except LedgerError as exc:  # the receipts are recorded; the next chunk went back to the queue
            # An outage (a database restart), handled: one line, no traceback. Other errors are
            # bugs and keep theirs.
            log.warning("reading the documents of the next chunk failed; it waits in the queue: %s",
                        exc)
            following = None
        except Exception:
            log.exception("reading the documents of the next chunk failed")
            following = None
        return batches, following

    @staticmethod
    def _claim(db: sqlite_utils.Database, worker_id: str, upload_id: int | None, now: float,
               scope: TargetScope) -> _Claim | None:
        # One UPDATE ... WHERE state='queued' under BEGIN IMMEDIATE: two workers can never both
        # win the same chunk. The product type comes back with it, saving a statement. Only this
        # target's chunks: one queued for the sandbox never goes to Atlas, nor the reverse. A
        # chunk from before targets were recorded takes the target it is now sent to.
        in_scope, scope_args = scope.positional("target")
        row = db.conn.execute(
            "UPDATE chunks SET state = ?, claimed_by = ?, claimed_at = ?, updated_at = ?,"
            " attempts = attempts + 1, target = coalesce(?, target)"
            " WHERE id = (SELECT id FROM chunks WHERE state = ?"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            f" AND (? IS NULL OR upload_id = ?) AND {in_scope} ORDER BY upload_id, sequence LIMIT 1)"
            " AND state = ? RETURNING id, upload_id, attempts,"
            " (SELECT product_type FROM uploads WHERE uploads.id = chunks.upload_id)",
            [S.SENDING, worker_id, now, now, scope.target, S.QUEUED, now, upload_id, upload_id,
             *scope_args, S.QUEUED],
        ).fetchone()
        return None if row is None else _Claim(row[0], row[1], row[3], row[2])

    def _claimed(self, claim: _Claim | None) -> ClaimedChunk | None:
        """The committed claim with its documents (row id, document_id, file_url) in row order."""
        if claim is None:
            return None
        # Read after the commit, outside the write lock the other lanes queue on: the chunk is
        # this worker's now, and its queued rows change only when it is sent or settled.
        try:
            with self.reading() as db:
                # One JSON row: fetching 1,000 rows one by one gives up and retakes the GIL per
                # row, and each retake waits behind the other lanes' work.
                text = db.conn.execute(
                    "SELECT json_group_array(json_array(id, document_id, file_url)) FROM documents"
                    " WHERE chunk_id = ? AND state = ?",
                    [claim.chunk_id, S.QUEUED],
                ).fetchone()[0]
        except BaseException:
            # Claimed but certainly not sent: back in the queue, not left 'sending' (which a
            # crash recovery would have to call uncertain).
            try:
                self.requeue_chunk(claim.chunk_id, "Its documents could not be read to send it.",
                                   retry_at=now_ts())
            except Exception:
                log.exception("could not put chunk %s back in the queue", claim.chunk_id)
            raise
        # orjson reads row ids (SQLite integers fit 64 bits) and text exactly as json would.
        docs = sorted(orjson.loads(text))
        return ClaimedChunk(chunk_id=claim.chunk_id, upload_id=claim.upload_id,
                            product_type=claim.product_type, attempts=claim.attempts,
                            documents=tuple((d[0], d[1], d[2]) for d in docs))

    def _match_receipts(
        self, chunk_id: int, receipts: Sequence[tuple[str, str, str]],
        documents: Sequence[tuple[int, str, str]] | None,
    ) -> _Matched:
        """The receipts matched to the chunk's rows, before the write transaction."""
        if documents is None:
            with self.reading() as db:
                # Read outside the write lock: a row only ever leaves a chunk's unsent states,
                # and _record_sent checks each one again inside its transaction.
                text = db.conn.execute(
                    "SELECT json_group_array(json_array(id, document_id)) FROM documents"
                    " WHERE chunk_id = ? AND state IN (?, ?)",
                    [chunk_id, S.QUEUED, S.UNCERTAIN],
                ).fetchone()[0]
            documents = orjson.loads(text)
        return match_receipts(documents, receipts)

    @staticmethod
    def _record_sent(
        db: sqlite_utils.Database, chunk_id: int, matched: _Matched, now: float,
        scope: TargetScope,
    ) -> list[str]:
        # Only SQL from here on: the matching and the JSON were done before the write lock was
        # taken, so the lanes waiting for it wait for SQLite alone.
        chunk = db.conn.execute(
            "SELECT c.upload_id, u.product_type, c.target, u.target FROM chunks c"
            " JOIN uploads u ON u.id = c.upload_id WHERE c.id = ?",
            [chunk_id],
        ).fetchone()
        batches: list[str] = []
        recorded = 0
        for batch_id, rows in matched.per_batch:
            # Receipts are proof Atlas took the documents, even if the chunk was meanwhile
            # marked uncertain because its sender looked gone; a row moved to another chunk
            # since (a resend) is left alone. One statement for the whole batch: executemany
            # gives up the GIL once per row. The unary + keep the planner on the row ids (a
            # scan of the chunk's index per receipt otherwise).
            count = db.conn.execute(
                "UPDATE documents SET state = ?, batch_id = ?, file_uuid = json_extract(r.value, '$[1]'),"
                " submitted_at = ?, updated_at = ?, error = NULL FROM json_each(?) AS r"
                " WHERE documents.id = json_extract(r.value, '$[0]') AND +documents.chunk_id = ?"
                " AND +documents.state IN (?, ?)",
                [S.SUBMITTED, batch_id, now, now, rows, chunk_id, S.QUEUED, S.UNCERTAIN],
            ).rowcount
            if not count:
                continue
            recorded += count
            batches.append(batch_id)
            db.conn.execute(
                "INSERT INTO batches (batch_id, upload_id, chunk_id, product_type, documents, state,"
                " created_at, next_poll_at, last_progress_at, target) VALUES (?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (batch_id) DO UPDATE SET documents = documents + excluded.documents",
                [batch_id, chunk[0], chunk_id, chunk[1], count, S.PROCESSING, now,
                 now + FIRST_POLL_DELAY, now, scope.target or chunk[2]],
            )
        if chunk[3] == UNKNOWN_TARGET and scope.target is not None:
            adopt_unknown_uploads(db, scope.target, chunk[0])
        if recorded < matched.pending:
            # Documents Atlas did not confirm may or may not be there: never resend them blindly.
            db.conn.execute(
                "UPDATE documents SET state = ?, updated_at = ?, error = ? WHERE chunk_id = ?"
                " AND state IN (?, ?)",
                [S.UNCERTAIN, now, "Atlas's answer did not list this document.", chunk_id,
                 S.QUEUED, S.UNCERTAIN],
            )
        db.conn.execute(
            "UPDATE chunks SET state = ?, batch_id = ?, error = NULL, updated_at = ?,"
            " next_attempt_at = NULL WHERE id = ?",
            [S.SENT, batches[0] if batches else None, now, chunk_id],
        )
        return batches

    def record_chunk_failure(
        self, chunk_id: int, state: str, error: str, *, now: float | None = None
    ) -> None:
        """Mark a chunk and its unsent documents uncertain, rejected or cancelled, with the reason."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            self._fail_chunk(db, chunk_id, state, error, now, from_states=(S.SENDING, S.QUEUED))

    @staticmethod
    def _fail_chunk(db: sqlite_utils.Database, chunk_id: int, state: str, error: str, now: float,
                    from_states: tuple[str, ...]) -> bool:
        marks = ",".join("?" * len(from_states))
        error = redact(error)  # the ledger is a sink: no secret or token is ever written to it
        changed = db.execute(
            f"UPDATE chunks SET state = ?, error = ?, updated_at = ? WHERE id = ? AND state IN ({marks})",
            [state, error, now, chunk_id, *from_states],
        ).rowcount
        if changed:
            db.execute(
                "UPDATE documents SET state = ?, error = ?, updated_at = ? WHERE chunk_id = ?"
                " AND state IN (?, ?)",
                [state, error, now, chunk_id, S.QUEUED, S.UNCERTAIN],
            )
        return bool(changed)

    def requeue_chunk(
        self, chunk_id: int, error: str, *, retry_at: float, now: float | None = None
    ) -> None:
        """Put a chunk Atlas certainly did not take back in the queue, due again at ``retry_at``."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            db.execute(
                "UPDATE chunks SET state = ?, claimed_by = NULL, error = ?, next_attempt_at = ?,"
                " updated_at = ? WHERE id = ? AND state = ?",
                [S.QUEUED, redact(error), retry_at, now, chunk_id, S.SENDING],
            )

    def sending_chunks(self) -> list[SendingChunk]:
        """Chunks in flight with their worker's host, pid and heartbeat (to find orphans)."""
        with self.reading() as db:
            return [
                cast(SendingChunk, dict(r))
                for r in db.execute(
                    "SELECT c.id AS chunk_id, c.claimed_by, c.claimed_at, w.host, w.pid,"
                    " w.pid_started, w.heartbeat_at, w.stopped_at, w.process_scope FROM chunks c"
                    " LEFT JOIN workers w ON w.id = c.claimed_by WHERE c.state = ?",
                    [S.SENDING],
                )
            ]

    def mark_orphans_uncertain(
        self, orphans: Iterable[tuple[int, str | None]], *, now: float | None = None
    ) -> int:
        """Mark in-flight chunks (chunk_id, claimed_by) whose worker is gone as uncertain."""
        now = now_ts() if now is None else now
        reason = "The process sending this chunk stopped before Atlas's answer was recorded."
        count = 0
        with self.transaction() as db:
            for chunk_id, claimed_by in orphans:
                still = db.execute(
                    "SELECT 1 FROM chunks WHERE id = ? AND state = ? AND claimed_by IS ?",
                    [chunk_id, S.SENDING, claimed_by],
                ).fetchone()
                if still:
                    count += self._fail_chunk(db, chunk_id, S.UNCERTAIN, reason, now, (S.SENDING,))
        return count

    def resolve_uncertain(
        self, chunk_id: int, action: str, *, resolved_by: str | None = None,
        now: float | None = None,
    ) -> int | None:
        """The user's choice for an uncertain chunk: 'resend' (new chunk id returned) or 'drop'."""
        if action not in ("resend", "drop"):
            raise ValueError(f"action must be 'resend' or 'drop', not {action!r}")
        now = now_ts() if now is None else now
        with self.transaction() as db:
            chunk = db.execute(
                "SELECT upload_id FROM chunks WHERE id = ? AND state = ?", [chunk_id, S.UNCERTAIN]
            ).fetchone()
            if chunk is None:
                from ..errors import LedgerError

                raise LedgerError(
                    f"Request {chunk_id} is not waiting for a decision (it may have been resolved"
                    " already, by someone else).",
                    hint="Reload to see its current state.",
                )
            require_in_scope(db, chunk["upload_id"], self.scope)
            resolution = "resent" if action == "resend" else "dropped"
            db.execute(
                "UPDATE chunks SET state = ?, resolution = ?, resolved_by = ?, resolved_at = ?,"
                " updated_at = ? WHERE id = ?",
                [S.CANCELLED, resolution, resolved_by, now, now, chunk_id],
            )
            docs = db.execute(
                "SELECT id, document_id, file_url, row_number, attempt, forced FROM documents"
                " WHERE chunk_id = ? AND state = ? ORDER BY id",
                [chunk_id, S.UNCERTAIN],
            ).fetchall()
            if action == "drop":
                db.execute(
                    "UPDATE documents SET state = ?, error = 'Dropped by the user after an uncertain"
                    " send.', updated_at = ? WHERE chunk_id = ? AND state = ?",
                    [S.CANCELLED, now, chunk_id, S.UNCERTAIN],
                )
                return None
            # The same document rows move to a new chunk: attempt+1 marks the deliberate resend.
            new_chunk = self._new_chunk(db, chunk["upload_id"], len(docs), now,
                                        self.scope.write_target)
            db.execute(
                "UPDATE documents SET state = ?, chunk_id = ?, attempt = attempt + 1, error = NULL,"
                " updated_at = ? WHERE chunk_id = ? AND state = ?",
                [S.QUEUED, new_chunk, now, chunk_id, S.UNCERTAIN],
            )
            return new_chunk

    @staticmethod
    def _new_chunk(db: sqlite_utils.Database, upload_id: int, documents: int, now: float, target: str) -> int:
        seq = db.execute(
            "SELECT coalesce(max(sequence), 0) + 1 FROM chunks WHERE upload_id = ?", [upload_id]
        ).fetchone()[0]
        return inserted_id(db.execute(
            "INSERT INTO chunks (upload_id, sequence, state, documents, created_at, updated_at,"
            " target) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [upload_id, seq, S.QUEUED, documents, now, now, target],
        ))

    def retry_failed(
        self, *, upload_id: int | None = None, batch_id: str | None = None,
        now: float | None = None, keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[int, list[int]]:
        """Queue the failed documents of an upload or batch again (attempt+1, retry_of set).

        ``keep`` (given each failed row with its ``error``) chooses which to queue; the others stay
        failed. Returns how many documents were queued and the new chunks' ids.
        """
        if (upload_id is None) == (batch_id is None):
            raise ValueError("give exactly one of upload_id or batch_id")
        now = now_ts() if now is None else now
        with self.transaction() as db:
            if upload_id is not None:
                require_in_scope(db, upload_id, self.scope)
            else:
                owner = db.execute("SELECT upload_id FROM batches WHERE batch_id = ?",
                                   [batch_id]).fetchone()
                if owner is not None:
                    require_in_scope(db, owner[0], self.scope)
            failed = db.execute(
                "SELECT id, document_id, file_url, row_number, attempt, upload_id, error"
                " FROM documents"
                " WHERE state = ? AND superseded = 0 AND (upload_id = ? OR batch_id = ?)"
                " ORDER BY upload_id, id",
                [S.FAILED, upload_id, batch_id],
            ).fetchall()
            if keep is not None:
                failed = [d for d in failed if keep(dict(d))]
            by_upload: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for d in failed:
                by_upload[d["upload_id"]].append(
                    {"document_id": d["document_id"], "file_url": d["file_url"],
                     "row_number": d["row_number"], "attempt": d["attempt"] + 1, "retry_of": d["id"],
                     "forced": True}
                )
            chunks: list[int] = []
            for up, docs in by_upload.items():
                size = db.execute("SELECT chunk_size FROM uploads WHERE id = ?", [up]).fetchone()[0]
                chunks.extend(queue_documents(db, up, docs, size, now, self.scope.write_target))
            db.conn.executemany(
                "UPDATE documents SET superseded = 1, updated_at = ? WHERE id = ?",
                [(now, d["id"]) for d in failed],
            )
        return len(failed), chunks

    def chunks_in_state(self, state: str, *, upload_id: int | None = None) -> list[ChunkRow]:
        """Chunks in one state (e.g. uncertain ones waiting for the user's decision)."""
        in_scope, scope_args = self.scope.positional("target")
        with self.reading() as db:
            return [cast(ChunkRow, dict(r)) for r in db.execute(
                "SELECT * FROM chunks WHERE state = ? AND (? IS NULL OR upload_id = ?)"
                f" AND {in_scope} ORDER BY upload_id, sequence",
                [state, upload_id, upload_id, *scope_args],
            )]

    def queued_work(self, *, upload_id: int | None = None) -> QueuedWork:
        """How many of this target's chunks are queued or in flight, and when the first is due."""
        in_scope, scope_args = self.scope.positional("target")
        with self.reading() as db:
            row = db.execute(
                "SELECT sum(state = ?) AS queued, sum(state = ?) AS sending,"
                " min(CASE WHEN state = ? THEN coalesce(next_attempt_at, 0) END) AS next_due"
                f" FROM chunks WHERE (? IS NULL OR upload_id = ?) AND {in_scope}",
                [S.QUEUED, S.SENDING, S.QUEUED, upload_id, upload_id, *scope_args],
            ).fetchone()
        return {"queued": row["queued"] or 0, "sending": row["sending"] or 0,
                "next_due": row["next_due"]}

    def sending_trouble(self, upload_id: int) -> dict[str, Any]:
        """An upload's queued requests that were put back with an error: how many, their tries,
        the latest error and when the first is due (the page's "Can't reach Atlas" sentence)."""
        with self.reading() as db:
            row = db.execute(
                "SELECT count(*) AS queued, sum(error IS NOT NULL AND attempts > 0) AS requests,"
                " max(CASE WHEN error IS NOT NULL THEN attempts END) AS attempts,"
                " min(CASE WHEN error IS NOT NULL THEN coalesce(next_attempt_at, 0) END) AS next_due"
                " FROM chunks WHERE upload_id = ? AND state = ?",
                [upload_id, S.QUEUED],
            ).fetchone()
            latest = db.execute(
                "SELECT error FROM chunks WHERE upload_id = ? AND state = ? AND error IS NOT NULL"
                " AND attempts > 0 ORDER BY updated_at DESC LIMIT 1",
                [upload_id, S.QUEUED],
            ).fetchone()
        return {"queued": row["queued"] or 0, "requests": row["requests"] or 0,
                "attempts": row["attempts"] or 0, "next_due": row["next_due"],
                "error": latest["error"] if latest else None}
