"""AtlasClient: tokens, multiupload, extracts pages and retries, safe to share between threads.

Resending rules, because Atlas has no idempotency key and a resent upload may create a second
batch: reads and token requests are retried on any transport failure, 429 and 5xx; a multiupload
only when it certainly never reached Atlas (the connection was never made) or Atlas refused it
(429, 503). Everything else that may have arrived raises OutcomeUnknownError.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

import requests

from ..config import (
    DEFAULT_AUTH_PATH,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_TOKEN_MARGIN,
    MAX_PER_PAGE,
    SANDBOX_CLIENT_SECRET,
    Settings,
)
from ..errors import (
    ApiError,
    AtlasError,
    AuthError,
    BadRequestError,
    ConfigError,
    GoneError,
    OutcomeUnknownError,
    ProtocolError,
    TokenEndpointError,
    error_for_response,
    redact,
    remember_secret,
    remember_token,
    remember_url_credentials,
)
from .answers import UnreadableAnswer, head_text, read_json
from .extracts import (
    ExtractsPage,
    ItemCollector,
    PageWalk,
    clamp_per_page,
    collect_pages,
    pages_after,
    parse_extracts_page,
)
from .receipts import RECEIPT_HINT, Receipt, UploadItem, check_receipts, upload_body, upload_payload
from .retrying import RetryPolicy, parse_retry_after
from .tokens import TokenCache
from .transport import REFUSED_STATUSES, ClientStats, StatsCounters, Transport

__all__ = [
    "AtlasClient",
    "ClientStats",
    "ExtractsPage",
    "Receipt",
    "RetryPolicy",
    "UploadItem",
]

log = logging.getLogger(__name__)

MULTIUPLOAD_PATH = "/v1/bulk/multiupload"
EXTRACTS_PATH = "/v1/bulk/extracts"
DEFAULT_POOL_SIZE = 16
DOCUMENTED_TOKEN_LIFETIME = 3600.0  # seconds (Authentication page), used when expires_in is absent
# What requests accepts as a header value: no leading whitespace, no CR or LF; we also refuse the
# other control characters, which some servers and proxies reject after the request went out.
_SENDABLE_HEADER = re.compile(r"[^\x00-\x20\x7f][^\x00-\x1f\x7f]*")


def _seconds(value: Any) -> float | None:
    """A positive number of seconds from a JSON value (number or numeric string), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds < float("inf") else None


def _mask(client_id: str) -> str:
    return ("*" * max(len(client_id) - 4, 4) + client_id[-4:]) if client_id else "(not set)"


class AtlasClient:
    """A client for the Atlas Bulk API; one instance is meant to be shared by every thread."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        auth_path: str = DEFAULT_AUTH_PATH,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry: RetryPolicy | None = None,
        token_margin: float = DEFAULT_TOKEN_MARGIN,
        pool_size: int = DEFAULT_POOL_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"The Atlas base URL must start with http:// or https:// (got {base_url!r})."
            )
        if not client_id or not client_secret:
            raise ConfigError("The Atlas client id and client secret are both required.")
        if not auth_path.startswith("/"):
            raise ConfigError(f"The Atlas token path must start with '/' (got {auth_path!r}).")
        # Scrubbed from every error, log record and stored text from now on (errors.redact).
        if client_secret != SANDBOX_CLIENT_SECRET:  # the sandbox's published credential
            remember_secret(client_secret)
        remember_url_credentials(base_url)
        self.base_url = base_url.rstrip("/")
        self.auth_path = auth_path
        self._client_id = client_id
        self._client_secret = client_secret
        self._pool_size = max(1, pool_size)
        self._counters = StatsCounters()
        self._transport = Transport(
            self.base_url,
            timeout=(float(connect_timeout), float(read_timeout)),
            retry=retry or RetryPolicy(),
            pool_size=self._pool_size,
            counters=self._counters,
        )
        self._tokens = TokenCache(self._mint_token, margin=token_margin, clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> AtlasClient:
        """A client configured from Settings (base URL, credentials, timeouts, retries)."""
        if settings.uses_sandbox or not settings.client_id or not settings.client_secret:
            raise ConfigError(
                "No Atlas base URL and credentials are set, so there is no Atlas to connect to."
            )
        return cls(
            settings.base_url or "",
            settings.client_id,
            settings.client_secret,
            auth_path=settings.auth_path,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retry=RetryPolicy(settings.max_retries, settings.backoff_base, settings.backoff_cap),
            token_margin=settings.token_margin,
            pool_size=max(
                DEFAULT_POOL_SIZE, settings.submit_concurrency + settings.refresh_concurrency
            ),
        )

    def __repr__(self) -> str:
        return f"AtlasClient(base_url={self.base_url!r}, client_id={_mask(self._client_id)!r})"

    def __enter__(self) -> AtlasClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections and forget the token."""
        self._tokens.forget()
        self._transport.close()

    @property
    def stats(self) -> ClientStats:
        """A consistent snapshot of the counters."""
        return self._counters.snapshot()

    # -- public calls --------------------------------------------------------------------------

    def authenticate(self, deadline: float | None = None) -> float:
        """Mint a token now (a connection test) and return its lifetime in seconds."""
        return self._tokens.mint_now(deadline)

    def ensure_token(self, deadline: float | None = None) -> None:
        """Make sure a token is at hand (the cached one, or one minted now); raise why not."""
        self._tokens.get(deadline)

    def multiupload(
        self,
        product_type: str,
        items: Iterable[UploadItem],
        *,
        on_send: Callable[[], None] | None = None,
        deadline: float | None = None,
    ) -> list[Receipt]:
        """Submit documents as one batch; return one checked Receipt per document, in sent order.

        ``on_send`` is called just before the request may leave (the token is in hand): a failure
        before that call certainly sent nothing, one after it may have created a batch.
        """
        items = list(items)
        body = upload_body(upload_payload(product_type, items))
        response = self._authorized(
            "POST", MULTIUPLOAD_PATH, body=body, resend_safe=False, on_send=on_send,
            deadline=deadline,
        )
        try:
            return self._receipts(response, items)
        except AtlasError:
            raise
        except Exception:
            # Our own failure reading an answer: Atlas may have created the batch all the same.
            log.exception("reading Atlas's answer to an upload of %d documents failed", len(items))
        raise self._failed(
            OutcomeUnknownError(
                f"Atlas answered the upload of {len(items)} documents, but reading its answer "
                "failed with an internal error (it was logged), so Atlas may or may not have "
                "created the batch."
            )
        )

    def _receipts(self, response: requests.Response, items: list[UploadItem]) -> list[Receipt]:
        status = response.status_code
        if 500 <= status and status not in REFUSED_STATUSES:
            api_error = self._api_error(response, count=False)
            # A gateway error or a crash may come after Atlas created the batch.
            raise self._failed(
                OutcomeUnknownError(
                    f"Atlas answered {status} to an upload of {len(items)} documents, so it may or may "
                    f"not have created the batch ({api_error.message}).",
                    url=api_error.url,
                )
            )
        if not 200 <= status < 300:
            raise self._api_error(response)
        body = self._json(response, f"the upload of {len(items)} documents", hint=RECEIPT_HINT)
        try:
            receipts = check_receipts(body, items)
        except ProtocolError as exc:
            raise self._failed(exc) from None
        log.info("uploaded %d documents as batch %s", len(receipts), receipts[0].batch_id)
        return receipts

    def extracts_page(
        self, batch_id: str, page: int = 1, per_page: int = MAX_PER_PAGE
    ) -> ExtractsPage:
        """One page of a batch's results; per_page is clamped to Atlas's maximum of 50."""
        if not batch_id:
            raise ValueError("batch_id must not be empty")
        page = max(1, int(page))
        per_page = clamp_per_page(per_page)
        params = {"batch_id": batch_id, "page": page, "per_page": per_page}
        response = self._authorized("GET", EXTRACTS_PATH, params=params, resend_safe=True)
        try:
            if not 200 <= response.status_code < 300:
                raise self._api_error(response)
            body = self._json(response, f"extracts page {page} of batch {batch_id}")
            try:
                return parse_extracts_page(body, page=page, per_page=per_page)
            except ProtocolError as exc:
                raise self._failed(exc) from None
        except AtlasError:
            raise
        except Exception:
            log.exception("reading extracts page %d of batch %s failed", page, batch_id)
        raise self._failed(
            ProtocolError(
                f"Reading extracts page {page} of batch {batch_id} failed with an internal error "
                "(it was logged).",
                hint="The batch is polled again later; if this persists, report it with the log.",
            )
        )

    def iter_extracts(self, batch_id: str, per_page: int = MAX_PER_PAGE) -> Iterator[dict]:
        """Every item of a batch, page by page, each document once; the walk always ends."""
        first = self.extracts_page(batch_id, 1, per_page)
        collector = ItemCollector()
        yield from collector.add(first.items)
        walk = PageWalk(batch_id, per_page)
        for page in pages_after(first, 1, self._page_getter(batch_id, per_page), walk):
            yield from collector.add(page.items)

    def fetch_extracts(
        self, batch_id: str, *, concurrency: int = 8, per_page: int = MAX_PER_PAGE
    ) -> list[dict]:
        """Every item of a batch, each document once: page 1, then the other pages in parallel."""
        first = self.extracts_page(batch_id, 1, per_page)
        walk = PageWalk(batch_id, per_page)
        workers = max(1, min(concurrency, self._pool_size))
        return collect_pages(first, self._page_getter(batch_id, per_page), walk, workers=workers)

    def _page_getter(self, batch_id: str, per_page: int) -> Callable[[int], ExtractsPage | None]:
        def get_page(number: int) -> ExtractsPage | None:
            try:
                return self.extracts_page(batch_id, number, per_page)
            except BadRequestError as exc:
                # Atlas may refuse a page past the end instead of answering it empty.
                log.info(
                    "extracts page %d of %s refused (%d): the end", number, batch_id, exc.status
                )
                return None

        return get_page

    # -- tokens --------------------------------------------------------------------------------

    def _mint_token(self, deadline: float | None = None) -> tuple[str, float]:
        headers = {"Client-Id": self._client_id, "Client-Secret": self._client_secret}
        response = self._transport.send(
            "POST", self.auth_path, headers=headers, resend_safe=True, deadline=deadline
        )[0]
        status = response.status_code
        if not 200 <= status < 300:
            error = self._api_error(response, count=False)
            if status == 401:
                error = AuthError(
                    f"Atlas did not accept the client id and secret ({error.message}).",
                    status=error.status,
                    body=error.body,
                    text=error.text,
                    url=error.url,
                )
            elif not (error.retry_safe or isinstance(error, GoneError)):
                # 403, 404, a redirect...: Atlas gave no token, so nothing can have been sent;
                # as a plain ApiError the chunk waiting for the token would be marked rejected.
                error = TokenEndpointError(
                    f"Atlas's token endpoint ({self.base_url}{self.auth_path}) gave no token: it "
                    f"answered {self._token_refusal(response, error).rstrip('.')}.",
                    status=error.status,
                    body=error.body,
                    text=error.text,
                    url=error.url,
                )
            raise self._failed(error)
        try:
            body = self._json(response, "the token request", show_body=False)
        except ProtocolError as exc:  # counted once already, by _json
            raise self._unusable_token(response, exc.message) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise self._failed(
                self._unusable_token(
                    response, f"Atlas's token answer has no access_token (it holds {keys})."
                )
            )
        if not _SENDABLE_HEADER.fullmatch(token):
            # requests would refuse it as a header before sending: say so now, never "sent".
            raise self._failed(
                self._unusable_token(
                    response,
                    "Atlas's token endpoint handed out a token that cannot be sent in an HTTP "
                    "header (it holds a line break or another control character).",
                )
            )
        remember_token(token)  # before anything can echo it back in an error or a log line
        expires_in = _seconds(body.get("expires_in"))
        if expires_in is None:
            log.warning(
                "token answer has no usable expires_in; assuming the documented %.0f s",
                DOCUMENTED_TOKEN_LIFETIME,
            )
            expires_in = DOCUMENTED_TOKEN_LIFETIME
        self._counters.bump("tokens_minted")
        log.info("minted a token valid for %.0f s", expires_in)
        return token, float(expires_in)

    def _token_refusal(self, response: requests.Response, error: ApiError) -> str:
        """The status and what it says, with the redirect's target for a 3xx."""
        status = response.status_code
        if 300 <= status < 400:
            target = redact(response.headers.get("Location") or "nowhere", self._secrets())
            return f"{status}, a redirect to {target[:200]} (redirects are not followed)"
        return error.message.removeprefix("Atlas answered ")

    def _unusable_token(self, response: requests.Response, message: str) -> TokenEndpointError:
        return TokenEndpointError(message, status=response.status_code, url=response.url)

    # -- sending -------------------------------------------------------------------------------

    def _authorized(
        self,
        method: str,
        path: str,
        *,
        resend_safe: bool,
        params: dict | None = None,
        body: bytes | None = None,
        on_send: Callable[[], None] | None = None,
        deadline: float | None = None,
    ) -> requests.Response:
        """Send with the token; on a 401 mint once more and resend (Atlas did not take it)."""

        def token() -> str:
            # The transport asks for the token just before each attempt goes out.
            value = self._tokens.get(deadline)
            if on_send is not None:
                on_send()
            return value

        response, used = self._transport.send(
            method, path, params=params, body=body, resend_safe=resend_safe, token=token,
            deadline=deadline,
        )
        if response.status_code != 401:
            return response
        self._counters.bump("reauthentications")
        log.info("%s %s -> 401; minting a new token and trying once more", method, path)
        response.close()
        self._tokens.renew(used or "", deadline)
        response, _ = self._transport.send(
            method, path, params=params, body=body, resend_safe=resend_safe, token=token,
            deadline=deadline,
        )
        if response.status_code == 401:
            error = self._api_error(response, count=False)
            raise self._failed(
                AuthError(
                    f"Atlas refused a freshly minted token too ({error.message}).",
                    status=401,
                    body=error.body,
                    text=error.text,
                    url=error.url,
                )
            )
        return response

    # -- errors --------------------------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        return (self._client_secret, *self._tokens.secrets())

    def _failed(self, error: AtlasError) -> AtlasError:
        self._counters.error(type(error).__name__)
        return error

    def _api_error(self, response: requests.Response, *, count: bool = True) -> ApiError:
        error = error_for_response(
            response.status_code,
            response.text,
            url=response.url,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            secrets=self._secrets(),
        )
        log.info(
            "Atlas answered %d for %s",
            response.status_code,
            response.request.path_url.split("?")[0],
        )
        if count:
            self._counters.error(type(error).__name__)
        return error

    def _json(
        self,
        response: requests.Response,
        what: str,
        *,
        show_body: bool = True,
        hint: str | None = None,
    ) -> Any:
        try:
            return read_json(response.content)
        except UnreadableAnswer as exc:
            kind, reason = exc.kind, exc.reason  # raised below, outside the handler
        if kind == "not_json":
            text = head_text(response.content, response.encoding)
            snippet = (
                " ".join(redact(text, self._secrets()).split())[:200]  # scrubbed before it is cut
                if show_body
                else "(hidden)"
            )
            message = f"Atlas answered {what} with {response.status_code} but not with JSON: {snippet!r}."
        else:
            message = f"Atlas answered {what} with {response.status_code}, but {reason}."
        raise self._failed(ProtocolError(message, hint=hint))
