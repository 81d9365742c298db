"""Recording uploads: their rows, the documents they queue, and the chunks those are split into."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from ..errors import LedgerError
from . import states as S
from .balance import record_cell_fixes
from .dispositions import decide_rows
from .records import CellFix, QueuedUpload, RowRecord, UploadRecord
from .rows import EarlierUpload
from .store import LedgerCore, inserted_id, now_ts
from .targets import UNKNOWN_TARGET, TargetScope, describe_target

if TYPE_CHECKING:
    import sqlite_utils

ROW_BATCH = 5_000  # rows read and written per statement while recording an upload

# A document_id in one of these states is "already submitted and not failed".
_LIVE_STATES = (S.QUEUED, S.SUBMITTED, S.EXTRACTED, S.UNCERTAIN)


def _live_ids(db: sqlite_utils.Database, ids: Iterable[str], scope: TargetScope) -> dict[str, int]:
    """The ids among ``ids`` this target holds live, each with the first upload that sent it."""
    # Only this target's work: an ID tried in the sandbox is not "already submitted" to Atlas.
    marks = ",".join("?" * len(_LIVE_STATES))
    in_scope, scope_args = scope.uploads_positional("upload_id")
    rows = db.execute(
        f"SELECT document_id, MIN(upload_id) FROM documents WHERE state IN ({marks})"
        f" AND document_id IN (SELECT value FROM json_each(?)) AND {in_scope} GROUP BY document_id",
        [*_LIVE_STATES, json.dumps(list(ids)), *scope_args],
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def _refuse_submitted_since(taken: Collection[str]) -> None:
    """Raise LedgerError for the IDs a plan decided sendable that are live by now (``taken``)."""
    if taken:
        example = sorted(taken)[0]
        raise LedgerError(
            f"{len(taken)} document ID(s) of this upload (such as {example!r}) were submitted since"
            " it was checked: nothing was recorded.",
            hint="Check the file again to see what would be skipped now, then send it.",
        )


def require_in_scope(db: sqlite_utils.Database, upload_id: int, scope: TargetScope) -> bool:
    """False when the upload does not exist; raise LedgerError when it is another target's work."""
    row = db.execute("SELECT target FROM uploads WHERE id = ?", [upload_id]).fetchone()
    if row is None:
        return False
    if not scope.includes(row[0]):
        raise LedgerError(
            f"Upload {upload_id} was sent to {describe_target(row[0])}, not to"
            f" {describe_target(scope.write_target)}: nothing was changed.",
            hint="Change the settings to that Atlas to work on it.",
        )
    return True


def adopt_unknown_uploads(db: sqlite_utils.Database, target: str, upload_id: int | None = None) -> int:
    """Give ``target`` to unknown uploads (one, or all) every batch of which is ``target``'s.

    An upload from before targets were recorded is placed once all its batches are (by the
    sandbox's journal, or by the Atlas that took or answered them); its unsent chunks follow.
    """
    only_target = (
        "SELECT id FROM uploads u WHERE u.target = :unknown AND (:upload_id IS NULL OR u.id = :upload_id)"
        " AND EXISTS (SELECT 1 FROM batches b WHERE b.upload_id = u.id)"
        " AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.upload_id = u.id AND b.target != :target)"
    )
    args = {"unknown": UNKNOWN_TARGET, "target": target, "upload_id": upload_id}
    db.execute(f"UPDATE chunks SET target = :target WHERE target = :unknown AND upload_id IN ({only_target})",
               args)
    return db.execute(f"UPDATE uploads SET target = :target WHERE id IN ({only_target})", args).rowcount


def _original_json(row: RowRecord) -> str | None:
    if row.original_json is not None:
        return row.original_json
    return json.dumps(row.original, default=str, ensure_ascii=False) if row.original else None


def _batches(rows: Iterable[RowRecord], size: int) -> Iterator[list[RowRecord]]:
    """``rows`` in lists of at most ``size``, in order."""
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def queue_documents(
    db: sqlite_utils.Database,
    upload_id: int,
    docs: Sequence[dict[str, Any]],
    chunk_size: int,
    now: float,
    target: str,
) -> list[int]:
    """Insert ``docs`` as queued documents in new chunks of at most ``chunk_size`` for ``target``."""
    start = db.execute(
        "SELECT coalesce(max(sequence), 0) FROM chunks WHERE upload_id = ?", [upload_id]
    ).fetchone()[0]
    chunk_ids: list[int] = []
    for offset in range(0, len(docs), chunk_size):
        part = docs[offset : offset + chunk_size]
        cur = db.execute(
            "INSERT INTO chunks (upload_id, sequence, state, documents, created_at, updated_at,"
            " target) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [upload_id, start + len(chunk_ids) + 1, S.QUEUED, len(part), now, now, target],
        )
        chunk_id = inserted_id(cur)
        chunk_ids.append(chunk_id)
        db.conn.executemany(
            "INSERT INTO documents (document_id, file_url, upload_id, row_number, chunk_id, state,"
            " created_at, updated_at, attempt, retry_of, forced) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    d["document_id"],
                    d["file_url"],
                    upload_id,
                    d.get("row_number"),
                    chunk_id,
                    S.QUEUED,
                    now,
                    now,
                    d.get("attempt", 1),
                    d.get("retry_of"),
                    int(bool(d.get("forced"))),
                )
                for d in part
            ],
        )
    return chunk_ids


def queue_rows(
    db: sqlite_utils.Database,
    upload_id: int,
    count: int,
    chunk_size: int,
    now: float,
    target: str,
    *,
    forced: bool,
) -> list[int]:
    """Queue the ``count`` rows of an upload whose disposition is 'queued' as documents, in row
    order, in new chunks of at most ``chunk_size`` for ``target``; return the chunk ids.

    The same documents ``queue_documents`` would insert, copied from upload_rows by one
    statement rather than passed through Python one by one.
    """
    start = db.execute(
        "SELECT coalesce(max(sequence), 0) FROM chunks WHERE upload_id = ?", [upload_id]
    ).fetchone()[0]
    sizes = [min(chunk_size, count - offset) for offset in range(0, count, chunk_size)]
    db.conn.executemany(
        "INSERT INTO chunks (upload_id, sequence, state, documents, created_at, updated_at, target)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(upload_id, start + k + 1, S.QUEUED, size, now, now, target) for k, size in enumerate(sizes)],
    )
    # The k-th chunk_size of the queued rows (by row number) go to the chunk of sequence start+k+1.
    db.execute(
        "INSERT INTO documents (document_id, file_url, upload_id, row_number, chunk_id, state,"
        " created_at, updated_at, attempt, retry_of, forced)"
        " SELECT r.document_id, r.file_url, r.upload_id, r.row_number, c.id, ?, ?, ?, 1, NULL, ?"
        " FROM (SELECT document_id, file_url, upload_id, row_number,"
        "   (row_number() OVER (ORDER BY row_number) - 1) / ? AS k"
        "   FROM upload_rows WHERE upload_id = ? AND disposition = ?) AS r"
        " JOIN chunks c ON c.upload_id = r.upload_id AND c.sequence = ? + r.k + 1"
        " ORDER BY r.row_number",
        [S.QUEUED, now, now, int(forced), chunk_size, upload_id, S.ROW_QUEUED, start],
    )
    return [
        r[0] for r in db.execute(
            "SELECT id FROM chunks WHERE upload_id = ? AND sequence > ? ORDER BY sequence",
            [upload_id, start],
        ).fetchall()
    ]


class UploadLedger(LedgerCore):
    """Uploads, their rows, and queueing their documents."""

    def record_upload(
        self,
        upload: UploadRecord,
        rows: Iterable[RowRecord],
        *,
        chunk_size: int,
        pilot: int | None = None,
        force: bool = False,
        now: float | None = None,
        dispositions: Sequence[str] | None = None,
        fixes: Iterable[CellFix] = (),
    ) -> QueuedUpload:
        """Record an upload and queue its valid rows in chunks, all in one transaction.

        ``dispositions`` (one per row) is a plan's decision (``dispositions.decide_rows``), recorded
        as it is: a LedgerError, and nothing recorded, when an ID it queues was submitted since.
        Without it the same rule decides here, against what the ledger holds now. ``fixes``: the
        cells the analyst fixed before sending, recorded with the submitter and this time.

        With a plan, ``rows`` is read once, in order, and written ROW_BATCH at a time; the
        documents are then made from the rows queued, inside SQLite: a sheet of any size costs
        one batch of rows in memory, never a list of them all.
        """
        now = now_ts() if now is None else now
        in_scope, scope_args = self.scope.positional("target")
        with self.transaction() as db:
            same_file = tuple(
                r[0]
                for r in db.execute(
                    f"SELECT id FROM uploads WHERE content_hash = ? AND {in_scope} ORDER BY id",
                    [upload.content_hash, *scope_args],
                ).fetchall()
            ) if upload.content_hash else ()
            planned = dispositions is not None
            if dispositions is None:  # no plan: the rows are a list the caller holds anyway
                rows = list(rows)
                valid_ids = [str(r.document_id) for r in rows if r.valid]
                live = set() if force else set(_live_ids(db, valid_ids, self.scope))
                dispositions = decide_rows(rows, live, pilot=pilot, force=force)
            # The counts are known once every row is read: set at the end, in this transaction.
            cur = db.execute(
                "INSERT INTO uploads (file_name, content_hash, product_type, submitted_by, created_at,"
                " url_column, id_column, columns, chunk_size, forced, target)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [upload.file_name, upload.content_hash, upload.product_type, upload.submitted_by, now,
                 upload.url_column, upload.id_column, json.dumps(list(upload.columns)),
                 chunk_size, int(force), self.scope.write_target],
            )
            upload_id = inserted_id(cur)
            total = valid_count = held = queued = 0
            skipped: list[str] = []
            taken: set[str] = set()
            decided = iter(dispositions)
            for batch in _batches(rows, ROW_BATCH):
                marks = list(islice(decided, len(batch)))
                if len(marks) != len(batch):
                    raise ValueError(f"{len(dispositions)} dispositions for more rows")
                sending = [str(r.document_id) for r, d in zip(batch, marks, strict=True)
                           if d == S.ROW_QUEUED]
                if planned and not force:  # under the write lock: no other writer can slip in now
                    taken |= set(_live_ids(db, sending, self.scope))
                skipped += [str(r.document_id) for r, d in zip(batch, marks, strict=True)
                            if d == S.ROW_DUPLICATE]
                held += marks.count(S.ROW_HELD)
                queued += len(sending)
                total += len(batch)
                valid_count += sum(1 for r in batch if r.valid)
                db.conn.executemany(
                    "INSERT INTO upload_rows (upload_id, row_number, document_id, file_url, valid,"
                    " disposition, problems, original) VALUES (?,?,?,?,?,?,?,?)",
                    [
                        (upload_id, r.row_number, r.document_id, r.file_url, int(r.valid), disposition,
                         json.dumps(list(r.problems), default=str) if r.problems else None,
                         _original_json(r))
                        for r, disposition in zip(batch, marks, strict=True)
                    ],
                )
            if next(decided, None) is not None:
                raise ValueError(f"{len(dispositions)} dispositions for {total} rows")
            if taken:
                _refuse_submitted_since(taken)
            chunk_ids = queue_rows(db, upload_id, queued, chunk_size, now, self.scope.write_target,
                                   forced=force)
            record_cell_fixes(db, upload_id, fixes, upload.submitted_by, now)
            db.execute(
                "UPDATE uploads SET rows_total = ?, rows_valid = ?, rows_invalid = ?, rows_skipped = ?,"
                " rows_held = ? WHERE id = ?",
                [total, valid_count, total - valid_count, len(skipped), held, upload_id],
            )
        return QueuedUpload(
            upload_id=upload_id,
            queued=queued,
            invalid=total - valid_count,
            held=held,
            skipped_ids=tuple(skipped),
            chunk_ids=tuple(chunk_ids),
            same_file_uploads=same_file,
        )

    def queue_held(self, upload_id: int, *, force: bool = False, now: float | None = None) -> QueuedUpload:
        """Queue the rows a pilot run held back (skipping ids submitted since, unless forced)."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            if not require_in_scope(db, upload_id, self.scope):
                return QueuedUpload(upload_id, 0, 0, 0)
            upload = db.execute("SELECT chunk_size FROM uploads WHERE id = ?", [upload_id]).fetchone()
            held = db.execute(
                "SELECT row_number, document_id, file_url FROM upload_rows"
                " WHERE upload_id = ? AND disposition = ? ORDER BY row_number",
                [upload_id, S.ROW_HELD],
            ).fetchall()
            live = set() if force else set(_live_ids(db, [r["document_id"] for r in held], self.scope))
            docs = [dict(r) | {"forced": force} for r in held if r["document_id"] not in live]
            skipped = tuple(r["document_id"] for r in held if r["document_id"] in live)
            db.execute(
                "UPDATE upload_rows SET disposition = CASE WHEN document_id IN"
                " (SELECT value FROM json_each(?)) THEN ? ELSE ? END"
                " WHERE upload_id = ? AND disposition = ?",
                [json.dumps(list(skipped)), S.ROW_DUPLICATE, S.ROW_QUEUED, upload_id, S.ROW_HELD],
            )
            db.execute(
                "UPDATE uploads SET rows_held = 0, rows_skipped = rows_skipped + ? WHERE id = ?",
                [len(skipped), upload_id],
            )
            chunk_ids = queue_documents(db, upload_id, docs, upload["chunk_size"], now,
                                        self.scope.write_target)
        return QueuedUpload(upload_id, len(docs), 0, 0, skipped, tuple(chunk_ids))

    def known_ids(self, ids: Iterable[str]) -> dict[str, int]:
        """The ids among ``ids`` already submitted (or queued) and not failed, each with the first
        upload that sent it, for intake's known_ids ("already sent in upload 3")."""
        with self.reading() as db:
            return dict(sorted(_live_ids(db, [str(i) for i in ids], self.scope).items()))

    def uploads_with_hash(self, content_hash: str) -> list[EarlierUpload]:
        """Earlier uploads of the same file (same content hash) for this target, oldest first."""
        in_scope, scope_args = self.scope.positional("target")
        with self.reading() as db:
            return [
                cast(EarlierUpload, dict(r))
                for r in db.execute(
                    "SELECT id, file_name, created_at, submitted_by FROM uploads"
                    f" WHERE content_hash = ? AND {in_scope} ORDER BY id",
                    [content_hash, *scope_args],
                ).fetchall()
            ]

    def cancel_queued(self, *, upload_id: int, now: float | None = None) -> int:
        """Cancel the queued (not yet sent) work of an upload; return how many documents."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            if not require_in_scope(db, upload_id, self.scope):
                return 0
            n = db.execute(
                "UPDATE documents SET state = ?, updated_at = ?, error = 'Cancelled before sending.'"
                " WHERE upload_id = ? AND state = ?"
                " AND chunk_id IN (SELECT id FROM chunks WHERE upload_id = ? AND state = ?)",
                [S.CANCELLED, now, upload_id, S.QUEUED, upload_id, S.QUEUED],
            ).rowcount
            db.execute(
                "UPDATE chunks SET state = ?, updated_at = ?, claimed_by = NULL"
                " WHERE upload_id = ? AND state = ?",
                [S.CANCELLED, now, upload_id, S.QUEUED],
            )
            db.execute(
                "UPDATE upload_rows SET disposition = ? WHERE upload_id = ? AND disposition = ?",
                [S.ROW_CANCELLED, upload_id, S.ROW_HELD],
            )
            db.execute("UPDATE uploads SET rows_held = 0 WHERE id = ?", [upload_id])
        return n
