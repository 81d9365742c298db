"""The soak's phase where Atlas refuses the credentials for a while, and what it measures.

Used by benchmarks/soak.py: the sandbox's ``refuse_credentials`` switch is turned on once a share
of the requests is sent and off after some seconds. The workers must pause (not reject, not end),
then send the rest once the credentials work again.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from soak_checks import sandbox_post

from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S


class Refusal:
    """The phase where the sandbox refuses the credentials for a while, and what it measured."""

    def __init__(self, url: str, seconds: float, at_share: float) -> None:
        self.url, self.seconds, self.at_share = url, seconds, at_share
        self.started: float | None = None
        self.cleared: float | None = None
        self.resumed_after: float | None = None
        self.first_chunks: int | None = None
        self.figures: dict[str, Any] = {"asked": seconds > 0, "played": False,
                                        "seconds": seconds}
        self.rejected_while_refused = 0
        self._counts_at_clear: dict[str, int] = {}

    def step(self, ledger: Ledger, now: float) -> None:
        """Start, end or watch the phase, as the run reaches each point."""
        if not self.figures["asked"]:
            return
        work = ledger.queued_work()
        # The most ever queued at once: the first look may come before any sheet is queued.
        self.first_chunks = max(self.first_chunks or 0, work["queued"])
        if self.started is None:
            sent_share = 1 - work["queued"] / max(self.first_chunks or 0, 1)
            if sent_share >= self.at_share and work["queued"]:
                self.started = now
                counts = document_counts(ledger)
                self.figures.update(played=True, sent_before=sum(
                    n for state, n in counts.items() if state != S.QUEUED))
                self._rejected_before = counts.get(S.REJECTED, 0)
                sandbox_post(self.url, "/_sandbox/behaviour", {"refuse_credentials": True})
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
        """Clear the switch if the run ended inside the phase."""
        if self.started is not None and self.cleared is None:
            sandbox_post(self.url, "/_sandbox/behaviour", {"refuse_credentials": False})


def document_counts(ledger: Ledger) -> dict[str, int]:
    """Current documents per state."""
    counts: Counter[str] = Counter()
    for row in ledger.counts_by_type_and_state():
        counts[row["state"]] += row["documents"]
    return dict(counts)
