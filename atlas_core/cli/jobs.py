"""The job commands: submit, resume, refresh, status, export, retry-failed, resolve-uncertain,
send-held, cancel and worker. Each opens the runtime, does one job and returns an exit code."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from ..config import DEFAULT_REVIEW_THRESHOLD, Settings
from ..errors import AtlasError, ConfigError, LedgerError, PathError
from ..ledger import Ledger
from ..ledger import states as S
from ..ledger.balance import UploadBalance
from ..ledger.rows import BatchOverview, BatchRow
from . import exitcodes, paths, validate

if TYPE_CHECKING:  # the engine and tqdm are imported by the commands that use them
    from tqdm import tqdm

    from ..engine.runtime import Runtime
    from ..engine.submitting import SendSummary

DEFAULT_MAX_WAIT = 600.0  # seconds `submit` waits out Atlas being busy before leaving work queued
DEFAULT_REFRESH_TIMEOUT = 3600.0
EXPORT_FORMATS = ("csv", "xlsx", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the job commands."""
    p = subparsers.add_parser("submit", help="validate a spreadsheet, record it and send its valid rows")
    p.add_argument("file", type=Path, help="the spreadsheet of file URLs and document IDs")
    p.add_argument("--product-type", required=True, help="the Atlas product type code")
    p.add_argument("--chunk-size", type=int, help="documents per request (default: ATLAS_CHUNK_SIZE)")
    p.add_argument("--pilot", type=int, metavar="N", help="send only the first N valid rows (send-held sends the rest)")
    p.add_argument("--sheet", help="the sheet to read in a workbook")
    p.add_argument("--url-column", help="the column holding the file URLs")
    p.add_argument("--id-column", help="the column holding the document IDs")
    p.add_argument("--force", action="store_true", help="send IDs already submitted before, too")
    p.add_argument("--submitted-by", help="who submits (shown on the dashboard)")
    p.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT, help=f"seconds to wait out a busy Atlas (default {DEFAULT_MAX_WAIT:g})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_submit)

    p = subparsers.add_parser("resume", help="send whatever is queued (after a crash or a busy Atlas)")
    p.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT,
                   help=f"seconds to wait out a busy Atlas (default {DEFAULT_MAX_WAIT:g})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_resume)

    p = subparsers.add_parser("refresh", help="poll Atlas for results now")
    p.add_argument("--batch", help="only this batch")
    p.add_argument("--wait", action="store_true", help="keep polling until every batch is finished")
    p.add_argument("--timeout", type=float, default=DEFAULT_REFRESH_TIMEOUT, help=f"seconds --wait waits at most (default {DEFAULT_REFRESH_TIMEOUT:g})")
    p.set_defaults(handler=run_refresh)

    p = subparsers.add_parser("status", help="show every batch with its counts and state")
    p.add_argument("--upload", type=int, help="only this upload")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_status)

    p = subparsers.add_parser("export", help="write the results to a CSV, XLSX or JSON file")
    p.add_argument("--output", type=Path, required=True, help="the file to write")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--batch", help="only this batch")
    scope.add_argument("--upload", type=int, help="only this upload")
    p.add_argument("--format", choices=EXPORT_FORMATS,
                   help="csv, xlsx or json (default: from the file's suffix)")
    p.add_argument("--layout", choices=("wide", "long", "sheet"), default="wide", help="wide: one row per document; long: one row per field; sheet: the upload's own spreadsheet, every row in order, with its results (needs --upload; csv or xlsx) (default wide)")
    p.add_argument("--review-below", type=_confidence, default=DEFAULT_REVIEW_THRESHOLD, metavar="C",
                   help=f"needs_review is yes below this lowest confidence (default {DEFAULT_REVIEW_THRESHOLD:g}, as on the Results page)")
    p.add_argument("--state", choices=S.DOCUMENT_STATES, help="only documents in this state (wide, long, json)")
    p.add_argument("--type", dest="document_type", help="only documents of this type, e.g. PAN (wide, long, json)")
    p.add_argument("--needs-review", action="store_true", help="only documents that need review (wide, long, json)")
    p.set_defaults(handler=run_export)

    p = subparsers.add_parser("retry-failed", help="send again the failed documents a retry may help (timeouts, Atlas errors), as a new attempt")
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--upload", type=int, help="the failed documents of this upload")
    scope.add_argument("--batch", help="the failed documents of this batch")
    p.add_argument("--all", action="store_true", dest="include_fixable",
                   help="also the documents whose file or link needs fixing (Atlas could not "
                        "download or read them: they usually fail the same way again)")
    p.set_defaults(handler=run_retry_failed)

    p = subparsers.add_parser("resolve-uncertain", help="resend or drop the documents of an uncertain request")
    p.add_argument("--chunk", type=int, required=True, help="the request (chunk) id shown by `status`")
    p.add_argument("--action", choices=("resend", "drop"), required=True,
                   help="resend: send its documents again; drop: cancel them")
    p.add_argument("--by", help="who decided (kept in the ledger)")
    p.set_defaults(handler=run_resolve)

    p = subparsers.add_parser("send-held", help="send the rows a --pilot run held back")
    p.add_argument("--upload", type=int, required=True, help="the upload whose held rows to send")
    p.add_argument("--force", action="store_true", help="send IDs submitted since, too")
    p.set_defaults(handler=run_send_held)

    p = subparsers.add_parser("cancel", help="cancel the queued (unsent) documents of an upload")
    p.add_argument("--upload", type=int, required=True, help="the upload whose queued documents to cancel")
    p.set_defaults(handler=run_cancel)

    p = subparsers.add_parser("worker", help="submit and refresh in the background until SIGTERM or Ctrl-C")
    p.add_argument("--retry-wait", type=_positive_seconds, default=None, metavar="S",
                   help="seconds before trying again after Atlas refused the credentials, was down or a cycle failed; doubles each time (default 30)")
    p.add_argument("--retry-wait-cap", type=_positive_seconds, default=None, metavar="S",
                   help="the most seconds between two tries (default 300)")
    p.set_defaults(handler=run_worker)


def _positive_seconds(text: str) -> float:
    """A number of seconds above zero, for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds above 0")
    return value


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with this command's flags on top."""
    flags = {"chunk_size": getattr(args, "chunk_size", None)}
    return paths.settings_from_environment(os.environ, {k: v for k, v in flags.items() if v is not None})


@contextmanager
def runtime_for(args: argparse.Namespace, *, ledger_only: bool = False) -> Iterator[Runtime]:
    """The runtime (``ledger_only``: no sandbox), saying on stderr when the sandbox stands in for Atlas."""
    from ..engine import open_runtime
    from ..engine.runtime import refuse_private_sandbox

    settings = settings_from(args)
    if not ledger_only:
        refuse_private_sandbox(settings)  # a shared ledger needs one shared Atlas (issue 13)
    try:
        opened = open_runtime(settings, ledger_only=ledger_only)
    except paths.OPENING_ERRORS as exc:
        if settings.database_url and isinstance(exc, LedgerError):
            raise  # the database's own plain message (which server, and why), not a file's
        raise paths.runtime_path_error(settings.db_path, settings.sandbox_state_path, exc) from None
    with opened as runtime:
        if runtime.banner:
            print(f"note: {runtime.banner}", file=sys.stderr)
        yield runtime


def _bar(total: int, what: str) -> tqdm:
    from tqdm import tqdm

    # The bar draws with \r, which the CLI's cleaned stderr would strip: it writes to the raw one.
    stream = getattr(sys.stderr, "raw", sys.stderr)
    return tqdm(total=total, unit=what, file=stream, disable=not stream.isatty(), leave=False)


def _send(runtime: Runtime, *, upload_id: int | None, total: int, max_wait: float,
          summary: SendSummary | None = None) -> SendSummary:
    from ..engine import Heartbeat, WorkerIdentity, send_until_answered
    from ..engine.budget import SubmitBudget
    from ..engine.submitting import SendSummary

    settings, ledger = runtime.settings, runtime.ledger
    summary = SendSummary() if summary is None else summary
    summary.add(uncertain=_recover_orphans(ledger))
    identity = WorkerIdentity(kind="cli")
    with Heartbeat(ledger, identity), _bar(total, "doc") as bar:
        return send_until_answered(
            ledger, runtime.client, worker_id=identity.worker_id, upload_id=upload_id,
            concurrency=settings.submit_concurrency, backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap, max_wait=max_wait, progress=bar.update, total=summary,
            budget=SubmitBudget(ledger, identity.worker_id, settings.max_in_flight),
        )


def _recover_orphans(ledger: Ledger) -> int:
    """Mark requests whose process died uncertain; return how many documents they hold."""
    from ..engine import recover_orphans

    before = {c["id"] for c in ledger.chunks_in_state(S.UNCERTAIN)}
    if not recover_orphans(ledger):
        return 0
    return sum(c["documents"] for c in ledger.chunks_in_state(S.UNCERTAIN) if c["id"] not in before)


def _send_stopping(runtime: Runtime, *, upload_id: int | None, total: int,
                   max_wait: float) -> tuple[SendSummary, AtlasError | None]:
    """Send as ``_send`` does; an error that stops the sending is returned with what was done."""
    from ..engine.submitting import SendSummary

    summary = SendSummary()
    try:
        _send(runtime, upload_id=upload_id, total=total, max_wait=max_wait, summary=summary)
    except AtlasError as exc:  # the ledger keeps the rest queued; the caller says why it stopped
        return summary, exc
    return summary, None


def _why_stopped(counts: SendCounts, summary: SendSummary, stopped: AtlasError | None) -> str | None:
    """The last line: why work was left queued, in plain words, and what to do next."""
    left = counts["left_queued_chunks"]
    rest = (f"{left} request(s) stay queued, nothing is lost: `python -m atlas_core resume` "
            "sends them." if left else "")
    if stopped is not None:
        return f"error: {stopped.message} {rest} {stopped.hint}".replace("  ", " ").strip()
    if left:
        cause = f" ({summary.errors[-1].rstrip('.')})" if summary.errors else ""
        return f"Atlas stayed unavailable{cause}; {rest}"
    return None


class SendCounts(TypedDict):
    """What a sending command did, as printed (and as its --json object holds it)."""

    submitted: int
    uncertain: int
    rejected: int
    left_queued_chunks: int
    batches: list[str]


def _send_outcome(runtime: Runtime, upload_id: int | None, summary: SendSummary) -> tuple[SendCounts, int]:
    ledger = runtime.ledger
    left = ledger.queued_work(upload_id=upload_id)["queued"]
    counts: SendCounts = {"submitted": summary.documents_sent, "uncertain": summary.uncertain,
              "rejected": summary.rejected, "left_queued_chunks": left,
              "batches": sorted(set(summary.batches))}
    upload = ledger.upload(upload_id) if upload_id is not None else None
    if upload is not None:
        # From the ledger, not this process's tally: a worker may have sent some chunks of it.
        counts.update({
            "submitted": upload["submitted"] + upload["extracted"] + upload["failed"],
            "uncertain": upload["uncertain"], "rejected": upload["rejected"],
            "batches": sorted(b["batch_id"] for b in _all_batches(ledger, upload_id, 0.0)),
        })
    if left:
        code = exitcodes.UNAVAILABLE
    elif counts["uncertain"] or counts["rejected"]:
        code = exitcodes.INCOMPLETE
    else:
        code = exitcodes.OK
    return counts, code


def _missing(runtime: Runtime, *, upload: int | None = None, batch: str | None = None,
             chunk: int | None = None) -> bool:
    """Say in one line on stderr when an upload, batch or request id is not in this ledger.

    A mistyped id used to print nothing and exit 0, which a cron job reads as "done".
    """
    ledger = runtime.ledger
    where = f"the ledger {runtime.settings.ledger_label}"
    if upload is not None and ledger.upload(upload) is None:
        line = f"There is no upload {upload} in {where} for this Atlas; `status` lists the batches."
    elif batch is not None and ledger.batch(batch) is None:
        line = f"There is no batch {batch} in {where}; `status` lists the batches."
    elif chunk is not None and not any(
        c["id"] == chunk for state in S.CHUNK_STATES for c in ledger.chunks_in_state(state)
    ):
        line = (f"There is no request {chunk} in {where} for this Atlas; `status` lists the"
                " requests waiting for a decision.")
    else:
        return False
    print(f"error: {line}", file=sys.stderr)
    return True


def _print(payload: Mapping[str, object], as_json: bool, sentence: str) -> None:
    if as_json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(sentence)


def run_submit(args: argparse.Namespace) -> int:
    """Validate, record, send and wait until every request of the upload is answered."""
    from ..engine import plan_upload, queue_upload
    from ..intake import read_spreadsheet, validate_sheet

    with runtime_for(args) as runtime:
        settings, ledger = runtime.settings, runtime.ledger
        if args.product_type not in settings.product_types:
            raise ConfigError(
                f"Product type {args.product_type!r} is not one of ATLAS_PRODUCT_TYPES "
                f"({', '.join(settings.product_types)}).",
                hint="Use a code Atlas gave you, or add it to ATLAS_PRODUCT_TYPES.",
            )
        validate.refuse_sheet_of_text(args.file, args.sheet)
        sheet = read_spreadsheet(args.file, sheet=args.sheet, max_bytes=settings.max_file_mb * 1024 * 1024,
                                 max_rows=settings.max_rows)
        report = validate_sheet(sheet, url_column=args.url_column, id_column=args.id_column,
                                known_ids=ledger.known_ids)
        plan = plan_upload(ledger, sheet, report, product_type=args.product_type,
                           chunk_size=settings.chunk_size, pilot=args.pilot, force=args.force,
                           submitted_by=args.submitted_by)
        if plan.same_file_uploads:
            print(f"warning: this same file was uploaded before (upload "
                  f"{', '.join(map(str, plan.same_file_uploads))}).", file=sys.stderr)
        if plan.duplicate_ids and not args.force:
            print(f"warning: {len(plan.duplicate_ids)} document ID(s) were already submitted and are "
                  "skipped (use --force to send them again).", file=sys.stderr)
        queued = queue_upload(ledger, plan)
        # The ledger holds the rows now: let the sheet go before the sending, which can be long.
        del sheet, report, plan
        summary, stopped = _send_stopping(runtime, upload_id=queued.upload_id, total=queued.queued,
                                          max_wait=args.max_wait)
        counts, code = _send_outcome(runtime, queued.upload_id, summary)
        payload = {"upload_id": queued.upload_id, **counts, "skipped": queued.skipped,
                   "invalid": queued.invalid, "held": queued.held}
        if stopped is not None:
            payload["error"] = stopped.message
        _print(payload, args.json,
               f"Upload {queued.upload_id}: {counts['submitted']} sent in {len(counts['batches'])} batch(es), "
               f"{queued.skipped} skipped, {queued.invalid} invalid, {queued.held} held, "
               f"{counts['uncertain']} uncertain, {counts['rejected']} rejected.")
        elsewhere = ledger.queued_work()["queued"] - counts["left_queued_chunks"]
        if elsewhere:
            print(f"note: {elsewhere} request(s) of earlier uploads are still queued: "
                  "`python -m atlas_core resume` sends them.", file=sys.stderr)
        why = _why_stopped(counts, summary, stopped)
        if why:
            print(why, file=sys.stderr)  # last, so a cron mail or a terminal ends with the cause
        return exitcodes.for_error(stopped) if stopped is not None else code


def run_resume(args: argparse.Namespace) -> int:
    """Send every queued request (work left by a crash or by a busy Atlas)."""
    with runtime_for(args) as runtime:
        summary, stopped = _send_stopping(runtime, upload_id=None, total=0, max_wait=args.max_wait)
        counts, code = _send_outcome(runtime, None, summary)
        payload = counts if stopped is None else {**counts, "error": stopped.message}
        _print(payload, args.json, f"{counts['submitted']} document(s) sent, {counts['uncertain']} uncertain, "
               f"{counts['rejected']} rejected, {counts['left_queued_chunks']} request(s) still queued.")
        why = _why_stopped(counts, summary, stopped)
        if why:
            print(why, file=sys.stderr)
        return exitcodes.for_error(stopped) if stopped is not None else code


def run_refresh(args: argparse.Namespace) -> int:
    """Poll now (ignoring the schedule); with --wait keep polling until everything is finished."""
    from ..engine import refresh_batches

    with runtime_for(args) as runtime:
        ledger = runtime.ledger
        if args.batch and _missing(runtime, batch=args.batch):
            return exitcodes.UNREADABLE
        if args.batch and (elsewhere := _other_targets_batch(runtime, args.batch)):
            print(elsewhere, file=sys.stderr)
            return exitcodes.CONFIG
        ids = [args.batch] if args.batch else None
        deadline = time.monotonic() + args.timeout
        before = _batch_counts(runtime, args.batch)
        summary = refresh_batches(ledger, runtime.client, batch_ids=ids, force=True,
                                  concurrency=runtime.settings.refresh_concurrency)
        while args.wait and _unfinished(ledger, args.batch) and time.monotonic() < deadline:
            due = ledger.next_poll_due() or time.time()
            time.sleep(min(max(due - time.time(), 0.1), 5.0, max(deadline - time.monotonic(), 0)))
            summary = refresh_batches(ledger, runtime.client, batch_ids=ids, force=bool(ids),
                                      concurrency=runtime.settings.refresh_concurrency)
        pending = _unfinished(ledger, args.batch)
        # What this command did over all its polls (the last poll alone may have found nothing new).
        print(f"{_refresh_totals(before, _batch_counts(runtime, args.batch))}; {pending:,} still processing.")
        for batch_id, error in summary.errors.items():
            print(f"warning: {batch_id}: {error}", file=sys.stderr)
        if summary.errors and not summary.polled:
            return exitcodes.UNAVAILABLE
        if args.wait and (pending or _undecided(ledger)):
            return exitcodes.INCOMPLETE
        return exitcodes.OK


def _batch_counts(runtime: Runtime, batch_id: str | None) -> dict[str, dict[str, Any]]:
    """Each batch's counts and state now (only ``batch_id`` when given), keyed by batch id."""
    rows: Sequence[BatchRow | BatchOverview]
    if batch_id:
        batch = runtime.ledger.batch(batch_id)
        rows = [batch] if batch is not None else []
    else:
        rows = _all_batches(runtime.ledger, None, runtime.settings.stalled_after)
    return {str(b["batch_id"]): {k: b[k] for k in ("extracted", "failed", "state")} for b in rows}


def _refresh_totals(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> str:
    """"3 batches finished: 1,969 extracted, 8 failed", counted between two snapshots."""
    finished = extracted = failed = 0
    for batch_id, now in after.items():
        was = before.get(batch_id, {"extracted": 0, "failed": 0, "state": S.PROCESSING})
        extracted += now["extracted"] - was["extracted"]
        failed += now["failed"] - was["failed"]
        finished += was["state"] not in S.FINISHED_BATCH_STATES and now["state"] in S.FINISHED_BATCH_STATES
    return (f"{finished:,} batch{'' if finished == 1 else 'es'} finished: {extracted:,} extracted, "
            f"{failed:,} failed")


def _other_targets_batch(runtime: Runtime, batch_id: str) -> str | None:
    # A batch id means something only to the Atlas that gave it: never ask another one.
    from ..ledger.targets import describe_target

    batch = runtime.ledger.batch(batch_id)
    if batch is None or runtime.ledger.scope.includes(batch["target"]):
        return None
    return (f"error: batch {batch_id} was sent to {describe_target(batch['target'])}, not to"
            f" {describe_target(runtime.target)}; it is not polled here. Change the settings"
            " to that Atlas to refresh it.")


def _unfinished(ledger: Ledger, batch_id: str | None) -> int:
    if batch_id:
        batch = ledger.batch(batch_id)
        return int(batch is not None and batch["state"] == S.PROCESSING)
    return len(ledger.due_batches(all_unfinished=True))


def _undecided(ledger: Ledger) -> int:
    return len(ledger.chunks_in_state(S.UNCERTAIN)) + len(ledger.chunks_in_state(S.REJECTED))


def _all_batches(ledger: Ledger, upload_id: int | None, stalled_after: float) -> list[BatchOverview]:
    rows: list[BatchOverview] = []
    while True:
        page, total = ledger.batches_overview(upload_id=upload_id, limit=500, offset=len(rows),
                                              stalled_after=stalled_after)
        rows.extend(page)
        if not page or len(rows) >= total:
            return rows


def _balances(ledger: Ledger, upload_id: int | None) -> dict[int, UploadBalance]:
    """The balance of one upload, or of every upload of this Atlas (oldest first)."""
    if upload_id is not None:
        return ledger.upload_balances([upload_id])
    ids: list[int] = []
    while True:
        page, total = ledger.list_uploads(limit=500, offset=len(ids))
        ids.extend(int(u["id"]) for u in page)
        if not page or len(ids) >= total:
            return ledger.upload_balances(sorted(ids))


def run_status(args: argparse.Namespace) -> int:
    """Per batch: documents, extracted, failed, pending and state; per upload its balance; plus
    what waits for a decision."""
    with runtime_for(args, ledger_only=True) as runtime:  # reads the ledger only: no sandbox, no client
        ledger = runtime.ledger
        if _missing(runtime, upload=args.upload):
            return exitcodes.UNREADABLE
        batches = [
            {k: b[k] for k in ("batch_id", "upload_id", "product_type", "documents", "extracted",
                               "failed", "pending", "state")}
            for b in _all_batches(ledger, args.upload, runtime.settings.stalled_after)
        ]
        uncertain = [{"chunk": c["id"], "upload_id": c["upload_id"], "documents": c["documents"],
                      "error": c["error"]} for c in ledger.chunks_in_state(S.UNCERTAIN, upload_id=args.upload)]
        queued = ledger.queued_work(upload_id=args.upload)
        balances = _balances(ledger, args.upload)
        if args.json:
            print(json.dumps({"batches": batches, "uncertain_chunks": uncertain, "uploads": [
                                  {"upload_id": up, **b.to_dict(), "sentence": b.sentence()}
                                  for up, b in balances.items()],
                              "queued_chunks": queued["queued"], "target": runtime.target,
                              "other_targets": ledger.other_targets()}, ensure_ascii=False))
            return exitcodes.OK
        print(f"{'batch':<36} {'upload':>6} {'docs':>6} {'done':>6} {'failed':>6} {'pending':>7}  state")
        for b in batches:
            print(f"{b['batch_id']:<36} {b['upload_id']:>6} {b['documents']:>6} {b['extracted']:>6} "
                  f"{b['failed']:>6} {b['pending']:>7}  {b['state']}")
        for up, balance in balances.items():  # did every row of each upload come back?
            check = balance.missing or balance.unexpected
            print(f"upload {up}: {balance.sentence()}"
                  + (f" (check: `reconcile --upload {up}`)" if check else ""))
        for c in uncertain:
            print(f"uncertain request {c['chunk']} (upload {c['upload_id']}, {c['documents']} documents): "
                  f"decide with `resolve-uncertain --chunk {c['chunk']} --action resend|drop`.")
        if queued["queued"]:
            print(f"{queued['queued']} request(s) queued: `resume` sends them.")
        print(runtime.scope_note(always=True))
        return exitcodes.OK


def run_export(args: argparse.Namespace) -> int:
    """Stream the documents of the ledger (or one batch or upload) to a file."""
    from ..results.downloads import DocumentFilters, write_filtered, write_upload_sheet

    if args.layout == "sheet" and args.upload is None:
        raise ConfigError("The sheet layout is one upload's spreadsheet: give --upload N.",
                          hint="`status` lists the uploads.")
    paths.check_output_file(args.output, "--output")  # before the ledger is opened
    fmt = _export_format(args.output, args.format)
    with runtime_for(args, ledger_only=True) as runtime:  # reads the ledger only: no sandbox
        if _missing(runtime, upload=args.upload, batch=args.batch):
            return exitcodes.UNREADABLE
        try:
            if args.layout == "sheet":
                count = write_upload_sheet(runtime.ledger, args.upload, args.output, fmt=fmt,
                                           review_below=args.review_below)
            else:
                filters = DocumentFilters(
                    upload_id=args.upload, batch_id=args.batch, state=args.state,
                    document_type=args.document_type,
                    needs_review_below=args.review_below if args.needs_review else None,
                )
                count = write_filtered(runtime.ledger, filters, args.output, fmt=fmt,
                                       layout=args.layout, review_below=args.review_below)
        except OSError as exc:
            raise paths.path_error("--output", args.output, exc) from None
    print(f"Wrote {count} row(s) to {args.output}.")
    return exitcodes.OK


def _confidence(text: str) -> float:
    """A confidence threshold from the command line: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give one from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _export_format(output: Path, chosen: str | None) -> str:
    """The format to write: --format, else the file's suffix (none: CSV); another suffix is refused."""
    suffix = output.suffix.lower().lstrip(".") or "csv"
    if chosen is None and suffix not in EXPORT_FORMATS:
        # Written as CSV, out.pdf would open as garbage in a PDF viewer: refuse instead.
        raise PathError(
            f"Cannot export to {output.name}: the results are written as "
            f"{', '.join(EXPORT_FORMATS)}.",
            hint="End the --output file name with .csv, .xlsx or .json, or give --format.",
        )
    return chosen or suffix


def run_retry_failed(args: argparse.Namespace) -> int:
    """Queue the failed documents again (attempt+1) and send them."""
    from ..engine import retry_failed

    with runtime_for(args) as runtime:
        if _missing(runtime, upload=args.upload, batch=args.batch):
            return exitcodes.UNREADABLE
        result = retry_failed(runtime.ledger, upload_id=args.upload, batch_id=args.batch,
                              retriable_only=not args.include_fixable)
        print(result.message)
        if not result.documents:
            return exitcodes.OK
        summary = _send(runtime, upload_id=None, total=result.documents, max_wait=DEFAULT_MAX_WAIT)
        return _send_outcome(runtime, None, summary)[1]


def run_resolve(args: argparse.Namespace) -> int:
    """Record the user's decision on an uncertain request; a resend is sent at once."""
    from ..engine import resolve_uncertain

    with runtime_for(args) as runtime:
        if _missing(runtime, chunk=args.chunk):
            return exitcodes.UNREADABLE
        result = resolve_uncertain(runtime.ledger, args.chunk, args.action, resolved_by=args.by)
        print(result.message)
        if not result.chunks:
            return exitcodes.OK
        summary = _send(runtime, upload_id=None, total=result.documents, max_wait=DEFAULT_MAX_WAIT)
        return _send_outcome(runtime, None, summary)[1]


def run_send_held(args: argparse.Namespace) -> int:
    """Queue and send the rows a pilot run held back."""
    from ..engine import submit_held

    with runtime_for(args) as runtime:
        if _missing(runtime, upload=args.upload):
            return exitcodes.UNREADABLE
        result = submit_held(runtime.ledger, args.upload, force=args.force)
        print(result.message)
        summary = _send(runtime, upload_id=args.upload, total=result.documents, max_wait=DEFAULT_MAX_WAIT)
        return _send_outcome(runtime, args.upload, summary)[1]


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel the queued documents of an upload."""
    from ..engine import cancel_upload

    with runtime_for(args, ledger_only=True) as runtime:  # changes the ledger only: no sandbox
        if _missing(runtime, upload=args.upload):
            return exitcodes.UNREADABLE
        print(cancel_upload(runtime.ledger, args.upload).message)
    return exitcodes.OK


def run_worker(args: argparse.Namespace) -> int:
    """Submit and refresh until SIGTERM (exit 0) or Ctrl-C (exit 130); nothing else ends it."""
    from ..engine import Worker

    received: list[int] = []
    if not _wait_for_database(args, received):  # a signal came while the database was away
        print("worker stopped.", file=sys.stderr)
        return exitcodes.INTERRUPTED if signal.SIGINT in received else exitcodes.OK
    with runtime_for(args) as runtime:  # a configuration error ends it here, before any work
        waits = {"error_wait": args.retry_wait, "error_wait_cap": args.retry_wait_cap}
        worker = Worker(runtime, **{k: v for k, v in waits.items() if v is not None})

        def stop(signum: int, frame: Any) -> None:
            received.append(signum)
            worker.stop(timeout=0)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            print(f"worker {worker.identity.worker_id} running; SIGTERM or Ctrl-C stops it.", file=sys.stderr)
            # Refused credentials, Atlas down and internal errors pause or restart the loop inside
            # the worker; it returns only once a signal asked it to stop.
            worker.run_until_stopped()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("worker stopped.", file=sys.stderr)
    return exitcodes.INTERRUPTED if signal.SIGINT in received else exitcodes.OK


DATABASE_WAIT_CAP = 30.0  # seconds between tries while the ledger's database is away at start


def _wait_for_database(args: argparse.Namespace, received: list[int]) -> bool:
    """On PostgreSQL, wait while the ledger's database cannot be reached at start (a restart, a
    server still booting); True once it answers, False when SIGTERM or Ctrl-C came first.

    A worker service outlives the database's outages once running; at start it must too, or a
    restart that lands on its boot ends it (found by the PostgreSQL soak).
    """
    import threading

    from ..engine.runtime import refuse_private_sandbox
    from ..errors import LedgerError
    from ..ledger import Ledger

    settings = settings_from(args)
    if not settings.database_url:
        return True  # a SQLite file either opens or says why at once
    refuse_private_sandbox(settings)  # a configuration error still ends it at once (exit 3)
    stopped = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        received.append(signum)
        stopped.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        wait = 1.0
        while not stopped.is_set():
            try:
                Ledger(settings.database_url).close()
                return True
            except LedgerError as exc:
                print(f"warning: {exc.message} Trying again in {wait:.0f} s.", file=sys.stderr)
            stopped.wait(wait)
            wait = min(wait * 2, DATABASE_WAIT_CAP)
        return False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

