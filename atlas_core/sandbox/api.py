"""The Atlas Bulk endpoints as the sandbox answers them: token, multiupload, extracts.

Each function takes the parsed request and returns a ``Reply``; faults and HTTP plumbing live in
``server``. Error bodies deliberately use all three documented shapes: the token endpoint answers
``{"error_code", "error_message"}``, multiupload ``{"error"}`` and ``{"error", "reason"}``,
extracts ``{"error"}`` and ``{"error_code", "error_message"}``.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from ..config import MAX_PER_PAGE
from .behaviour import Behaviour
from .hostile import hostile_body, with_non_finite_numbers
from .store import BatchStore, TokenBook, extracts_items, finished_docs

logger = logging.getLogger(__name__)

AUTH_PATHS = ("/v1/bulk/authtoken", "/v3/verification/authtoken", "/v1/docstream/authtoken")
MULTIUPLOAD_PATHS = ("/v1/bulk/multiupload", "/v1/docstream/multiupload")
EXTRACTS_PATHS = ("/v1/bulk/extracts", "/v1/docstream/extracts")


@dataclass
class Reply:
    """An answer to send: status, JSON body and extra headers; ``drop`` closes the socket instead."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    fault: str | None = None  # the fault that shaped this reply, for the request log
    raw: bytes | None = None  # sent as it is instead of ``body`` (hostile answers)


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request the endpoints look at."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes


class Endpoints:
    """The documented endpoints over a token book and a batch store."""

    def __init__(
        self, store: BatchStore, tokens: TokenBook, client_id: str, client_secret: str
    ) -> None:
        self.store = store
        self.tokens = tokens
        self._client_id = client_id
        self._client_secret = client_secret

    def route(self, request: Request, behaviour: Behaviour) -> Reply:
        """Answer one API request (no faults here)."""
        path = request.path
        expected = "POST" if path in AUTH_PATHS or path in MULTIUPLOAD_PATHS else "GET"
        if path not in AUTH_PATHS + MULTIUPLOAD_PATHS + EXTRACTS_PATHS:
            return Reply(404, {"error": f"No such endpoint: {path}"})
        if request.method != expected:
            return Reply(405, {"error": f"{path} accepts {expected} only"}, {"Allow": expected})
        if path in AUTH_PATHS:
            return self.authtoken(request, behaviour)
        reason = self.tokens.check(request.headers.get("token"), self.store.now())
        if path in MULTIUPLOAD_PATHS:
            if reason:
                return Reply(401, {"error": "Invalid token", "reason": reason})
            return self.multiupload(request, behaviour)
        if reason:
            return Reply(401, {"error_code": "401", "error_message": reason})
        return self.extracts(request, behaviour)

    def authtoken(self, request: Request, behaviour: Behaviour) -> Reply:
        """Mint a token for valid Client-Id and Client-Secret headers."""
        if behaviour.token_status is not None:
            return _token_refusal(request, behaviour.token_status)
        client_id = request.headers.get("client-id")
        client_secret = request.headers.get("client-secret")
        if not client_id or not client_secret:
            return Reply(
                400,
                {
                    "error_code": "400",
                    "error_message": "Client-Id and Client-Secret headers are required.",
                },
            )
        if behaviour.refuse_credentials or not (
            hmac.compare_digest(client_id.encode(), self._client_id.encode())
            and hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        ):
            return Reply(
                401,
                {"error_code": "401", "error_message": "The credentials match no active account."},
            )
        lifetime = behaviour.token_lifetime
        token = self.tokens.issue(lifetime, self.store.now(), opaque=behaviour.opaque_tokens)
        if behaviour.token_crlf:  # as a hostile endpoint would: a header injection in the token
            token = f"{token}\r\nX-Injected: yes"
        expires_in = int(lifetime) if float(lifetime).is_integer() else lifetime
        answer = {"access_token": token, "expires_in": expires_in}
        if behaviour.hostile_token_answer != "none":
            return Reply(201, None, raw=hostile_body(behaviour.hostile_token_answer, answer))
        return Reply(201, answer)

    def multiupload(self, request: Request, behaviour: Behaviour) -> Reply:
        """Accept a list of file URLs as one batch, or refuse the whole request with 400."""
        problem, product_type, items = _parse_upload(request.body, behaviour)
        if problem:
            return Reply(400, {"error": problem})
        try:
            record = self.store.accept(product_type, items)
        except OSError:
            logger.exception("the sandbox could not write its journal")
            return Reply(
                503, {"error": "The sandbox could not record the upload; nothing was accepted."}
            )
        receipts = [
            {
                "batch_id": record["batch_id"],
                "document_id": item["document_id"],
                "file_uuid": item["file_uuid"],
            }
            for item in record["items"]
        ]
        if behaviour.hostile_upload_answer != "none":  # accepted and recorded, answered badly
            return Reply(201, None, raw=hostile_body(behaviour.hostile_upload_answer, receipts))
        return Reply(201, receipts)

    def extracts(self, request: Request, behaviour: Behaviour) -> Reply:
        """One page of a batch's results, shaped by the behaviour's open-point switches."""
        batch_id = (request.query.get("batch_id") or [""])[0].strip()
        if not batch_id:
            return Reply(400, {"error": "batch_id is required."})
        try:
            page = int((request.query.get("page") or ["1"])[0])
            per_page = int((request.query.get("per_page") or [str(MAX_PER_PAGE)])[0])
        except ValueError:
            return Reply(400, {"error": "page and per_page must be whole numbers."})
        if page < 1 or per_page < 1:
            return Reply(400, {"error": "page and per_page must be at least 1."})
        if per_page > MAX_PER_PAGE:
            if behaviour.per_page_over_max == "refuse":
                return Reply(
                    400,
                    {
                        "error_code": "400",
                        "error_message": f"per_page must be at most {MAX_PER_PAGE}.",
                    },
                )
            per_page = MAX_PER_PAGE
        batch = self.store.get(batch_id)
        now = self.store.now()
        if batch is None or (
            behaviour.new_batch == "refuse" and not finished_docs(batch, behaviour, now)
        ):
            return Reply(400, {"error": "Invalid batch_id"})
        items, finished = extracts_items(batch, behaviour, now)
        total_items = len(batch.docs) if behaviour.total_items_counts == "all" else finished
        total_pages = math.ceil(total_items / per_page)
        if page > max(total_pages, 1) and behaviour.page_past_end == "refuse":
            return Reply(400, {"error": f"page {page} is past the last page ({total_pages})."})
        start = (page - 1) * per_page
        data = items[start : start + per_page]
        if behaviour.nan_in_file_data:
            data = with_non_finite_numbers(data)
        answer = {
            "data": data,
            "page": page,
            "per_page": per_page,
            "total_pages": total_pages,
            "total_items": total_items,
            "has_next": page < total_pages,
            "has_prev": page > 1,
        }
        if behaviour.hostile_extracts_answer != "none":
            return Reply(200, None, raw=hostile_body(behaviour.hostile_extracts_answer, answer))
        return Reply(200, answer)


def _token_refusal(request: Request, status: int) -> Reply:
    """The token endpoint's answer when ``token_status`` is set: a refusal or a redirect."""
    if 300 <= status < 400:
        location = f"https://elsewhere.invalid{request.path}"
        return Reply(status, {"error": f"Moved to {location}"}, {"Location": location})
    if status == 403:
        return Reply(
            403, {"error_code": "403", "error_message": "This client may not use the Bulk API."}
        )
    if status == 404:
        return Reply(404, {"error": f"No such endpoint: {request.path}"})
    return Reply(status, {"error_code": str(status), "error_message": "No token for you."})


def _parse_upload(raw: bytes, behaviour: Behaviour) -> tuple[str | None, str, list[dict[str, str]]]:
    """(problem or None, product_type, items) for a multiupload body."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return "The body is not valid JSON.", "", []
    if not isinstance(body, dict):
        return "The body must be a JSON object with product_type and file_urls.", "", []
    product_type = body.get("product_type")
    if not isinstance(product_type, str) or not product_type.strip():
        return "product_type is required and must be a string.", "", []
    file_urls = body.get("file_urls")
    if not isinstance(file_urls, list) or not file_urls:
        return "file_urls is required and must be a non-empty list.", "", []
    limit = behaviour.max_files_per_upload
    if limit is not None and len(file_urls) > limit:
        return (
            f"Too many files in one request: {len(file_urls)} sent, at most {limit} allowed.",
            "",
            [],
        )
    items = []
    for position, item in enumerate(file_urls):
        if not isinstance(item, dict):
            return f"file_urls[{position}] must be an object with file_url and document_id.", "", []
        file_url, document_id = item.get("file_url"), item.get("document_id")
        if not isinstance(file_url, str) or not file_url.strip():
            return f"file_urls[{position}].file_url is required and must be a string.", "", []
        if not isinstance(document_id, str) or not document_id.strip():
            return f"file_urls[{position}].document_id is required and must be a string.", "", []
        items.append({"file_url": file_url, "document_id": document_id})
    if behaviour.duplicate_ids == "refuse":
        seen: set[str] = set()
        for item in items:
            if item["document_id"] in seen:
                return (
                    f"document_id {item['document_id']!r} appears more than once in this request.",
                    "",
                    [],
                )
            seen.add(item["document_id"])
    return None, product_type, items
