"""Opening the ledger file: a connection per thread reused by its units of work, WAL, migrations."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import LedgerError, display_url
from .dialect import is_database_url
from .targets import TargetScope

if TYPE_CHECKING:
    import sqlite_utils

    from .pgstore import PgStore

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT = 10.0  # seconds a writer waits for another process's write to finish


def _database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    # sqlite-utils imports pandas (and with it pyarrow) when they are installed, ~0.8 s: imported
    # on the first unit of work, so a command that never opens the ledger (--help) skips it.
    import sqlite_utils

    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made (sqlite3's rowid; PostgreSQL's INSERT returns it)."""
    if cursor.lastrowid is None:
        raise LedgerError("The ledger did not report the id of the row it just recorded.")
    return cursor.lastrowid


def now_ts() -> float:
    """The ledger's clock: seconds since the epoch (UTC)."""
    return time.time()


class LedgerCore:
    """A ledger file (or PostgreSQL database); every read or write is a short unit of work on its
    thread's own connection."""

    path: Any  # the file's Path, or the PostgreSQL URL (never shown: see ``label``)

    def __init__(
        self, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        target: str | None = None,
    ) -> None:
        self.busy_timeout = busy_timeout
        # The Atlas this ledger works for (targets.py): every read and send is scoped to it, and
        # new work records it. None (tools, tests reading a file) sees every target.
        self.scope = TargetScope(target)
        self._pg: PgStore | None = None
        if is_database_url(path):
            from .pgstore import PgStore  # psycopg is loaded only for a PostgreSQL ledger

            self.path = str(path)
            self.engine = "postgresql"
            self._pg = PgStore(str(path), connect_timeout=busy_timeout)
            self.schema_version = self._pg.schema_version
            return
        self.path = Path(path)
        self.engine = "sqlite"
        self._local = threading.local()
        # Writers of this process queue on a lock that wakes the next one at once; SQLite's busy
        # handler (for other processes) sleeps in steps of up to 100 ms instead.
        self._write_lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The anchor stays open, idle, for the ledger's lifetime: when the last connection to a
            # WAL file closes, SQLite checkpoints and deletes the WAL, which per unit of work costs
            # an fsync (~10 ms). It never runs a statement after this, so sharing it is safe.
            self._anchor: sqlite3.Connection | None = self._connect(check_same_thread=False)
            # WAL is a property of the file: set once, outside any transaction.
            self._anchor.execute("PRAGMA journal_mode=WAL")
            from .schema import migrate  # sqlite-utils' migrations: loaded with the first ledger

            with self.transaction() as db:
                self.schema_version = migrate(db)
        except sqlite3.Error as exc:
            raise LedgerError(f"The ledger at {self.path} cannot be opened: {exc}.") from exc

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, target={self.scope.target!r})"

    @property
    def label(self) -> str:
        """Where the ledger is, safe to show: the file, or the database URL without its password."""
        return display_url(self.path) if self._pg is not None else str(self.path)

    @property
    def target(self) -> str | None:
        """The Atlas this ledger works for ("sandbox" or a base URL), or None for every target."""
        return self.scope.target

    def _connect(self, *, check_same_thread: bool = True) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so writes can BEGIN IMMEDIATE.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=check_same_thread)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable across process crashes in WAL mode; only power loss can drop
        # the last commits, and the sandbox/Atlas side is re-read on the next refresh anyway.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _thread_connection(self) -> tuple[sqlite3.Connection, bool]:
        # One connection per thread, reused: a new connection re-reads the schema on its first
        # statement, which costs more than most units of work. A nested unit gets its own.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        elif conn.in_transaction:
            return self._connect(), True
        return conn, False

    def _release(self, conn: sqlite3.Connection, one_off: bool, failed: bool) -> None:
        if one_off:
            conn.close()
        elif failed and getattr(self._local, "conn", None) is conn:
            # After an error the connection may be in any state: start the next unit afresh.
            self._local.conn = None
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction (BEGIN IMMEDIATE) on this thread's connection, committed on success."""
        if self._pg is not None:
            with self._pg.transaction() as pg:
                yield cast("sqlite_utils.Database", pg)
            return
        with self._write_lock:
            conn, one_off = self._thread_connection()
            failed = True
            try:
                # IMMEDIATE takes the write lock up front, so two processes never deadlock
                # upgrading a read lock; the busy timeout makes the second one wait its turn.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _database(conn)
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                failed = False
            except sqlite3.Error as exc:
                raise LedgerError(f"The ledger at {self.path} could not be written: {exc}.") from exc
            finally:
                self._release(conn, one_off, failed)

    @contextmanager
    def sending(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction of the send path (claims, receipts): on SQLite ``transaction``; on
        PostgreSQL one that runs beside other lanes' (see pgstore.PgStore.sending)."""
        if self._pg is not None:
            with self._pg.sending() as pg:
                yield cast("sqlite_utils.Database", pg)
            return
        with self.transaction() as db:
            yield db

    @contextmanager
    def reading(self) -> Iterator[sqlite_utils.Database]:
        """A read-only snapshot on this thread's connection (WAL readers never block writers)."""
        if self._pg is not None:
            with self._pg.reading() as pg:
                yield cast("sqlite_utils.Database", pg)
            return
        conn, one_off = self._thread_connection()
        failed = True
        try:
            conn.execute("BEGIN")
            try:
                yield _database(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            failed = False
        except sqlite3.Error as exc:
            raise LedgerError(f"The ledger at {self.path} could not be read: {exc}.") from exc
        finally:
            self._release(conn, one_off, failed)

    def close(self) -> None:
        """Close the anchor and this thread's connection (other threads' close when they end)."""
        if self._pg is not None:
            self._pg.close()
            return
        anchor, self._anchor = getattr(self, "_anchor", None), None
        if anchor is not None:
            anchor.close()
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            conn.close()
