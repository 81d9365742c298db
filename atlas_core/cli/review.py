"""The review commands: ``review export`` (the waiting documents as an Excel file to fix offline)
and ``review import`` (every changed cell checked and shown; applied only with --apply)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PathError
from . import exitcodes, paths

if TYPE_CHECKING:
    from ..config import Settings
    from ..ledger import Ledger
    from ..review.queue import ReviewPolicy
    from ..review.workbook import ImportCheck


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``review export`` and ``review import``."""
    review = subparsers.add_parser(
        "review", help="the review queue as an Excel file: export it, fix it offline, import the corrections",
        description="Export the documents waiting for review to an .xlsx file, change field cells offline, "
        "and import the file back: every changed cell is checked and shown; --apply applies them.",
    )
    sub = review.add_subparsers(dest="review_command", metavar="ACTION", required=True,
                                help="export (write the queue to .xlsx) or import (check, then --apply)")
    p = sub.add_parser("export", help="write the documents waiting for review to an .xlsx file")
    p.add_argument("--output", type=Path, required=True, help="the .xlsx file to write")
    p.add_argument("--upload", type=int, help="only this upload's documents")
    p.set_defaults(handler=run_review_export)
    p = sub.add_parser("import", help="check (and with --apply, apply) the corrections in a review file")
    p.add_argument("file", type=Path, help="the review file, exported by `review export` and changed")
    p.add_argument("--apply", action="store_true", help="apply the changes that pass every check")
    p.add_argument("--by", help="who made the corrections (default: the login name)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_review_import)
    for action in sub.choices.values():  # -v after the action too, as after every command
        action.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                            help="log progress details to stderr")


def run_review_export(args: argparse.Namespace) -> int:
    """Write the waiting documents (all, or one upload's) to an .xlsx file."""
    from ..review.workbook import write_queue
    from .jobs import _missing, runtime_for

    if args.output.suffix.lower() != ".xlsx":
        raise PathError(f"Cannot write the review queue to {args.output.name}: it is written as .xlsx.",
                        hint="End the --output file name with .xlsx; nothing was written.")
    paths.check_output_file(args.output, "--output")
    with runtime_for(args, ledger_only=True) as runtime:
        if _missing(runtime, upload=args.upload):
            return exitcodes.UNREADABLE
        try:
            count = write_queue(runtime.ledger, args.output, _shared_policy(runtime.ledger, runtime.settings),
                                upload_id=args.upload)
        except OSError as exc:
            raise paths.path_error("--output", args.output, exc) from None
    print(f"Wrote {count:,} document(s) waiting for review to {args.output}. Change the field cells, then run "
          f"`review import {args.output}` to check the changes, and again with --apply to apply them.")
    return exitcodes.OK


def run_review_import(args: argparse.Namespace) -> int:
    """Check a review file against the ledger, show every change and refusal, apply with --apply."""
    from ..review.workbook import apply_import, check_import
    from .jobs import runtime_for

    reviewer = args.by or _login()
    with runtime_for(args, ledger_only=True) as runtime:
        policy = _shared_policy(runtime.ledger, runtime.settings)
        check = check_import(runtime.ledger, args.file, policy)
        shown = list(check.changes)
        if args.apply and check.changes:
            apply_import(runtime.ledger, check, reviewer)
    _report(check, shown, args.apply, reviewer, args.json)
    return exitcodes.INCOMPLETE if args.apply and check.refused else exitcodes.OK


def _shared_policy(ledger: Ledger, settings: Settings) -> ReviewPolicy:
    # The rule the Review page last set (shared by every reviewer), else the settings' rule: the
    # command must not re-choose the queue with its own settings under the reviewers' feet.
    from ..review.queue import ReviewPolicy

    return ledger.review_policy(ReviewPolicy.from_settings(settings))


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (a container): say where it came from
        return "command line"


def _quoted(value: str | None) -> str:
    return json.dumps(value, ensure_ascii=False)


def _report(check: ImportCheck, shown: list, applied: bool, reviewer: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "rows": check.rows,
            "changes": [vars(c) for c in shown],
            "applied": [vars(c) for c in check.applied] if applied else [],
            "refused": [vars(r) for r in check.refused],
        }, ensure_ascii=False))
        return
    if shown:
        print("Changes (row, document, field: old -> new):")
        for c in shown:
            print(f"  row {c.row}  {c.document_id}  {c.field}: {_quoted(c.old)} -> {_quoted(c.new)}")
    if check.refused:
        print("Refused (not applied):")
        for r in check.refused:
            where = f"{r.column} " if r.column else ""
            who = f"{r.document_id}  " if r.document_id else ""
            print(f"  row {r.row}  {who}{where}{_quoted(r.value)}: {r.reason}")
    print(check.summary())
    if not applied:
        print("Nothing was applied: run again with --apply to apply the changes above." if shown
              else "Nothing to apply.")
    else:
        print(f"Applied {len(check.applied):,} change(s) as {reviewer}."
              + (" The refused cells were left as they are." if check.refused else ""), file=sys.stdout)
