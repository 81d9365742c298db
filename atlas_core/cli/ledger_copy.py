"""``ledger-copy``: move an existing SQLite ledger into an empty PostgreSQL database."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import display_url, remember_url_credentials
from . import paths


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ledger-copy`` command."""
    parser = subparsers.add_parser(
        "ledger-copy",
        help="copy the SQLite ledger (every table, ids kept) into an empty PostgreSQL database",
        description="Copy the SQLite ledger file into an empty PostgreSQL database, every table with"
        " its ids, in one transaction, then count each table on both sides. Stop the dashboard and"
        " workers first: work recorded in the file during the copy is not copied.",
    )
    parser.add_argument(
        "--to", metavar="URL",
        help="the PostgreSQL database (postgresql://user:password@host:5432/db); default"
        " ATLAS_DATABASE_URL, which keeps the password off the command line",
    )
    parser.add_argument("--from", dest="source", metavar="PATH",
                        help="the SQLite ledger file to copy (default ATLAS_DB_PATH)")
    parser.set_defaults(handler=run_copy)


def run_copy(args: argparse.Namespace) -> int:
    """Copy the ledger and say what was copied; errors are one plain line (cli.main)."""
    from ..errors import ConfigError
    from ..ledger.copy import copy_ledger, open_pair

    settings = paths.settings_from_environment(os.environ)
    target = args.to or settings.database_url
    if not target:
        raise ConfigError("Say where to copy the ledger: --to postgresql://... or ATLAS_DATABASE_URL.")
    remember_url_credentials(target)  # from here on its password is scrubbed from every message
    source = args.source or settings.db_path
    where = display_url(target)
    print(f"Copying the ledger {source} into {where}...", file=sys.stderr)
    shown: dict[str, int] = {}

    def progress(table: str, done: int, total: int) -> None:
        # A line per table and per 10% of a big one: enough to see it move, not a flood.
        step = max(total // 10, 1)
        if done in (0, total) or done // step != shown.get(table, -1):
            shown[table] = done // step
            if done == 0 and total:
                print(f"  {table}: {total:,} rows", file=sys.stderr)
            elif done and done < total:
                print(f"  {table}: {done:,} of {total:,}", file=sys.stderr)

    source_ledger, target_ledger = open_pair(source, target)
    try:
        report = copy_ledger(source_ledger, target_ledger, progress=progress)
    finally:
        source_ledger.close()
        target_ledger.close()
    counts = ", ".join(f"{table} {count:,}" for table, count in report.tables.items())
    print(f"Copied {report.rows:,} rows into {where}, each table counted on both sides: {counts}.")
    print("Set ATLAS_DATABASE_URL to this database for every dashboard and worker.")
    return 0
