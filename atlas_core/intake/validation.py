"""validate_sheet: every check over a SheetData, gathered into one ValidationReport."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from .mapping import resolve_columns
from .models import SheetData
from .report import ValidationReport
from .rules import (
    CODE_ORDER,
    ERROR_CODES,
    Finding,
    KnownIds,
    duplicate_findings,
    duplicate_urls,
    id_findings,
    ledger_ids,
    url_findings,
)
from .textops import Strings, arrow_strings, duplicated_rows, subset


def validate_sheet(
    sheet: SheetData,
    *,
    url_column: str | None = None,
    id_column: str | None = None,
    known_ids: KnownIds | None = None,
    now: datetime | None = None,
) -> ValidationReport:
    """Check every row of a sheet; IntakeError only when the URL or ID column cannot be found."""
    mapping = resolve_columns(sheet.frame, url_column, id_column)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    urls = sheet.frame[mapping.url_column].reset_index(drop=True)
    ids = sheet.frame[mapping.id_column].reset_index(drop=True)
    rows = np.asarray(sheet.row_numbers)
    mangled = np.isin(rows, list(sheet.mangled_numbers.get(mapping.id_column, ())))
    # The URL checks and the hashing passes are independent and spend their time in Arrow and
    # numpy code that releases the GIL, so the URL checks run on a second core meanwhile.
    with ThreadPoolExecutor(max_workers=1) as pool:
        url_work = pool.submit(url_findings, urls, mapping.url_column, now)
        more, stripped_ids, id_present = id_findings(ids, mapping.id_column, mangled)
        id_dups = duplicate_findings(stripped_ids, id_present, urls, rows, mapping.id_column)
        repeated_urls = duplicated_rows(arrow_strings(urls))
        findings, usable_url = url_work.result()
    findings += more
    findings += id_dups
    findings.append(
        duplicate_urls(
            urls, repeated_urls, stripped_ids, usable_url & id_present, rows, mapping.url_column
        )
    )
    in_ledger, earlier_uploads = ledger_ids(stripped_ids, id_present, known_ids, mapping.id_column)
    findings.append(in_ledger)
    values = {mapping.url_column: arrow_strings(urls), mapping.id_column: arrow_strings(ids)}
    problems = _problem_table(findings, rows, values)
    return ValidationReport(
        sheet=sheet, mapping=mapping, problems_table=problems, earlier_uploads=earlier_uploads
    )


def _problem_table(
    findings: list[Finding], rows: np.ndarray, values: dict[str, Strings]
) -> pd.DataFrame:
    """All findings as one table, one line per problem, ordered by row then by code."""
    pieces = []
    for f in findings:
        positions = np.flatnonzero(f.mask)
        if not len(positions):
            continue
        pieces.append(
            pd.DataFrame(
                {
                    "position": positions,
                    "row": rows[positions],
                    "column": f.column,
                    "value": subset(values[f.column], positions)
                    .to_numpy(zero_copy_only=False)
                    .astype(object),
                    "code": f.code,
                    "severity": "error" if f.code in ERROR_CODES else "warning",
                    "message": f.message,
                    "order": CODE_ORDER[f.code],
                }
            )
        )
    if not pieces:
        columns = ["position", "row", "column", "value", "code", "severity", "message"]
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    table = pd.concat(pieces, ignore_index=True)
    table = table.sort_values(["position", "order"], kind="stable", ignore_index=True)
    return table.drop(columns="order")
