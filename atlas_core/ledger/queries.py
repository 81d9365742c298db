"""Read-only queries for the pages and the CLI: aggregated and paged in SQL, never the whole ledger."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from ..config import DEFAULT_STALLED_AFTER
from . import states as S
from .jsontext import load_stored
from .rows import (
    Attempt,
    BatchOverview,
    DocumentDetail,
    DocumentListed,
    FieldConfidence,
    FieldSample,
    FinishedBucket,
    OtherTarget,
    TypeStateCount,
    UploadRow,
)
from .store import LedgerCore, now_ts
from .targets import split_by_scope

if TYPE_CHECKING:
    import sqlite_utils

_BATCH_STATE = (
    f"CASE WHEN b.state = {S.sql_literals(S.PROCESSING)}"
    f" AND coalesce(b.last_progress_at, b.created_at) < :stall_before"
    f" THEN {S.sql_literals(S.STALLED)} ELSE b.state END"
)
_DOC_COLUMNS = (
    "d.id, d.document_id, d.batch_id, d.upload_id, d.chunk_id, d.row_number, d.file_url, d.file_uuid,"
    " d.state, d.error, d.document_type, d.min_confidence, d.attempt, d.retry_of, d.superseded,"
    " d.created_at, d.submitted_at, d.updated_at, d.finished_at"
)
# Documents no batch holds (never sent, or refused, or cancelled); the others are in batches.
_UNSENT = (S.QUEUED, S.UNCERTAIN, S.REJECTED, S.CANCELLED)
FIELD_SAMPLE = 5_000  # documents whose fields feed the confidence charts: bounded, newest first


def _progress(row: dict[str, Any]) -> float:
    # Cancelled and rejected documents will never get a result, so they do not hold progress back.
    expected = row["documents"] - (row.get("cancelled") or 0) - (row.get("rejected") or 0)
    done = (row.get("extracted") or 0) + (row.get("failed") or 0)
    return round(done / expected, 4) if expected > 0 else 1.0


def _scope_ids(upload_id: int | None) -> str:
    """The uploads a count covers, as an IN list the (upload_id, ...) indexes can search."""
    return "(:upload_id)" if upload_id is not None else "(SELECT id FROM uploads)"


def _state_counts(db: sqlite_utils.Database, upload_ids: list[int] | None) -> dict[int, dict[str, int]]:
    """Current documents per upload (all uploads for None) and state, without reading them all.

    Sent documents are counted by the batches' own counters (kept when results are stored),
    less the few superseded by a retry; only documents no batch holds are counted one by one.
    """
    ids = json.dumps(upload_ids) if upload_ids is not None else None
    scope = "(SELECT value FROM json_each(:ids))" if ids else "(SELECT id FROM uploads)"
    counts = {
        up: dict.fromkeys(("documents", *S.DOCUMENT_STATES), 0)
        for up in (upload_ids if upload_ids is not None else [])
    }

    def add(up: int, state: str, n: int) -> None:
        row = counts.setdefault(up, dict.fromkeys(("documents", *S.DOCUMENT_STATES), 0))
        row[state] += n
        row["documents"] += n

    for up, documents, extracted, failed in db.execute(
        # CAST: PostgreSQL's sum of a bigint is numeric (a Decimal); the pages want ints.
        "SELECT upload_id, CAST(sum(documents) AS INTEGER), CAST(sum(extracted) AS INTEGER),"
        " CAST(sum(failed) AS INTEGER) FROM batches"
        f" WHERE upload_id IN {scope} GROUP BY upload_id", {"ids": ids},
    ):
        add(up, S.EXTRACTED, extracted)
        add(up, S.FAILED, failed)
        add(up, S.SUBMITTED, documents - extracted - failed)
    for up, state, n in db.execute(
        # Without INDEXED BY the planner prefers (upload_id, state) for its grouping, and reads
        # every document of the upload to find the few superseded ones.
        "SELECT upload_id, state, count(*) FROM documents INDEXED BY documents_upload_current"
        f" WHERE upload_id IN {scope} AND superseded = 1 AND batch_id IS NOT NULL"
        " GROUP BY upload_id, state",
        {"ids": ids},
    ):
        add(up, state, -n)
    for up, state, n in db.execute(
        f"SELECT upload_id, state, count(*) FROM documents WHERE upload_id IN {scope}"
        f" AND state IN ({S.sql_literals(*_UNSENT)}) AND superseded = 0 GROUP BY upload_id, state",
        {"ids": ids},
    ):
        add(up, state, n)
    return counts


class QueryLedger(LedgerCore):
    """What the dashboard pages and the CLI read (only this ledger's target's work)."""

    def _visible_uploads(self, db: sqlite_utils.Database) -> str | None:
        """The ids of the uploads in scope as a JSON list, or None when no upload is hidden.

        None keeps the documents queries as they were (reading their own indexes) for the usual
        ledger that holds one target's work; the list is only built when something is hidden.
        """
        if not self.scope.scoped:
            return None
        in_scope, args = self.scope.positional("target")
        if db.execute(f"SELECT 1 FROM uploads WHERE NOT ({in_scope}) LIMIT 1", args).fetchone() is None:
            return None
        return json.dumps([r[0] for r in db.execute(f"SELECT id FROM uploads WHERE {in_scope}", args)])

    def _hidden_uploads(self, db: sqlite_utils.Database) -> str | None:
        """The ids of the uploads out of scope as a JSON list, when they hold fewer rows than the rest.

        Counts over the whole ledger follow their covering indexes; taking a small hidden part
        off afterwards (read through the upload index) costs far less than filtering every row.
        """
        if not self.scope.scoped:
            return None
        in_scope, args = self.scope.positional("target")
        sizes = dict(db.execute(
            f"SELECT {in_scope}, sum(rows_valid) FROM uploads GROUP BY 1", args
        ).fetchall())
        if not sizes.get(0) or sizes.get(0, 0) > sizes.get(1, 0):
            return None
        return json.dumps([r[0] for r in db.execute(
            f"SELECT id FROM uploads WHERE NOT ({in_scope})", args)])

    def other_targets(self) -> list[OtherTarget]:
        """Uploads of targets out of this ledger's scope: [{"target", "uploads"}], most first."""
        with self.reading() as db:
            rows = [(r[0], r[1]) for r in db.execute(
                "SELECT target, count(*) FROM uploads GROUP BY target"
            )]
        return [{"target": t, "uploads": n} for t, n in split_by_scope(rows, self.scope)]

    def list_uploads(
        self, *, limit: int = 50, offset: int = 0, file_contains: str | None = None,
        submitted_by: str | None = None, since: float | None = None, until: float | None = None,
    ) -> tuple[list[UploadRow], int]:
        """Uploads, newest first, with per-state document counts and progress; and the total.

        Filters: part of the file name (any case), the submitter, created in [since, until).
        """
        in_scope, scope_args = self.scope.named("u.target")
        # One row per spreadsheet: the uploads table stays small, so these filters scan it.
        where = f"""WHERE {in_scope}
            AND (:file IS NULL OR instr(lower(u.file_name), lower(:file)) > 0)
            AND (:who IS NULL OR u.submitted_by = :who)
            AND (:since IS NULL OR u.created_at >= :since)
            AND (:until IS NULL OR u.created_at < :until)"""
        params = {
            "file": file_contains or None, "who": submitted_by or None, "since": since,
            "until": until, **scope_args,
        }
        with self.reading() as db:
            total = db.execute(f"SELECT count(*) FROM uploads u {where}", params).fetchone()[0]
            rows = db.execute(
                f"""SELECT u.*, (SELECT count(*) FROM chunks ch WHERE ch.upload_id = u.id
                     AND ch.state = {S.sql_literals(S.UNCERTAIN)}) AS uncertain_chunks,
                    (SELECT count(*) FROM chunks ch WHERE ch.upload_id = u.id) AS requests,
                    (SELECT count(*) FROM batches b WHERE b.upload_id = u.id) AS batches
                FROM uploads u {where} ORDER BY u.id DESC LIMIT :limit OFFSET :offset""",
                {"limit": limit, "offset": offset, **params},
            ).fetchall()
            counts = _state_counts(db, [r["id"] for r in rows])
        out: list[UploadRow] = []
        for r in rows:
            item: dict[str, Any] = dict(r) | counts[r["id"]]
            item["columns"] = json.loads(item["columns"]) if item["columns"] else []
            item["progress"] = _progress(item)
            out.append(cast(UploadRow, item))  # the columns selected above, with the counts
        return out, total

    def submitters(self) -> list[str]:
        """Who submitted this target's uploads, by name (for the uploads filter)."""
        in_scope, scope_args = self.scope.named("target")
        with self.reading() as db:
            return [r[0] for r in db.execute(
                f"SELECT DISTINCT submitted_by FROM uploads WHERE {in_scope}"
                " AND submitted_by IS NOT NULL AND submitted_by != '' ORDER BY submitted_by",
                scope_args,
            )]

    def uploads_holding(self, search: str) -> list[int]:
        """The uploads (newest first) holding a batch or a document with this exact id."""
        in_scope, scope_args = self.scope.named("u.target")
        with self.reading() as db:
            return [r[0] for r in db.execute(
                f"""SELECT u.id FROM uploads u WHERE {in_scope} AND u.id IN (
                    SELECT upload_id FROM batches WHERE batch_id = :search
                    UNION SELECT upload_id FROM documents WHERE document_id = :search)
                ORDER BY u.id DESC""",
                {"search": search.strip(), **scope_args},
            )]

    def upload(self, upload_id: int) -> UploadRow | None:
        """One upload of this target with its counts (as in list_uploads), or None."""
        in_scope, scope_args = self.scope.positional("target")
        with self.reading() as db:
            offset = db.execute(
                f"SELECT count(*) FROM uploads WHERE id > ? AND {in_scope}", [upload_id, *scope_args]
            ).fetchone()[0]
        rows, _ = self.list_uploads(limit=1, offset=offset)
        return rows[0] if rows and rows[0]["id"] == upload_id else None

    def batches_overview(
        self,
        *,
        state: str | None = None,
        upload_id: int | None = None,
        product_type: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
        now: float | None = None,
        stalled_after: float = DEFAULT_STALLED_AFTER,
    ) -> tuple[list[BatchOverview], int]:
        """Batches, newest first, filtered (state may be 'stalled'; search is a batch or document id)."""
        params = {
            "stall_before": (now_ts() if now is None else now) - stalled_after,
            "state": state, "upload_id": upload_id, "product_type": product_type,
            "search": search.strip() if search else None, "limit": limit, "offset": offset,
        }
        in_scope, scope_args = self.scope.named("b.target")
        params |= scope_args
        where = f"""WHERE (:state IS NULL OR {_BATCH_STATE} = :state) AND {in_scope}
            AND (:upload_id IS NULL OR b.upload_id = :upload_id)
            AND (:product_type IS NULL OR b.product_type = :product_type)
            AND (:search IS NULL OR b.batch_id = :search OR b.batch_id IN
                 (SELECT batch_id FROM documents WHERE document_id = :search))"""
        with self.reading() as db:
            total = db.execute(f"SELECT count(*) FROM batches b {where}", params).fetchone()[0]
            rows = db.execute(
                f"""SELECT b.batch_id, b.upload_id, u.file_name, b.product_type, b.documents,
                    b.extracted, b.failed, b.documents - b.extracted - b.failed AS pending,
                    {_BATCH_STATE} AS state, b.created_at, b.last_polled_at, b.next_poll_at,
                    b.completed_at, b.last_progress_at, b.last_error, b.total_items_reported
                FROM batches b JOIN uploads u ON u.id = b.upload_id {where}
                ORDER BY b.created_at DESC, b.batch_id LIMIT :limit OFFSET :offset""",
                params,
            ).fetchall()
        return [cast(BatchOverview, dict(r)) for r in rows], total

    def documents_page(
        self,
        *,
        upload_id: int | None = None,
        batch_id: str | None = None,
        document_type: str | None = None,
        state: str | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        needs_review_below: float | None = None,
        search: str | None = None,
        include_superseded: bool = False,
        with_file_data: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[DocumentListed], int]:
        """Documents matching the filters, newest first (file_data parsed if asked), and the total."""
        params = {
            "upload_id": upload_id, "batch_id": batch_id, "document_type": document_type,
            "state": state, "min_c": min_confidence, "max_c": max_confidence,
            "review": needs_review_below, "search": search.strip() if search else None,
            "limit": limit, "offset": offset,
        }
        # Only the filters given go into the statement, so SQLite can use an index for them
        # (a ":x IS NULL OR col = :x" term hides the index from the planner).
        terms = {
            "upload_id": "d.upload_id = :upload_id", "batch_id": "d.batch_id = :batch_id",
            "document_type": "d.document_type = :document_type", "state": "d.state = :state",
            "min_c": "d.min_confidence >= :min_c", "max_c": "d.min_confidence <= :max_c",
            "review": f"d.state = {S.sql_literals(S.EXTRACTED)} AND d.min_confidence < :review",
            "search": "d.document_id = :search",
        }
        given = [key for key in terms if params[key] is not None]
        with self.reading() as db:
            visible = None if upload_id is not None else self._visible_uploads(db)
            if visible is not None:  # other targets' work is in the file: leave it out
                params["visible"] = visible
                terms["visible"] = "d.upload_id IN (SELECT value FROM json_each(:visible))"
                given.append("visible")
            counts = _state_counts(
                db, [upload_id] if upload_id is not None
                else (json.loads(visible) if visible is not None else None)
            )
            in_scope = sum(c["documents"] for c in counts.values())
            by_state = state or (S.EXTRACTED if needs_review_below is not None else None)
            if by_state and sum(c.get(by_state, 0) for c in counts.values()) * 10 > in_scope:
                # A common state: reading the table newest first finds a page sooner than the
                # state index would (which visits every such document, then sorts them).
                terms["state"] = terms["state"].replace("d.state", "+d.state")
                terms["review"] = terms["review"].replace("d.state", "+d.state")
            where = " AND ".join(
                [*([] if include_superseded else ["d.superseded = 0"]), *(terms[k] for k in given)]
            )
            where = f"WHERE {where}" if where else ""
            if include_superseded or not set(given) <= {"upload_id", "state", "visible"}:
                total = db.execute(f"SELECT count(*) FROM documents d {where}", params).fetchone()[0]
            else:  # from the batches' counters: no document is read
                total = sum(c.get(state or "documents", 0) for c in counts.values())
            extra = ", d.file_data" if with_file_data else ""
            rows = db.execute(
                f"SELECT {_DOC_COLUMNS}{extra} FROM documents d {where}"
                " ORDER BY d.id DESC LIMIT :limit OFFSET :offset",
                params,
            ).fetchall()
        out = [dict(r) for r in rows]
        if with_file_data:
            for item in out:
                item["file_data"] = load_stored(item["file_data"])
        return cast(list[DocumentListed], out), total

    def document_detail(self, row_id: int) -> DocumentDetail | None:
        """One document row with its file_data and every attempt for the same document_id."""
        with self.reading() as db:
            row = db.execute(
                f"SELECT {_DOC_COLUMNS}, d.file_data FROM documents d WHERE d.id = ?", [row_id]
            ).fetchone()
            if row is None:
                return None
            item = dict(row)
            item["file_data"] = load_stored(item["file_data"])
            in_scope, scope_args = self.scope.uploads_positional("upload_id")
            item["attempts"] = [cast(Attempt, dict(a)) for a in db.execute(
                "SELECT id, batch_id, state, error, attempt, retry_of, submitted_at, finished_at"
                f" FROM documents WHERE document_id = ? AND {in_scope} ORDER BY id",
                [item["document_id"], *scope_args],
            )]
        return cast(DocumentDetail, item)

    def counts_by_type_and_state(self, *, upload_id: int | None = None) -> list[TypeStateCount]:
        """Document counts per (document_type, state), current attempts only."""
        scope = "upload_id = :upload_id" if upload_id is not None else "1"
        with self.reading() as db:
            hidden = None if upload_id is not None else self._hidden_uploads(db)
            visible = None if upload_id is not None or hidden else self._visible_uploads(db)
            uploads = _scope_ids(upload_id)
            if visible is not None:
                scope = "upload_id IN (SELECT value FROM json_each(:visible))"
                uploads = "(SELECT value FROM json_each(:visible))"
            # Another target's current attempts, when they are the smaller part: taken off below.
            minus_hidden = """UNION ALL
                    SELECT state, NULL, document_type, -count(*) FROM documents
                    WHERE upload_id IN (SELECT value FROM json_each(:hidden)) AND superseded = 0
                    GROUP BY state, document_type""" if hidden else ""
            # Every attempt is counted in index order (state, finished_at, type: no sort of the
            # ledger), then the few superseded attempts are taken off: for one upload the planner
            # would read all its documents through (upload_id, state) without INDEXED BY.
            return [cast(TypeStateCount, dict(r)) for r in db.execute(
                f"""SELECT document_type, state, CAST(sum(n) AS INTEGER) AS documents FROM (
                    SELECT state, finished_at, document_type, count(*) AS n FROM documents
                    WHERE {scope} GROUP BY state, finished_at, document_type
                    UNION ALL
                    SELECT state, NULL, document_type, -count(*) FROM documents
                    INDEXED BY documents_upload_current
                    WHERE upload_id IN {uploads} AND superseded = 1
                    GROUP BY state, document_type
                    {minus_hidden}
                ) GROUP BY document_type, state HAVING sum(n) > 0 ORDER BY document_type, state""",
                {"upload_id": upload_id, "visible": visible, "hidden": hidden},
            )]

    def field_confidence_sample(
        self, *, upload_id: int | None = None, document_type: str | None = None,
        limit: int = FIELD_SAMPLE,
    ) -> list[FieldSample]:
        """(document_type, field, confidence) for the fields of the latest ``limit`` extracted documents."""
        with self.reading() as db:
            hidden = None if upload_id is not None else self._hidden_uploads(db)
            visible = None if upload_id is not None or hidden else self._visible_uploads(db)
            # A small visible part is found through the upload index; a small hidden one is
            # skipped row by row while reading newest first (NOT IN never picks an index).
            scope = ("AND upload_id IN (SELECT value FROM json_each(:visible))" if visible
                     else "AND upload_id NOT IN (SELECT value FROM json_each(:hidden))" if hidden
                     else "")
            # +state: the newest extracted documents are found reading newest first; the state
            # index would visit every extracted document, then sort them all by id.
            return [cast(FieldSample, dict(r)) for r in db.execute(
                f"""WITH sample AS (SELECT id, document_type, file_data FROM documents
                       WHERE +state = {S.sql_literals(S.EXTRACTED)} AND superseded = 0
                       AND file_data IS NOT NULL
                       AND json_valid(file_data)
                       AND (:upload_id IS NULL OR upload_id = :upload_id) {scope}
                       AND (:dt IS NULL OR document_type = :dt) ORDER BY id DESC LIMIT :limit)
                SELECT sample.document_type, f.key AS field,
                       json_extract(f.value, '$.confidence_score') AS confidence
                FROM sample, json_each(sample.file_data) AS f
                WHERE f.type = 'object' AND json_type(f.value, '$.confidence_score') IN ('real', 'integer')""",
                {"upload_id": upload_id, "dt": document_type, "limit": limit, "visible": visible,
                 "hidden": hidden},
            )]

    def field_confidence(
        self, *, upload_id: int | None = None, document_type: str | None = None, bins: int = 10,
        review_below: float | None = None, limit: int = FIELD_SAMPLE,
    ) -> list[FieldConfidence]:
        """Per field over a bounded sample: values, mean and lowest confidence, histogram, below threshold."""
        per_field: dict[str, list[float]] = {}
        for row in self.field_confidence_sample(upload_id=upload_id, document_type=document_type,
                                                limit=limit):
            per_field.setdefault(row["field"], []).append(float(row["confidence"]))
        out: list[FieldConfidence] = []
        for name in sorted(per_field):
            values = per_field[name]
            histogram = [0] * bins
            for v in values:
                histogram[min(max(int(v * bins), 0), bins - 1)] += 1
            out.append({
                "field": name, "values_seen": len(values), "mean_confidence": sum(values) / len(values),
                "min_confidence": min(values), "histogram": histogram,
                "below_threshold": None if review_below is None else sum(v < review_below for v in values),
            })
        return out

    def finished_over_time(
        self, *, bucket_seconds: float = 3600, since: float | None = None, upload_id: int | None = None,
    ) -> list[FinishedBucket]:
        """Documents finished per time bucket: bucket start (epoch seconds), extracted, failed."""
        scope = "AND upload_id = :upload_id" if upload_id is not None else ""
        with self.reading() as db:
            hidden = None if upload_id is not None else self._hidden_uploads(db)
            visible = None if upload_id is not None or hidden else self._visible_uploads(db)
            index = ""
            finished = S.sql_literals(S.EXTRACTED, S.FAILED)
            extracted, failed = S.sql_literals(S.EXTRACTED), S.sql_literals(S.FAILED)
            if visible is not None:  # the smaller part: read through the upload index
                scope = "AND upload_id IN (SELECT value FROM json_each(:visible))"
                index = "INDEXED BY documents_upload_state"
            # Another target's finished documents, when they are the smaller part: taken off.
            minus_hidden = f"""UNION ALL
                      SELECT state, finished_at, -count(*) FROM documents
                      INDEXED BY documents_upload_state
                      WHERE upload_id IN (SELECT value FROM json_each(:hidden))
                      AND state IN ({finished}) AND finished_at >= :since
                      GROUP BY state, finished_at""" if hidden else ""
            # The inner GROUP BY follows the index (state, finished_at), and a poll stores all its
            # results at one time, so it hands on a few rows per poll, not one per document.
            return [cast(FinishedBucket, dict(r)) for r in db.execute(
                f"""SELECT CAST(finished_at / :size AS INTEGER) * :size AS bucket,
                    CAST(sum(CASE WHEN state = {extracted} THEN n ELSE 0 END) AS INTEGER) AS extracted,
                    CAST(sum(CASE WHEN state = {failed} THEN n ELSE 0 END) AS INTEGER) AS failed
                FROM (SELECT state, finished_at, count(*) AS n FROM documents {index}
                      WHERE state IN ({finished}) AND finished_at >= :since {scope}
                      GROUP BY state, finished_at
                      {minus_hidden})
                GROUP BY bucket HAVING sum(n) > 0 ORDER BY bucket""",
                {"size": bucket_seconds, "since": float("-inf") if since is None else since,
                 "upload_id": upload_id, "visible": visible, "hidden": hidden},
            )]

    def failure_reasons(self, upload_id: int) -> list[dict[str, Any]]:
        """An upload's failed documents (current attempts) counted per error, most first."""
        with self.reading() as db:
            return [dict(r) for r in db.execute(
                "SELECT error, count(*) AS documents FROM documents"
                " WHERE upload_id = ? AND state = ? AND superseded = 0"
                " GROUP BY error ORDER BY documents DESC, error",
                [upload_id, S.FAILED],
            )]
