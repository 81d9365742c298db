"""Signals to every worker on the ledger: "refresh now" and "new work", as counters.

A dashboard replica or the CLI bumps a counter; each worker reads the counters cheaply (one small
table) and acts when one moved. PostgreSQL also announces a bump with NOTIFY, so a worker that
LISTENs wakes at once; the counters stay the truth (a notification can be missed).
"""

from __future__ import annotations

from .clock import db_clock
from .store import LedgerCore

REFRESH, WORK = "refresh", "work"
SIGNALS = (REFRESH, WORK)


class SignalLedger(LedgerCore):
    """Bumping and reading the signal counters."""

    def send_signal(self, name: str) -> int:
        """Bump signal ``name`` ("refresh" or "work") for every worker; its new serial."""
        if name not in SIGNALS:
            raise ValueError(f"signal must be one of {', '.join(SIGNALS)}, not {name!r}")
        with self.transaction() as db:
            db.execute(
                "UPDATE ledger_signals SET serial = serial + 1, signalled_at = ? WHERE name = ?",
                [db_clock(db), name],
            )
            serial = int(db.execute(
                "SELECT serial FROM ledger_signals WHERE name = ?", [name]
            ).fetchone()[0])
        return serial

    def signal_serials(self) -> dict[str, int]:
        """Each signal's serial now: a worker compares them with the last ones it saw."""
        with self.reading() as db:
            return {str(r[0]): int(r[1]) for r in db.execute(
                "SELECT name, serial FROM ledger_signals"
            ).fetchall()}
