"""The soak's PostgreSQL faults: a live worker's connections cut, and the server restarted mid-run.

Used by benchmarks/soak.py with ``--engine postgresql``: the run gets a throwaway cluster of its
own (tests/pg_support.py's, Debian's server binaries), and once a share of the documents has left
the queue the soak
  * ``pg_terminate_backend``s every connection of one running worker process (found by matching
    the process's TCP sockets in /proc against pg_stat_activity's client ports), and later
  * restarts the server (``pg_ctl restart -m fast``: every connection of every process is cut and
    the database is unreachable for a moment).
The workers must ride through both: nothing sent twice, nothing lost, no worker ending.
The statements here are the harness's control of the server (an operator's), not the ledger's.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test cluster (tests/pg_support.py)

from pg_support import Cluster, server_bindir  # noqa: E402

from atlas_core.ledger import Ledger  # noqa: E402


def start_cluster() -> Cluster:
    """A throwaway PostgreSQL cluster on a free port (raises RuntimeError when there is none)."""
    bindir = server_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    return Cluster(bindir)


def tcp_ports_of(pid: int) -> set[int]:
    """Local TCP ports of the sockets process ``pid`` has open (from /proc, no tools needed)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        for fd in fd_dir.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def terminate_connections_of(cluster: Cluster, database_url: str, pid: int) -> int:
    """``pg_terminate_backend`` every connection process ``pid`` holds to the database; how many."""
    import psycopg

    ports = sorted(tcp_ports_of(pid))
    if not ports:
        return 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND client_port = ANY(%s) AND pid <> pg_backend_pid()", (ports,)).fetchall()
        for (backend,) in rows:
            conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
    return len(rows)


class PgFaults:
    """When to cut a worker's connections and when to restart the server, and what happened."""

    def __init__(self, cluster: Cluster, database_url: str, *, terminate_at: float = 0.25,
                 restart_at: float = 0.55, restarts: int = 1) -> None:
        self.cluster, self.url = cluster, database_url
        self.terminate_at, self.restart_at, self.restarts_asked = terminate_at, restart_at, restarts
        self.figures: dict[str, Any] = {"connections_terminated": 0, "terminated_worker": None,
                                        "restarts": 0, "restarts_asked": restarts,
                                        "restart_seconds": []}
        self._total: int | None = None
        self._next_look = 0.0

    def arm(self, ledger: Ledger) -> None:
        """Before the workers start: how many documents there are to send."""
        self._total = ledger.queued_work()["queued"]

    def step(self, ledger: Ledger, workers: Any, now: float) -> None:
        """Play each fault once its share of the queue has been sent."""
        if now < self._next_look or not self._total:
            return
        self._next_look = now + 0.5
        left = ledger.queued_work()["queued"]
        share = 1 - left / self._total
        if self.figures["terminated_worker"] is None and share >= self.terminate_at:
            for slot, proc in enumerate(workers.procs):
                if proc is not None and proc.poll() is None:
                    cut = terminate_connections_of(self.cluster, self.url, proc.pid)
                    if cut:
                        self.figures.update(connections_terminated=cut, terminated_worker=slot,
                                            terminated_at_share=round(share, 2))
                        break
        elif self.figures["restarts"] < self.restarts_asked and share >= self.restart_at:
            started = time.monotonic()
            self.cluster.stop("fast")
            self.cluster.start()
            self.figures["restarts"] += 1
            self.figures["restart_seconds"].append(round(time.monotonic() - started, 1))
            self.figures["restarted_at_share"] = round(share, 2)
