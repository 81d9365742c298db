"""``reconcile``: did every row of an upload come back? Its balance, exceptions and fixed cells."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from . import exitcodes, paths
from .jobs import _missing, runtime_for

EXCEPTIONS_SHOWN = 20  # exceptions printed; the report file and --json hold them all


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``reconcile`` command."""
    p = subparsers.add_parser(
        "reconcile",
        help="the balance of an upload (every row extracted, failed, left out, missing or pending), "
             "its exceptions and the cells fixed before sending",
    )
    p.add_argument("--upload", type=int, required=True, help="the upload to reconcile")
    p.add_argument("--output", type=Path, help="also write the full report to this CSV file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    """Print an upload's balance and exceptions (and write the report); exit 6 while rows are
    pending, missing, or documents stray outside the sheet."""
    from ..results import reconcile_upload

    if args.output is not None:
        paths.check_output_file(args.output, "--output")  # before the ledger is opened
    with runtime_for(args, ledger_only=True) as runtime:  # reads the ledger only
        if _missing(runtime, upload=args.upload):
            return exitcodes.UNREADABLE
        upload = runtime.ledger.upload(args.upload)
        found = reconcile_upload(runtime.ledger, args.upload, upload["file_name"] if upload else None)
    if args.output is not None:
        try:
            args.output.write_bytes(found.csv())
        except OSError as exc:
            raise paths.path_error("--output", args.output, exc) from None
    balance = found.balance
    whole = not (balance.pending or balance.missing or balance.unexpected)
    if args.json:
        print(json.dumps(found.to_dict(), ensure_ascii=False, default=str))
        return exitcodes.OK if whole else exitcodes.INCOMPLETE
    print(f"Upload {args.upload}: {balance.sentence()}.")
    kinds = Counter(issue.kind for issue in found.report.exceptions)
    if kinds:
        print("Exceptions: " + ", ".join(f"{n:,} {kind}" for kind, n in kinds.most_common()) + ".")
    for issue in found.report.exceptions[:EXCEPTIONS_SHOWN]:
        where = f"row {issue.row_number}" if issue.row_number is not None else "no row"
        print(f"  {where}: {issue.kind} ({issue.document_id or '-'}): {issue.detail}")
    if len(found.report.exceptions) > EXCEPTIONS_SHOWN:
        print(f"  ... and {len(found.report.exceptions) - EXCEPTIONS_SHOWN:,} more"
              " (--output writes them all).")
    print(f"{len(found.fixes):,} cell(s) fixed in the app before sending.")
    if balance.missing or balance.unexpected:
        print(f"warning: {balance.missing:,} row(s) missing and {balance.unexpected:,} document(s)"
              " in no row: the report lists them by row number.", file=sys.stderr)
    if args.output is not None:
        print(f"Wrote the report to {args.output}.")
    return exitcodes.OK if whole else exitcodes.INCOMPLETE
