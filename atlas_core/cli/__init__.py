"""The command line: one module per group of commands, each with ``register(subparsers)``.

Every command module adds its sub-commands and sets ``handler`` (a function taking the parsed
arguments and returning an exit code). Exit codes a cron job can act on are in ``exitcodes``.
Building the parser imports every command module, so their top-level imports stay light: a
handler imports the room it needs (intake, engine, results, sandbox) when it runs, and ``--help``
or ``status`` never load requests, pandas or calamine (tests/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from ..errors import AtlasError
from ..printable import PrintableStream
from . import exitcodes, paths

# Each module registers its own sub-commands; the order is the order of ``--help``.
COMMAND_MODULES = ("validate", "jobs", "reports", "review", "sandbox", "ledger_copy")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose help (the command's and every sub-command's) ends with the exit codes."""

    def format_help(self) -> str:
        """The usual help, then the exit codes (kept as written, not re-wrapped)."""
        return f"{super().format_help().rstrip()}\n\n{exitcodes.help_text()}\n"


def _program_name() -> str:
    """How the user started us: ``python -m atlas_core`` or the ``atlas-bulk`` console script."""
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m atlas_core" if started == "__main__.py" else "atlas-bulk"


VERBOSE_HELP = "log progress details to stderr"


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command module's sub-commands."""
    parser = _Parser(
        prog=_program_name(),
        description="Atlas Bulk Ops: validate spreadsheets, submit them to Atlas, track and export results.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    for command in sub.choices.values():
        # -v after the command too; SUPPRESS leaves a -v given before the command standing.
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                             help=VERBOSE_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code; errors end as one plain line on stderr."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # The one place CLI output is cleaned: batch ids, messages and sheet values come from Atlas or
    # a spreadsheet, and printed raw an escape sequence could retitle or rewrite the terminal.
    # --json keeps every value exact (C1 and bidi marks as \u escapes, JSON's own for the rest).
    streams = sys.stdout, sys.stderr
    sys.stdout = PrintableStream(sys.stdout, as_json=bool(getattr(args, "json", False)))
    sys.stderr = PrintableStream(sys.stderr)
    try:
        return _run(args)
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = streams


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except AtlasError as exc:
        print(f"error: {exc.user_message()}", file=sys.stderr)
        return exitcodes.for_error(exc)
    except OSError as exc:
        if exc.filename is None:  # not about a path (requests' errors are OSErrors too)
            raise
        # The last net for a path the checks did not foresee: one plain line, never a traceback.
        print(f"error: cannot use {exc.filename}: {paths.os_error_reason(exc)}.", file=sys.stderr)
        return exitcodes.UNREADABLE
    except KeyboardInterrupt:
        print("interrupted: the ledger keeps what was done; run the command again to resume.", file=sys.stderr)
        return exitcodes.INTERRUPTED
