"""The one exception tree of Atlas Bulk Ops.

    AtlasError                      every error this package raises on purpose
    ├── ConfigError                 settings are missing or malformed
    ├── IntakeError                 a spreadsheet cannot be read at all
    ├── LedgerError                 the ledger cannot be opened or is inconsistent
    ├── PathError                   a file or folder given to a command cannot be used
    ├── ReviewError                 a review decision is refused (held by another, changed, unknown field)
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

import base64
import functools
import html
import json
import logging
import re
import threading
from collections import deque
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

_MAX_TEXT = 2000  # raw bodies are kept for evidence, but a 5 MB HTML error page is not


class AtlasError(Exception):
    """Root of every error raised on purpose by atlas_core."""

    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # Scrubbed here, once, so every sink (ledger, log, page, CLI) gets a clean message.
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = redact(self.default_hint if hint is None else hint)

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


class ReviewError(AtlasError):
    """A review decision or correction is refused: another reviewer holds the document, it changed
    since it was opened, it is not in the ledger, or a field it names does not exist.

    ``reason`` is one word a caller can branch on: held, changed, missing, field, decision,
    decided (someone decided the document after the caller read it: ``decide_review(revision=)``).
    """

    default_hint = "Open the document again to see its current state; nothing was changed."

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class ProtocolError(AtlasError):
    """Atlas answered with a success status but a body the contract does not allow."""

    default_hint = "This looks like a change on Atlas's side; keep the evidence and contact Atlas support."


class TransportError(AtlasError):
    """No HTTP answer was received (connection refused, reset, timed out)."""

    retry_safe = False
    default_hint = "Check the network and that Atlas is reachable, then try again."

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = display_url(url) if url else url


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
        self.body = redact_value(body)
        self.text = redact(text)[:_MAX_TEXT]
        self.url = display_url(url) if url else url

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
    # Parsed first and scrubbed after: the JSON decoding is itself a step that can reveal a
    # secret the raw text only held escaped ("S3cr\/et"), so the decoded message and body are
    # scrubbed too (here with the caller's secrets; AtlasError scrubs the known ones again).
    body, detail = parse_error_body(text or "")
    text = redact(text or "", secrets)
    body = redact_value(body, secrets)
    detail = redact(detail, secrets) if detail else detail
    if detail is None:
        snippet = " ".join(text.split())[:200]
        detail = snippet or "no details given"
    cls = _STATUS_CLASSES.get(status) or (ServerError if status >= 500 else ApiError)
    message = f"Atlas answered {status}: {detail}"
    if cls is RateLimitedError:
        return RateLimitedError(message, status=status, body=body, text=text, url=url, retry_after=retry_after)
    return cls(message, status=status, body=body, text=text, url=url)


# Both patterns start only where a run of their characters starts: started inside a long run
# ("eyJeyJeyJ...", "a.a.a..."), each attempt would rescan the run, quadratic in its length.
_TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# user:password@ in any URL (the password may hold a raw '@', so up to the last '@' of the authority).
_URL_USERINFO = re.compile(r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")
_MIN_SECRET = 4  # shorter values are too likely to be ordinary text
# A remembered secret is scrubbed from every text of the process, so a short one ("secret")
# would blank ordinary words everywhere; real client secrets and tokens are far longer.
_MIN_REMEMBERED = 8
_MAX_SCRUB = 64 * 1024  # a longer text is cut before scrubbing: error pages, not evidence
_DEPTH = 3  # decodings stacked on one another (JSON inside JSON, URL-encoded then escaped...)
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_JSON_ESCAPES = re.compile(r"\\u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4})*|\\[\\/\"bfnrt]")
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-")

# Secrets this process holds: client secrets and URL passwords, and the tokens minted lately.
# Bounded so a long-lived process (or a test run with many clients) does not grow without end.
_known_lock = threading.Lock()
_known_fixed: deque[str] = deque(maxlen=32)
_known_tokens: deque[str] = deque(maxlen=64)


def remember_secret(value: str | None) -> None:
    """Add a client secret (or password) to those every ``redact`` scrubs in this process."""
    if not value or len(value) < _MIN_REMEMBERED:
        return
    with _known_lock:
        if value not in _known_fixed:
            _known_fixed.append(value)
    install_log_redaction()


def remember_token(token: str | None) -> None:
    """Add a freshly minted token to the recent ones every ``redact`` scrubs (the oldest go)."""
    if not token or len(token) < _MIN_REMEMBERED:
        return
    with _known_lock:
        if token not in _known_tokens:
            _known_tokens.append(token)
    install_log_redaction()


def remember_url_credentials(url: str | None) -> None:
    """Treat the password (and user:password) embedded in a URL like ``http://u:p@host`` as secrets."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        password = parts.password
        username = parts.username
    except ValueError:
        return
    if password:
        remember_secret(password)
        remember_secret(unquote(password))
        if username:
            remember_secret(f"{username}:{password}")  # what an echoed Basic header encodes
            remember_secret(f"{unquote(username)}:{unquote(password)}")


def display_url(url: str | None) -> str:
    """A URL safe to show: any user:password@ part replaced by ``***@``."""
    return _URL_USERINFO.sub(r"\1***@", url or "")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    r"""Scrub secrets, recent tokens, JWT-shaped text and URL passwords from ``text``, in any encoding.

    Besides the given ``secrets``, every secret this process was told of (``remember_secret``,
    ``remember_token``) is scrubbed. Encodings are decoded rather than enumerated: JSON string
    escapes (``\/``, ``\uXXXX`` for any character), URL-encoding (``%2F``, ``+``), HTML entities,
    each stacked up to three deep, and base64 of a secret anywhere in a run. When a decoded form
    of the text holds a secret, the decoded form, scrubbed, replaces the raw one.
    """
    if not text:
        return text
    with _known_lock:
        fixed, tokens = tuple(_known_fixed), tuple(_known_tokens)
    given = tuple(s for s in secrets if s and len(s) >= _MIN_SECRET)
    # A longer secret first, so a secret that starts another is never half-scrubbed. Base64 is
    # looked for only for secrets and passwords (an echoed Basic header): checking it for every
    # recent token would triple the cost of each log line for an echo no one has seen.
    ordered = tuple(sorted({*given, *fixed, *tokens}, key=len, reverse=True))
    encoded = tuple(core for secret in (*given, *fixed) for core in _base64_cores(secret))
    if len(text) > _MAX_SCRUB:
        text = text[:_MAX_SCRUB]
    return _scrub(text, (ordered, encoded), 0)


def redact_value(value: Any, secrets: tuple[str, ...] = (), _depth: int = 0) -> Any:
    """``redact`` applied to every string (keys too) in parsed JSON; deeper than 64 levels is dropped."""
    if isinstance(value, str):
        return redact(value, secrets)
    if _depth > 64:
        return None
    if isinstance(value, dict):
        return {redact(str(k), secrets): redact_value(v, secrets, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets, _depth + 1) for v in value]
    return value


def _scrub(text: str, secrets: tuple[tuple[str, ...], tuple[str, ...]], depth: int) -> str:
    text = _scrub_plain(text, secrets)
    if depth >= _DEPTH:
        return text
    if "\\" in text:
        # Inside a JSON string literal: decode it, scrub, and write it back escaped, so a JSON
        # body stays JSON. Literals without a backslash read the same decoded: nothing to do.
        def literal(match: re.Match[str]) -> str:
            raw = match.group(0)
            if "\\" not in raw:
                return raw
            try:
                decoded = _valid_text(json.loads(raw))
            except ValueError:
                return raw
            cleaned = _scrub(decoded, secrets, depth + 1)
            return raw if cleaned == decoded else json.dumps(cleaned, ensure_ascii=False)

        text = _JSON_STRING.sub(literal, text)
    for decode in _DECODERS:
        decoded = decode(text)
        if decoded != text:
            cleaned = _scrub(decoded, secrets, depth + 1)
            if cleaned != decoded:  # the decoded form held a secret: keep only it, scrubbed
                text = cleaned
    return text


def _scrub_plain(text: str, secrets: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    plain, base64_cores = secrets
    for secret in plain:
        if secret in text:
            text = text.replace(secret, "***")
    for core in base64_cores:
        if core in text:
            text = _cut_base64_runs(text, core)
    text = _TOKEN_LIKE.sub("***", text)
    return _URL_USERINFO.sub(r"\1***@", text)


def _cut_base64_runs(text: str, core: str) -> str:
    # The whole base64 run holding ``core`` goes: its edges encode the secret's first and last
    # bytes. Walked by hand, not by regex: a pattern with a run on each side backtracks
    # quadratically through a long blob.
    out, start = [], 0
    while (found := text.find(core, start)) >= 0:
        left, right = found, found + len(core)
        while left > start and text[left - 1] in _BASE64_CHARS:
            left -= 1
        while right < len(text) and text[right] in _BASE64_CHARS:
            right += 1
        out += [text[start:left], "***"]
        start = right
    out.append(text[start:])
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _base64_cores(secret: str) -> tuple[str, ...]:
    """The part of base64 (standard and URL-safe) that encodes only ``secret``, at each alignment."""
    data = secret.encode("utf-8", "replace")
    cores = []
    for offset in range(3):  # the secret may start at any byte of a 3-byte group
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        if len(core) >= 8:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return tuple(dict.fromkeys(cores))


def _valid_text(text: str) -> str:
    # \ud800 alone decodes to a lone surrogate, which SQLite (UTF-8) would refuse to store.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _json_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        try:
            return json.loads(f'"{match.group(0)}"')
        except ValueError:
            return match.group(0)

    return _valid_text(_JSON_ESCAPES.sub(one, text))


_DECODERS = (_json_unescape, unquote, unquote_plus, html.unescape)


def install_log_redaction() -> None:
    """Make every log record of this process ``redact`` its message (installed once, when a secret is known)."""
    global _log_redaction_installed
    with _known_lock:
        if _log_redaction_installed:
            return
        _log_redaction_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's to report, not ours
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Formatters reuse exc_text, so the traceback every handler prints is scrubbed too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)


_log_redaction_installed = False
