"""``python -m atlas_core validate FILE``: check a spreadsheet before anything is sent to Atlas."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings
from . import exitcodes, paths

if TYPE_CHECKING:
    from ..intake import ValidationReport
    from ..intake.rules import KnownIds

    # Settings -> the callable that says which IDs the ledger already holds, or None (no ledger).
    KnownIdsFor = Callable[[Settings], KnownIds | None]

TABLE_ROWS = 20  # problems shown in the readable summary; --json and --problems-file have all


def ledger_known_ids(settings: Settings) -> KnownIds | None:
    """The ledger's known-IDs lookup for these settings, or None when no ledger file exists yet.

    `validate` warns about IDs already in the ledger, but never creates a ledger to do so. Only
    IDs sent to the Atlas these settings use count (a sandbox trial's do not).
    """
    from ..engine.runtime import target_for
    from ..ledger import Ledger

    if settings.database_url:  # a shared PostgreSQL ledger: it exists wherever the URL points
        return Ledger(settings.database_url, target=target_for(settings)).known_ids
    if not Path(settings.db_path).exists():
        return None
    try:
        return Ledger(settings.db_path, target=target_for(settings)).known_ids
    except paths.OPENING_ERRORS as exc:
        raise paths.ledger_unusable(settings.db_path, exc) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` command."""
    parser = subparsers.add_parser(
        "validate",
        help="check a spreadsheet of file URLs and document IDs; nothing is sent",
        description="Read a CSV, TSV, xlsx, xlsm, xls or ods file, find the URL and ID columns "
        "and explain every bad row. Exit 0 when the file was read (even with bad rows), "
        "2 when it could not be read.",
    )
    parser.add_argument("file", type=Path, help="the spreadsheet to check")
    parser.add_argument(
        "--sheet", help="the sheet to read in a workbook (default: the first with data)"
    )
    parser.add_argument(
        "--url-column", help="the column holding the file URLs (default: found by name or content)"
    )
    parser.add_argument(
        "--id-column",
        help="the column holding the document IDs (default: found by name or content)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a summary"
    )
    parser.add_argument(
        "--problems-file",
        type=Path,
        help="also write the rows with a 'problems' column to this .csv or .xlsx file, to fix and re-upload",
    )
    parser.set_defaults(handler=run_validate)


def run_validate(
    args: argparse.Namespace, *, known_ids_for: KnownIdsFor = ledger_known_ids
) -> int:
    """Read, validate and print; IntakeError propagates to main (exit 2, reason on stderr).

    ``known_ids_for`` finds the IDs already in the ledger (to warn about them): the ledger of
    the settings by default.
    """
    from ..intake import read_spreadsheet, validate_sheet  # pandas, calamine: only when validating

    settings = paths.settings_from_environment(os.environ)
    refuse_sheet_of_text(args.file, args.sheet)
    if args.problems_file is not None:
        paths.check_output_file(args.problems_file, "--problems-file")
    sheet = read_spreadsheet(
        args.file,
        sheet=args.sheet,
        max_bytes=settings.max_file_mb * 1024 * 1024,
        max_rows=settings.max_rows,
    )
    known_ids = known_ids_for(settings)
    report = validate_sheet(
        sheet, url_column=args.url_column, id_column=args.id_column, known_ids=known_ids
    )
    if args.problems_file is not None:
        fmt = "xlsx" if args.problems_file.suffix.lower() in (".xlsx", ".xlsm") else "csv"
        try:
            args.problems_file.write_bytes(report.problems_file(fmt))
        except OSError as exc:
            raise paths.path_error("--problems-file", args.problems_file, exc) from None
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(render_summary(report))
    return exitcodes.OK


def refuse_sheet_of_text(path: Path, sheet: str | None) -> None:
    """Refuse ``--sheet`` for a CSV or TSV file: it has no sheets, and ignoring it would mislead."""
    from ..errors import IntakeError
    from ..intake.sniffing import container_kind

    if sheet is None:
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return  # reading the file says what is wrong with the path, in its own words
    if head and container_kind(head) == "text":
        raise IntakeError(
            f"--sheet {sheet!r} cannot be used with {path.name}: it is a text (CSV or TSV) file "
            "and has no sheets.",
            hint="Leave out --sheet, or give a workbook (xlsx, xlsm, xls, ods).",
        )


def render_summary(report: ValidationReport) -> str:
    """A readable summary: what was read, the totals, the codes, and the first problems."""
    sheet = report.sheet
    where = f" (sheet {sheet.sheet_name!r})" if sheet.sheet_name else ""
    lines = [
        f"{sheet.filename}{where}: header on row {sheet.header_row}; "
        f"URLs in {report.url_column!r} ({report.mapping.url_found_by}), "
        f"IDs in {report.id_column!r} ({report.mapping.id_found_by}).",
        *(f"note: {n}" for n in sheet.notes),
        *_guesses(report),
        f"{report.rows:,} rows: {report.valid:,} valid, {report.invalid:,} invalid, "
        f"{report.warnings:,} with warnings.",
    ]
    codes = report.codes()
    if codes:
        lines.append("Problems: " + ", ".join(f"{code} x{n:,}" for code, n in codes.items()))
        table = report.problems_frame().head(TABLE_ROWS)
        lines.append("")
        lines.append(f"{'row':>7}  {'severity':<8}  {'code':<18}  {'value':<32}  message")
        for item in table.itertuples(index=False):
            value = _clip(repr(item.value), 32)
            lines.append(
                f"{item.row:>7}  {item.severity:<8}  {item.code:<18}  {value:<32}  {item.message}"
            )
        hidden = len(report.problems_frame()) - len(table)
        if hidden > 0:
            lines.append(
                f"... and {hidden:,} more (use --json or --problems-file for all of them)."
            )
    else:
        lines.append("No problems found.")
    return "\n".join(lines)


def _guesses(report: ValidationReport) -> list[str]:
    """A line per column guessed from its cells: say why, and how to name it instead."""
    m = report.mapping
    return [
        f"note: the {what} column {column!r} was guessed from its cells ({why}); check it, or "
        f"name the column with {option}."
        for what, column, by, why, option in (
            ("URL", m.url_column, m.url_found_by, m.url_reason, "--url-column"),
            ("ID", m.id_column, m.id_found_by, m.id_reason, "--id-column"),
        )
        if by == "content"
    ]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
