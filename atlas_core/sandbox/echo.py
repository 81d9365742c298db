"""A hostile Atlas habit: error bodies that echo the request, credentials included, encoded.

With ``Behaviour.echo_request_in_errors`` every error answer (401, 400, 404, 429, 503 ...) keeps
its documented shape and appends the request's headers (Client-Secret, Token, Authorization) to
its message field three ways: as JSON inside the string (so ``/`` arrives as ``\\/``), URL-encoded
(``%2F``, ``%2B``, ``%3D``, ``+`` for a space), and in a ``request_headers`` object in which every
character of every value is a ``\\uXXXX`` escape. A client that scrubs only the raw text leaks.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

# The message field a reply's shape has, in the order the documented shapes are tried.
_MESSAGE_KEYS = ("error_message", "reason", "error")


def echoed_body(body: Any, headers: dict[str, str]) -> bytes:
    """``body`` (an error body of one of the documented shapes) with ``headers`` echoed, as JSON bytes."""
    if not isinstance(body, dict):
        body = {"error": str(body)}
    body = dict(body)
    key = next((k for k in _MESSAGE_KEYS if isinstance(body.get(k), str)), "error")
    as_json = json.dumps(headers, ensure_ascii=False)
    as_form = urlencode(headers)
    body[key] = f"{body.get(key) or ''} Request headers: {as_json}; as a form: {as_form}".strip()
    # ensure_ascii escapes every non-ASCII character as \uXXXX; '/' only occurs inside strings
    # in JSON text, so writing it as '\/' (a legal escape) keeps the document valid.
    text = json.dumps(body, ensure_ascii=True).replace("/", "\\/")
    escaped = ", ".join(
        f"{json.dumps(name)}: \"{''.join(_u_escape(c) for c in value)}\""
        for name, value in headers.items()
    )
    return f'{text[:-1]}, "request_headers": {{{escaped}}}}}'.encode()


def _u_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the BMP: a surrogate pair, as JSON writes it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
