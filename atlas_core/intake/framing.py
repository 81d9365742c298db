"""From a raw grid of text to a table: find the header row, drop blank rows and columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import IntakeError
from .mapping import KNOWN_NAMES, normalise_name

HEADER_SEARCH_ROWS = 50  # title rows above the header rarely run longer than this
MAX_COLUMNS = 500


def column_letter(index: int) -> str:
    """Excel's name for a 0-based column position: 0 -> A, 27 -> AB."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def frame_grid(
    grid: pd.DataFrame, first_row: int = 0, first_col: int = 0, *, max_rows: int
) -> tuple[pd.DataFrame, np.ndarray, int, list[int]]:
    """(table, user row numbers, header row number, kept grid column positions) for a text grid.

    ``first_row``/``first_col`` are the 0-based sheet position of the grid's top-left cell, so row
    numbers and column letters match what the user sees.
    """
    grid = grid.fillna("") if grid.isna().any().any() else grid
    grid.columns = pd.RangeIndex(grid.shape[1])
    head = grid.iloc[:HEADER_SEARCH_ROWS]
    header_pos = find_header_row([[str(v) for v in row] for row in head.itertuples(index=False)])
    if header_pos is None:
        raise IntakeError(
            "The file has no data: every cell is empty.",
            hint="Upload a spreadsheet with a header row and one row per document.",
        )
    header = [str(v) for v in grid.iloc[header_pos]]
    body = grid.iloc[header_pos + 1 :]
    filled_cols = [j for j in range(grid.shape[1]) if header[j].strip() or _has_values(body[j])]
    if len(filled_cols) > MAX_COLUMNS:
        raise IntakeError(
            f"The sheet has {len(filled_cols)} columns; at most {MAX_COLUMNS} are supported.",
            hint="Keep only the URL and ID columns (and any you need for reference) and upload again.",
        )
    body = body[filled_cols]
    blank = np.ones(len(body), dtype=bool)
    for j in filled_cols:
        blank &= (body[j] == "").to_numpy(dtype=bool)
    positions = np.arange(header_pos + 1, header_pos + 1 + len(body))
    if blank.any():
        body = body[~blank]
        positions = positions[~blank]
    if len(body) == 0:
        raise IntakeError(
            "The file has a header row but no data rows below it.",
            hint="Add one row per document (a URL and an ID) under the header and upload again.",
        )
    if len(body) > max_rows:
        raise IntakeError(
            f"The file has {len(body):,} rows; at most {max_rows:,} can be checked at once.",
            hint="Split it into smaller files, or raise ATLAS_MAX_ROWS if the machine has the memory.",
        )
    body = body.reset_index(drop=True)
    body.columns = _column_names(
        [header[j] for j in filled_cols], [first_col + j for j in filled_cols]
    )
    return body, positions + first_row + 1, header_pos + first_row + 1, filled_cols


def find_header_row(rows: list[list[str]]) -> int | None:
    """The position of the header among the first rows: one naming a known column, else the first full one."""
    filled = [sum(1 for v in row if v.strip()) for row in rows]
    if not any(filled):
        return None
    for pos, row in enumerate(rows):
        if any(normalise_name(v) in KNOWN_NAMES for v in row if v.strip()):
            return pos
    widest = max(filled)
    for pos, count in enumerate(filled):
        if count >= max(2, widest) or (widest < 2 and count):
            return pos
    return next(pos for pos, count in enumerate(filled) if count)


def _has_values(column: pd.Series) -> bool:
    return bool((column != "").any())


def _column_names(header: list[str], sheet_cols: list[int]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for name, col in zip(header, sheet_cols, strict=True):
        base = name if name.strip() else f"column {column_letter(col)}"
        candidate, n = base, 2
        while candidate in seen:
            candidate, n = f"{base} ({n})", n + 1
        seen.add(candidate)
        names.append(candidate)
    return names
