"""The one exception tree of Atlas Bulk Ops.

    AtlasError                      every error this package raises on purpose
    ├── ConfigError                 settings are missing or malformed
    ├── IntakeError                 a spreadsheet cannot be read at all
    ├── LedgerError                 the ledger cannot be opened or is inconsistent
    ├── PathError                   a file or folder given to a command cannot be used
    ├── ProtocolError               Atlas answered 2xx with something the contract does not allow
    ├── TransportError              no HTTP answer; ``retry_safe`` says if resending is harmless
    │   ├── ConnectFailedError      the request certainly never reached Atlas (retry_safe)
    │   └── OutcomeUnknownError     the request may have reached Atlas (never resent automatically)
    └── ApiError                    Atlas answered with an error status
        ├── BadRequestError         400, 422: a field is missing or malformed
        ├── AuthError               401: bad credentials, or a token that expired or is unknown
        │   └── TokenEndpointError  no usable token (403, 404, a redirect, a token HTTP cannot carry)
        ├── ConflictError           409
        ├── GoneError               410: the API version was retired
        ├── RateLimitedError        429: throttled; ``retry_after`` in seconds when Atlas said
        └── ServerError             5xx: Atlas or one of its dependencies is down

Every error carries a plain ``message`` a page can show as it is, and a ``hint`` with the next
step. API errors carry the evidence (status, parsed body, raw text, URL) and never a token or a
secret: ``redact`` scrubs them from anything that reaches a message.
"""

from __future__ import annotations

import json
import re
from typing import Any

_MAX_TEXT = 2000  # raw bodies are kept for evidence, but a 5 MB HTML error page is not


class AtlasError(Exception):
    """Root of every error raised on purpose by atlas_core."""

    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    def user_message(self) -> str:
        """The message and the next step, as one plain sentence pair for a page or a terminal."""
        return f"{self.message} {self.hint}".strip()


class ConfigError(AtlasError):
    """Settings are missing or malformed."""

    default_hint = "Check the ATLAS_* environment variables or the [atlas] table of .streamlit/secrets.toml."


class IntakeError(AtlasError):
    """A spreadsheet cannot be read at all (as opposed to a readable one with bad rows)."""


class LedgerError(AtlasError):
    """The ledger cannot be opened, migrated or written."""

    default_hint = "Check that ATLAS_DB_PATH points to a writable file on a local disk."


class PathError(AtlasError):
    """A file or folder named by the user (an output file, ATLAS_DB_PATH, a journal) is unusable."""


class ProtocolError(AtlasError):
    """Atlas answered with a success status but a body the contract does not allow."""

    default_hint = "This looks like a change on Atlas's side; keep the evidence and contact Atlas support."


class TransportError(AtlasError):
    """No HTTP answer was received (connection refused, reset, timed out)."""

    retry_safe = False
    default_hint = "Check the network and that Atlas is reachable, then try again."

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class ConnectFailedError(TransportError):
    """The request certainly never reached Atlas, so sending it again is safe."""

    retry_safe = True


class OutcomeUnknownError(TransportError):
    """The request may have reached Atlas; resending could create a second batch."""

    retry_safe = False
    default_hint = (
        "The documents are marked 'uncertain': check them on the Batches page and choose to resend or drop them."
    )


class ApiError(AtlasError):
    """Atlas answered with an error status; carries status, parsed body, raw text and URL."""

    retry_safe = False
    default_hint = "Check the request and try again; if it persists, contact Atlas support with the details."

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        text: str = "",
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.body = body
        self.text = text[:_MAX_TEXT]
        self.url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r}, url={self.url!r})"


class BadRequestError(ApiError):
    """400 or 422: a required field is missing or malformed."""

    default_hint = "Atlas refused the request as malformed; check the file URLs and document IDs."


class AuthError(ApiError):
    """401: the credentials match no active account, or the token expired or is unknown."""

    default_hint = "Check ATLAS_CLIENT_ID and ATLAS_CLIENT_SECRET (Connection page: 'Test connection')."


class TokenEndpointError(AuthError):
    """The token endpoint gave no usable token (403, 404, a redirect, an unreadable or unsendable
    token): nothing was uploaded, so the documents stay queued."""

    default_hint = (
        "Nothing was sent; the documents stay queued. Check ATLAS_BASE_URL, ATLAS_AUTH_PATH and "
        "the credentials with Atlas (Connection page: 'Test connection'), then send again."
    )


class ConflictError(ApiError):
    """409: the request conflicts with the state on Atlas's side."""


class GoneError(ApiError):
    """410: this API version was retired."""

    default_hint = "Atlas retired this API version; check ATLAS_BASE_URL and ATLAS_AUTH_PATH with Atlas."


class RateLimitedError(ApiError):
    """429: Atlas is throttling; ``retry_after`` holds its advice in seconds, if any."""

    retry_safe = True
    default_hint = "Atlas is throttling requests; the work resumes automatically after a pause."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: Atlas or one of its dependencies is down."""

    retry_safe = True
    default_hint = "Atlas is unavailable right now; nothing is lost, the work resumes when it is back."


_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthError,
    409: ConflictError,
    410: GoneError,
    422: BadRequestError,
    429: RateLimitedError,
}


def parse_error_body(text: str) -> tuple[Any, str | None]:
    """Parse an error body into (json-or-None, readable message-or-None), for all three documented shapes."""
    try:
        body = json.loads(text) if text else None
    except (ValueError, RecursionError):  # RecursionError: a body nested thousands deep
        return None, None
    if not isinstance(body, dict):
        return body, None
    parts = []
    for key in ("error_message", "error", "message", "reason"):
        value = body.get(key)
        if isinstance(value, str | int | float) and str(value).strip():
            parts.append(str(value).strip())
    code = body.get("error_code")
    message = ": ".join(dict.fromkeys(parts)) if parts else None
    if message and code is not None and str(code) not in message:
        message = f"{message} (code {code})"
    return body, message


def error_for_response(
    status: int,
    text: str,
    *,
    url: str | None = None,
    retry_after: float | None = None,
    secrets: tuple[str, ...] = (),
) -> ApiError:
    """Map an HTTP status and body to the error class for it, with a readable, redacted message."""
    text = redact(text or "", secrets)
    body, detail = parse_error_body(text)
    if detail is None:
        snippet = " ".join(text.split())[:200]
        detail = snippet or "no details given"
    cls = _STATUS_CLASSES.get(status) or (ServerError if status >= 500 else ApiError)
    message = f"Atlas answered {status}: {detail}"
    if cls is RateLimitedError:
        return RateLimitedError(message, status=status, body=body, text=text, url=url, retry_after=retry_after)
    return cls(message, status=status, body=body, text=text, url=url)


_TOKEN_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace every given secret and anything shaped like a JWT in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _TOKEN_LIKE.sub("***", text)
