"""Generate the intake test corpus: awkward spreadsheets as analysts really send them.

    python tests/corpus/make_corpus.py        (rewrites every file beside this script)

Deterministic: the same files every run. Pre-signed URLs carry fixed dates; tests validate with
``now=CORPUS_NOW`` so "expired" and "expiring soon" stay true forever. The .xls file needs
xlwt (a development-only tool; the committed file is what the tests read).
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS_NOW = dt.datetime(2025, 11, 21, 12, 0, 0, tzinfo=dt.UTC)
SIG = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "ab12" * 16


def presigned(name: str, signed: str, expires: int) -> str:
    """A SigV4-shaped S3 link signed at ``signed`` (YYYYMMDDTHHMMSSZ) for ``expires`` seconds."""
    return (
        f"https://kyc-docs.s3.ap-south-1.amazonaws.com/in/{name}?X-Amz-Date={signed}"
        f"&X-Amz-Expires={expires}&{SIG}"
    )


GOOD_ROWS = [
    ("00123", "https://files.example.com/kyc/00123.jpg"),
    ("00124", "https://files.example.com/kyc/00124.pdf"),
    ("A-77", presigned("a77.png", "20251121T110000Z", 86400)),
    ("R/2025/9", "https://files.example.com/kyc/r2025-9"),  # no extension: no warning
]

# One row per code (ID, URL) and the code it must raise. Row order is the order in codes.csv.
CODE_ROWS = [
    ("URL_MISSING", "1001", ""),
    ("ID_MISSING", "", "https://files.example.com/kyc/1002.jpg"),
    ("URL_NOT_HTTP", "1003", "javascript:alert(1)"),
    ("URL_NOT_HTTP", "1004", "file:///C:/scans/1004.jpg"),
    ("URL_NOT_HTTP", "1005", "ftp://files.example.com/1005.jpg"),
    ("URL_NOT_HTTP", "1006", "data:image/png;base64,iVBORw0KGgo="),
    ("URL_NOT_HTTP", "1007", "https:///no-host.jpg"),
    ("URL_HAS_SPACES", "1008", " https://files.example.com/kyc/1008.jpg"),
    ("URL_HAS_SPACES", "1009", "https://files.example.com/kyc/my scan 1009.jpg"),
    ("URL_CONTROL_CHARS", "1010", "https://files.example.com/kyc/1010.jpg\t"),
    ("URL_TOO_LONG", "1011", "https://files.example.com/" + "a" * 2100 + ".jpg"),
    ("ID_TOO_LONG", "X" * 129, "https://files.example.com/kyc/1012.jpg"),
    ("ID_CONTROL_CHARS", "10\x0713", "https://files.example.com/kyc/1013.jpg"),
    ("ID_WHITESPACE", " 1014 ", "https://files.example.com/kyc/1014.jpg"),
    ("ID_NUMBER_MANGLED", "1.23457E+15", "https://files.example.com/kyc/1015.jpg"),
    ("ID_NUMBER_MANGLED", "1234567890123450000", "https://files.example.com/kyc/1016.jpg"),
    ("ID_DUPLICATE", "1017", "https://files.example.com/kyc/1017a.jpg"),
    ("ID_DUPLICATE", "1017", "https://files.example.com/kyc/1017b.jpg"),
    ("URL_EXPIRED", "1019", presigned("1019.jpg", "20251120T090000Z", 3600)),
    ("URL_EXPIRING_SOON", "1020", presigned("1020.jpg", "20251121T113000Z", 3600)),
    ("URL_EXTENSION", "1021", "https://files.example.com/kyc/1021.docx"),
    ("URL_DUPLICATE", "1022", "https://files.example.com/kyc/shared.jpg"),
    ("URL_DUPLICATE", "1023", "https://files.example.com/kyc/shared.jpg"),
]


def csv_text(rows: list[tuple[str, ...]], delimiter: str = ",") -> str:
    """Rows as CSV text, quoting only where needed (like Excel does)."""
    out = io.StringIO()
    import csv

    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def write_text_files() -> None:
    """Every encoding and delimiter, title rows, blank columns and the per-code file."""
    header = ("document_id", "file_url", "customer")
    rows = [header] + [(i, u, "Zoë Ñandú") for i, u in GOOD_ROWS]
    (HERE / "utf8_comma.csv").write_bytes(csv_text(rows).encode("utf-8"))
    (HERE / "utf8_bom_semicolon.csv").write_bytes(csv_text(rows, ";").encode("utf-8-sig"))
    (HERE / "utf16_tab.tsv").write_bytes(csv_text(rows, "\t").encode("utf-16"))
    (HERE / "cp1252_pipe.csv").write_bytes(csv_text(rows, "|").encode("cp1252"))
    titled = [
        ("KYC documents, November batch", "", "", ""),
        ("Prepared by operations", "", "", ""),
        ("", "", "", ""),
        ("Doc ID", "", "S3 URL", "Customer"),
        (GOOD_ROWS[0][0], "", GOOD_ROWS[0][1], "A"),
        ("", "", "", ""),
        (GOOD_ROWS[1][0], "", GOOD_ROWS[1][1], "B"),
        (GOOD_ROWS[2][0], "", GOOD_ROWS[2][1], "C"),
    ]
    (HERE / "title_rows.csv").write_bytes(csv_text(titled).encode("utf-8"))
    ragged = "Report of the week\r\nid,link\r\n7,https://files.example.com/7.jpg\r\n8,https://files.example.com/8.jpg\r\n"
    (HERE / "ragged_title.csv").write_bytes(ragged.encode("utf-8"))
    codes = [("reference", "url", "expected_code")] + [(i, u, code) for code, i, u in CODE_ROWS]
    (HERE / "codes.csv").write_bytes(csv_text(codes).encode("utf-8"))
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "header_only.csv").write_bytes(b"document_id,file_url\r\n")
    (HERE / "blank_only.csv").write_bytes(b",,\r\n,,\r\n")
    (HERE / "binary_renamed.csv").write_bytes(bytes(range(256)) * 8)
    (HERE / "png_renamed.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    wide = [tuple(f"c{i}" for i in range(600)), tuple("x" for _ in range(600))]
    (HERE / "too_many_columns.csv").write_bytes(csv_text(wide).encode("utf-8"))


def write_workbooks() -> None:
    """xlsx/xlsm with numbers, dates and several sheets; ods and xls; broken workbooks."""
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes["A1"] = "Read me: the documents are on the next sheet."
    ws = wb.create_sheet("Documents")
    ws["B2"] = "Upload for Atlas"
    ws.append([])
    ws["B4"], ws["C4"], ws["D4"], ws["E4"], ws["F4"] = (
        "Document ID",
        "File URL",
        "Received",
        "Checked",
        "Amount",
    )
    ws.append(
        [
            None,
            1024,
            "https://files.example.com/1024.jpg",
            dt.datetime(2025, 11, 3, 9, 30),
            True,
            12.5,
        ]
    )
    ws.append([None, "00077", "https://files.example.com/77.jpg", dt.date(2025, 11, 4), False, 3])
    ws.append([None, 1234567890123456789, "https://files.example.com/long.jpg", None, None, None])
    ws.append([None, 4.5, "https://files.example.com/45.jpg", dt.datetime(2025, 11, 5), None, None])
    ws.append([])
    ws.append([None, "A-9", "https://files.example.com/a9.jpg", None, None, None])
    wb.save(HERE / "numbers_and_sheets.xlsx")
    wb.save(HERE / "numbers_and_sheets.xlsm")
    (HERE / "corrupt.xlsx").write_bytes((HERE / "numbers_and_sheets.xlsx").read_bytes()[:700])
    # An encrypted workbook is an OLE compound file, not a zip, whatever its name says.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le")
    (HERE / "password_protected.xlsx").write_bytes(ole + bytes(1024))
    (HERE / "zip_renamed.xlsx").write_bytes(_zip({"readme.txt": b"not a workbook"}))
    (HERE / "zip_bomb.xlsx").write_bytes(
        _claimed_size(_zip({"xl/workbook.xml": b"<x/>" * 100}), 3 * 1024**3)
    )
    (HERE / "documents.ods").write_bytes(_ods())
    _xls(HERE / "documents.xls")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _claimed_size(data: bytes, size: int) -> bytes:
    """Rewrite the central directory so every member claims ``size`` uncompressed bytes (a bomb's shape)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        out[at + 24 : at + 28] = struct.pack("<I", min(size, 0xFFFFFFFE))
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def _ods() -> bytes:
    """A minimal OpenDocument spreadsheet with a header row, a float ID and a text ID."""
    cells = [
        ("document_id", "file_url"),
        (2048.0, "https://files.example.com/2048.jpg"),
        ("0099", "https://files.example.com/99.jpg"),
    ]
    rows = []
    for row in cells:
        out = []
        for v in row:
            if isinstance(v, float):
                out.append(
                    f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v:g}</text:p></table:table-cell>'
                )
            else:
                out.append(
                    f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
                )
        rows.append("<table:table-row>" + "".join(out) + "</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Uploads">'
        + "".join(rows)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _xls(path: Path) -> None:
    try:
        import xlwt
    except ImportError:
        print(f"xlwt is not installed; keeping the committed {path.name}")
        return
    book = xlwt.Workbook()
    sheet = book.add_sheet("Legacy")
    for r, row in enumerate(
        [
            ("doc_id", "link"),
            (512.0, "https://files.example.com/512.jpg"),
            ("0042", "https://files.example.com/42.jpg"),
        ]
    ):
        for c, v in enumerate(row):
            sheet.write(r, c, v)
    book.save(str(path))


if __name__ == "__main__":
    write_text_files()
    write_workbooks()
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"corpus written to {HERE} ({total / 1024:.0f} kB)")
