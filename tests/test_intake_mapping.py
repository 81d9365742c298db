"""Finding the URL and ID columns: by name in any spelling, by content, and by the user's choice."""

from __future__ import annotations

import pandas as pd
import pytest

from atlas_core.errors import IntakeError
from atlas_core.intake import detect_columns
from atlas_core.intake.mapping import normalise_name, resolve_columns

LINKS = ["https://x.example/1.jpg", "https://x.example/2.jpg", "https://x.example/3.jpg"]


def frame(**columns: list[str]) -> pd.DataFrame:
    """A text frame like read_spreadsheet makes."""
    return pd.DataFrame({k: pd.array(v, dtype="str") for k, v in columns.items()})


@pytest.mark.parametrize(
    "url_name",
    [
        "file_url",
        "File URL",
        "FILE-URL",
        "url",
        "Document URL",
        "link",
        "S3 URL",
        "s3_url",
        " Link ",
    ],
)
@pytest.mark.parametrize(
    "id_name", ["document_id", "Document ID", "doc-id", "DOC_ID", "id", "Reference", "ref no"]
)
def test_columns_found_by_name(url_name, id_name):
    f = pd.DataFrame({"notes": ["a", "b", "c"], id_name: ["1", "2", "3"], url_name: LINKS})
    mapping = detect_columns(f)
    assert (mapping.url_column, mapping.id_column) == (url_name, id_name)
    assert (mapping.url_found_by, mapping.id_found_by) == ("name", "name")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("Document-ID ", "documentid"), ("file_url", "fileurl"), ("S3.URL", "s3url")],
)
def test_normalise_name(raw, normal):
    assert normalise_name(raw) == normal


def test_best_name_wins_over_column_order():
    f = frame(link=LINKS, file_url=LINKS, id=["1", "2", "3"], document_id=["a", "b", "c"])
    mapping = detect_columns(f)
    assert (mapping.url_column, mapping.id_column) == ("file_url", "document_id")


def test_columns_found_by_content():
    f = frame(
        customer=["Asha", "Asha", "Ravi"],
        account=["AC-1", "AC-2", "AC-3"],
        where=["see: " + LINKS[0], LINKS[1], LINKS[2]],
    )
    mapping = detect_columns(f)
    assert (mapping.url_column, mapping.url_found_by) == ("where", "content")
    assert (mapping.id_column, mapping.id_found_by) == ("account", "content")


def test_content_guess_skips_a_column_of_repeated_values():
    f = frame(status=["ok", "ok", "ok"], serial=["9", "8", "7"], a=LINKS)
    assert detect_columns(f).id_column == "serial"


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        ({"name": ["a", "b"], "id": ["1", "2"]}, "No column with file URLs"),
        ({"name": ["x", "x"], "url": LINKS[:2]}, "No column with document IDs"),
    ],
)
def test_missing_columns_list_the_available_ones(columns, words):
    with pytest.raises(IntakeError) as caught:
        detect_columns(frame(**columns))
    assert words in caught.value.message
    for name in columns:
        assert repr(name) in caught.value.hint


def test_overrides_win_and_match_loosely():
    f = frame(link=LINKS, backup_link=LINKS, id=["1", "2", "3"], Account_No=["a", "b", "c"])
    mapping = resolve_columns(f, url_column="backup_link", id_column="account no")
    assert (mapping.url_column, mapping.id_column) == ("backup_link", "Account_No")
    assert (mapping.url_found_by, mapping.id_found_by) == ("override", "override")


@pytest.mark.parametrize(("url", "ident"), [("nope", None), (None, "nope")])
def test_missing_override_lists_columns(url, ident):
    f = frame(link=LINKS, id=["1", "2", "3"])
    with pytest.raises(IntakeError) as caught:
        resolve_columns(f, url_column=url, id_column=ident)
    assert "'nope'" in caught.value.message
    assert "'link', 'id'" in caught.value.hint


def test_same_column_for_both_is_refused():
    with pytest.raises(IntakeError, match="both"):
        resolve_columns(frame(link=LINKS, id=["1", "2", "3"]), url_column="link", id_column="link")


# Issue 12: the ID column was guessed wrong, silently.


def test_a_reference_header_wins_over_a_serial_number_before_it():
    f = frame(
        **{
            "Sr No": ["1", "2", "3", "4"],
            "Applicant Ref": ["AP-77", "AP-12", "AP-90", "AP-31"],
            "KYC Doc Link": [*LINKS, "https://x.example/4.jpg"],
            "Branch": ["Pune", "Pune", "Nagpur", "Pune"],
        }
    )
    mapping = detect_columns(f)
    assert (mapping.id_column, mapping.id_found_by) == ("Applicant Ref", "name")
    assert (mapping.url_column, mapping.url_found_by) == ("KYC Doc Link", "name")
    assert not mapping.guessed
    assert "Applicant Ref" in mapping.id_reason


@pytest.mark.parametrize(
    "header",
    ["Ref", "Ref No", "REF_NO", "App No", "app-no", "APPNO", "Application ID", "application.id",
     "Loan ID", "LoanID", "loan_id", "Customer ID", "CUSTOMER-ID", "Lead ID", "leadId", "App #"],
)  # fmt: skip
def test_reference_headers_are_matched_by_their_words(header):
    f = frame(serial=["1", "2", "3"], **{header: ["Q-9", "Q-3", "Q-5"]}, link=LINKS)
    mapping = detect_columns(f)
    assert (mapping.id_column, mapping.id_found_by) == (header, "name")


@pytest.mark.parametrize("header", ["Sr No", "Sl. No.", "Mobile No", "Branch ID", "PAN No"])
def test_headers_that_are_not_document_ids_are_not_taken_by_name(header):
    f = frame(**{header: ["11", "12", "13"]}, link=LINKS)
    assert detect_columns(f).id_found_by == "content"


def test_a_serial_number_is_ranked_last_and_then_needs_confirming():
    f = frame(**{"Sr No": ["1", "2", "3"], "Code": ["K7", "K2", "K9"], "Link": LINKS})
    assert detect_columns(f).id_column == "Code"
    only_serial = frame(**{"Sr No": ["1", "2", "3"], "Link": LINKS})
    mapping = detect_columns(only_serial)
    assert (mapping.id_column, mapping.id_found_by, mapping.guessed) == ("Sr No", "content", True)
    assert "serial number" in mapping.id_reason


def test_zero_padded_running_ids_are_not_a_serial_number():
    f = frame(notes=["a", "a", "b"], doc=["0001", "0002", "0003"], link=LINKS)
    assert detect_columns(f).id_column == "doc"
    assert "serial" not in detect_columns(f).id_reason


def test_a_column_chosen_by_the_user_is_not_a_guess():
    f = frame(**{"Sr No": ["1", "2", "3"], "where": LINKS})
    mapping = resolve_columns(f, url_column="where", id_column="Sr No")
    assert (mapping.url_found_by, mapping.id_found_by, mapping.guessed) == (
        "override",
        "override",
        False,
    )
    assert mapping.to_dict()["id"] == {
        "column": "Sr No",
        "found_by": "override",
        "why": "you chose it",
    }
