"""The sandbox's fake results: plausible, deterministic, and hostile when asked to be."""

from __future__ import annotations

import re

import pytest
from sandbox_http import extracts, token, upload

from atlas_core.sandbox.documents import DOCUMENT_TYPES, FIELDS, outcome_for

DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
ID_FIELDS = {
    "aadhaar_number",
    "pan_number",
    "dl_number",
    "voter_id",
    "passport_number",
    "gst_number",
}
DATE_FIELDS = {
    "date_of_birth",
    "dob",
    "issue_date",
    "valid_till",
    "date_of_issue",
    "date_of_expiry",
}
FREE_TEXT = {"name", "address", "name_as_per_pan", "father_name", "legal_name"}


def sample(count: int = 300, **rates: float) -> list:
    """Outcomes for ``count`` documents with hint-free URLs."""
    return [
        outcome_for(f"id-{i}", f"https://files.example/scan-{i}.jpg", **rates) for i in range(count)
    ]


@pytest.mark.parametrize(
    ("url", "doc_type"),
    [
        ("https://s3.example/kyc/aadhaar_front.jpg?X-Amz-Signature=abc", "AADHAAR"),
        ("https://s3.example/kyc/Aadhar-123.png", "AADHAAR"),
        ("https://s3.example/kyc/pan/123.jpg", "PAN"),
        ("https://s3.example/kyc/customer_pan.jpg", "PAN"),
        ("https://s3.example/kyc/dl-77.jpg", "DRIVING_LICENSE"),
        ("https://s3.example/kyc/driving.jpg", "DRIVING_LICENSE"),
        ("https://s3.example/kyc/licence.jpg", "DRIVING_LICENSE"),
        ("https://s3.example/kyc/VOTER_card.jpg", "VOTER_ID"),
        ("https://s3.example/kyc/passport.jpeg", "PASSPORT"),
        ("https://s3.example/kyc/gst-certificate.pdf", "GST_CERT"),
    ],
)
def test_document_type_follows_url_hints(url, doc_type):
    result = outcome_for("1", url)
    assert result.status == "extracted"
    assert result.document_type == doc_type == result.file_data["document_type"]


def test_company_is_not_a_pan_hint():
    types = {
        outcome_for(str(i), f"https://x.example/company/{i}.jpg").document_type for i in range(60)
    }
    assert len(types) > 1


def test_types_without_hints_cover_every_documented_type():
    assert {o.document_type for o in sample()} == set(DOCUMENT_TYPES)


def test_every_documented_field_is_present_with_a_plausible_shape():
    for result in sample():
        data = result.file_data
        assert set(data) == {"document_type", *FIELDS[result.document_type]}
        for name, value in data.items():
            if name == "document_type":
                continue
            if name == "formatted_address":
                assert set(value) == {
                    "state",
                    "postcode",
                    "address_line_1",
                    "address_line_2",
                    "city",
                }
                assert all(isinstance(part, str) and part for part in value.values())
                continue
            assert isinstance(value["value"], str) and value["value"]
            assert 0.0 <= value["confidence_score"] <= 1.0
            if name in ID_FIELDS:
                assert 0.95 <= value["confidence_score"] <= 0.99
            if name in DATE_FIELDS:
                assert DATE.match(value["value"]), value


def test_free_text_scores_lower_and_vary():
    scores = [
        o.file_data[f]["confidence_score"] for o in sample() for f in FREE_TEXT if f in o.file_data
    ]
    assert min(scores) < 0.8 < max(scores)
    assert len(set(scores)) > 20


def test_aadhaar_number_is_masked_with_a_redact_url():
    data = outcome_for("7", "https://x.example/aadhaar/7.jpg").file_data
    assert re.fullmatch(r"\*{4} \*{4} \d{4}", data["aadhaar_number"]["value"])
    assert data["aadhaar_number"]["redact_url"].startswith("https://")


def test_pan_has_a_document_quality_flag():
    flags = {
        outcome_for(str(i), f"https://x.example/pan/{i}.jpg").file_data["document_quality_flag"][
            "value"
        ]
        for i in range(40)
    }
    assert flags <= {"original", "xerox_copy", "photo_of_photo"} and len(flags) > 1


def test_some_names_are_in_devanagari():
    names = [o.file_data.get("name", {}).get("value", "") for o in sample()]
    assert any(DEVANAGARI.search(n) for n in names)
    assert any(n and not DEVANAGARI.search(n) for n in names)


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("unreadable", "UNRECOGNISED"),
        ("corrupt", "UNRECOGNISED"),
        ("404", "INVALID_DOC"),
        ("broken", "INVALID_DOC"),
    ],
)
def test_failing_url_words(word, code):
    result = outcome_for("1", f"https://x.example/aadhaar-{word}.jpg")
    assert (result.status, result.error_code, result.file_data) == ("failed", code, {})
    assert result.error_message


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.6])
def test_fail_rate_is_a_deterministic_fraction(rate):
    failed = [o.status == "failed" for o in sample(400, fail_rate=rate)]
    assert abs(sum(failed) / 400 - rate) < 0.08
    assert failed == [o.status == "failed" for o in sample(400, fail_rate=rate)]


def test_hostile_rate_plays_every_hostile_kind():
    results = sample(400, hostile_rate=1.0)
    assert all(o.hostile for o in results)
    fields = [
        f for o in results for f in o.file_data.values() if isinstance(f, dict) and "value" in f
    ]
    values = [f["value"] for f in fields]
    assert "=cmd|' /C calc'!A0" in values and "<script>alert(1)</script>" in values
    assert any(isinstance(v, str) and len(v) == 10_000 for v in values)
    assert any(isinstance(v, int) for v in values) and None in values
    assert any(isinstance(v, list) for v in values)
    assert any("confidence_score" not in f for f in fields)
    assert any(o.document_type not in DOCUMENT_TYPES for o in results)
    assert not any(o.hostile for o in sample(100, hostile_rate=0.0))


def test_results_are_a_pure_function_of_id_and_url():
    assert sample(50) == sample(50)
    changed = outcome_for("id-0", "https://files.example/scan-0b.jpg")
    assert changed.file_data != sample(1)[0].file_data


def test_two_servers_give_the_same_results_over_http(make_sandbox):
    sent = [
        {"file_url": f"https://x.example/kyc/{i}.jpg", "document_id": f"c-{i}"} for i in range(20)
    ]
    seen = []
    for _ in range(2):
        server = make_sandbox(state_path=None, hostile_rate=0.3, fail_rate=0.2)
        tok = token(server)
        batch_id = upload(server, tok, sent).json()[0]["batch_id"]
        server.advance(10)
        reply = extracts(server, tok, batch_id=batch_id)
        seen.append(reply.json()["data"])
    assert seen[0] == seen[1] and len(seen[0]) == 20
