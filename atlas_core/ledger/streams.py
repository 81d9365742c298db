"""Streaming rows out of the ledger for exports and reconciliation, a page at a time by key."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, cast

from .jsontext import load_stored
from .reviews import corrections_for
from .rows import DocumentRow, UploadRowRead
from .store import LedgerCore

STREAM_PAGE = 1000  # rows per read transaction, so a slow consumer never pins a snapshot


class StreamLedger(LedgerCore):
    """Iterators over documents and spreadsheet rows."""

    def iter_documents(
        self,
        *,
        upload_id: int | None = None,
        batch_id: str | None = None,
        states: Sequence[str] | None = None,
        include_superseded: bool = False,
        page_size: int = STREAM_PAGE,
    ) -> Iterator[DocumentRow]:
        """This target's document-row dicts (file_data parsed) in ledger order, for results/."""
        # Exports hold only the target in use: sandbox results never reach a real export.
        in_scope, scope_args = self.scope.uploads_named("upload_id")
        params: dict[str, Any] = {
            "upload_id": upload_id, "batch_id": batch_id, "all": int(include_superseded),
            "states": json.dumps(list(states)) if states else None, **scope_args,
        }
        if upload_id is not None and batch_id is None and not states:
            # One upload: each page is a range of the (upload_id, superseded, id) index, read in
            # id order. The general filter below makes SQLite sort the whole rest of the upload
            # for every page (quadratic: 40 s of 200,000 documents went there); superseded
            # attempts come as a second range, merged by id.
            where = f"upload_id = :upload_id AND superseded = :flag AND {in_scope}"
            flags = (0, 1) if include_superseded else (0,)
            streams = [self._document_pages(where, params | {"flag": f}, page_size) for f in flags]
            yield from heapq.merge(*streams, key=itemgetter("id"))
            return
        where = (
            "(:all OR superseded = 0)"
            " AND (:upload_id IS NULL OR upload_id = :upload_id)"
            " AND (:batch_id IS NULL OR batch_id = :batch_id)"
            " AND (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))"
            f" AND {in_scope}"
        )
        yield from self._document_pages(where, params, page_size)

    def _document_pages(
        self, where: str, params: dict[str, Any], page_size: int
    ) -> Iterator[DocumentRow]:
        last = 0
        while True:
            with self.reading() as db:
                rows = db.execute(
                    "SELECT id, document_id, batch_id, file_url, state, document_type, error,"
                    " file_data, min_confidence, upload_id, attempt, row_number, retry_of, file_uuid,"
                    f" submitted_at, finished_at FROM documents WHERE id > :last AND {where}"
                    " ORDER BY id LIMIT :size",
                    params | {"last": last, "size": page_size},
                ).fetchall()
                # A person's corrections ride along ({field: value}); exports lay them over file_data.
                corrected = corrections_for(db, [row[0] for row in rows])
            for row in rows:
                item = dict(row)
                item["file_data"] = load_stored(item["file_data"])
                if corrected and item["id"] in corrected:
                    item["corrections"] = corrected[item["id"]]
                yield cast(DocumentRow, item)
            if len(rows) < page_size:
                return
            last = rows[-1]["id"]

    def iter_upload_rows(self, upload_id: int, *, page_size: int = STREAM_PAGE) -> Iterator[UploadRowRead]:
        """The spreadsheet's rows as read (row_number order), with problems and original cells."""
        last = -1
        while True:
            with self.reading() as db:
                rows = db.execute(
                    "SELECT row_number, document_id, file_url, valid, disposition, problems, original"
                    " FROM upload_rows WHERE upload_id = ? AND row_number > ?"
                    " ORDER BY row_number LIMIT ?",
                    [upload_id, last, page_size],
                ).fetchall()
            for row in rows:
                item = dict(row)
                item["valid"] = bool(item["valid"])
                item["problems"] = json.loads(item["problems"]) if item["problems"] else []
                item["original"] = json.loads(item["original"]) if item["original"] else {}
                yield cast(UploadRowRead, item)
            if len(rows) < page_size:
                return
            last = rows[-1]["row_number"]
