"""Signals to every worker on the ledger: "refresh now" and "new work", as counters.

A dashboard replica or the CLI bumps a counter; each worker reads the counters cheaply (one small
table) and acts when one moved. PostgreSQL also announces a bump with NOTIFY, so a worker that
LISTENs wakes at once; the counters stay the truth (a notification can be missed).
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import redact
from .clock import db_clock, is_postgres
from .store import LedgerCore

log = logging.getLogger(__name__)

REFRESH, WORK = "refresh", "work"
SIGNALS = (REFRESH, WORK)
CHANNEL = "atlas_signals"  # PostgreSQL's NOTIFY channel


class SignalListener:
    """A PostgreSQL connection LISTENing on the signals' channel, for a worker to wait on."""

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self.url, self.connect_timeout = url, connect_timeout
        self._conn: Any = None

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a notification; True when one came (False on a broken
        connection too: it is opened again on the next call, and the counters stay the truth)."""
        import time

        started = time.monotonic()
        try:
            if self._conn is None or self._conn.closed:
                self._connect()
            return any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
        except Exception as exc:  # noqa: BLE001 - a cut connection or a restart: poll until it is back
            # The driver's message in one line (it names host and port, never the password).
            log.warning("listening for the ledger's signals failed (%s); polling instead",
                        redact(" ".join(str(exc).split())))
            self.close()
            time.sleep(max(timeout - (time.monotonic() - started), 0))
            return False

    def _connect(self) -> None:
        import psycopg

        self._conn = psycopg.connect(self.url, autocommit=True,
                                     connect_timeout=max(1, int(self.connect_timeout)),
                                     application_name="atlas-signals")
        self._conn.execute(f"LISTEN {CHANNEL}")

    def close(self) -> None:
        """Stop listening."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass


class SignalLedger(LedgerCore):
    """Bumping and reading the signal counters."""

    def send_signal(self, name: str) -> int:
        """Bump signal ``name`` ("refresh" or "work") for every worker; its new serial."""
        if name not in SIGNALS:
            raise ValueError(f"signal must be one of {', '.join(SIGNALS)}, not {name!r}")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO ledger_signals (name, serial, signalled_at) VALUES (?, 1, ?)"
                " ON CONFLICT (name) DO UPDATE SET serial = ledger_signals.serial + 1,"
                " signalled_at = excluded.signalled_at",
                [name, db_clock(db)],
            )
            serial = int(db.execute(
                "SELECT serial FROM ledger_signals WHERE name = ?", [name]
            ).fetchone()[0])
            if is_postgres(db):  # delivered at commit, to every worker LISTENing
                db.execute(f"SELECT pg_notify('{CHANNEL}', ?)", [name])
        return serial

    def signal_listener(self) -> SignalListener | None:
        """A listener woken by every signal (PostgreSQL's LISTEN); None on SQLite: poll there."""
        pg = getattr(self, "_pg", None)
        return None if pg is None else SignalListener(pg.url, pg.connect_timeout)

    def signal_serials(self) -> dict[str, int]:
        """Each signal's serial now (0 before its first): a worker compares them with the last."""
        with self.reading() as db:
            serials = {str(r[0]): int(r[1]) for r in db.execute(
                "SELECT name, serial FROM ledger_signals"
            ).fetchall()}
        return {name: serials.get(name, 0) for name in SIGNALS}
