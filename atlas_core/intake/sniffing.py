"""Telling what a file is from its first bytes: workbook or text, which encoding, which delimiter."""

from __future__ import annotations

import csv
import io
from collections import Counter

from ..errors import IntakeError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and every password-protected workbook
ZIP_MAGIC = b"PK\x03\x04"
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024

# Formats that are certainly not a spreadsheet; named so the message can say what the file is.
_OTHER_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
}
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def container_kind(head: bytes) -> str:
    """'zip' (xlsx/xlsm/ods), 'ole' (xls or an encrypted workbook) or 'text'; raises for other binaries."""
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    for magic, what in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise IntakeError(
                f"This file is {what}, not a spreadsheet.",
                hint="Upload the CSV or Excel file that lists the document URLs and IDs.",
            )
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
        # Some web apps save an HTML or XML page under an .xls or .csv name.
        raise IntakeError(
            "This file is a web page or XML document saved with a spreadsheet name, not a real spreadsheet.",
            hint="Open it in Excel and save it as .xlsx or 'CSV UTF-8', then upload that file.",
        )
    return "text"


def detect_encoding(head: bytes) -> tuple[str, str | None]:
    """The encoding of a text file and a note for the user when it had to be guessed."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, None
    if head[:2000].count(b"\x00") > len(head[:2000]) // 4 and len(head) >= 4:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is NUL.
        even_nuls = head[0:2000:2].count(b"\x00")
        return ("utf-16-be" if even_nuls > len(head[:2000]) // 4 else "utf-16-le"), None
    if b"\x00" in head:
        raise IntakeError(
            "This file is not a text spreadsheet: it contains binary data.",
            hint="Save it from Excel as 'CSV UTF-8' or upload the .xlsx workbook itself.",
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the end of the sample
            return "cp1252", legacy_note()
    return "utf-8", None


def legacy_note() -> str:
    """The note shown when a file was not UTF-8 and was read as Windows-1252."""
    return (
        "The file is not UTF-8, so it was read as Windows-1252 (Western European); "
        "check that names with accents look right, or save it again as 'CSV UTF-8'."
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the sample into the most rows of one consistent width."""
    best, best_score = ",", (0, 0)
    for delim in DELIMITERS:
        try:
            widths = [
                len(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim) if any(r)
            ]
        except csv.Error:  # e.g. a stray carriage return: this delimiter cannot be judged
            continue
        if len(widths) > 1:
            widths = widths[:-1]  # the sample may end mid-row
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (count, width)
        if score > best_score:
            best, best_score = delim, score
    return best
