"""Whether Atlas answers: a token probe the worker runs on a schedule, and the sentences it gives.

The worker asks Atlas for a token when it starts and again every so often, so an Atlas that
cannot be reached, or refuses the credentials, shows on the pages before (and while) uploads wait
for it. Sending itself never depends on the probe: chunks keep their own retry schedule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import AtlasError, AuthError

UNKNOWN, OK, UNREACHABLE, REFUSED = "unknown", "ok", "unreachable", "refused"
PROBE_EVERY = 60.0  # seconds between token probes while Atlas answers
PROBE_EVERY_TROUBLED = 15.0  # ...and while it does not, or a request was just put back
PROBE_TIMEOUT_CAP = 20.0  # seconds one probe may take, retries included


@dataclass(frozen=True)
class AtlasHealth:
    """The last token probe: whether Atlas answered, why not, and when it was asked."""

    state: str = UNKNOWN  # unknown (not asked yet) | ok | unreachable | refused (credentials)
    reason: str | None = None  # one plain sentence from the error (may quote Atlas: show as text)
    checked_at: float | None = None  # epoch seconds of the probe

    @property
    def ok(self) -> bool:
        """True when the last probe got a token."""
        return self.state == OK

    @property
    def troubled(self) -> bool:
        """True when the last probe failed (Atlas unreachable or refusing the credentials)."""
        return self.state in (UNREACHABLE, REFUSED)

    def headline(self) -> str:
        """A short plain heading for the sidebar: 'Can't reach Atlas', 'Atlas refused the credentials'."""
        return {
            OK: "Atlas answers",
            UNREACHABLE: "Can't reach Atlas",
            REFUSED: "Atlas refused the credentials",
        }.get(self.state, "Checking Atlas…")


def probe_error(exc: AtlasError, at: float | None = None) -> AtlasHealth:
    """The health an error from Atlas (or from trying to reach it) says."""
    at = time.time() if at is None else at
    state = REFUSED if isinstance(exc, AuthError) else UNREACHABLE
    return AtlasHealth(state, exc.message.rstrip(".") or type(exc).__name__, at)


def probe_atlas(client: Any, timeout: float) -> AtlasHealth:
    """Ask Atlas for a fresh token within ``timeout`` seconds; the health that answer says."""
    try:
        client.authenticate(deadline=time.monotonic() + min(timeout, PROBE_TIMEOUT_CAP))
    except AtlasError as exc:
        return probe_error(exc)
    return AtlasHealth(OK, None, time.time())


def short_reason(reason: str | None) -> str:
    """The cause in a few words: 'connection refused', 'timed out', else the reason itself."""
    text = (reason or "").rstrip(".")
    lowered = text.lower()
    for words, short in (
        ("refused", "connection refused"),
        ("timed out", "timed out"),
        ("timeout", "timed out"),
        ("name or service", "address not found"),
        ("resolve", "address not found"),
        ("unavailable", "Atlas is unavailable"),
    ):
        if words in lowered:
            return short
    return text or "no answer"


def waiting_sentence(
    health: AtlasHealth | None, trouble: dict[str, Any] | None, now: float | None = None,
    *, resume_at: float | None = None,
) -> str | None:
    """Why an upload's queued documents wait, and when they are tried next; None if they do not.

    ``trouble`` is the ledger's ``sending_trouble`` row for the upload (queued requests put back
    with an error); ``health`` the worker's last probe. E.g. "Can't reach Atlas: connection
    refused; 8 tries; next in 30 s". ``resume_at``: when a paused worker tries next (epoch s).
    """
    now = time.time() if now is None else now
    health = health or AtlasHealth()
    if not trouble or not trouble.get("requests"):
        if health.troubled and trouble is not None and trouble.get("queued"):
            return f"{health.headline()}: {short_reason(health.reason)}; documents wait in the queue."
        return None
    tries = int(trouble.get("attempts") or 0)
    if health.state == REFUSED or "credential" in str(trouble.get("error") or "").lower():
        # Atlas's own words: "refused" here is about the credentials, not the connection.
        cause = str(health.reason or trouble.get("error") or "no reason given").rstrip(".")
        head = f"Atlas refused the credentials: {cause}"
    else:
        head = f"Can't reach Atlas: {short_reason(trouble.get('error') or health.reason)}"
    parts = [head, f"{tries:,} {'try' if tries == 1 else 'tries'}"]
    due = trouble.get("next_due")
    if resume_at is not None:  # the worker itself pauses (credentials refused): it decides
        due = max(float(due or 0), resume_at)
    if due is not None:
        wait = float(due) - now
        parts.append("next try now" if wait <= 1 else f"next in {_seconds(wait)}")
    return "; ".join(parts)


def _seconds(wait: float) -> str:
    if wait < 90:
        return f"{wait:.0f} s"
    return f"{wait / 60:.0f} min"
