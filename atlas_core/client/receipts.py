"""What one multiupload sends and what must come back: one receipt per document, one batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import ProtocolError

_SHOWN_IDS = 5  # enough IDs for a person to search the ledger with, short enough to read
RECEIPT_HINT = (
    "Atlas may have created the batch anyway: treat these documents as uncertain and check them "
    "before sending them again."
)


@dataclass(frozen=True)
class UploadItem:
    """One document to submit: where Atlas downloads it, and our ID for it."""

    file_url: str
    document_id: str


@dataclass(frozen=True)
class Receipt:
    """Atlas's acknowledgement of one submitted document."""

    batch_id: str
    document_id: str
    file_uuid: str


def upload_payload(product_type: str, items: Sequence[UploadItem]) -> dict[str, Any]:
    """The multiupload body; refuses an empty upload, blank fields and repeated document IDs."""
    if not product_type or not product_type.strip():
        raise ValueError("product_type must not be empty")
    if not items:
        raise ValueError("a multiupload needs at least one item")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, UploadItem):
            raise TypeError(f"expected UploadItem, got {type(item).__name__}")
        if not item.file_url or not item.document_id:
            raise ValueError(
                f"file_url and document_id are both required (document {item.document_id!r})"
            )
        if item.document_id in seen:
            # Receipts are matched by document_id, so a repeat could not be told apart.
            raise ValueError(f"document_id {item.document_id!r} appears twice in one upload")
        seen.add(item.document_id)
    return {
        "product_type": product_type,
        "file_urls": [{"file_url": i.file_url, "document_id": i.document_id} for i in items],
    }


def upload_body(payload: dict[str, Any]) -> bytes:
    """The multiupload body as JSON bytes, all ASCII as requests' ``json=`` wrote it."""
    # orjson writes 1,000 items in a tenth of json's time, which every lane pays holding the GIL.
    # It writes non-ASCII as UTF-8 and refuses lone surrogates: those bodies keep json's escapes.
    try:
        body = orjson.dumps(payload)
    except orjson.JSONEncodeError:
        body = b""
    if not body or not body.isascii():
        body = json.dumps(payload, allow_nan=False).encode()
    return body


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN_IDS])
    more = len(ids) - _SHOWN_IDS
    return f"{shown} and {more} more" if more > 0 else shown


def check_receipts(body: Any, items: Sequence[UploadItem]) -> list[Receipt]:
    """Receipts in the order sent, or ProtocolError naming what is missing, extra or mixed."""
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        body = body["data"]
    if not isinstance(body, list):
        raise ProtocolError(
            f"Atlas accepted the upload but answered with {type(body).__name__} instead of a list of receipts.",
            hint=RECEIPT_HINT,
        )
    # document_id -> (batch_id, file_uuid): a Receipt is made once per document sent, at the end.
    received: dict[str, tuple[str, str]] = {}
    repeated: list[str] = []
    for position, element in enumerate(body):
        if not isinstance(element, dict):
            raise _unreadable_receipt(position)
        document_id, batch_id = element.get("document_id"), element.get("batch_id")
        if document_id is None or document_id == "" or not batch_id:
            raise _unreadable_receipt(position)
        if type(document_id) is not str:  # noqa: E721 - exactly str: the usual answer, no copy
            document_id = str(document_id)
        if document_id in received:
            repeated.append(document_id)
        received[document_id] = (
            batch_id if type(batch_id) is str else str(batch_id),  # noqa: E721
            str(element.get("file_uuid") or ""),
        )
    sent = [item.document_id for item in items]
    sent_set = set(sent)
    missing = [d for d in sent if d not in received]
    extra = [d for d in received if d not in sent_set]
    batches = sorted({batch_id for batch_id, _ in received.values()})
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} of {len(sent)} documents sent have no receipt ({_some(missing)})"
        )
    if extra:
        problems.append(f"{len(extra)} receipts are for documents not sent ({_some(extra)})")
    if repeated:
        problems.append(f"{len(repeated)} documents have more than one receipt ({_some(repeated)})")
    if len(batches) > 1:
        problems.append(
            f"the receipts name {len(batches)} batches instead of one ({_some(batches)})"
        )
    if problems:
        raise ProtocolError(
            "Atlas accepted the upload but its receipts do not match what was sent: "
            + "; ".join(problems)
            + ".",
            hint=RECEIPT_HINT,
        )
    return [Receipt(received[d][0], d, received[d][1]) for d in sent]


def _unreadable_receipt(position: int) -> ProtocolError:
    """The error for a receipt that is no object, or has no document_id or batch_id."""
    return ProtocolError(
        f"Atlas accepted the upload but receipt {position + 1} has no document_id or batch_id.",
        hint=RECEIPT_HINT,
    )
