"""Reading the reconciliation report (a CSV of sections) back in tests (no tests here)."""

from __future__ import annotations

import csv
import io

import pandas as pd


def read_report(data: bytes) -> dict[str, object]:
    """The report's title, balance sentence, counts, exceptions and fixed cells (frames of text)."""
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    starts = [i for i, line in enumerate(lines) if len(line) == 1 and line[0].endswith(")")
              and line[0].split(" (")[0] in ("Exceptions", "Cells fixed in the app before sending")]
    exceptions_at, fixes_at = starts

    def frame(first: int, last: int) -> pd.DataFrame:
        header, *rows = [line for line in lines[first + 1:last] if line]
        return pd.DataFrame(rows, columns=header, dtype=str)

    return {
        "title": lines[0][0],
        "sentence": lines[1][1],
        "counts": dict(zip(lines[2], (int(n) for n in lines[3]), strict=True)),
        "exceptions": frame(exceptions_at, fixes_at),
        "fixes": frame(fixes_at, len(lines)),
    }
