"""interpret_item: every shape the contract leaves open (§6 points 1, 2, 9) read into one state."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_results_samples import DOCUMENT_TYPES, HOSTILE_VALUES, sample

from atlas_core.engine.interpreting import (
    INTERNAL_ERROR,
    MAX_ERROR_CHARS,
    UNREADABLE,
    Interpretation,
    interpret_item,
    read_item,
)
from atlas_core.sandbox.documents import outcome_for

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
# Keys the interpretation looks at, so fuzzing reaches its branches rather than random names.
KEYS = st.sampled_from(
    [
        "document_id",
        "file_data",
        "document_type",
        "status",
        "state",
        "error",
        "error_code",
        "error_message",
        "value",
        "confidence_score",
        "name",
        "formatted_address",
        "processing_status",
    ]
)
NEAR_ITEMS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["PROCESSING", "failed", "UNRECOGNISED", "INVALID_DOC", "0.93", "queued"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(KEYS | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=40,
)


# Scores as Atlas might send them: numbers of any scale, sentinels, text, NaN and infinities.
SCORES = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.floats().map(str) | st.sampled_from([-1, 0, 1, 93, "0.93", " 0.5 ", "1e400", "NaN"])
)
# Fields shaped as the contract says (value and confidence_score), nested a few levels, so the
# fuzzing reaches the confidence walk on nearly every example rather than by luck.
FIELDS = st.recursive(
    st.fixed_dictionaries({}, optional={"value": NEAR_ITEMS, "confidence_score": SCORES}),
    lambda children: st.builds(
        lambda field, nested: {**nested, **field},
        st.fixed_dictionaries({}, optional={"value": NEAR_ITEMS, "confidence_score": SCORES}),
        st.dictionaries(KEYS | st.text(max_size=6), children, max_size=3),
    ),
    max_leaves=12,
)
FILE_DATA = st.dictionaries(KEYS | st.text(max_size=6), FIELDS | NEAR_ITEMS, max_size=6)


def _scores(file_data):
    """Every numeric confidence_score in a sample, found independently of the code under test."""
    found = []
    for value in file_data.values():
        if isinstance(value, dict) and isinstance(value.get("confidence_score"), int | float):
            found.append(value["confidence_score"])
    return found


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_a_documented_result_is_extracted_with_its_lowest_confidence(doc_type):
    data = sample(doc_type)
    result = interpret_item({"document_id": "D1", "file_data": data})
    assert result == Interpretation(
        document_id="D1",
        state="extracted",
        document_type=doc_type,
        error=None,
        file_data=data,
        min_confidence=min(_scores(data)),
    )


def test_min_confidence_of_pan_sample_is_the_father_name():
    assert interpret_item({"document_id": "1", "file_data": sample("PAN")}).min_confidence == 0.71


@pytest.mark.parametrize(
    "item",
    [
        {"document_id": "1", "status": "PROCESSING"},
        {"document_id": "1", "status": "processing", "file_data": {}},
        {"document_id": "1", "State": "In Progress", "file_data": None},
        {"document_id": "1", "processing_status": "queued"},
        {"document_id": "1", "file_data": {"status": "Pending"}},
        {"document_id": "1", "file_data": {"document_type": "PAN", "processing_status": "QUEUED"}},
        # partial fields while processing: the marker wins over the fields seen so far
        {"document_id": "1", "status": "processing", "file_data": {"name": {"value": "A"}}},
    ],
    ids=[
        "item-status",
        "status-empty",
        "state-any-case",
        "processing_status",
        "inside-file_data",
        "type-and-marker",
        "partial-fields",
    ],
)
def test_a_processing_marker_means_pending(item):
    result = interpret_item(item)
    assert result.state == "pending"
    assert result.error is None
    assert result.document_id == "1"


@pytest.mark.parametrize(
    ("item", "in_error"),
    [
        ({"document_id": "1", "error_code": "UNRECOGNISED"}, "UNRECOGNISED"),
        (
            {"document_id": "1", "error_code": "INVALID_DOC", "error_message": "download failed"},
            "download failed",
        ),
        ({"document_id": "1", "error": "Image too blurry"}, "Image too blurry"),
        (
            {"document_id": "1", "file_data": {"error_code": "E42", "error_message": "bad scan"}},
            "E42",
        ),
        (
            {"document_id": "1", "file_data": {"error": {"message": "nested reason"}}},
            "nested reason",
        ),
        ({"document_id": "1", "file_data": {"document_type": "UNRECOGNISED"}}, "UNRECOGNISED"),
        ({"document_id": "1", "file_data": {"document_type": "invalid_doc"}}, "INVALID_DOC"),
        ({"document_id": "1", "status": "FAILED"}, "failed"),
        ({"document_id": "1", "errors": ["first", "second"]}, "first; second"),
    ],
    ids=[
        "code-only",
        "code-and-message",
        "error",
        "in-file_data",
        "error-object",
        "type-unrecognised",
        "type-invalid-any-case",
        "status-failed",
        "errors-list",
    ],
)
def test_an_error_marker_means_failed_with_a_plain_reason(item, in_error):
    result = interpret_item(item)
    assert result.state == "failed"
    assert in_error in result.error
    assert result.inferred is False
    assert "{" not in result.error  # plain text, not a dumped object


def test_error_code_and_message_both_reach_the_reason():
    result = interpret_item(
        {"document_id": "1", "error_code": "INVALID_DOC", "error_message": "no file"}
    )
    assert result.error == "no file (code INVALID_DOC)"


@pytest.mark.parametrize(
    "item",
    [
        {"document_id": "1"},
        {"document_id": "1", "file_data": None},
        {"document_id": "1", "file_data": {}},
        {"document_id": "1", "file_data": {"document_type": "PAN"}},
        {
            "document_id": "1",
            "file_data": {"document_type": "PAN", "name_as_per_pan": {"value": None}},
        },
        {
            "document_id": "1",
            "file_data": {"document_type": "PAN", "dob": {"value": "  ", "confidence_score": 0.2}},
        },
        {"document_id": "1", "file_data": ["not", "an", "object"]},
    ],
    ids=["no-file_data", "null", "empty", "type-only", "null-values", "blank-values", "list"],
)
def test_nothing_extracted_without_a_marker_is_failed_and_marked_inferred(item):
    result = interpret_item(item)
    assert result.state == "failed"
    assert "no data" in result.error or "no fields" in result.error
    assert result.inferred is True


def test_a_done_marker_with_nothing_extracted_is_failed_but_not_inferred():
    result = interpret_item(
        {"document_id": "1", "status": "COMPLETED", "file_data": {"document_type": "PAN"}}
    )
    assert (result.state, result.inferred) == ("failed", False)


def test_an_error_marker_keeps_the_partial_file_data():
    data = {"document_type": "PAN", "pan_number": {"value": "ABCDE1234F", "confidence_score": 0.4}}
    result = interpret_item({"document_id": "1", "error": "low quality", "file_data": data})
    assert result.state == "failed"
    assert result.file_data == data
    assert result.min_confidence == 0.4


@pytest.mark.parametrize(
    "file_data",
    [
        {
            "document_type": "DRIVING_LICENSE",
            "state": {"value": "Maharashtra", "confidence_score": 0.75},
        },
        {"document_type": "X", "status": {"value": "processing", "confidence_score": 0.9}},
        {"document_type": "X", "error": {"value": "none found", "confidence_score": 0.9}},
        {"document_type": "X", "state": "Maharashtra"},
    ],
    ids=["dl-state-field", "field-called-status", "field-called-error", "plain-address-state"],
)
def test_fields_named_like_markers_are_fields(file_data):
    result = interpret_item({"document_id": "1", "file_data": file_data})
    assert result.state == "extracted"
    assert result.error is None


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_hostile_values_still_extract(name):
    data = sample("VOTER_ID")
    data["name"]["value"] = HOSTILE_VALUES[name]
    result = interpret_item({"document_id": "1", "file_data": data})
    # a null name leaves three other fields, so every document here still has content
    assert result.state == "extracted"
    assert result.document_type == "VOTER_ID"


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([0.9, "0.35"], 0.35),  # text that holds a number counts
        ([0.9, None], 0.9),
        ([0.9, "high"], 0.9),
        ([0.9, float("nan")], 0.9),
        ([0.9, float("inf")], 0.9),
        ([0.9, True], 0.9),  # a boolean is not a score
        ([0.9, 1.7], 0.9),  # clamped to 1.0, so 0.9 stays lowest
        ([0.9, -1], 0.0),  # a sentinel below range reads as "no confidence at all"
        ([None, "n/a"], None),
        ([10**400, 0.5], 0.5),  # an int too big for a float is ignored, not a crash
    ],
)
def test_min_confidence_takes_only_finite_numbers(scores, expected):
    data = {"document_type": "VOTER_ID"}
    for i, score in enumerate(scores):
        data[f"f{i}"] = {"value": "x", "confidence_score": score}
    assert interpret_item({"document_id": "1", "file_data": data}).min_confidence == expected


def test_min_confidence_counts_address_parts_and_skips_missing_scores():
    data = sample("AADHAAR")
    data["formatted_address"]["city"] = {"value": "Mumbai", "confidence_score": 0.12}
    del data["name"]["confidence_score"]
    assert interpret_item({"document_id": "1", "file_data": data}).min_confidence == 0.12


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A-1", "A-1"),
        (17, "17"),
        (None, None),
        (True, None),
        (["x"], None),
        (" spaced ", " spaced "),
    ],
)
def test_document_id_is_text_or_none(raw, expected):
    assert interpret_item({"document_id": raw, "file_data": sample("PAN")}).document_id == expected


def test_file_data_sent_as_json_text_is_decoded():
    result = interpret_item(
        {"document_id": "1", "file_data": '{"document_type": "PAN", "dob": {"value": "1"}}'}
    )
    assert (result.state, result.document_type, result.file_data["dob"]) == (
        "extracted",
        "PAN",
        {"value": "1"},
    )


def test_unknown_document_type_with_fields_is_extracted():
    data = {
        "document_type": "UDYAM_CERT",
        "udyam_number": {"value": "UDYAM-MH-01-0000001", "confidence_score": 0.97},
    }
    result = interpret_item({"document_id": "1", "file_data": data})
    assert (result.state, result.document_type, result.min_confidence) == (
        "extracted",
        "UDYAM_CERT",
        0.97,
    )


@pytest.mark.parametrize("empty", [None, "", "0", 0, False, [], {}, "null", "none"])
def test_empty_error_markers_are_not_errors(empty):
    result = interpret_item(
        {"document_id": "1", "error": empty, "error_code": empty, "file_data": sample("PAN")}
    )
    assert result.state == "extracted"


def test_a_huge_error_is_clipped():
    result = interpret_item({"document_id": "1", "error": "x" * 1_000_000})
    assert result.state == "failed"
    assert len(result.error) == MAX_ERROR_CHARS


@pytest.mark.parametrize("item", [None, [], "text", 3, 2.5, True])
def test_a_non_object_item_is_failed_without_raising(item):
    result = interpret_item(item)
    assert (result.document_id, result.state) == (None, "failed")


@pytest.mark.parametrize("seed", range(12))
def test_every_sandbox_extracted_outcome_reads_as_extracted(seed):
    """The sandbox's results, hostile ones included, are read as extracted with their type."""
    outcome = outcome_for(
        f"doc-{seed}", f"https://bucket.example/{seed}.jpg", hostile_rate=1.0 if seed % 2 else 0.0
    )
    result = interpret_item({"document_id": f"doc-{seed}", "file_data": outcome.file_data})
    assert result.state == "extracted"
    assert result.document_type == outcome.file_data["document_type"]


class _ExplodingItem(dict):
    """A mapping that fails when walked, standing in for a bug no JSON input can reach."""

    def items(self):
        raise RuntimeError("boom")


def test_an_unexpected_failure_inside_is_an_internal_error_not_atlas_data(caplog):
    result = interpret_item(_ExplodingItem(document_id="D9", file_data={}))
    assert (result.document_id, result.state) == ("D9", "failed")
    assert result.error == INTERNAL_ERROR and "Atlas sent" not in result.error
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.exc_info and record.exc_info[0] is RuntimeError  # logged with its traceback


def _nested(depth: int) -> list:
    value: list = ["the file could not be downloaded"]
    for _ in range(depth):
        value = [value]
    return value


def test_a_result_nested_too_deep_to_walk_is_unreadable_atlas_data(caplog):
    # An error list nested thousands deep (the client refuses such pages; this is the net).
    result = interpret_item({"document_id": "D8", "error": _nested(5_000)})
    assert (result.document_id, result.state, result.error) == ("D8", "failed", UNREADABLE)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def _check(result: Interpretation) -> None:
    assert result.state in {"extracted", "failed", "pending"}
    assert result.document_id is None or isinstance(result.document_id, str)
    assert result.document_type is None or isinstance(result.document_type, str)
    assert result.file_data is None or isinstance(result.file_data, dict)
    if result.state == "failed":
        assert isinstance(result.error, str) and 0 < len(result.error) <= MAX_ERROR_CHARS
    else:
        assert result.error is None
    if result.min_confidence is not None:
        assert 0.0 <= result.min_confidence <= 1.0 and not math.isnan(result.min_confidence)


# The inner function is fuzzed: interpret_item's safety net would hide any bug found here.


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_json_item_is_read_without_raising(item):
    _check(read_item(item))


@settings(max_examples=200, deadline=None)
@given(NEAR_ITEMS, NEAR_ITEMS)
def test_any_item_shaped_json_is_read_without_raising(item, file_data):
    if isinstance(item, dict):
        item = {**item, "file_data": file_data}
    _check(read_item(item))


@settings(max_examples=200, deadline=None)
@given(FILE_DATA)
def test_any_field_shaped_file_data_is_read_without_raising(file_data):
    _check(read_item({"document_id": "D1", "file_data": file_data}))


@settings(max_examples=100, deadline=None)
@given(NEAR_ITEMS)
def test_json_never_reaches_the_safety_net(file_data):
    result = interpret_item({"document_id": "D1", "file_data": file_data})
    assert result.error not in (INTERNAL_ERROR, UNREADABLE)


def test_file_data_sent_as_json_text_is_read_as_bounded_as_a_page():
    deep = '{"a":' * 100 + '{"value": "x", "confidence_score": 0.5}' + "}" * 100
    result = interpret_item({"document_id": "D1", "file_data": deep})
    assert (result.state, result.file_data) == ("failed", None)
