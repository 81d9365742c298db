"""read_spreadsheet: any sheet an analyst has (CSV, TSV, xlsx, xlsm, xls, ods) as a SheetData of text."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import IO, Any

from ..config import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_ROWS
from ..errors import IntakeError
from . import excel, extent
from .delimited import read_delimited
from .framing import frame_grid
from .models import SheetData
from .sniffing import SNIFF_BYTES, container_kind

SourceLike = str | os.PathLike[str] | bytes | IO[bytes]
DEFAULT_MAX_BYTES = DEFAULT_MAX_FILE_MB * 1024 * 1024
_HASH_CHUNK = 4 * 1024 * 1024


def read_spreadsheet(
    source: SourceLike,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> SheetData:
    """Read a spreadsheet as text; IntakeError (one plain sentence) when it cannot be read at all."""
    data, name = _load(source, filename, max_bytes)
    head = data[:SNIFF_BYTES] if isinstance(data, bytes) else _read_head(data)
    if not head:
        raise IntakeError(
            "The file is empty.",
            hint="Upload a spreadsheet with a header row and one row per document.",
        )
    digest, size = _sha256(data)
    kind = container_kind(head)
    if kind == "text":
        grid, encoding, delimiter, notes = read_delimited(data, head, max_rows=max_rows)
        frame, rows, header_row, _ = frame_grid(grid, max_rows=max_rows)
        notes += _skipped_note(rows, header_row)
        return SheetData(
            frame=frame, row_numbers=rows, header_row=header_row, filename=name, sha256=digest,
            size_bytes=size, file_format="tsv" if delimiter == "\t" else "csv",
            encoding=encoding, delimiter=delimiter, notes=tuple(notes),
        )  # fmt: skip
    if kind == "zip":
        file_format = excel.check_zip(data)
        suffix = Path(name or "").suffix.lower().lstrip(".")
        if file_format == "xlsx" and suffix in ("xlsm", "xlsx"):
            file_format = suffix
        if file_format != "ods":
            extent.check_extent(data, max_rows=max_rows)
    else:
        excel.check_ole(data, name)
        file_format = "xls"
    with excel.open_workbook(data) as workbook:
        names = tuple(excel.sheet_names(workbook))
        grid, chosen, first_row, first_col, mangled = excel.read_sheet(workbook, sheet)
    frame, rows, header_row, kept = frame_grid(grid, first_row, first_col, max_rows=max_rows)
    return SheetData(
        frame=frame, row_numbers=rows, header_row=header_row, filename=name, sha256=digest,
        size_bytes=size, file_format=file_format, sheet_name=chosen, sheet_names=names,
        notes=tuple(_skipped_note(rows, header_row)),
        mangled_numbers=_mangled_by_name(mangled, kept, list(frame.columns), first_row),
    )  # fmt: skip


def _skipped_note(rows: Any, header_row: int) -> list[str]:
    """A note saying how many empty rows between the data were left out, if any."""
    skipped = int(rows[-1]) - header_row - len(rows)
    return [f"{skipped:,} empty row(s) between the data were skipped."] if skipped else []


def list_sheets(source: SourceLike, *, filename: str | None = None) -> list[str]:
    """The sheet names of a workbook (an empty list for CSV/TSV), for a sheet picker."""
    data, name = _load(source, filename, DEFAULT_MAX_BYTES * 20)
    head = data[:SNIFF_BYTES] if isinstance(data, bytes) else _read_head(data)
    kind = container_kind(head) if head else "text"
    if kind == "text":
        return []
    if kind == "zip":
        excel.check_zip(data)
    else:
        excel.check_ole(data, name)
    with excel.open_workbook(data) as workbook:
        return excel.sheet_names(workbook)


def _load(
    source: SourceLike, filename: str | None, max_bytes: int
) -> tuple[Path | bytes, str | None]:
    """The file as a path (large CSVs are parsed straight from disk) or bytes, after the size check."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise IntakeError(
                f"The file {path.name!r} cannot be opened ({exc.strerror or exc}).",
                hint="Check the path and that the file is not open elsewhere with a lock.",
            ) from None
        if path.is_dir():
            raise IntakeError(
                f"{path.name!r} is a folder, not a file.", hint="Give the spreadsheet's path."
            )
        _check_size(size, max_bytes)
        return path, filename or path.name
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        data = _read_stream(source, max_bytes)
        filename = filename or getattr(source, "name", None)
    _check_size(len(data), max_bytes)
    return data, filename


def _read_stream(stream: Any, max_bytes: int) -> bytes:
    # Read one byte past the limit so an oversize upload is refused without reading all of it.
    data = stream.read(max_bytes + 1)
    if isinstance(data, str):
        raise IntakeError("The file was opened as text.", hint="Open it in binary mode ('rb').")
    return bytes(data)


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise IntakeError(
            f"The file is larger than the {max_bytes / (1024 * 1024):g} MB allowed.",
            hint="Split it into smaller files, or raise ATLAS_MAX_FILE_MB.",
        )


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES)


def _sha256(data: Path | bytes) -> tuple[str, int]:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest(), len(data)
    digest, size = hashlib.sha256(), 0
    with open(data, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _mangled_by_name(
    mangled: dict[int, set[int]], kept: list[int], names: list[str], first_row: int
) -> dict[str, frozenset[int]]:
    by_name = {}
    for pos, name in zip(kept, names, strict=True):
        if pos in mangled:
            by_name[name] = frozenset(first_row + r + 1 for r in mangled[pos])
    return by_name
