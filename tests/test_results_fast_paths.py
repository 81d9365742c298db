"""The export's fast paths give what the slow ones gave: shapes, neutralising, paging, XLSX writer.

Speed itself is measured in benchmarks/bench_export.py, never here.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import types
import zipfile

import openpyxl
import pytest
from ledger_support import record_results
from test_results_samples import DOCUMENT_TYPES, HOSTILE_VALUES, document_row, sample

from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S
from atlas_core.neutralise import (
    FORMULA_PREFIXES,
    FORMULA_SIGNS,
    LEADING_BLANKS,
    XLSX_MAX_CELL_CHARS,
    XLSX_TRUNCATED_MARK,
    csv_cells,
    neutralise_text,
    xlsx_cell,
    xlsx_cells,
)
from atlas_core.results.export import export_documents, wide_table
from atlas_core.results.flatten import column_order, fixed_cells, flatten_with_keys
from atlas_core.results.meanings import MEANINGS


def _renamed(cells, doc_type):
    """The walker's columns under their common meanings (meanings.MEANINGS, read as a table)."""
    key = str(doc_type).strip().upper() if doc_type is not None else None
    renames = {fields[key]: m for m, fields in MEANINGS.items() if key in fields and fields[key] != m}
    tops = {k[0] for _, k in cells.values()}
    out = {}
    for column, (value, sort_key) in cells.items():
        top = sort_key[0]
        meaning = renames.get(top)
        if meaning and meaning not in tops and column.startswith(top):
            new = meaning + column[len(top):]
            if new not in cells and new not in out:
                out[new] = (value, (meaning, *sort_key[1:]))
                continue
        out[column] = (value, sort_key)
    return out


def _reference_wide(rows):
    """The wide table's fields as the walker gives them on every document: the header's field
    columns and, per document, its cells by column."""
    keys, types_, table = {}, set(), []
    for row in rows:
        fixed = fixed_cells(row, row.get("file_data"))
        cells = _renamed(flatten_with_keys(row.get("file_data")), fixed["document_type"])
        for column, (_, key) in cells.items():
            if column not in keys or key < keys[column]:
                keys[column] = key
        types_.add(fixed["document_type"])
        table.append({c: v for c, (v, _) in cells.items()})
    return column_order(keys, types_, meanings=True), table


def _same(a, b):
    # NaN never equals itself; the tables hold it only where the walker kept a float as it is
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _variants():
    """Documents that share shapes but not value types, and shapes the cache must not take."""
    same_shape = [
        {"document_type": "PAN", "f": {"value": "A", "confidence_score": 0.9}},
        {"document_type": "PAN", "f": {"value": "B", "confidence_score": "0.93"}},
        {"document_type": "PAN", "f": {"value": {"nested": 1}, "confidence_score": "high"}},
        {"document_type": "PAN", "f": {"value": [1, 2], "confidence_score": None}},
        {"document_type": "PAN", "f": {"value": True, "confidence_score": float("inf")}},
        {"document_type": "PAN", "f": {"value": 12, "confidence_score": 1}},
    ]
    parts = [
        {"a": {"city": "X", "state": "Y"}},
        {"a": {"city": None, "state": {"deep": {"deeper": [1]}}}},
        {"a": {"city": 3.5, "state": "=1+1"}},
    ]
    odd = [
        None,
        "not an object",
        {"x": types.MappingProxyType({"value": "proxy"})},  # a Mapping, not a dict
        {"x": "plain"},  # the same keys, but no object: other columns
        {1: "one"},  # not from JSON: 1 and True are one dict key but two column names
        {True: "true"},
        {"status": "clash", "status_2": "x", "f": {"value": 1}, "f_confidence": 2},
        {"k": {}},
        {"k": 5},
    ]
    deep: dict = {"v": "bottom"}
    for _ in range(12):
        deep = {"n": deep}
    return same_shape + parts + odd + [deep, {"x": deep}] + [sample(t) for t in DOCUMENT_TYPES]


def test_wide_rows_through_the_shape_cache_equal_the_walker_on_every_document():
    file_datas = _variants() * 2 + [{"name": {"value": v}} for v in HOSTILE_VALUES]
    rows = [document_row(fd, document_id=f"D{i}") for i, fd in enumerate(file_datas)]
    columns, expected = _reference_wide(rows)
    got = list(wide_table(rows))
    header = got[0]
    front = {"document_id", "row", "status", "needs_review", "lowest_confidence",
             "document_type", "error", "corrected_fields", "file_url", "batch_id"}
    fields = [c for c in header if c not in front]
    assert sorted(fields) == sorted(columns)
    assert [c for c in fields if not c.endswith("_url")] == [c for c in columns if not c.endswith("_url")]
    assert len(got) - 1 == len(expected)
    for line, want in zip(got[1:], expected, strict=True):
        assert len(line) == len(header)
        cells = dict(zip(header, line, strict=True))
        assert all(_same(cells[c], want.get(c)) for c in fields), (line, want)


def _reference_neutralise(text: str) -> str:
    """neutralise_text before its fast path."""
    formula = text.startswith(FORMULA_PREFIXES) or (
        text[:1] in LEADING_BLANKS and text.lstrip(LEADING_BLANKS).startswith(FORMULA_SIGNS)
    )
    quote = "'" if formula else ""
    return quote + text.replace("\0", "\ufffd")


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _texts():
    chars = [chr(c) for c in range(0x80)] + list(LEADING_BLANKS) + [p[0] for p in FORMULA_PREFIXES]
    chars += ["\u0905", "\ud800", "\ufffe", "\uff1d"]
    for c in chars:
        yield from (c, c + "x", " " + c + "1", "a" + c, c + "=1", "x" * 40_000 + c)


def test_the_neutralising_fast_paths_change_nothing():
    for text in _texts():
        assert neutralise_text(text) == _reference_neutralise(text)
        assert csv_cells([text, None, 1.5]) == [_reference_neutralise(text), "", 1.5]
        expected = _ILLEGAL.sub("\ufffd", _reference_neutralise(text))
        if len(expected) > XLSX_MAX_CELL_CHARS:
            expected = expected[: XLSX_MAX_CELL_CHARS - len(XLSX_TRUNCATED_MARK)]
            expected += XLSX_TRUNCATED_MARK
        assert xlsx_cell(text) == expected
        assert xlsx_cells([text, None, 10**16]) == [expected, None, str(10**16)]


def test_excel_export_freezes_and_filters_the_header_and_keeps_ids_and_formulas_as_text():
    rows = [
        document_row(
            {"document_type": "PAN", "pan_number": {"value": "=HYPERLINK(\"x\")"}},
            document_id="0012345",
        ),
        document_row({"document_type": "PAN", "pan_number": {"value": "1e5"}}, document_id="42"),
    ]
    data = export_documents(rows, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A1:")
    ids = [sheet.cell(row=r, column=1) for r in (2, 3)]
    assert [(c.value, c.data_type) for c in ids] == [("0012345", "s"), ("42", "s")]
    values = {c.value for row in sheet.iter_rows() for c in row}
    assert "'=HYPERLINK(\"x\")" in values and "1e5" in values
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<f " not in xml  # no formula anywhere


def _upload_with_a_retry(ledger: Ledger) -> int:
    rows = [RowRecord(i + 2, f"D{i}", f"https://x.test/D{i}.jpg", True) for i in range(5)]
    queued = ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=5)
    chunk = ledger.claim_chunk("w")
    ledger.record_sent(chunk.chunk_id, [("B1", d, "u") for _, d, _ in chunk.documents])
    record_results(
        ledger,
        "B1",
        [Interpreted(f"D{i}", S.FAILED if i in (1, 3) else S.EXTRACTED, error="x") for i in range(5)],
    )
    ledger.retry_failed(batch_id="B1")
    # another upload after it, so the first one's rows are not the whole table
    ledger.record_upload(UploadRecord("b.csv", "POC_CDL"), [RowRecord(2, "E0", "https://x.test/E0", True)],
                         chunk_size=5)
    return queued.upload_id


@pytest.mark.parametrize("page_size", [1, 2, 1000])
def test_an_uploads_documents_come_in_id_order_with_or_without_superseded_attempts(tmp_path, page_size):
    ledger = Ledger(tmp_path / "atlas.db")
    upload_id = _upload_with_a_retry(ledger)
    everything = list(ledger.iter_documents(include_superseded=True))
    mine = [d for d in everything if d["upload_id"] == upload_id]
    assert len(mine) == 7  # five documents and two second attempts
    every = list(ledger.iter_documents(upload_id=upload_id, include_superseded=True, page_size=page_size))
    assert every == mine
    current = list(ledger.iter_documents(upload_id=upload_id, page_size=page_size))
    assert [d["id"] for d in current] == [
        d["id"] for d in list(ledger.iter_documents()) if d["upload_id"] == upload_id
    ]
    assert len(current) == 5


def test_the_csv_text_spool_writes_what_csv_writer_writes_of_the_wide_table():
    # the CSV export places text already quoted per entry; it must be the file csv.writer makes
    file_datas = _variants() + [{"name": {"value": v}} for v in HOSTILE_VALUES]
    # the spool's own separators (NUL CR LF ","), and what only the file's quoting must catch
    file_datas += [{"name": {"value": v}, "s": v} for v in ("a\r\n,b", "a\0\r\n,b", ",", "\r", "x\x01y", '"')]
    rows = [document_row(fd, document_id=f"D{i}", error="=x" if i % 3 else None)
            for i, fd in enumerate(file_datas * 700)]  # past one spool page
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # minimal quoting, as pandas writes it; neutralising does not need quotes
    writer.writerows(csv_cells(line) for line in wide_table(rows))
    expected = codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8", errors="replace")
    assert export_documents(rows) == expected
