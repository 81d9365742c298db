"""The soak's checks: the ledger against the sandbox's own record, the logs, and the report.

Used by benchmarks/soak.py; kept apart so each file stays short.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S

# Lines in a worker's or refresh's log that mean something went unhandled.
BAD_LOG = re.compile(r"database is locked|Traceback|Unexpected error|\bERROR\b|\bCRITICAL\b")


def sandbox_post(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """POST to one of the sandbox's own /_sandbox/ controls."""
    request = urllib.request.Request(url + path, data=json.dumps(body or {}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
        return json.load(response)


def sandbox_get(url: str, path: str) -> Any:
    """GET one of the sandbox's own /_sandbox/ controls."""
    with urllib.request.urlopen(url + path, timeout=60) as response:  # noqa: S310 - loopback only
        return json.load(response)


def check(ledger: Ledger, url: str, valid_ids: list[str]) -> dict[str, Any]:
    """Compare the ledger with what the sandbox says it accepted and holds."""
    received = sandbox_get(url, "/_sandbox/received")
    accepted: dict[str, int] = received["accept_counts"]
    rows = list(ledger.iter_documents(include_superseded=True))
    current = list(ledger.iter_documents())
    resent_ids = {r["document_id"] for r in rows if (r["attempt"] or 1) > 1}
    by_id: dict[str, dict[str, Any]] = {}
    recorded_twice = 0
    for row in current:
        if row["document_id"] in by_id:
            recorded_twice += 1
        by_id[row["document_id"]] = row
    twice = sorted(d for d, n in accepted.items() if n > 1 and d not in resent_ids)
    over_twice = sorted(d for d, n in accepted.items() if n > 2)
    lost = sorted(d for d in valid_ids if not accepted.get(d)
                  and (by_id.get(d) or {}).get("state") not in (S.UNCERTAIN, S.REJECTED))
    states = Counter(r["state"] for r in by_id.values())
    mismatches, compared = compare_results(url, by_id)
    requests = sandbox_get(url, "/_sandbox/requests")["requests"]
    outcomes = Counter(
        f"{r['path'].rsplit('/', 1)[-1]} {r['fault'] or r['status']}" for r in requests
    )
    return {
        "accepted_twice": len(twice), "accepted_twice_ids": twice[:10],
        "accepted_twice_after_user_resend": sum(1 for d in resent_ids if accepted.get(d, 0) > 1),
        "accepted_more_than_twice": len(over_twice),
        "lost": len(lost), "lost_ids": lost[:10], "recorded_twice": recorded_twice,
        "not_in_ledger": sum(1 for d in valid_ids if d not in by_id),
        "states": dict(states),
        "uncertain_chunks_left": len(ledger.chunks_in_state(S.UNCERTAIN)),
        "results_compared": compared, "result_mismatches": len(mismatches),
        "result_mismatch_examples": mismatches[:5],
        "batches_in_atlas": len(received["uploads"]),
        "requests": len(requests), "request_outcomes": dict(sorted(outcomes.items())),
    }


def compare_results(url: str, by_id: dict[str, dict[str, Any]]) -> tuple[list[str], int]:
    """Every stored result against the sandbox's truth for its batch, field for field."""
    mismatches: list[str] = []
    compared = 0
    batches = sorted({r["batch_id"] for r in by_id.values() if r["batch_id"]})
    for batch_id in batches:
        truth = {t["document_id"]: t for t in
                 sandbox_get(url, f"/_sandbox/truth?batch_id={batch_id}")["results"]}
        for row in (r for r in by_id.values() if r["batch_id"] == batch_id):
            compared += 1
            held = truth.get(row["document_id"])
            if held is None:
                if row["state"] in (S.EXTRACTED, S.FAILED):
                    mismatches.append(f"{row['document_id']}: stored {row['state']}, Atlas has nothing")
                else:
                    mismatches.append(f"{row['document_id']}: still {row['state']}")
                continue
            expected = S.EXTRACTED if held["status"] == "extracted" else S.FAILED
            if row["state"] != expected:
                mismatches.append(f"{row['document_id']}: stored {row['state']}, Atlas {held['status']}")
            elif expected == S.EXTRACTED and row["file_data"] != held["file_data"]:
                mismatches.append(f"{row['document_id']}: stored file_data differs from Atlas's")
    return mismatches, compared


def log_problems(logs: list[Path]) -> list[str]:
    """Lines of the logs that show an unhandled error or a locked database."""
    found = []
    for log in logs:
        if log.exists():
            found += [f"{log.name}: {line.strip()}" for line in log.open(errors="replace")
                      if BAD_LOG.search(line)]
    return found


def count_retries(logs: list[Path]) -> int:
    """Requests the clients sent again (a retry line per resend, from the -v logs)."""
    pattern = re.compile(r"retrying \(attempt|failed \(attempt|minting a new token and trying")
    return sum(1 for log in logs if log.exists()
               for line in log.open(errors="replace") if pattern.search(line))


def count_pauses(logs: list[Path]) -> int:
    """Times a worker paused (credentials refused or Atlas down), from the logs."""
    return sum(1 for log in logs if log.exists()
               for line in log.open(errors="replace") if "worker paused" in line)


def count_orphans(logs: list[Path]) -> int:
    """Requests found in flight after their worker was killed (marked uncertain by another)."""
    pattern = re.compile(r"(\d+) chunk\(s\) were in flight")
    return sum(int(m.group(1)) for log in logs if log.exists()
               for line in log.open(errors="replace") if (m := pattern.search(line)))


def broken_invariants(report: dict[str, Any]) -> list[str]:
    """The invariants the soak holds the system to; empty when all hold."""
    rules = {
        "documents accepted twice without a user resend": report["accepted_twice"],
        "documents accepted more than twice": report["accepted_more_than_twice"],
        "documents lost": report["lost"],
        "documents recorded twice": report["recorded_twice"],
        "stored results that differ from Atlas's": report["result_mismatches"],
        "unhandled errors or locked-database lines in the logs": len(report["log_problems"]),
        "workers that ended on their own": report.get("workers_exited", 0),
        "documents rejected while the credentials were refused": report.get("rejected_while_refused", 0),
        "requests still queued or sending at the end": report.get("chunks_not_final", 0),
    }
    broken = [f"{name}: {count}" for name, count in rules.items() if count]
    refusal = report.get("refusal") or {}
    if refusal.get("asked") and not refusal.get("played"):
        broken.append("the credentials were never refused (the run ended before the phase)")
    if refusal.get("played") and not refusal.get("resumed_after"):
        broken.append("no document was sent after the credentials worked again")
    postgres = report.get("postgres")
    if postgres is not None:
        if not postgres["connections_terminated"]:
            broken.append("no live worker's connection was cut (the run ended before the fault)")
        if postgres["restarts"] < postgres.get("restarts_asked", 1):
            broken.append("PostgreSQL was not restarted mid-run (the run ended before the fault)")
    if not report["finished_in_time"]:
        broken.append("work was still unfinished at the timeout")
    return broken


def print_report(report: dict[str, Any], broken: list[str]) -> None:
    """The figures, one per line."""
    print(f"soak: {report['documents']} rows in {report['sheets']} sheets ({report['valid']} valid), "
          f"{report['workers']} workers, {report['kills']} SIGKILLs (of {report['kills_asked']} asked), "
          f"seed {report['seed']}")
    print(f"  accepted by Atlas twice (no user resend)  {report['accepted_twice']}  (must be 0)")
    print(f"  accepted twice after a user resend        {report['accepted_twice_after_user_resend']}")
    print(f"  documents lost                            {report['lost']}  (must be 0)")
    print(f"  results compared with Atlas's truth       {report['results_compared']}, "
          f"{report['result_mismatches']} differ (must be 0)")
    print(f"  unhandled errors / locked in the logs     {len(report['log_problems'])}  (must be 0)")
    print(f"  final states                              {report['states']}")
    print(f"  uncertain requests resent / left          {report['uncertain_chunks_resent']} / "
          f"{report['uncertain_chunks_left']}")
    print(f"  requests in flight at a kill (uncertain)  {report['orphans_marked_uncertain']}")
    print(f"  requests to Atlas                         {report['requests']}")
    print(f"  retries (client)                          {report['retries']}")
    refusal = report.get("refusal") or {}
    if refusal.get("played"):
        print(f"  credentials refused for                   {refusal['seconds']} s, from "
              f"{refusal['sent_before']} documents sent; workers paused {refusal['pauses']} times, "
              f"sending again {refusal['resumed_after']} s after")
        print(f"  rejected while refused / workers ended    {report['rejected_while_refused']} / "
              f"{report['workers_exited']}  (must be 0 / 0)")
    print(f"  requests per state at the end             {report.get('chunk_states')}")
    postgres = report.get("postgres")
    if postgres is not None:
        print(f"  PostgreSQL: connections cut / restarts    {postgres['connections_terminated']} of "
              f"worker {postgres['terminated_worker']} / {postgres['restarts']} "
              f"(down {postgres['restart_seconds']} s)")
    print(f"  engine                                    {report.get('engine', 'sqlite')}")
    print(f"  time                                      {report['seconds']} s")
    for outcome, count in report["request_outcomes"].items():
        print(f"    {outcome:<32} {count}")
    for line in report["log_problems"][:10]:
        print(f"  log: {line}")
    print("OK: every invariant holds." if not broken else "BROKEN: " + "; ".join(broken))
