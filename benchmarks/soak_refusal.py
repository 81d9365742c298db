"""The soak's phase where Atlas refuses the credentials for a while, and what it measures.

Used by benchmarks/soak.py: the sandbox's ``refuse_credentials`` switch is turned on once a share
of the requests is sent and off after some seconds. The workers must pause (not reject, not end),
then send the rest once the credentials work again.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from soak_checks import sandbox_get, sandbox_post

from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S


class Refusal:
    """The phase where the sandbox refuses the credentials for a while, and what it measured.

    The sandbox itself starts refusing once a share of the queued requests was accepted
    (``refuse_credentials_after_uploads``), so the phase lands mid-run however fast the run goes;
    the soak notices it, and clears it after ``seconds``.
    """

    def __init__(self, url: str, seconds: float, at_share: float) -> None:
        self.url, self.seconds, self.at_share = url, seconds, at_share
        self.started: float | None = None
        self.cleared: float | None = None
        self.resumed_after: float | None = None
        self.figures: dict[str, Any] = {"asked": seconds > 0, "played": False,
                                        "seconds": seconds}
        self.rejected_while_refused = 0
        self._rejected_before = 0
        self._counts_at_clear: dict[str, int] = {}
        self._next_look = 0.0

    def arm(self, ledger: Ledger) -> None:
        """Before the workers start: have the sandbox refuse once ``at_share`` of the queued
        requests were accepted."""
        if not self.figures["asked"]:
            return
        after = max(1, round(ledger.queued_work()["queued"] * self.at_share))
        self.figures["after_uploads"] = after
        sandbox_post(self.url, "/_sandbox/behaviour", {"refuse_credentials_after_uploads": after})

    def step(self, ledger: Ledger, now: float) -> None:
        """Notice the start, end the phase after its seconds, and watch the work resume."""
        if not self.figures["asked"] or now < self._next_look:
            return
        self._next_look = now + 0.25
        if self.started is None:
            if sandbox_get(self.url, "/_sandbox/state")["behaviour"]["refuse_credentials"]:
                self.started = now
                counts = document_counts(ledger)
                self.figures.update(played=True, sent_before=sum(
                    n for state, n in counts.items() if state != S.QUEUED))
                self._rejected_before = counts.get(S.REJECTED, 0)
        elif self.cleared is None and now - self.started >= self.seconds:
            sandbox_post(self.url, "/_sandbox/behaviour", {"refuse_credentials": False})
            self.cleared = now
            self._counts_at_clear = document_counts(ledger)
            self.rejected_while_refused = (self._counts_at_clear.get(S.REJECTED, 0)
                                           - self._rejected_before)
            self.figures["queued_when_cleared"] = self._counts_at_clear.get(S.QUEUED, 0)
        elif self.cleared is not None and self.resumed_after is None:
            if document_counts(ledger).get(S.QUEUED, 0) < self.figures["queued_when_cleared"]:
                self.resumed_after = round(now - self.cleared, 1)
                self.figures["resumed_after"] = self.resumed_after

    def finish(self) -> None:
        """Clear the switch if the run ended inside the phase (or before it began)."""
        if self.figures["asked"] and self.cleared is None:
            sandbox_post(self.url, "/_sandbox/behaviour",
                         {"refuse_credentials": False, "refuse_credentials_after_uploads": None})


def document_counts(ledger: Ledger) -> dict[str, int]:
    """Current documents per state."""
    counts: Counter[str] = Counter()
    for row in ledger.counts_by_type_and_state():
        counts[row["state"]] += row["documents"]
    return dict(counts)
