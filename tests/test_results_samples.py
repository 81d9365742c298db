"""Hand-built file_data samples from the Atlas contract (atlas-api.md §4) for the results tests.

The samples are written out by hand rather than taken from the sandbox, so the results code is
checked against the contract, not against another module's reading of it. The tests here keep the
samples honest: every documented type, with exactly its documented fields.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from atlas_core.results.fields import DOCUMENTED_FIELDS


def _f(value: Any, confidence: Any = 0.9, **extra: Any) -> dict[str, Any]:
    return {"value": value, "confidence_score": confidence, **extra}


ADDRESS_PARTS = {
    "state": "Maharashtra",
    "postcode": "400001",
    "address_line_1": "12, MG Road",
    "address_line_2": "Near Post Office",
    "city": "Mumbai",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "AADHAAR": {
        "document_type": "AADHAAR",
        "name": _f("राहुल शर्मा", 0.91),
        "address": _f("12, MG Road, Near Post Office, Mumbai, Maharashtra - 400001", 0.62),
        "formatted_address": dict(ADDRESS_PARTS),
        "aadhaar_number": _f("**** **** 9012", 0.98, redact_url="https://atlas.example/r/9012.jpg"),
        "date_of_birth": _f("01/02/1990", 0.88),
    },
    "PAN": {
        "document_type": "PAN",
        "name_as_per_pan": _f("PRIYA VERMA", 0.93),
        "father_name": _f("SURESH VERMA", 0.71),
        "dob": _f("15/08/1985", 0.9),
        "pan_number": _f("ABCDE1234F", 0.99),
        "document_quality_flag": _f("xerox_copy", 0.8),
    },
    "DRIVING_LICENSE": {
        "document_type": "DRIVING_LICENSE",
        "dl_number": _f("MH01 20110012345", 0.97),
        "name": _f("Amit Patel", 0.8),
        "date_of_birth": _f("03/03/1980", 0.86),
        "issue_date": _f("04/04/2011", 0.85),
        "valid_till": _f("03/03/2030", 0.84),
        "state": _f("Maharashtra", 0.75),
    },
    "VOTER_ID": {
        "document_type": "VOTER_ID",
        "voter_id": _f("ABC1234567", 0.96),
        "name": _f("Sunita Singh", 0.78),
        "date_of_birth": _f("09/09/1975", 0.81),
        "gender": _f("FEMALE", 0.87),
    },
    "PASSPORT": {
        "document_type": "PASSPORT",
        "passport_number": _f("K1234567", 0.98),
        "name": _f("Vikram Gupta", 0.82),
        "date_of_birth": _f("10/10/1970", 0.9),
        "place_of_birth": _f("LUCKNOW, UTTAR PRADESH", 0.66),
        "gender": _f("M", 0.9),
        "date_of_issue": _f("01/01/2020", 0.88),
        "date_of_expiry": _f("31/12/2029", 0.88),
        "place_of_issue": _f("LUCKNOW", 0.7),
    },
    "GST_CERT": {
        "document_type": "GST_CERT",
        "gst_number": _f("27ABCDE1234F1Z5", 0.97),
        "legal_name": _f("SHARMA TRADERS PRIVATE LIMITED", 0.74),
        "address": _f("12, MG Road, Near Post Office, Mumbai, Maharashtra - 400001", 0.55),
        "formatted_address": dict(ADDRESS_PARTS),
        "date_of_issue": _f("01/07/2017", 0.86),
        "constitution_of_business": _f("Private Limited Company", 0.77),
    },
}
DOCUMENT_TYPES = tuple(SAMPLES)

# Values a careless or hostile upstream might send, each as the value of a field.
HOSTILE_VALUES: dict[str, Any] = {
    "dde_formula": "=cmd|' /C calc'!A0",
    "plus_formula": "+1+1",
    "minus_text": "-5",
    "at_formula": "@SUM(A1:A2)",
    "tab_start": "\tleading tab",
    "cr_start": "\rleading carriage return",
    "script": "<script>alert(1)</script>",
    "megabyte": "A" * 1_000_000,
    "integer": 123456,
    "huge_integer": 12345678901234567890,
    "negative_float": -5.5,
    "null": None,
    "list": ["one", 2, None],
    "object": {"nested": {"deeper": [1, 2]}},
    "boolean": True,
    "control_chars": "a\x00b\x07c",
    "devanagari": "प्रिया वर्मा",
}


def sample(doc_type: str) -> dict[str, Any]:
    """A fresh deep copy of the sample for one documented type."""
    return copy.deepcopy(SAMPLES[doc_type])


def document_row(file_data: Any, **overrides: Any) -> dict[str, Any]:
    """A ledger document row as results/ receives it, around one file_data."""
    doc_type = file_data.get("document_type") if isinstance(file_data, dict) else None
    row = {
        "document_id": "DOC-1",
        "batch_id": "BATCH-30732-SIYKJ-20251121113228",
        "file_url": "https://bucket.example/doc-1.jpg",
        "state": "extracted",
        "document_type": doc_type,
        "error": None,
        "file_data": file_data,
        "min_confidence": None,
        "upload_id": 1,
        "attempt": 1,
        "row_number": 2,
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_every_sample_has_exactly_its_documented_fields(doc_type):
    fields = [key for key in SAMPLES[doc_type] if key != "document_type"]
    assert fields == list(DOCUMENTED_FIELDS[doc_type])
    assert SAMPLES[doc_type]["document_type"] == doc_type


def test_samples_cover_every_documented_type():
    assert set(SAMPLES) == set(DOCUMENTED_FIELDS)


def test_sample_returns_an_independent_copy():
    first = sample("PAN")
    first["pan_number"]["value"] = "changed"
    assert sample("PAN")["pan_number"]["value"] == "ABCDE1234F"
