"""Soak: many documents through a faulty sandbox, two workers on one ledger, one killed at random.

    python benchmarks/soak.py [--documents 20000] [--sheets 4] [--workers 2] [--kills 6] [--seed 1]
                              [--refuse-for 60]

What it does, all as separate processes the way production runs them:
  1. starts ``python -m atlas_core sandbox`` with every fault on (latency, 503, 429 with
     Retry-After, dropped connections, connections dropped after an upload was accepted, tokens
     that expire every few seconds, documents that fail);
  2. writes --sheets spreadsheets (CSV and XLSX, some invalid rows) holding --documents rows, and
     queues them in the ledger with the engine's ``plan_upload`` + ``queue_upload`` (nothing sent);
  3. starts --workers ``python -m atlas_core -v worker`` processes on that ledger, SIGKILLs one at
     a random moment --kills times and starts it again;
     Mid-run (once --refuse-at of the requests are sent) the sandbox refuses the credentials
     for --refuse-for seconds (``refuse_credentials``): the workers must pause, reject nothing,
     stay running, and send the rest once the credentials work again;
  4. once sending is over, resends some uncertain requests as a user would (``resolve_uncertain``),
     then runs ``python -m atlas_core refresh`` until every batch is finished;
  5. checks the ledger against the sandbox's own record (/_sandbox/received, /_sandbox/truth) and
     the logs, and prints the figures. Exit status 1 when an invariant is broken.

With ``--engine postgresql`` the ledger is a throwaway PostgreSQL cluster of the run's own
(benchmarks/soak_postgres.py), and two more faults play mid-run: every connection of one live
worker is cut with ``pg_terminate_backend``, and later the server is restarted. Every chunk must
end final (sent, rejected, cancelled) or ``uncertain``, on either engine.

    python benchmarks/soak.py --engine postgresql --workers 3 --documents 20000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET  # noqa: E402
from atlas_core.engine import plan_upload, queue_upload, resolve_uncertain  # noqa: E402
from atlas_core.intake import read_spreadsheet, validate_sheet  # noqa: E402
from atlas_core.ledger import Ledger  # noqa: E402
from atlas_core.ledger import states as S  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from soak_checks import (  # noqa: E402
    broken_invariants,
    check,
    count_orphans,
    count_pauses,
    count_retries,
    log_problems,
    print_report,
    sandbox_post,
)
from soak_refusal import Refusal  # noqa: E402

from atlas_core.errors import LedgerError  # noqa: E402

# Every fault on at once. Rates are per request; drop_after_accept hits multiupload only.
FAULTS = {
    "latency": 0.005,
    "rate_503": 0.04,
    "rate_429": 0.04,
    "retry_after": 0.2,
    "rate_drop": 0.02,
    "rate_drop_after_accept": 0.03,
    "token_lifetime": 3.0,
    "fail_rate": 0.03,
}
WORKER_ENV = {
    "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
    "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
    "ATLAS_BACKOFF_BASE": "0.05",
    "ATLAS_BACKOFF_CAP": "1.0",
    "ATLAS_MAX_RETRIES": "5",
    "ATLAS_CONNECT_TIMEOUT": "5",
    "ATLAS_READ_TIMEOUT": "30",
}
# A paused worker tries again after 1 s, doubling to 8 s: the run resumes soon after a refusal.
WORKER_ARGS = ("--retry-wait", "1", "--retry-wait-cap", "8")
REFUSE_FOR = 60.0  # seconds the credentials are refused mid-run
REFUSE_AT = 0.3  # ...starting once this share of the requests has been sent
EXPIRE_EVERY = 2.0  # seconds between forced token expiries, on top of the 3 s token lifetime
TYPE_HINTS = ("aadhaar", "pan", "dl", "voter", "passport", "gst", "scan")


# Spreadsheets -------------------------------------------------------------------------------


def make_sheets(folder: Path, documents: int, sheets: int, rng: random.Random) -> dict[str, Any]:
    """Write the spreadsheets; return their paths, the valid IDs and the count of invalid rows."""
    valid: list[str] = []
    invalid = 0
    paths: list[Path] = []
    per_sheet = [documents // sheets + (i < documents % sheets) for i in range(sheets)]
    for number, count in enumerate(per_sheet):
        rows: list[tuple[str, str]] = []
        for i in range(count):
            doc_id = f"S{number}-{i:06d}"
            hint = rng.choice(TYPE_HINTS)
            url = f"https://files.example.test/{hint}/{doc_id}.jpg"
            roll = rng.random()
            if roll < 0.01:
                rows.append((doc_id, "not a link"))  # invalid: never sent
                invalid += 1
                continue
            if roll < 0.03:
                url = f"https://files.example.test/unreadable/{doc_id}.jpg"  # Atlas fails it
            rows.append((doc_id, url))
            valid.append(doc_id)
        path = folder / (f"sheet{number}.xlsx" if number % 2 else f"sheet{number}.csv")
        _write_sheet(path, rows)
        paths.append(path)
    return {"paths": paths, "valid": valid, "invalid": invalid}


def _write_sheet(path: Path, rows: list[tuple[str, str]]) -> None:
    header = ("document_id", "file_url")
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        return
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("documents")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)


def queue_sheets(ledger: Ledger, paths: list[Path], chunk_size: int) -> dict[str, int]:
    """Read, validate, plan and queue each sheet without sending anything (the workers send)."""
    totals = Counter()
    for path in paths:
        sheet = read_spreadsheet(path)
        report = validate_sheet(sheet, known_ids=ledger.known_ids)
        plan = plan_upload(ledger, sheet, report, product_type="POC_CDL", chunk_size=chunk_size,
                           submitted_by="soak")
        queued = queue_upload(ledger, plan)
        totals.update(queued=queued.queued, invalid=queued.invalid, skipped=queued.skipped)
    return dict(totals)


# Processes ----------------------------------------------------------------------------------


def start_sandbox(folder: Path, behaviour: dict[str, Any]) -> tuple[subprocess.Popen, str]:
    """``python -m atlas_core sandbox`` on a free port; returns the process and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "atlas_core", "sandbox", "--port", "0",
         "--state", str(folder / "sandbox.jsonl"), "--behaviour", json.dumps(behaviour)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=(folder / "sandbox.log").open("w"), text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1].strip()


class Workers:
    """The worker processes, their logs, and killing and restarting them."""

    def __init__(self, count: int, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.procs: list[subprocess.Popen | None] = [None] * count
        self.started = [0.0] * count
        self.current_log: list[Path] = [folder] * count
        self.logs: list[Path] = []
        self.kills = 0
        self.exited: list[str] = []  # workers that ended without being killed or stopped
        for slot in range(count):
            self.start(slot)

    def start(self, slot: int) -> None:
        """Start (or restart) the worker in ``slot``, logging to a file of its own."""
        log = self.folder / f"worker{slot}-{len(self.logs)}.log"
        self.logs.append(log)
        self.started[slot] = time.monotonic()
        self.current_log[slot] = log
        self.procs[slot] = subprocess.Popen(
            [sys.executable, "-m", "atlas_core", "-v", "worker", *WORKER_ARGS], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=log.open("w"),
        )

    def kill_one(self, rng: random.Random, *, min_age: float) -> bool:
        """SIGKILL one worker that has run ``min_age`` s (so it is working) and start it again."""
        now = time.monotonic()
        ready = [slot for slot, at in enumerate(self.started) if now - at >= min_age]
        if not ready:
            return False
        slot = rng.choice(ready)
        proc = self.procs[slot]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        self.kills += 1
        self.start(slot)
        return True

    def restart_ended(self) -> int:
        """Start again any worker that ended on its own (a broken invariant); how many did."""
        ended = 0
        for slot, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is not None:
                self.exited.append(f"{self.current_log[slot].name} exited {proc.returncode}")
                self.start(slot)
                ended += 1
        return ended

    def stop(self) -> list[int]:
        """SIGTERM every worker once it is up (its handler installed) and wait; the exit codes."""
        codes = []
        for slot, proc in enumerate(self.procs):
            if proc is None:
                continue
            log = self.current_log[slot]
            wait_until(lambda log=log, proc=proc: "running" in log.read_text(errors="replace")
                       or proc.poll() is not None, time.monotonic() + 60)
            proc.send_signal(signal.SIGTERM)
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes


def cli_start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``python -m atlas_core -v ARGS``, appending its stderr to ``log``."""
    with log.open("a") as handle:
        return subprocess.Popen([sys.executable, "-m", "atlas_core", "-v", *args], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=handle)


# The run ------------------------------------------------------------------------------------


def wait_until(check: Any, deadline: float, pause: float = 0.2) -> bool:
    """Poll ``check()`` until it is true or the deadline passes."""
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(pause)
    return bool(check())


def sending_over(ledger: Ledger) -> bool:
    """Nothing queued and nothing in flight."""
    work = ledger.queued_work()
    return not work["queued"] and not work["sending"]


def run_soak(
    *, documents: int = 20_000, sheets: int = 4, workers: int = 2, kills: int = 6, seed: int = 1,
    processing_seconds: float = 3.0, chunk_size: int = 100, resend_share: float = 0.5,
    latency: float = FAULTS["latency"], kill_gap: float | None = None,
    refuse_for: float = REFUSE_FOR, refuse_at: float = REFUSE_AT,
    timeout: float = 1800.0, folder: Path | None = None, engine: str = "sqlite",
    pg_restarts: int = 1,
) -> dict[str, Any]:
    """Run the whole soak in ``folder`` (a temporary one by default) and return the figures."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="atlas-soak-") as tmp:
            return run_soak(documents=documents, sheets=sheets, workers=workers, kills=kills,
                            seed=seed, processing_seconds=processing_seconds,
                            chunk_size=chunk_size, resend_share=resend_share, latency=latency,
                            kill_gap=kill_gap, refuse_for=refuse_for, refuse_at=refuse_at,
                            timeout=timeout, folder=Path(tmp), engine=engine,
                            pg_restarts=pg_restarts)
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = started + timeout
    folder.mkdir(parents=True, exist_ok=True)
    behaviour = {**FAULTS, "processing_seconds": processing_seconds, "seed": seed,
                 "latency": latency}
    cluster = pg_faults = None
    if engine == "postgresql":
        import soak_postgres

        cluster = soak_postgres.start_cluster()
        location = cluster.fresh_database()
        where = {"ATLAS_DATABASE_URL": location}
    else:
        location = str(folder / "atlas.db")
        where = {"ATLAS_DB_PATH": location}
    sandbox, url = start_sandbox(folder, behaviour)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}, **WORKER_ENV,
           "PYTHONPATH": str(ROOT), "ATLAS_BASE_URL": url, **where,
           "ATLAS_CHUNK_SIZE": str(chunk_size)}
    pool: Workers | None = None
    try:
        made = make_sheets(folder, documents, sheets, rng)
        ledger = Ledger(location)
        queued = queue_sheets(ledger, made["paths"], chunk_size)
        refusal = Refusal(url, refuse_for, refuse_at)
        refusal.arm(ledger)  # before any request: the sandbox starts the refusal mid-run itself
        if cluster is not None:
            pg_faults = soak_postgres.PgFaults(cluster, location, restarts=pg_restarts)
            pg_faults.arm(ledger)
        pool = Workers(workers, env, folder)
        drive = drive_until_done(ledger, pool, env, url, folder, rng, kills=kills,
                                 gap=kill_gap or max(1.5, documents / 4000), resend_share=resend_share,
                                 refusal=refusal, deadline=deadline, pg_faults=pg_faults)
        workers_exited = pool.exited
        exit_codes = pool.stop()
        pool = None
        elapsed = time.monotonic() - started
        report = check(ledger, url, made["valid"])
        report.update(
            documents=documents, valid=len(made["valid"]), invalid=made["invalid"], sheets=sheets,
            workers=workers, seed=seed, queued=queued, kills_asked=kills, **drive,
            seconds=round(elapsed, 1), worker_exit_codes=exit_codes, behaviour=behaviour,
            finished_in_time=sending_over(ledger) and not unfinished(ledger),
            workers_exited=len(workers_exited), workers_exited_detail=workers_exited,
            engine=engine, chunk_states=chunk_states(ledger),
            postgres=pg_faults.figures if pg_faults is not None else None,
        )
        report["chunks_not_final"] = chunks_not_final(report["chunk_states"])
        logs = [*worker_logs(folder), folder / "refresh.log"]
        report["log_problems"] = log_problems(logs)
        report["retries"] = count_retries(logs)
        report["orphans_marked_uncertain"] = count_orphans(logs)
        report["refusal"]["pauses"] = count_pauses(logs)
        return report
    finally:
        if pool is not None:
            pool.stop()
        sandbox.terminate()
        sandbox.wait(timeout=30)
        if cluster is not None:
            cluster.remove()


def drive_until_done(
    ledger: Ledger, pool: Workers, env: dict[str, str], url: str, folder: Path,
    rng: random.Random, *, kills: int, gap: float, resend_share: float, refusal: Refusal,
    deadline: float, pg_faults: Any = None,
) -> dict[str, Any]:
    """Expire tokens, kill workers at random moments, resend, refresh; until all is finished."""
    refresh_log = folder / "refresh.log"
    refresh: subprocess.Popen | None = None
    now = time.monotonic()
    next_kill, next_expiry = now + rng.uniform(1.0, gap), now + EXPIRE_EVERY
    resent: int | None = None
    rounds = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        try:
            sent_all = sending_over(ledger)
            open_batches = unfinished(ledger)
            if pg_faults is not None:
                pg_faults.step(ledger, pool, now)
        except LedgerError:
            # The soak's own look at the ledger while PostgreSQL restarts: look again shortly.
            time.sleep(0.5)
            continue
        if now >= next_expiry:
            sandbox_post(url, "/_sandbox/expire-tokens")
            next_expiry = now + EXPIRE_EVERY
        try:
            refusal.step(ledger, now)  # looks four times a second at most
        except LedgerError:
            continue
        pool.restart_ended()
        if pool.kills < kills and now >= next_kill and (not sent_all or open_batches):
            if pool.kill_one(rng, min_age=1.0):
                next_kill = now + rng.uniform(1.0, gap)
        if sent_all and resent is None:
            resent = resend_some(ledger, rng, resend_share)
            continue
        if refresh is not None and refresh.poll() is not None:
            refresh = None
        if sent_all and resent is not None:
            if not open_batches and refresh is None:
                break
            if refresh is None:
                refresh = cli_start(["refresh"], env, refresh_log)
                rounds += 1
        time.sleep(0.1)
    refusal.finish()
    if refresh is not None:
        refresh.wait(timeout=600)
    return {"kills": pool.kills, "refresh_rounds": rounds, "uncertain_chunks_resent": resent or 0,
            "refusal": refusal.figures, "rejected_while_refused": refusal.rejected_while_refused}


def chunk_states(ledger: Ledger) -> dict[str, int]:
    """Chunks per state at the end, from the ledger's own reads."""
    return {state: n for state in S.CHUNK_STATES if (n := len(ledger.chunks_in_state(state)))}


def chunks_not_final(states: dict[str, int]) -> int:
    """Chunks neither final (sent, rejected, cancelled) nor uncertain: still queued or sending."""
    return states.get(S.QUEUED, 0) + states.get(S.SENDING, 0)


def worker_logs(folder: Path) -> list[Path]:
    """Every worker log written in the folder."""
    return sorted(folder.glob("worker*.log"))


def unfinished(ledger: Ledger) -> int:
    """Batches still processing."""
    return len(ledger.due_batches(all_unfinished=True))


def resend_some(ledger: Ledger, rng: random.Random, share: float) -> int:
    """Resend a share of the uncertain requests, as an analyst choosing 'resend' would."""
    chunks = ledger.chunks_in_state(S.UNCERTAIN)
    chosen = rng.sample(chunks, min(len(chunks), max(1, round(share * len(chunks))))) if share else []
    for chunk in chosen:
        resolve_uncertain(ledger, chunk["id"], "resend", resolved_by="soak")
    return len(chosen)


def main() -> int:
    """Run the soak with the flags given and print the figures; 1 when an invariant broke."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--sheets", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processing-seconds", type=float, default=3.0)
    parser.add_argument("--chunk-size", type=int, default=100, help="documents per request")
    parser.add_argument("--resend-share", type=float, default=0.5,
                        help="share of uncertain requests the 'user' resends")
    parser.add_argument("--latency", type=float, default=FAULTS["latency"],
                        help="seconds the sandbox adds to every request")
    parser.add_argument("--kill-gap", type=float, default=None,
                        help="most seconds between two kills (default: from --documents)")
    parser.add_argument("--refuse-for", type=float, default=REFUSE_FOR,
                        help="seconds the credentials are refused mid-run (0: no such phase)")
    parser.add_argument("--refuse-at", type=float, default=REFUSE_AT,
                        help="share of the requests sent before the credentials are refused")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the ledger's engine (postgresql: a throwaway cluster, its connections"
                             " cut and the server restarted mid-run)")
    parser.add_argument("--pg-restarts", type=int, default=1,
                        help="PostgreSQL restarts mid-run (--engine postgresql)")
    parser.add_argument("--folder", type=Path, help="keep the ledger, journal and logs here")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    report = run_soak(documents=args.documents, sheets=args.sheets, workers=args.workers,
                      kills=args.kills, seed=args.seed, processing_seconds=args.processing_seconds,
                      chunk_size=args.chunk_size, resend_share=args.resend_share,
                      latency=args.latency, kill_gap=args.kill_gap,
                      refuse_for=args.refuse_for, refuse_at=args.refuse_at,
                      timeout=args.timeout, folder=args.folder, engine=args.engine,
                      pg_restarts=args.pg_restarts)
    broken = broken_invariants(report)
    if args.json:
        print(json.dumps({**report, "broken": broken}, indent=2))
    else:
        print_report(report, broken)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
