"""What a multiupload sends, and the check that every document sent came back exactly once."""

from __future__ import annotations

import json

import pytest

from atlas_core.client.receipts import (
    Receipt,
    UploadItem,
    check_receipts,
    upload_body,
    upload_payload,
)
from atlas_core.errors import ProtocolError

ITEMS = [UploadItem(f"https://files.example/{i}.jpg", f"doc-{i}") for i in range(3)]


def receipt(doc_id: str, batch: str = "BATCH-1", uuid: str = "u") -> dict:
    return {"batch_id": batch, "document_id": doc_id, "file_uuid": uuid}


def test_payload_is_the_documented_body():
    assert upload_payload("POC_CDL", ITEMS[:2]) == {
        "product_type": "POC_CDL",
        "file_urls": [
            {"file_url": "https://files.example/0.jpg", "document_id": "doc-0"},
            {"file_url": "https://files.example/1.jpg", "document_id": "doc-1"},
        ],
    }


@pytest.mark.parametrize("doc_id", ["doc-0", "दस्तावेज़-१", "broken-\ud800", 'quote"back\\slash'])
def test_body_is_the_payload_as_ascii_json(doc_id):
    payload = upload_payload("POC_CDL", [UploadItem("https://files.example/0.jpg?a=1&b=%20", doc_id)])
    body = upload_body(payload)
    # ASCII as requests' json= sent it: Devanagari and a lone surrogate as \u escapes.
    assert body.isascii() and json.loads(body) == payload


@pytest.mark.parametrize(
    ("product_type", "items", "error", "match"),
    [
        ("POC_CDL", [], ValueError, "at least one item"),
        ("", ITEMS, ValueError, "product_type"),
        ("POC_CDL", [UploadItem("", "doc-1")], ValueError, "both required"),
        ("POC_CDL", [UploadItem("https://x/1.jpg", "")], ValueError, "both required"),
        (
            "POC_CDL",
            [ITEMS[0], UploadItem("https://x/other.jpg", "doc-0")],
            ValueError,
            "'doc-0' appears twice",
        ),
        ("POC_CDL", [{"file_url": "https://x/1.jpg", "document_id": "1"}], TypeError, "UploadItem"),
    ],
)
def test_payload_refuses_what_could_not_be_matched_back(product_type, items, error, match):
    with pytest.raises(error, match=match):
        upload_payload(product_type, items)


def test_receipts_come_back_in_the_order_sent():
    body = [receipt("doc-2", uuid="c"), receipt("doc-0", uuid="a"), receipt("doc-1", uuid="b")]
    assert check_receipts(body, ITEMS) == [
        Receipt("BATCH-1", "doc-0", "a"),
        Receipt("BATCH-1", "doc-1", "b"),
        Receipt("BATCH-1", "doc-2", "c"),
    ]


def test_tolerated_variations():
    body = {
        "data": [
            {"batch_id": "B", "document_id": 7},
            {"batch_id": "B", "document_id": "8", "file_uuid": None},
        ]
    }
    items = [UploadItem("https://x/7.jpg", "7"), UploadItem("https://x/8.jpg", "8")]
    assert check_receipts(body, items) == [Receipt("B", "7", ""), Receipt("B", "8", "")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([receipt("doc-0")], "2 of 3 documents sent have no receipt ('doc-1', 'doc-2')"),
        (
            [receipt("doc-0"), receipt("doc-1"), receipt("doc-2"), receipt("doc-9")],
            "1 receipts are for documents not sent ('doc-9')",
        ),
        (
            [receipt("doc-0"), receipt("doc-0"), receipt("doc-1"), receipt("doc-2")],
            "1 documents have more than one receipt ('doc-0')",
        ),
        (
            [receipt("doc-0", "BATCH-1"), receipt("doc-1", "BATCH-2"), receipt("doc-2", "BATCH-1")],
            "the receipts name 2 batches instead of one ('BATCH-1', 'BATCH-2')",
        ),
        ({"ok": True}, "answered with dict instead of a list of receipts"),
        ("created", "answered with str instead of a list of receipts"),
        (
            [receipt("doc-0"), {"document_id": "doc-1"}, receipt("doc-2")],
            "receipt 2 has no document_id or batch_id",
        ),
        ([receipt("doc-0"), "doc-1", receipt("doc-2")], "receipt 2 has no document_id or batch_id"),
    ],
)
def test_a_mismatch_is_a_protocol_error_naming_what_is_wrong(body, expected):
    with pytest.raises(ProtocolError) as caught:
        check_receipts(body, ITEMS)
    assert expected in caught.value.message
    assert "uncertain" in caught.value.user_message()


def test_a_long_list_of_missing_ids_is_shortened():
    items = [UploadItem(f"https://x/{i}.jpg", f"d{i}") for i in range(40)]
    with pytest.raises(ProtocolError) as caught:
        check_receipts([receipt("d0")], items)
    assert (
        "39 of 40 documents sent have no receipt ('d1', 'd2', 'd3', 'd4', 'd5' and 34 more)"
        in caught.value.message
    )
