"""Every export gives the final value (a person's correction over Atlas's), says which fields a
person corrected, and the long layout has both values; Atlas's answer stays verbatim in the ledger."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from review_support import extracted_upload

from atlas_core.ledger import Ledger
from atlas_core.results.corrections import apply_corrections, review_fields, with_corrections
from atlas_core.results.export import documents_frame, export_documents
from atlas_core.review.queue import ReviewPolicy

POLICY = ReviewPolicy(threshold=0.8, sample_rate=0.0)


@pytest.fixture
def reviewed(tmp_path):
    """A ledger of three documents: one corrected (name and city), one confirmed, one never reviewed."""
    ledger = Ledger(tmp_path / "atlas.db")
    docs = extracted_upload(ledger, [0.3, 0.5, 0.95])
    ledger.decide_review(docs[0], "asha", "correct",
                         {"name_as_per_pan": "=HYPERLINK(\"http://evil\")", "formatted_address.city": "Pune City"})
    ledger.decide_review(docs[1], "ravi", "confirm")
    yield ledger
    ledger.close()


def _wide_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_wide_csv_gives_final_values_and_names_the_corrected_fields(reviewed):
    rows = _wide_csv(export_documents(reviewed.iter_documents(), "csv", "wide"))
    first, second, third = rows
    # Found by value, not by column name: the wide layout may name a field by its meaning.
    # A formula typed as a correction is neutralised like any other text.
    assert "'=HYPERLINK(\"http://evil\")" in first.values() and "Pune City" in first.values()
    assert "ASHA RAO" not in first.values() and "Pune" not in first.values()
    assert first["corrected_fields"] == "name_as_per_pan, formatted_address.city"
    assert "ASHA RAO" in second.values() and second["corrected_fields"] == ""
    assert "Pune" in third.values() and third["corrected_fields"] == ""
    # the confidence stays Atlas's
    assert "0.3" in first.values()


def test_the_long_layout_has_atlas_value_and_the_final_value(reviewed):
    for fmt in ("csv", "json"):
        data = export_documents(reviewed.iter_documents(), fmt, "long")
        rows = (list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")))) if fmt == "csv"
                else json.loads(data))
        by_field = {(r["document_id"], r["field"]): r for r in rows}
        city = by_field[("D0000", "formatted_address.city")]
        assert (city["atlas_value"], city["value"]) == ("Pune", "Pune City")
        untouched = by_field[("D0001", "name_as_per_pan")]
        assert untouched["atlas_value"] == untouched["value"] == "ASHA RAO"


def test_xlsx_and_json_and_the_results_table_give_final_values(reviewed):
    sheet = openpyxl.load_workbook(io.BytesIO(export_documents(reviewed.iter_documents(), "xlsx"))).active
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert first["formatted_address.city"] == "Pune City" and first["corrected_fields"].startswith("name_as_per_pan")
    objects = json.loads(export_documents(reviewed.iter_documents(), "json"))
    assert objects[0]["file_data"]["formatted_address"]["city"] == "Pune City"
    assert objects[0]["atlas_values"] == {"formatted_address.city": "Pune", "name_as_per_pan": "ASHA RAO"}
    assert objects[0]["corrected_fields"] == "name_as_per_pan, formatted_address.city"
    frame = documents_frame(reviewed.iter_documents())
    assert frame.loc[0, "formatted_address.city"] == "Pune City"


def test_atlas_answer_in_the_ledger_is_untouched(reviewed):
    stored = reviewed.document_detail(1)["file_data"]
    assert stored["formatted_address"]["city"] == "Pune"
    assert stored["name_as_per_pan"]["value"] == "ASHA RAO"


def test_the_overlay_is_pure_and_a_second_pass_changes_nothing():
    file_data = {"document_type": "PAN", "name": {"value": "A", "confidence_score": 0.4},
                 "address": {"city": {"value": "X"}, "pin": 1}, "flag": True}
    assert [s.name for s in review_fields(file_data)] == ["address.city", "address.pin", "flag", "name"]
    corrected = apply_corrections(file_data, {"address.city": "Y", "nope": "z", "flag": "false"})
    assert corrected["address"]["city"] == {"value": "Y"} and file_data["address"]["city"] == {"value": "X"}
    row = {"document_id": "a", "file_data": file_data, "corrections": {"name": "B"}}
    once = list(with_corrections([row]))
    twice = list(with_corrections(once))
    assert once == twice and once[0]["file_data"]["name"]["value"] == "B"
    assert once[0]["atlas_values"] == {"name": "A"}
    assert row["file_data"]["name"]["value"] == "A"


def test_the_sheet_layout_gives_final_values_too(reviewed):
    from atlas_core.results.export import export_sheet
    from atlas_core.results.layout import SheetColumns

    sheet = SheetColumns.of_uploads([reviewed.upload(1)])
    first = _wide_csv(export_sheet(reviewed.iter_sheet(1), "csv", sheet))[0]  # D0000's row
    assert "Pune City" in first.values() and first["corrected_fields"] == "name_as_per_pan, formatted_address.city"


def test_needs_review_follows_a_persons_decision_in_every_layout(tmp_path):
    """Reviewed documents leave the "needs review" list of every file: confirmed or corrected
    ones say "no", a rejected one says "rejected" (Atlas's values stay, so the file must say so)."""
    from atlas_core.results.downloads import write_upload_sheet

    ledger = Ledger(tmp_path / "atlas.db")
    docs = extracted_upload(ledger, [0.3, 0.5, 0.4, 0.95])
    ledger.decide_review(docs[0], "asha", "correct", {"formatted_address.city": "Pune City"})
    ledger.decide_review(docs[1], "ravi", "confirm")
    ledger.decide_review(docs[2], "ravi", "reject")
    wide = _wide_csv(export_documents(ledger.iter_documents(), "csv", "wide"))
    assert [r["needs_review"] for r in wide] == ["no", "no", "rejected", "no"]
    objects = json.loads(export_documents(ledger.iter_documents(), "json"))
    assert [o["needs_review"] for o in objects] == ["no", "no", "rejected", "no"]
    out = io.BytesIO()
    write_upload_sheet(ledger, 1, out, fmt="csv")
    sheet = _wide_csv(out.getvalue())
    assert [r["needs_review"] for r in sheet] == ["no", "no", "rejected", "no"]
    ledger.close()
