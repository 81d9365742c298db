"""How the sandbox answers: one switch per open point of the Atlas contract, plus faults.

``Behaviour`` is frozen; the server swaps it whole (``set_behaviour``), so a request always sees
one consistent set of switches. ``FaultQueue`` holds deterministic faults a test queues with
``inject``; each matching request consumes one.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from .hostile import HOSTILE_ANSWERS

# The choices for each open point; the first is the default.
CHOICES: dict[str, tuple[str, ...]] = {
    "pending_style": ("absent", "empty", "status"),
    "failed_style": ("error_code", "empty", "document_type", "absent"),
    "total_items_counts": ("all", "finished"),
    "per_page_over_max": ("clamp", "refuse"),
    "page_past_end": ("empty", "refuse"),
    "new_batch": ("empty", "refuse"),
    "order": ("submitted", "finished"),
    "duplicate_ids": ("allow", "refuse"),
}
RATES = ("fail_rate", "hostile_rate", "rate_503", "rate_429", "rate_drop", "rate_drop_after_accept")
FAULT_KINDS = ("503", "429", "401", "drop", "drop_after_accept", "latency", "500")
DEFAULT_TOKEN_LIFETIME = 3600  # seconds, as documented ("expires_in": 3600)


@dataclass(frozen=True)
class Behaviour:
    """Every open point of the contract and every fault the sandbox can play."""

    processing_seconds: float = 2.0  # mean time from acceptance to a finished document
    pending_style: str = (
        "absent"  # absent | empty (file_data {}) | status ({"status": "PROCESSING"})
    )
    failed_style: str = "error_code"  # error_code | empty | document_type (INVALID_DOC) | absent
    total_items_counts: str = "all"  # all submitted documents | finished ones only
    per_page_over_max: str = "clamp"  # clamp to 50 | refuse with 400
    page_past_end: str = "empty"  # 200 with empty data | refuse with 400
    new_batch: str = "empty"  # 200 with empty data | 400 until something finished
    order: str = "submitted"  # submitted order | finishing order (pages shift)
    max_files_per_upload: int | None = None
    duplicate_ids: str = "allow"  # a document_id twice in one upload: allow | refuse
    fail_rate: float = 0.0  # deterministic fraction of documents that fail
    hostile_rate: float = 0.0  # deterministic fraction with hostile values
    latency: float = 0.0  # seconds added to every API request
    rate_503: float = 0.0
    rate_429: float = 0.0
    retry_after: float | None = 1.0  # Retry-After header on 429; None sends none
    rate_drop: float = 0.0  # close the socket before doing anything
    rate_drop_after_accept: float = 0.0  # do the work (record a batch), then close the socket
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    fault_paths: tuple[str, ...] | None = None  # random faults only on these paths (None: all)
    seed: int | None = None  # seeds the random faults
    # Hostile answers (issue 10): what a 2xx body holds instead of the documented one.
    hostile_upload_answer: str = "none"  # none | deep_json | not_json | wrong_shape | huge
    hostile_extracts_answer: str = "none"  # none | deep_json | not_json | wrong_shape | huge
    nan_in_file_data: bool = False  # extracted fields carry NaN / Infinity (non-standard JSON)
    hostile_token_answer: str = "none"  # the same choices, for the token request's 201
    # Added for issue 10 (worker-resilience): credentials refused for a while. While on, the token
    # endpoint answers 401 and the tokens minted so far expire; clearing it lets new tokens be minted.
    refuse_credentials: bool = False
    # Turn refuse_credentials on by itself once this many uploads were accepted (then clear this):
    # a refusal that starts mid-run however fast the run goes (the soak's refusal phase).
    refuse_credentials_after_uploads: int | None = None
    # outage-submit: a token endpoint that gives no usable token. token_status: it answers this
    # status (403, 404, a 3xx redirect...) instead of a token; token_crlf: its tokens hold CR/LF.
    token_status: int | None = None
    token_crlf: bool = False
    # values-are-data: Atlas text carrying Markdown/HTML that fetches markup_beacon when rendered,
    # or terminal control sequences, in batch ids, error messages and values (see spoiling.py).
    markup_in_answers: bool = False
    markup_beacon: str = "http://beacon.invalid/beacon.png"
    control_chars_in_answers: bool = False
    # Secrets through encodings: every error body echoes the request headers (Client-Secret,
    # Token, Authorization) as escaped JSON (\/ and \uXXXX) and URL-encoded (sandbox/echo.py).
    echo_request_in_errors: bool = False
    # Opaque tokens holding '/', '+' and '=' instead of JWTs: no pattern can spot them, so only
    # remembering the tokens minted lately keeps them out of errors, logs and the ledger.
    opaque_tokens: bool = False
    # Issue 12 (after-sending): this share (0..1) of fail_rate's failures come as a temporary
    # TIMEOUT ("retry may help") instead of UNRECOGNISED / INVALID_DOC ("fix the file or link").
    temporary_fail_share: float = 0.0

    def __post_init__(self) -> None:
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(
                    f"{name} must be one of {', '.join(choices)} (got {getattr(self, name)!r})"
                )
        for name in (*RATES, "temporary_fail_share"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number between 0 and 1 (got {value!r})")
        if self.processing_seconds < 0 or self.latency < 0:
            raise ValueError("processing_seconds and latency cannot be negative")
        if self.refuse_credentials_after_uploads is not None and (
            isinstance(self.refuse_credentials_after_uploads, bool)
            or not isinstance(self.refuse_credentials_after_uploads, int)
            or self.refuse_credentials_after_uploads < 1
        ):
            raise ValueError("refuse_credentials_after_uploads must be a whole number from 1 (or null)")
        if not isinstance(self.refuse_credentials, bool):
            raise ValueError(f"refuse_credentials must be true or false (got {self.refuse_credentials!r})")
        for name in ("echo_request_in_errors", "opaque_tokens"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if self.token_lifetime <= 0:
            raise ValueError("token_lifetime must be positive")
        if self.token_status is not None and (
            isinstance(self.token_status, bool)
            or not isinstance(self.token_status, int)
            or not 300 <= self.token_status <= 599
        ):
            raise ValueError(f"token_status must be a status from 300 to 599 (got {self.token_status!r})")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after cannot be negative (None sends no Retry-After header)")
        if self.max_files_per_upload is not None and self.max_files_per_upload < 1:
            raise ValueError("max_files_per_upload must be at least 1 (or None for no limit)")
        if isinstance(self.fault_paths, list | str):
            paths = (self.fault_paths,) if isinstance(self.fault_paths, str) else self.fault_paths
            object.__setattr__(self, "fault_paths", tuple(paths))
        for name in ("hostile_upload_answer", "hostile_extracts_answer", "hostile_token_answer"):
            if getattr(self, name) not in HOSTILE_ANSWERS:
                raise ValueError(
                    f"{name} must be one of {', '.join(HOSTILE_ANSWERS)} (got {getattr(self, name)!r})"
                )
        if not isinstance(self.nan_in_file_data, bool):
            raise ValueError(f"nan_in_file_data must be true or false (got {self.nan_in_file_data!r})")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Behaviour:
        """Build a Behaviour from a JSON object; unknown keys are an error, not ignored."""
        return cls().replace(**data)

    def replace(self, **changes: Any) -> Behaviour:
        """A copy with some switches changed (validated)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown behaviour switch(es): {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The switches as a JSON-ready dict."""
        data = dataclasses.asdict(self)
        if self.fault_paths is not None:
            data["fault_paths"] = list(self.fault_paths)
        return data


@dataclass(frozen=True)
class Fault:
    """One queued fault: its kind, the latency in seconds for ``latency``, the path it waits for."""

    kind: str
    seconds: float = 0.0
    path: str | None = None

    def matches(self, request_path: str) -> bool:
        """True when this fault applies to a request on ``request_path``."""
        return path_matches(self.path, request_path)

    def to_dict(self) -> dict[str, Any]:
        """The fault as a JSON-ready dict."""
        return {"kind": self.kind, "seconds": self.seconds, "path": self.path}


def path_matches(pattern: str | None, request_path: str) -> bool:
    """None matches every path; otherwise the exact path or its last segments ("multiupload")."""
    if pattern is None:
        return True
    pattern = pattern.rstrip("/")
    return request_path == pattern or request_path.endswith("/" + pattern.lstrip("/"))


def parse_fault(spec: str, path: str | None = None) -> Fault:
    """Parse "503", "429", "401", "drop", "drop_after_accept" or "latency:2.5" into a Fault."""
    kind, _, arg = str(spec).strip().partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(
            f"unknown fault {spec!r}; use one of {', '.join(FAULT_KINDS)} (latency:SECONDS)"
        )
    seconds = 0.0
    if kind == "latency":
        try:
            seconds = float(arg)
        except ValueError:
            raise ValueError(f"latency needs seconds, e.g. 'latency:2.5' (got {spec!r})") from None
        if seconds < 0:
            raise ValueError("latency cannot be negative")
    elif arg:
        raise ValueError(f"fault {kind!r} takes no argument (got {spec!r})")
    return Fault(kind=kind, seconds=seconds, path=path)


class FaultQueue:
    """Faults queued by tests, consumed in order by the next matching requests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()

    def push(self, *faults: Fault) -> None:
        """Queue faults at the end."""
        with self._lock:
            self._faults.extend(faults)

    def pop_for(self, request_path: str) -> Fault | None:
        """Remove and return the first queued fault matching the path, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(request_path):
                    self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """The faults still waiting."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()
