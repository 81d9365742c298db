"""Deciding what one extracts item means: extracted, failed or still pending.

The contract leaves open how Atlas shows documents that are still processing or that failed
(atlas-api.md §6 points 1, 2 and 9), so every shape it might use is read, in this order:

1. an error marker (``error_code``, ``error``, ``errors``, ``error_message`` or ``error_reason``
   with content, on the item or inside ``file_data``) -> failed, with the reason as plain text;
2. a status marker (``status``, ``state``, ``processing_status``... holding text, any case):
   a failure word -> failed; a processing word (processing, pending, queued...) -> pending;
3. a ``document_type`` of ``UNRECOGNISED``/``INVALID_DOC`` -> failed;
4. at least one field with content -> extracted;
5. nothing extracted (no ``file_data``, ``{}``, or only a ``document_type``) -> failed
   ("no fields extracted").

Choice for point 5: a type with no fields is failed, not pending, when no status marker says
otherwise. Pending has no end (the batch would never complete and only the "stalled" timer would
notice), while failed is visible, counted and retryable. The shape is ambiguous, though (Atlas may
use ``{}`` for "still processing"), so such results carry ``inferred=True``: the engine can keep
polling them and let a later extracted answer win. Markers with a field shape inside
``file_data`` (``{"value": ..., "confidence_score": ...}``) are fields, never markers: the
driving licence's ``state`` is an address state. Absent documents are the engine's business.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..client.answers import UnreadableAnswer, read_json

logger = logging.getLogger(__name__)

EXTRACTED, FAILED, PENDING = "extracted", "failed", "pending"
ERROR_KEYS = ("error_message", "error", "errors", "error_reason", "error_code")
STATUS_KEYS = frozenset(
    {
        "status",
        "state",
        "processing_status",
        "document_status",
        "extraction_status",
        "file_status",
        "job_status",
    }
)
PENDING_WORDS = frozenset(
    {
        "pending",
        "processing",
        "queued",
        "in_progress",
        "inprogress",
        "in_process",
        "under_process",
        "submitted",
        "received",
        "started",
        "running",
        "waiting",
        "accepted",
        "uploaded",
        "scheduled",
        "not_started",
        "new",
        "initiated",
    }
)
FAILED_WORDS = frozenset(
    {
        "failed",
        "failure",
        "error",
        "errored",
        "rejected",
        "invalid",
        "invalid_doc",
        "unrecognised",
        "unrecognized",
        "unprocessable",
        "not_processed",
    }
)
DONE_WORDS = frozenset(
    {
        "done",
        "complete",
        "completed",
        "success",
        "successful",
        "succeeded",
        "processed",
        "extracted",
        "finished",
        "ok",
    }
)
FAILED_TYPES = {
    "UNRECOGNISED": "Atlas could not read the document or recognise its type (UNRECOGNISED).",
    "UNRECOGNIZED": "Atlas could not read the document or recognise its type (UNRECOGNIZED).",
    "INVALID_DOC": "Atlas could not download the file, or it is no valid document (INVALID_DOC).",
}
_NO_ERROR = frozenset({"", "0", "none", "null", "ok", "success", "false", "200"})
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Interpretation:
    """What one extracts item says about its document."""

    document_id: str | None
    state: str  # extracted | failed | pending
    document_type: str | None = None
    error: str | None = None
    file_data: dict[str, Any] | None = None
    min_confidence: float | None = None
    inferred: bool = False  # failed only because nothing was extracted, without any marker


UNREADABLE = "Atlas sent a result that could not be read."
INTERNAL_ERROR = "An internal error while reading this result; it was logged."


def interpret_item(item: Any) -> Interpretation:
    """Read one raw extracts item (any JSON) into an Interpretation; never raises.

    The safety net tells Atlas's data from our own failures: ``read_item`` reads every JSON
    value without raising (the property tests fuzz it), so the only Atlas data it may refuse is
    data nested too deeply to walk (RecursionError). Any other exception is a bug of ours: it is
    logged with its traceback and stored with its own message, never blamed on Atlas.
    """
    try:
        return read_item(item)
    except Exception as exc:  # one odd item must not stop a refresh of thousands
        try:
            raw_id = item.get("document_id") if isinstance(item, Mapping) else None
            document_id = _document_id(raw_id)
        except Exception:
            document_id = None
        if isinstance(exc, RecursionError):
            logger.warning("Could not read the result for document %r (nested too deeply)",
                           document_id)
            return Interpretation(document_id, FAILED, error=UNREADABLE)
        logger.exception("Reading the result for document %r failed inside Atlas Bulk Ops",
                         document_id)
        return Interpretation(document_id, FAILED, error=INTERNAL_ERROR)


def read_item(item: Any) -> Interpretation:
    """Read one raw extracts item into an Interpretation; raises only on a bug (or deep nesting)."""
    if not isinstance(item, Mapping):
        return Interpretation(None, FAILED, error="Atlas sent a result that is not an object.")
    document_id = _document_id(item.get("document_id"))
    file_data = _file_data(item.get("file_data"))
    data = file_data or {}
    doc_type = _document_type(data.get("document_type") or item.get("document_type"))
    confidence = min_confidence(data)

    def result(state: str, error: str | None = None, inferred: bool = False) -> Interpretation:
        return Interpretation(document_id, state, doc_type, error, file_data, confidence, inferred)

    error = _error_text(item, top=True) or _error_text(data, top=False)
    if error:
        return result(FAILED, error)
    status = _status_word(item) or _status_word(data)
    if status in FAILED_WORDS:
        return result(FAILED, f"Atlas reported the document as {status}.")
    if status in PENDING_WORDS:
        return result(PENDING)
    if doc_type is not None and doc_type.upper() in FAILED_TYPES:
        return result(FAILED, FAILED_TYPES[doc_type.upper()])
    if _has_fields(data):
        return result(EXTRACTED)
    if file_data is None:
        return result(FAILED, "Atlas returned no data for this document.", inferred=status is None)
    return result(
        FAILED,
        "Atlas returned no fields for this document (no fields extracted).",
        inferred=status is None,
    )


def min_confidence(file_data: Any) -> float | None:
    """The lowest confidence_score among the fields that have a numeric one, clamped to 0..1."""
    if not isinstance(file_data, Mapping):
        return None
    lowest = _lowest_score(file_data, 1, math.inf)
    return None if lowest == math.inf else lowest


def _lowest_score(node: Mapping[str, Any], depth: int, lowest: float) -> float:
    """``lowest`` lowered by the scores of ``node``'s children (at ``depth``) and their own, to depth 6."""
    # Called once per field of every result of a refresh, so plain loops, no generators.
    for key, child in node.items():
        if key == "document_type" or (type(child) is not dict and not isinstance(child, Mapping)):
            continue
        if "confidence_score" in child:
            score = child["confidence_score"]
            if type(score) is not float or not math.isfinite(score):
                score = _number(score)
            if score is not None:
                # out of range: another scale or a sentinel; clamped, -1 stays "low", 93 "high"
                score = min(max(score, 0.0), 1.0)
                if score < lowest:
                    lowest = score
        if depth < 6:
            lowest = _lowest_score(child, depth + 1, lowest)
    return lowest


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)  # float() accepts surrounding spaces in text
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _document_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _file_data(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str | bytes):  # file_data sent as a JSON string: read as bounded as a page
        try:
            value = read_json(value.encode("utf-8", "replace") if isinstance(value, str) else value)
        except UnreadableAnswer:
            return None
    return dict(value) if isinstance(value, Mapping) else None


def _document_type(value: Any) -> str | None:
    if isinstance(value, Mapping):  # a type wrapped like a field
        value = value.get("value")
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _is_field(value: Any) -> bool:
    if type(value) is not dict and not isinstance(value, Mapping):
        return False
    return "value" in value or "confidence_score" in value


def _present(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in _NO_ERROR
    if isinstance(value, int | float):
        return value != 0
    return bool(value)


def _error_text(container: Mapping[str, Any], *, top: bool) -> str | None:
    found = {}
    for key, value in container.items():
        name = str(key).lower()
        if name in ERROR_KEYS and _present(value) and (top or not _is_field(value)):
            found[name] = value
    if not found:
        return None
    code = found.pop("error_code", None)
    parts = [_text(v) for k in ERROR_KEYS if k in found for v in [found[k]]]
    if top and "reason" in container and _present(container["reason"]):
        parts.append(_text(container["reason"]))
    message = ": ".join(dict.fromkeys(p for p in parts if p))
    code_text = _text(code) if code is not None else ""
    if not message:
        message = FAILED_TYPES.get(code_text.upper(), f"Atlas reported error code {code_text}.")
    elif code_text and code_text not in message:
        message = f"{message} (code {code_text})"
    return _clip(message)


def _status_word(container: Mapping[str, Any]) -> str | None:
    """The first status marker holding a word we know; an address "state" is never one."""
    for key, value in container.items():
        if str(key).lower() in STATUS_KEYS:
            word = _word(value)
            if word in PENDING_WORDS or word in FAILED_WORDS or word in DONE_WORDS:
                return word
    return None


def _word(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    return "_".join(value.strip().lower().replace("-", " ").split())


def _has_fields(file_data: Mapping[str, Any]) -> bool:
    for key, value in file_data.items():
        name = str(key).lower()
        if name == "document_type":
            continue
        if name in STATUS_KEYS and _word(value) in PENDING_WORDS | FAILED_WORDS | DONE_WORDS:
            continue  # a marker, not a field
        if name in ERROR_KEYS and not _is_field(value):
            continue
        if _has_content(value):
            return True
    return False


def _has_content(value: Any, depth: int = 0) -> bool:
    if type(value) is str:  # the common case first: a field's value
        return bool(value.strip())
    if type(value) is dict or isinstance(value, Mapping):
        if depth > 6:
            return True
        for key, child in value.items():
            if key != "confidence_score" and _has_content(child, depth + 1):
                return True
        return False
    if isinstance(value, list):
        if depth > 6:
            return True
        for child in value[:100]:
            if _has_content(child, depth + 1):
                return True
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, Mapping):
        for key in ("error_message", "message", "description", "error", "reason", "detail"):
            if key in value and _present(value[key]):
                return _text(value[key])
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value[:10] if _present(v))
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return str(value)[:MAX_ERROR_CHARS]


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
