"""Exports of document rows: CSV with BOM, XLSX read back with openpyxl, JSON; wide and long."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pandas as pd
import pytest
from test_results_flatten import EXPECTED_COLUMNS
from test_results_samples import DOCUMENT_TYPES, HOSTILE_VALUES, document_row, sample

from atlas_core import neutralise
from atlas_core.errors import AtlasError
from atlas_core.neutralise import XLSX_MAX_CELL_CHARS
from atlas_core.results.export import documents_frame, export_documents, write_documents
from atlas_core.results.flatten import field_entries
from atlas_core.results.layout import SheetColumns

BOM = b"\xef\xbb\xbf"
FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-5",
    "@SUM(A1:A2)",
    "\tleading tab",
    "\rcarriage",
    "\uff1d1+1",
]


FRONT = ["document_id", "row", "status", "needs_review", "lowest_confidence", "document_type", "error",
         "corrected_fields"]
LONG_HEADER = [*FRONT, "field", "atlas_value", "value", "confidence", "file_url", "batch_id"]
F = len(FRONT)  # the first field column
# The wide fields of one type: its common meanings first, under the meaning's name.
WIDE_FIELDS = {
    "AADHAAR": [
        "name", "name_confidence", "date_of_birth", "date_of_birth_confidence",
        "id_number", "id_number_confidence", "address", "address_confidence",
        "formatted_address.address_line_1", "formatted_address.address_line_2",
        "formatted_address.city", "formatted_address.state", "formatted_address.postcode",
    ],
    "PAN": [
        "name", "name_confidence", "date_of_birth", "date_of_birth_confidence",
        "id_number", "id_number_confidence", "father_name", "father_name_confidence",
        "document_quality_flag", "document_quality_flag_confidence",
    ],
}


def _header(data: bytes, fmt: str, index: int = 0) -> list:
    if fmt == "csv":
        return _csv_records(data)[0]
    return [c.value for c in next(_sheet(data, index)[1].iter_rows())]


def _rows_of_every_type():
    return [
        document_row(sample(doc_type), document_id=f"D{i}", row_number=i + 2)
        for i, doc_type in enumerate(DOCUMENT_TYPES)
    ]


def _failed_row():
    return document_row(
        None, document_id="F1", state="failed", error="INVALID_DOC", document_type=None
    )


def _csv_records(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))


def _sheet(data: bytes, index: int = 0):
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return workbook, workbook.worksheets[index]


@pytest.mark.parametrize("doc_type", ["AADHAAR", "PAN"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_wide_header_is_ids_results_meanings_then_links_last(doc_type, fmt):
    header = _header(export_documents([document_row(sample(doc_type))], fmt=fmt), fmt)
    links = ["id_number_redact_url"] if doc_type == "AADHAAR" else []
    assert header == [*FRONT, *WIDE_FIELDS[doc_type], "file_url", *links, "batch_id"]


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_common_meanings_come_first_whatever_the_type(doc_type):
    header = _header(export_documents([document_row(sample(doc_type))]), "csv")
    fields = header[len(FRONT):]
    meanings = [m for m in ("name", "date_of_birth", "id_number", "address") if m in fields]
    assert fields[: 2 * len(meanings)] == [c for m in meanings for c in (m, f"{m}_confidence")]
    assert {"name", "id_number"} <= set(meanings)


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_excel_has_one_sheet_per_type_with_atlas_own_field_names(doc_type):
    data = export_documents([document_row(sample(doc_type))], fmt="xlsx")
    workbook, _ = _sheet(data)
    assert workbook.sheetnames == ["documents", doc_type]
    assert _header(data, "xlsx", 1) == [*FRONT[:5], *EXPECTED_COLUMNS[doc_type]]
    workbook.close()


def test_aadhaar_and_pan_names_share_one_column_and_keep_their_own_in_their_sheets():
    rows = [document_row(sample("AADHAAR"), document_id="A1"),
            document_row(sample("PAN"), document_id="P1")]
    records = _csv_records(export_documents(rows))
    header = records[0]
    assert "name_as_per_pan" not in header and "dob" not in header and "pan_number" not in header
    cells = [dict(zip(header, r, strict=True)) for r in records[1:]]
    assert [c["name"] for c in cells] == ["राहुल शर्मा", "PRIYA VERMA"]
    assert [c["date_of_birth"] for c in cells] == ["01/02/1990", "15/08/1985"]
    assert [c["id_number"] for c in cells] == ["**** **** 9012", "ABCDE1234F"]
    workbook = openpyxl.load_workbook(io.BytesIO(export_documents(rows, fmt="xlsx")))
    assert workbook.sheetnames == ["documents", "AADHAAR", "PAN"]
    pan = list(workbook["PAN"].iter_rows(values_only=True))
    assert pan[0][5] == "name_as_per_pan" and pan[1][:2] == ("P1", 2) and pan[1][5] == "PRIYA VERMA"
    workbook.close()


def test_a_field_already_named_for_the_meaning_is_never_overwritten():
    data = sample("PAN")
    data["name"] = {"value": "ALSO A NAME", "confidence_score": 0.5}
    header, row = _csv_records(export_documents([document_row(data)]))
    cells = dict(zip(header, row, strict=True))
    assert cells["name"] == "ALSO A NAME" and cells["name_as_per_pan"] == "PRIYA VERMA"


def test_result_columns_hold_the_row_and_status_is_the_outcome_word():
    rows = [_failed_row(), document_row(sample("PAN"), state="submitted", document_id="S1")]
    records = _csv_records(export_documents(rows))
    assert records[1][:F] == ["F1", "2", "failed", "", "", "", "INVALID_DOC", ""]
    assert set(records[1][F:-2]) == {""}  # the PAN document's fields
    assert records[1][-2:] == ["https://bucket.example/doc-1.jpg", "BATCH-30732-SIYKJ-20251121113228"]
    assert records[2][2] == "pending"


@pytest.mark.parametrize(("lowest", "below", "expected"), [
    (0.62, 0.8, "yes"), (0.62, 0.6, "no"), (None, 0.8, "no"), (0.8, 0.8, "no"),
])
def test_needs_review_follows_the_threshold(lowest, below, expected):
    row = document_row(sample("PAN"), min_confidence=lowest)
    header, line = _csv_records(
        export_documents([row], sheet=SheetColumns(review_below=below))
    )
    cells = dict(zip(header, line, strict=True))
    assert cells["needs_review"] == expected
    assert cells["lowest_confidence"] == ("" if lowest is None else str(lowest))


def test_mixed_types_list_meanings_then_documented_fields_by_type_then_the_rest():
    pan = sample("PAN")
    pan["zz_unknown"] = {"value": "u"}
    rows = [document_row(pan), document_row(sample("AADHAAR")), _failed_row()]
    header = _csv_records(export_documents(rows))[0]
    # AADHAAR is listed before PAN in the contract, so its fields come first whatever the row order
    expected = [
        *FRONT,
        *WIDE_FIELDS["AADHAAR"],
        "father_name", "father_name_confidence",
        "document_quality_flag", "document_quality_flag_confidence",
        "zz_unknown",
        "zz_unknown_confidence",
        "file_url", "id_number_redact_url", "batch_id",
    ]
    assert header == expected


def test_column_order_does_not_depend_on_row_order():
    rows = _rows_of_every_type() + [_failed_row()]
    forward = _csv_records(export_documents(rows))
    backward = _csv_records(export_documents(list(reversed(rows))))
    assert forward[0] == backward[0]
    assert sorted(forward[1:]) == sorted(backward[1:])


def test_csv_round_trips_devanagari_and_numbers_through_pandas():
    frame = pd.read_csv(
        io.BytesIO(export_documents([document_row(sample("AADHAAR"))])), encoding="utf-8-sig"
    )
    assert frame.loc[0, "name"] == "राहुल शर्मा"
    assert frame.loc[0, "name_confidence"] == 0.91
    assert (
        frame.loc[0, "formatted_address.postcode"] == 400001
    )  # text of digits, read as pandas likes
    assert list(frame.columns[:F]) == FRONT


def test_csv_quotes_text_only_where_needed_and_leaves_numbers_bare():
    # minimal quoting, as pandas writes it: a comma, a quote or a line break inside a cell
    data = sample("PAN")
    data["dob"]["value"] = -5.5
    data["father_name"]["value"] = 'S "K", VERMA\r\nJR'
    text = export_documents([document_row(data)]).decode("utf-8-sig")
    assert ',PRIYA VERMA,0.93,' in text
    assert ",-5.5,0.9," in text
    assert ',"S ""K"", VERMA\r\nJR",' in text
    header, row = _csv_records(export_documents([document_row(data)]))
    assert row[header.index("father_name")] == 'S "K", VERMA\r\nJR'


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_neutralises_formula_text_in_values_errors_and_headers(formula):
    data = {"document_type": "X", formula: {"value": formula, "confidence_score": 0.5}}
    records = _csv_records(
        export_documents([document_row(data, error=formula, document_id=formula)])
    )
    header, row = records
    assert header[F] == "'" + formula
    assert row[0] == "'" + formula and row[6] == "'" + formula and row[F] == "'" + formula
    assert row[F + 1] == "0.5"


def test_a_real_negative_number_is_not_neutralised():
    data = {"document_type": "X", "amount": {"value": -5, "confidence_score": -0.0}}
    row = _csv_records(export_documents([document_row(data)]))[1]
    assert row[F:F + 2] == ["-5", "-0.0"]


def test_xlsx_keeps_numbers_numeric_and_neutralises_formulas():
    data = sample("VOTER_ID")
    data["name"]["value"] = "=cmd|' /C calc'!A0"
    data["gender"]["value"] = "-5"
    data["date_of_birth"]["value"] = -5.5
    workbook, sheet = _sheet(export_documents([document_row(data)], fmt="xlsx"))
    header = [c.value for c in sheet[1]]
    cells = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert (cells["name"].data_type, cells["name"].value) == ("s", "'=cmd|' /C calc'!A0")
    assert cells["id_number"].value == data["voter_id"]["value"]
    assert (cells["gender"].data_type, cells["gender"].value) == ("s", "'-5")
    assert (cells["date_of_birth"].data_type, cells["date_of_birth"].value) == ("n", -5.5)
    assert (cells["id_number_confidence"].data_type, cells["id_number_confidence"].value) == (
        "n",
        0.96,
    )
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    workbook.close()


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_xlsx_takes_every_hostile_value(name):
    data = sample("PASSPORT")
    data["name"]["value"] = HOSTILE_VALUES[name]
    workbook, sheet = _sheet(export_documents([document_row(data)], fmt="xlsx"))
    header = [c.value for c in sheet[1]]
    cell = sheet[2][header.index("name")]
    assert cell.data_type != "f"
    if isinstance(cell.value, str):
        assert len(cell.value) <= XLSX_MAX_CELL_CHARS
        assert "\x00" not in cell.value and "\x07" not in cell.value
    workbook.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A" * 1_000_000, ("s", XLSX_MAX_CELL_CHARS)),
        (12345678901234567890, ("s", 20)),  # beyond Excel's 15 digits: text keeps every digit
        (123456, ("n", None)),
    ],
)
def test_xlsx_respects_excel_limits(value, expected):
    _, sheet = _sheet(export_documents([document_row({"f": {"value": value}})], fmt="xlsx"))
    cell = sheet.cell(row=2, column=F + 1)
    assert cell.data_type == expected[0]
    if expected[1] is not None:
        assert len(cell.value) == expected[1]
    if isinstance(value, int) and expected[0] == "s":
        assert str(cell.value) == str(value)
    elif isinstance(value, int):  # stored as the same double ("123456.0"): Excel shows 123456
        assert cell.value == value


def test_xlsx_carries_on_in_a_new_sheet_past_the_row_limit(monkeypatch):
    monkeypatch.setattr(
        neutralise, "XLSX_MAX_ROWS", 4
    )  # Excel's 1,048,576 scaled down: header + 3 rows
    rows = [document_row(sample("PAN"), document_id=f"D{i}") for i in range(7)]
    workbook = openpyxl.load_workbook(io.BytesIO(export_documents(rows, fmt="xlsx")))
    assert workbook.sheetnames == [
        "documents", "documents (2)", "documents (3)", "PAN", "PAN (2)", "PAN (3)",
    ]
    ids = [r[0] for ws in workbook.worksheets[:3] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert ids == [f"D{i}" for i in range(7)]
    assert all(
        next(ws.iter_rows(values_only=True))[0] == "document_id" for ws in workbook.worksheets
    )


def test_xlsx_refuses_more_columns_than_excel_has():
    data = {f"f{i:05d}": {"value": i} for i in range(8200)}  # two columns each
    with pytest.raises(AtlasError, match="16,384"):
        export_documents([document_row(data)], fmt="xlsx")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_long_layout_has_one_row_per_document_and_field(fmt):
    rows = _rows_of_every_type() + [_failed_row()]
    data = export_documents(rows, fmt=fmt, layout="long")
    if fmt == "csv":
        table = _csv_records(data)
    else:
        table = [list(r) for r in _sheet(data)[1].iter_rows(values_only=True)]
    assert table[0] == LONG_HEADER
    expected = [name for doc in rows for name, _, _ in field_entries(doc["file_data"]) or [(None,)*3]]
    assert len(table) - 1 == len(expected)
    assert [r[F] for r in table[1:]] == [name or ("" if fmt == "csv" else None) for name in expected]


def test_json_holds_the_raw_file_data_and_stays_valid_with_nan():
    data = sample("AADHAAR")
    data["name"]["confidence_score"] = float("nan")
    rows = [document_row(data, min_confidence=0.62), _failed_row()]
    parsed = json.loads(
        export_documents(rows, fmt="json")
    )  # json.loads accepts NaN; check the text too
    assert b"NaN" not in export_documents(rows, fmt="json").replace(b'"NaN"', b"")
    assert [obj["document_id"] for obj in parsed] == ["DOC-1", "F1"]
    assert parsed[0]["status"] == "extracted" and parsed[0]["min_confidence"] == 0.62
    assert parsed[0]["file_data"]["aadhaar_number"] == sample("AADHAAR")["aadhaar_number"]
    assert parsed[1]["file_data"] is None and parsed[1]["error"] == "INVALID_DOC"


def test_json_decodes_file_data_stored_as_text():
    row = document_row(json.dumps(sample("PAN")))
    assert json.loads(export_documents([row], fmt="json"))[0]["file_data"] == sample("PAN")


def test_json_long_layout_lists_long_rows():
    rows = _rows_of_every_type()
    objects = json.loads(export_documents(rows, fmt="json", layout="long"))
    assert list(objects[0]) == LONG_HEADER
    assert [(o["document_id"], o["field"]) for o in objects] == [
        (d["document_id"], name) for d in rows for name, _, _ in field_entries(d["file_data"])
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_no_documents_still_gives_a_readable_file(fmt):
    data = export_documents([], fmt=fmt)
    if fmt == "csv":
        assert _csv_records(data) == [[*FRONT, "file_url", "batch_id"]]
    elif fmt == "xlsx":
        assert [c.value for c in _sheet(data)[1][1]] == [*FRONT, "file_url", "batch_id"]
    else:
        assert json.loads(data) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_write_documents_streams_a_one_pass_generator_to_a_path(fmt, tmp_path):
    count = 2_000
    rows = (document_row(sample(DOCUMENT_TYPES[i % 6]), document_id=str(i)) for i in range(count))
    target = tmp_path / f"out.{fmt}"
    assert write_documents(rows, target, fmt=fmt) == count
    if fmt == "csv":
        frame = pd.read_csv(target, encoding="utf-8-sig", dtype=str)
    elif fmt == "xlsx":
        frame = pd.read_excel(target, dtype=str, engine="calamine")
    else:
        frame = pd.DataFrame(json.loads(target.read_text(encoding="utf-8")))
    assert list(frame["document_id"]) == [str(i) for i in range(count)]


def test_write_documents_leaves_a_caller_file_open():
    buffer = io.BytesIO()
    write_documents([document_row(sample("PAN"))], buffer)
    assert not buffer.closed and buffer.getvalue().startswith(BOM)


@pytest.mark.parametrize(("fmt", "layout"), [("pdf", "wide"), ("csv", "tall")])
def test_unknown_format_or_layout_is_a_plain_error(fmt, layout):
    with pytest.raises(AtlasError) as caught:
        export_documents([], fmt=fmt, layout=layout)
    assert "Choose one of" in caught.value.user_message()


def test_documents_frame_has_the_export_columns_and_one_type_per_column():
    data = sample("PAN")
    data["dob"]["value"] = 1985  # a number among text: the column becomes text
    frame = documents_frame(
        [document_row(data), document_row(sample("PAN"), document_id="D2"), _failed_row()]
    )
    assert list(frame.columns) == [*FRONT, *WIDE_FIELDS["PAN"], "file_url", "batch_id"]
    assert list(frame["date_of_birth"][:2]) == ["1985", "15/08/1985"]
    assert frame["date_of_birth"].isna()[2]
    assert frame["id_number_confidence"].dtype == "float64"
    assert frame.loc[2, "status"] == "failed"


def test_documents_frame_leaves_fields_a_document_lacks_empty():
    frame = documents_frame(
        [document_row(sample("PAN"), document_id="P1"), document_row(sample("VOTER_ID"), document_id="V1")]
    )
    assert frame.loc[0, "id_number"] == "ABCDE1234F" and frame.loc[1, "id_number"] == "ABC1234567"
    assert pd.isna(frame.loc[0, "gender"]) and pd.isna(frame.loc[1, "father_name"])
    text_columns = [c for c in frame.columns if not c.endswith("_confidence")]
    assert not frame[text_columns].isin(["nan", "None"]).any().any()


def test_documents_frame_can_neutralise_for_downloads():
    data = sample("PAN")
    data["pan_number"]["value"] = "=1+1"
    assert documents_frame([document_row(data)])["id_number"][0] == "=1+1"
    assert documents_frame([document_row(data)], neutralise=True)["id_number"][0] == "'=1+1"


def test_documents_frame_long_layout():
    frame = documents_frame([document_row(sample("VOTER_ID"))], layout="long")
    assert list(frame.columns) == LONG_HEADER
    assert list(frame["field"]) == ["voter_id", "name", "date_of_birth", "gender"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_a_lone_surrogate_from_upstream_does_not_break_the_file(fmt):
    data = {
        "document_type": "PAN",
        "name_as_per_pan": {"value": "ab\ud800cd", "confidence_score": 0.5},
    }
    out = export_documents([document_row(data)], fmt=fmt)
    if fmt == "csv":
        assert _csv_records(out)[1][F] == "ab?cd"
    elif fmt == "xlsx":
        assert _sheet(out)[1].cell(row=2, column=F + 1).value == "ab\ufffdcd"
    else:
        assert json.loads(out)[0]["file_data"]["name_as_per_pan"]["value"] == "ab?cd"
