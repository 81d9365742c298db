"""Plain-text descriptions of settings, durations and ages for the pages (no Streamlit here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from atlas_core.config import Settings
from atlas_core.errors import redact
from atlas_core.ledger.balance import UploadBalance
from atlas_core.ledger.rows import BatchOverview, ChunkRow, UploadRow


def duration(seconds: float | None) -> str:
    """A duration for people: '45 s', '12 min', '3 h 20 min', '2 days'."""
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours, rest = divmod(int(minutes), 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} days"


def age(moment: Any, now: datetime | None = None) -> str:
    """How long ago a timestamp (epoch seconds, ISO text or datetime) was: '12 min ago'."""
    when = as_datetime(moment)
    if when is None:
        return "—"
    now = now or datetime.now(UTC)
    return f"{duration((now - when).total_seconds())} ago"


def as_datetime(moment: Any) -> datetime | None:
    """A timezone-aware datetime from epoch seconds, ISO text or a datetime; None if unreadable."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(float(moment), UTC)
    try:
        parsed = datetime.fromisoformat(str(moment))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def safe_url(url: str | None) -> str:
    """A URL without any user:password part or query string (which may carry a signature)."""
    if not url:
        return "(not set)"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def limits_rows(settings: Settings) -> list[dict[str, str]]:
    """The limits in force, one row per setting, with its variable name for the server admin."""
    rows = [
        ("Documents per request (chunk size)", str(settings.chunk_size), "ATLAS_CHUNK_SIZE"),
        ("Requests sent in parallel", str(settings.submit_concurrency), "ATLAS_SUBMIT_CONCURRENCY"),
        (
            "Result pages fetched in parallel",
            str(settings.refresh_concurrency),
            "ATLAS_REFRESH_CONCURRENCY",
        ),
        ("Connect timeout", f"{settings.connect_timeout:g} s", "ATLAS_CONNECT_TIMEOUT"),
        ("Read timeout", f"{settings.read_timeout:g} s", "ATLAS_READ_TIMEOUT"),
        ("Retries per request", str(settings.max_retries), "ATLAS_MAX_RETRIES"),
        ("Longest pause between retries", f"{settings.backoff_cap:g} s", "ATLAS_BACKOFF_CAP"),
        ("Largest spreadsheet", f"{settings.max_file_mb} MB", "ATLAS_MAX_FILE_MB"),
        ("Most rows per spreadsheet", f"{settings.max_rows:,}", "ATLAS_MAX_ROWS"),
        (
            "A batch counts as stalled after",
            duration(settings.stalled_after),
            "ATLAS_STALLED_AFTER",
        ),
    ]
    return [{"Limit": name, "Value": value, "Setting": var} for name, value, var in rows]


def target_rows(settings: Settings, *, sandbox: bool) -> list[dict[str, str]]:
    """Which Atlas the dashboard talks to, safe to show: the client id is masked, no secret."""
    return [
        {"": "Service", "Value": "Built-in sandbox (simulated Atlas)" if sandbox else "Atlas"},
        {"": "Base URL", "Value": safe_url(settings.base_url)},
        {"": "Token path", "Value": settings.auth_path},
        {"": "Client id", "Value": settings.masked_client_id},
        {
            "": "Client secret",
            "Value": "set (never shown)" if settings.client_secret else "(not set)",
        },
        {"": "Ledger file", "Value": settings.ledger_label},  # a database URL without its password
    ]


SECONDS_PER_REQUEST = 2.0  # a multiupload answers in a second or two; Atlas fetches files later


def sending_estimate(chunks: int, concurrency: int) -> str:
    """A rough sentence on how long sending takes, and what happens after."""
    if chunks <= 0:
        return "Nothing new to send."
    rounds = -(-chunks // max(concurrency, 1))
    return (
        f"Sending takes about {duration(rounds * SECONDS_PER_REQUEST)} ({chunks:,} request(s), "
        f"{concurrency} at a time). Atlas then reads each document; results arrive over the next "
        "minutes and show on the Batches and Results pages. You can close this tab meanwhile."
    )


BATCH_STATES = {
    "processing": "Processing",
    "stalled": "Stalled",
    "complete": "Complete",
    "complete_with_failures": "Complete with failures",
}


# The colours st.badge takes.
BadgeColour = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "grey", "primary"]

STATE_COLOURS: dict[str, BadgeColour] = {
    "Needs a decision": "red",
    "Stalled": "red",
    "Sending": "blue",
    "Processing": "blue",
    "Complete with failures": "orange",
    "Pilot done": "violet",
    "Cancelled": "gray",
    "Complete": "green",
}


def upload_state(row: UploadRow, *, stalled: bool = False) -> str:
    """An upload's state in words, from its document counts (and whether a batch is stalled)."""
    if row.get("uncertain_chunks") or row.get("uncertain"):
        return "Needs a decision"
    if stalled:
        return "Stalled"
    if row.get("queued"):
        return "Sending"
    if row.get("submitted"):
        return "Processing"
    if row.get("rows_held"):  # the pilot's documents are all back; the rest waits for a person
        return "Pilot done"
    if row.get("failed") or row.get("rejected"):
        return "Complete with failures"
    if row.get("cancelled") and not row.get("extracted"):
        return "Cancelled"
    return "Complete"


def batch_rows(batches: list[BatchOverview]) -> list[dict[str, Any]]:
    """Batches as table rows for people: state in words, progress as a fraction, ages as text."""
    out = []
    for b in batches:
        documents = int(b.get("documents") or 0)
        done = int(b.get("extracted") or 0) + int(b.get("failed") or 0)
        out.append(
            {
                "Batch": b["batch_id"],
                "Upload": f"{b['upload_id']} · {b.get('file_name') or ''}".rstrip(" ·"),
                "State": BATCH_STATES.get(b.get("state"), str(b.get("state"))),
                "Progress": done / documents if documents else 1.0,
                "Documents": documents,
                "Extracted": int(b.get("extracted") or 0),
                "Failed": int(b.get("failed") or 0),
                "Pending": int(b.get("pending") or 0),
                "Sent": age(b.get("created_at")) if b.get("created_at") else "",
                "Last progress": age(b.get("last_progress_at")) if b.get("last_progress_at") else "",
                "Last error": redact(b.get("last_error") or ""),  # rows stored before scrubbing, too
            }
        )
    return out


# Counts in tables stay numbers (they sort) and are drawn with the viewer's thousands separators.
COUNT_COLUMNS = ("Documents", "Extracted", "Failed", "Pending", "Waiting")


def upload_needs(row: UploadRow, balance: UploadBalance | None = None) -> str:
    """What an upload waits on from a person, in a few words ('' when nothing)."""
    needs = []
    if balance is not None and (balance.missing or balance.unexpected):
        needs.append(f"check {balance.missing + balance.unexpected:,} missing or stray")
    if row.get("uncertain_chunks"):
        needs.append(f"decide on {int(row['uncertain_chunks']):,} request(s)")
    if row.get("failed"):
        needs.append(f"retry or fix {int(row['failed']):,} failed")
    if row.get("rows_held"):
        needs.append(f"send {int(row['rows_held']):,} held rows")
    text = " · ".join(needs)
    return text[:1].upper() + text[1:]


def upload_rows(
    uploads: list[UploadRow], stalled: set[int] | None = None,
    balances: dict[int, UploadBalance] | None = None,
) -> list[dict[str, Any]]:
    """Uploads as compact table rows: state, balance of documents, who, when, what it needs;
    with ``balances``, the balance of its sheet rows too (the same sentence as everywhere)."""
    stalled = stalled or set()
    balances = balances or {}
    out = []
    for u in uploads:
        balance = balances.get(int(u["id"]))
        waiting = int(u.get("queued") or 0) + int(u.get("submitted") or 0) + int(u.get("uncertain") or 0)
        out.append(
            {
                "Upload": int(u["id"]),
                "File": u.get("file_name") or "",
                "State": upload_state(u, stalled=int(u["id"]) in stalled),
                "Needs": upload_needs(u, balance),
                "Progress": float(u.get("progress") or 0.0),
                "Documents": int(u.get("documents") or 0),
                "Extracted": int(u.get("extracted") or 0),
                "Failed": int(u.get("failed") or 0),
                "Waiting": waiting,
                "Submitted by": u.get("submitted_by") or "",
                "When (UTC)": _when(u.get("created_at")),
            }
        )
        if balance is not None:
            out[-1]["Balance"] = balance.sentence()
    return out


def _when(moment: Any) -> str:
    """'2026-12-02 06:41' in UTC (a blank when unknown): sortable, the same for every viewer."""
    when = as_datetime(moment)
    return when.strftime("%Y-%m-%d %H:%M") if when else ""


def request_label(chunk: ChunkRow, requests: int | None = None) -> str:
    """'Request 3 of 12' (numbered within its upload), 'Request 3' when the total is unknown."""
    label = f"Request {int(chunk['sequence']):,}"
    return f"{label} of {requests:,}" if requests else label


def uncertain_reason(error: str | None) -> str:
    """Why a request is uncertain, in plain words: no method, path or exception text."""
    low = (error or "").lower()
    status = re.search(r"atlas answered (\d{3})", low)
    if status:
        return (
            f"Atlas answered with an error (HTTP {status.group(1)}) after the documents were sent, "
            "so it is not known whether it kept them."
        )
    if "could not be read" in low or "unreadable" in low or "contract" in low:
        return "Atlas's answer could not be read, so it is not known whether it kept the documents."
    if "stopped before" in low:
        return "The dashboard or its worker stopped before Atlas's answer was recorded."
    if "timed out" in low or "timeout" in low or "deadline" in low:
        return "Atlas did not answer in time after the documents were sent."
    return "The connection to Atlas broke after the documents were sent, before Atlas answered."



def pilot_sentence(row: UploadRow) -> str | None:
    """'Pilot done: 4,776 rows held; send the rest' once a pilot's documents are all back, or
    while it runs 'Pilot: 4,776 rows held until it is done'; None for an upload with no held rows."""
    held = int(row.get("rows_held") or 0)
    if not held:
        return None
    if upload_state(row) == "Pilot done":
        return f"Pilot done: {held:,} rows held; send the rest"
    return f"Pilot running: {held:,} rows held until it is done"
