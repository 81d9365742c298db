"""Streaming rows out of the ledger for exports and reconciliation, a page at a time by key."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, cast

import orjson

from . import states as S
from .jsontext import load_stored
from .reviews import corrections_for, decisions_for
from .rows import DocumentRow, SheetRowRead, UploadRowRead
from .store import LedgerCore

STREAM_PAGE = 1000  # rows per read transaction, so a slow consumer never pins a snapshot
_DOCUMENT_COLUMNS = (
    "id", "document_id", "batch_id", "file_url", "state", "document_type", "error", "file_data",
    "min_confidence", "upload_id", "attempt", "row_number", "retry_of", "file_uuid",
    "submitted_at", "finished_at",
)  # fmt: skip
_SELECT = ", ".join(f"d.{c}" for c in _DOCUMENT_COLUMNS)
_FILE_DATA = _DOCUMENT_COLUMNS.index("file_data")
# A document_id in one of these states holds its ID: a later row with that ID was left out.
_HOLDING_STATES = S.sql_literals(S.QUEUED, S.SUBMITTED, S.EXTRACTED, S.UNCERTAIN)


def _parsed_original(text: str | None) -> dict[str, Any]:
    """A sheet row's stored cells as a dict ({} when none or unreadable)."""
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = load_stored(text)  # what orjson refuses (lone surrogates...), json may read
    return value if isinstance(value, dict) else {}


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
        document_type: str | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        needs_review_below: float | None = None,
        search: str | None = None,
        with_sheet: bool = False,
    ) -> Iterator[DocumentRow]:
        """This target's document-row dicts (file_data parsed) in ledger order, for results/.

        The filters are the Results page's (``documents_page``): a download holds what the page
        lists. ``with_sheet`` adds ``original``, the cells of the sheet row each came from.
        """
        # Exports hold only the target in use: sandbox results never reach a real export.
        in_scope, scope_args = self.scope.uploads_named("d.upload_id")
        params: dict[str, Any] = {
            "upload_id": upload_id, "batch_id": batch_id, "all": int(include_superseded),
            "states": json.dumps(list(states)) if states else None, **scope_args,
            "document_type": document_type, "min_c": min_confidence, "max_c": max_confidence,
            "review": needs_review_below, "search": search.strip() if search else None,
        }
        # Only the filters given go into the statement (as documents_page does).
        terms = {
            "document_type": "d.document_type = :document_type",
            "min_c": "d.min_confidence >= :min_c", "max_c": "d.min_confidence <= :max_c",
            "review": f"d.state = {S.sql_literals(S.EXTRACTED)} AND d.min_confidence < :review",
            "search": "d.document_id = :search",
        }
        extra = "".join(f" AND {terms[k]}" for k in terms if params[k] is not None)
        if upload_id is not None and batch_id is None and not states:
            # One upload: each page is a range of the (upload_id, superseded, id) index, read in
            # id order. The general filter below makes SQLite sort the whole rest of the upload
            # for every page (quadratic: 40 s of 200,000 documents went there); superseded
            # attempts come as a second range, merged by id.
            where = f"d.upload_id = :upload_id AND d.superseded = :flag AND {in_scope}{extra}"
            flags = (0, 1) if include_superseded else (0,)
            streams = [
                self._document_pages(where, params | {"flag": f}, page_size, with_sheet)
                for f in flags
            ]
            yield from heapq.merge(*streams, key=itemgetter("id"))
            return
        where = (
            "(:all OR d.superseded = 0)"
            " AND (:upload_id IS NULL OR d.upload_id = :upload_id)"
            " AND (:batch_id IS NULL OR d.batch_id = :batch_id)"
            " AND (:states IS NULL OR d.state IN (SELECT value FROM json_each(:states)))"
            f" AND {in_scope}{extra}"
        )
        yield from self._document_pages(where, params, page_size, with_sheet)

    def _document_pages(
        self, where: str, params: dict[str, Any], page_size: int, with_sheet: bool = False
    ) -> Iterator[DocumentRow]:
        names = (*_DOCUMENT_COLUMNS, "original") if with_sheet else _DOCUMENT_COLUMNS
        # The sheet row by the unique (upload_id, row_number) index: one lookup per document.
        sheet = (
            ", r.original FROM documents d LEFT JOIN upload_rows r"
            " ON r.upload_id = d.upload_id AND r.row_number = d.row_number"
            if with_sheet else " FROM documents d"
        )
        last = 0
        while True:
            with self.reading() as db:
                cursor = db.conn.cursor()
                cursor.row_factory = None  # tuples: dict(zip()) is several times dict(Row)
                rows = cursor.execute(
                    f"SELECT {_SELECT}{sheet} WHERE d.id > :last AND {where}"
                    " ORDER BY d.id LIMIT :size",
                    params | {"last": last, "size": page_size},
                ).fetchall()
                # A person's corrections ride along ({field: value}); exports lay them over file_data.
                corrected = corrections_for(db, [row[0] for row in rows])
                decided = decisions_for(db, [row[0] for row in rows])
            for row in rows:
                item = dict(zip(names, row, strict=True))
                item["file_data"] = load_stored(row[_FILE_DATA])
                if with_sheet:
                    item["original"] = _parsed_original(row[-1])
                if corrected and row[0] in corrected:
                    item["corrections"] = corrected[row[0]]
                if decided and row[0] in decided:
                    item["review"] = decided[row[0]]
                yield cast(DocumentRow, item)
            if len(rows) < page_size:
                return
            last = rows[-1][0]

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

    def iter_sheet(self, upload_id: int, *, page_size: int = STREAM_PAGE) -> Iterator[SheetRowRead]:
        """Every row of an upload's sheet in row order, each with its current document (or None).

        A left-out duplicate row also says where its ID went (``holder``: the upload and row of
        the document holding it). Documents are read by id a page at a time, in the sheet's row
        order, so a retried document (a later id) lands on its row without sorting the upload.
        """
        in_scope, scope_args = self.scope.uploads_positional("upload_id")
        with self.reading() as db:
            current = {
                number: doc_id
                for number, doc_id in db.execute(
                    "SELECT row_number, id FROM documents WHERE upload_id = ? AND superseded = 0"
                    f" AND row_number IS NOT NULL AND {in_scope} ORDER BY id",
                    [upload_id, *scope_args],
                ).fetchall()
            }  # the latest id wins should a row ever hold two current documents
        for page in _pages(self.iter_upload_rows(upload_id, page_size=page_size), page_size):
            wanted = [current[r["row_number"]] for r in page if r["row_number"] in current]
            docs = self._documents_by_id(wanted)
            holders = self._holders(
                upload_id, [r for r in page if r["disposition"] == S.ROW_DUPLICATE]
            )
            for row in page:
                doc = docs.get(current.get(row["row_number"], -1))
                item = cast(SheetRowRead, dict(row, document=doc, holder=None))
                if row["disposition"] == S.ROW_DUPLICATE and row["document_id"] is not None:
                    item["holder"] = holders.get(str(row["document_id"]))
                yield item

    def _documents_by_id(self, ids: list[int]) -> dict[int, DocumentRow]:
        if not ids:
            return {}
        with self.reading() as db:
            cursor = db.conn.cursor()
            cursor.row_factory = None
            rows = cursor.execute(
                f"SELECT {_SELECT} FROM documents d WHERE d.id IN (SELECT value FROM json_each(?))",
                [json.dumps(ids)],
            ).fetchall()
            corrected = corrections_for(db, ids)
            decided = decisions_for(db, ids)
        found: dict[int, DocumentRow] = {}
        for row in rows:
            item = dict(zip(_DOCUMENT_COLUMNS, row, strict=True))
            item["file_data"] = load_stored(row[_FILE_DATA])
            if row[0] in corrected:
                item["corrections"] = corrected[row[0]]
            if row[0] in decided:
                item["review"] = decided[row[0]]
            found[row[0]] = cast(DocumentRow, item)
        return found

    def _holders(self, upload_id: int, rows: list[UploadRowRead]) -> dict[str, dict[str, int]]:
        """Where each left-out duplicate's ID is held: this upload's earliest row, else the
        earliest other upload (this target's), as {"upload_id", "row_number"}."""
        ids = sorted({str(r["document_id"]) for r in rows if r["document_id"] is not None})
        if not ids:
            return {}
        in_scope, scope_args = self.scope.uploads_positional("upload_id")
        with self.reading() as db:
            found = db.execute(
                "SELECT document_id, upload_id, row_number FROM documents"
                f" WHERE document_id IN (SELECT value FROM json_each(?)) AND state IN ({_HOLDING_STATES})"
                f" AND superseded = 0 AND {in_scope}"
                " ORDER BY upload_id != ?, upload_id, row_number",
                [json.dumps(ids), *scope_args, upload_id],
            ).fetchall()
        holders: dict[str, dict[str, int]] = {}
        for doc_id, holder_upload, number in found:
            holders.setdefault(str(doc_id), {"upload_id": holder_upload, "row_number": number})
        return holders


def _pages(rows: Iterator[UploadRowRead], size: int) -> Iterator[list[UploadRowRead]]:
    page: list[UploadRowRead] = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
