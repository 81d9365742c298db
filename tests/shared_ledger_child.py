"""Child processes for the shared-ledger tests (no tests here): run as ``python THIS JOB ...``.

claim LOCATION NAME LANES GO OUT: LANES threads claim and record chunks until the ledger has
    none left, from the moment the file GO exists; OUT gets, per lane, the chunks it took and
    how many were still queued when its claim came back empty.
upload LOCATION SHEET GO OUT: plan and queue SHEET the way the dashboard does, from the moment
    GO exists; OUT gets the upload's id, or the plain error it ended with.
decide LOCATION ACTION ID GO OUT: after GO, "resolve" (resend) uncertain chunk ID or "retry" the
    failed documents of upload ID, as two analysts pressing the same button at once; OUT gets
    what it did, or the plain error it ended with.
hold LOCATION WORKER: take WORKER's presence lock, register, print "held", then sleep until killed.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path


def _wait_for(go: Path) -> None:
    while not go.exists():
        time.sleep(0.005)


def claim(location: str, name: str, lanes: int, go: Path, out: Path) -> None:
    """Lanes claiming as send_queued's do: claim, then record each answer with the next claim."""
    from atlas_core.ledger import Ledger

    ledger = Ledger(location)
    results: list[dict] = []
    lock = threading.Lock()

    def lane(k: int) -> None:
        worker = f"{name}-{k}"
        taken: list[int] = []
        chunk = ledger.claim_chunk(worker)
        while chunk is not None:
            taken.append(chunk.chunk_id)
            receipts = [(f"batch-{chunk.chunk_id}", doc_id, f"uuid-{row_id}")
                        for row_id, doc_id, _ in chunk.documents]
            _, chunk = ledger.record_sent_and_claim(chunk.chunk_id, receipts, worker)
        left = ledger.queued_work()["queued"]  # after this lane's empty claim
        with lock:
            results.append({"lane": worker, "chunks": taken, "queued_after": left})

    _wait_for(go)
    threads = [threading.Thread(target=lane, args=(k,)) for k in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.write_text(json.dumps(results))


def upload(location: str, sheet_path: str, go: Path, out: Path) -> None:
    """Validate, plan and queue a sheet (the Upload page's path), after GO appears."""
    from atlas_core.engine import plan_upload, queue_upload
    from atlas_core.errors import AtlasError
    from atlas_core.intake import read_spreadsheet, validate_sheet
    from atlas_core.ledger import Ledger

    ledger = Ledger(location, target="sandbox")
    sheet = read_spreadsheet(sheet_path)
    report = validate_sheet(sheet, known_ids=ledger.known_ids)
    _wait_for(go)  # both checked the IDs before either queues: the race the lock must close
    plan = plan_upload(ledger, sheet, report, product_type="POC_CDL", chunk_size=10)
    try:
        out.write_text(json.dumps({"upload_id": queue_upload(ledger, plan).upload_id}))
    except AtlasError as exc:
        out.write_text(json.dumps({"error": exc.message}))


def decide(location: str, action: str, ident: int, go: Path, out: Path) -> None:
    """Resolve an uncertain chunk (resend) or retry an upload's failed documents, after GO."""
    from atlas_core.errors import AtlasError
    from atlas_core.ledger import Ledger

    ledger = Ledger(location)
    _wait_for(go)
    try:
        if action == "resolve":
            result: object = ledger.resolve_uncertain(ident, "resend", resolved_by=str(out))
        else:
            result = ledger.retry_failed(upload_id=ident)[0]
        out.write_text(json.dumps({"done": result}))
    except AtlasError as exc:
        out.write_text(json.dumps({"error": exc.message}))


def hold(location: str, worker_id: str) -> None:
    """Register a worker holding its presence lock, and hang (the test kills this process)."""
    from atlas_core.engine.identity import WorkerIdentity
    from atlas_core.ledger import Ledger

    ledger = Ledger(location)
    presence = ledger.hold_worker_lock(worker_id)  # kept: its connection holds the lock
    WorkerIdentity(worker_id=worker_id).register(ledger)
    print("held", flush=True)
    while True:
        time.sleep(1)
        assert presence is not None


if __name__ == "__main__":
    job, location, *rest = sys.argv[1:]
    if job == "claim":
        claim(location, rest[0], int(rest[1]), Path(rest[2]), Path(rest[3]))
    elif job == "upload":
        upload(location, rest[0], Path(rest[1]), Path(rest[2]))
    elif job == "decide":
        decide(location, rest[0], int(rest[1]), Path(rest[2]), Path(rest[3]))
    elif job == "hold":
        hold(location, rest[0])
    else:
        raise SystemExit(f"unknown job {job!r}")
