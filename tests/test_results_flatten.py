"""flatten_file_data and long_rows: the wide and long layouts of one document's file_data."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_results_samples import DOCUMENT_TYPES, HOSTILE_VALUES, SAMPLES, document_row, sample

from atlas_core.results.flatten import (
    FIXED_COLUMNS,
    LONG_COLUMNS,
    MAX_DEPTH,
    field_triples,
    flatten_file_data,
    long_rows,
)

ADDRESS_COLUMNS = [
    "formatted_address.address_line_1",
    "formatted_address.address_line_2",
    "formatted_address.city",
    "formatted_address.state",
    "formatted_address.postcode",
]
# The wide field columns of each documented type, written out from the layout rules.
EXPECTED_COLUMNS = {
    "AADHAAR": [
        "name", "name_confidence", "address", "address_confidence", *ADDRESS_COLUMNS,
        "aadhaar_number", "aadhaar_number_confidence", "aadhaar_number_redact_url",
        "date_of_birth", "date_of_birth_confidence",
    ],
    "PAN": [
        "name_as_per_pan", "name_as_per_pan_confidence", "father_name", "father_name_confidence",
        "dob", "dob_confidence", "pan_number", "pan_number_confidence",
        "document_quality_flag", "document_quality_flag_confidence",
    ],
    "DRIVING_LICENSE": [
        "dl_number", "dl_number_confidence", "name", "name_confidence", "date_of_birth",
        "date_of_birth_confidence", "issue_date", "issue_date_confidence", "valid_till",
        "valid_till_confidence", "state", "state_confidence",
    ],
    "VOTER_ID": [
        "voter_id", "voter_id_confidence", "name", "name_confidence", "date_of_birth",
        "date_of_birth_confidence", "gender", "gender_confidence",
    ],
    "PASSPORT": [
        "passport_number", "passport_number_confidence", "name", "name_confidence",
        "date_of_birth", "date_of_birth_confidence", "place_of_birth", "place_of_birth_confidence",
        "gender", "gender_confidence", "date_of_issue", "date_of_issue_confidence",
        "date_of_expiry", "date_of_expiry_confidence",
        "place_of_issue", "place_of_issue_confidence",
    ],
    "GST_CERT": [
        "gst_number", "gst_number_confidence", "legal_name", "legal_name_confidence",
        "address", "address_confidence", *ADDRESS_COLUMNS,
        "date_of_issue", "date_of_issue_confidence",
        "constitution_of_business", "constitution_of_business_confidence",
    ],
}  # fmt: skip

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)
FIELDISH = st.dictionaries(
    st.sampled_from(["value", "confidence_score", "redact_url", "city", "status", "_confidence"])
    | st.text(max_size=5),
    JSON,
    max_size=4,
)


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_wide_columns_of_every_documented_type(doc_type):
    assert list(flatten_file_data(sample(doc_type))) == EXPECTED_COLUMNS[doc_type]


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_every_value_and_confidence_lands_in_its_column(doc_type):
    data = sample(doc_type)
    flat = flatten_file_data(data)
    for name, field in data.items():
        if name == "document_type":
            continue
        if "value" in field:
            assert flat[name] == field["value"]
            assert flat[f"{name}_confidence"] == field["confidence_score"]
        else:
            for part, value in field.items():
                assert flat[f"{name}.{part}"] == value


def test_document_type_is_not_a_field_column():
    assert "document_type" not in flatten_file_data(sample("PAN"))


def test_extra_keys_become_field_underscore_key():
    flat = flatten_file_data(sample("AADHAAR"))
    assert flat["aadhaar_number_redact_url"] == "https://atlas.example/r/9012.jpg"


@pytest.mark.parametrize("name", ["document_id", "batch_id", "file_url", "status", "error"])
def test_a_field_named_like_a_fixed_column_is_prefixed(name):
    data = {"document_type": "X", name: {"value": "v", "confidence_score": 0.5, "note": "n"}}
    flat = flatten_file_data(data)
    assert flat == {
        f"field_{name}": "v",
        f"field_{name}_confidence": 0.5,
        f"field_{name}_note": "n",
    }
    assert not set(flat) & set(FIXED_COLUMNS)


def test_driving_licence_state_does_not_clash_with_status():
    flat = flatten_file_data(sample("DRIVING_LICENSE"))
    assert flat["state"] == "Maharashtra"
    assert not any(column.startswith("field_") for column in flat)


def test_a_generated_name_clash_gets_a_numbered_suffix():
    data = {"name": {"value": "A", "confidence_score": 0.9}, "name_confidence": {"value": "B"}}
    flat = flatten_file_data(data)
    assert flat["name"] == "A" and flat["name_confidence"] == 0.9
    assert flat["name_confidence_2"] == "B"


def test_objects_without_value_nest_with_dots():
    data = {"owner": {"address": {"geo": {"lat": 18.9, "lng": 72.8}}, "kind": "x"}}
    assert flatten_file_data(data) == {
        "owner.address.geo.lat": 18.9,
        "owner.address.geo.lng": 72.8,
        "owner.kind": "x",
    }


def test_a_part_that_is_a_field_object_keeps_its_confidence():
    data = {"formatted_address": {"city": {"value": "Pune", "confidence_score": 0.4}}}
    assert flatten_file_data(data) == {
        "formatted_address.city": "Pune",
        "formatted_address.city_confidence": 0.4,
    }


def test_an_object_with_a_confidence_but_no_value_keeps_both():
    data = {"formatted_address": {"city": "Pune", "confidence_score": "0.61"}}
    assert flatten_file_data(data) == {
        "formatted_address_confidence": 0.61,
        "formatted_address.city": "Pune",
    }


def test_objects_past_the_depth_limit_become_json_text():
    deep = current = {}
    for level in range(MAX_DEPTH + 3):
        current[f"k{level}"] = {}
        current = current[f"k{level}"]
    flat = flatten_file_data({"deep": deep})
    assert len(flat) == 1
    (column, value) = next(iter(flat.items()))
    assert column == "deep." + ".".join(f"k{level}" for level in range(MAX_DEPTH))
    rest = {}
    for level in reversed(range(MAX_DEPTH, MAX_DEPTH + 3)):
        rest = {f"k{level}": rest}
    assert isinstance(value, str) and json.loads(value) == rest


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        (["one", 2, None], '["one",2,null]'),
        ({"b": 1, "a": "अ"}, '{"a":"अ","b":1}'),  # keys sorted, Devanagari kept readable
        (True, "true"),
        (None, None),
        (-5.5, -5.5),
        (12, 12),
        ("-5", "-5"),  # text stays text here; neutralising is the export's job
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_values_become_stable_cells(raw, cell):
    assert flatten_file_data({"f": {"value": raw}})["f"] == cell


@pytest.mark.parametrize(
    ("raw", "cell"),
    [("0.93", 0.93), (" 0.5 ", 0.5), ("high", "high"), (None, None), ("nan", "nan")],
)
def test_confidence_text_holding_a_number_becomes_a_number(raw, cell):
    assert flatten_file_data({"f": {"value": "x", "confidence_score": raw}})["f_confidence"] == cell


def test_a_field_without_an_object_still_gets_a_confidence_column():
    assert flatten_file_data({"nic_codes": ["10712", "10799"]}) == {
        "nic_codes": '["10712","10799"]',
        "nic_codes_confidence": None,
    }


def test_key_order_does_not_change_the_columns():
    data = sample("GST_CERT")
    shuffled = dict(reversed(list(data.items())))
    shuffled["formatted_address"] = dict(reversed(list(data["formatted_address"].items())))
    assert list(flatten_file_data(shuffled).items()) == list(flatten_file_data(data).items())


def test_unknown_fields_follow_documented_ones_alphabetically():
    data = sample("PAN")
    data.update({"zeta": {"value": 1}, "alpha": {"value": 2}})
    columns = list(flatten_file_data(data))
    assert columns[-4:] == ["alpha", "alpha_confidence", "zeta", "zeta_confidence"]
    assert columns[: len(EXPECTED_COLUMNS["PAN"])] == EXPECTED_COLUMNS["PAN"]


@pytest.mark.parametrize("file_data", [None, {}, {"document_type": "PAN"}])
def test_nothing_to_flatten_gives_no_columns(file_data):
    assert flatten_file_data(file_data) == {}


def test_json_text_file_data_is_decoded_and_other_shapes_are_kept_as_text():
    assert flatten_file_data(json.dumps(sample("VOTER_ID"))) == flatten_file_data(
        sample("VOTER_ID")
    )
    assert flatten_file_data([1, 2]) == {"file_data": "[1,2]"}
    assert flatten_file_data("not json") == {"file_data": "not json"}


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_hostile_values_keep_the_layout(name):
    data = sample("PASSPORT")
    data["name"]["value"] = HOSTILE_VALUES[name]
    flat = flatten_file_data(data)
    assert list(flat) == EXPECTED_COLUMNS["PASSPORT"]
    assert flat["name"] is None or isinstance(flat["name"], str | int | float)


def test_long_rows_have_one_row_per_field_part_and_extra():
    rows = long_rows(document_row(sample("AADHAAR")))
    assert all(list(row) == list(LONG_COLUMNS) for row in rows)
    assert [row["field"] for row in rows] == [
        "name",
        "address",
        *ADDRESS_COLUMNS,
        "aadhaar_number",
        "aadhaar_number_redact_url",
        "date_of_birth",
    ]
    by_field = {row["field"]: row for row in rows}
    assert (by_field["name"]["value"], by_field["name"]["confidence"]) == ("राहुल शर्मा", 0.91)
    assert by_field["aadhaar_number_redact_url"]["confidence"] is None
    assert {row["document_id"] for row in rows} == {"DOC-1"}
    assert {row["status"] for row in rows} == {"extracted"}
    assert {row["document_type"] for row in rows} == {"AADHAAR"}


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_long_rows_count_matches_the_wide_value_columns(doc_type):
    data = sample(doc_type)
    wide = [c for c in flatten_file_data(data) if not c.endswith("_confidence")]
    assert len(long_rows(document_row(data))) == len(wide)


def test_long_rows_keep_raw_field_names_that_wide_would_prefix():
    rows = long_rows(document_row({"status": {"value": "=1+1", "confidence_score": 0.3}}))
    assert [(r["field"], r["value"], r["confidence"]) for r in rows] == [("status", "=1+1", 0.3)]


def test_a_failed_document_gives_one_long_row_with_its_error():
    row = document_row(None, state="failed", error="UNRECOGNISED", document_type=None)
    assert long_rows(row) == [
        {
            "document_id": "DOC-1",
            "batch_id": "BATCH-30732-SIYKJ-20251121113228",
            "status": "failed",
            "document_type": None,
            "error": "UNRECOGNISED",
            "field": None,
            "atlas_value": None,
            "value": None,
            "confidence": None,
        }
    ]


def test_field_triples_are_text_values_and_numeric_confidences():
    data = sample("AADHAAR")
    data["date_of_birth"] = {"value": 1990, "confidence_score": "0.5"}
    triples = {name: (value, confidence) for name, value, confidence in field_triples(data)}
    assert triples["date_of_birth"] == ("1990", 0.5)
    assert triples["formatted_address.city"] == ("Mumbai", None)
    assert triples["aadhaar_number"] == ("**** **** 9012", 0.98)
    assert len(triples) == len(field_triples(data))


def _assert_cells(cells):
    for key, value in cells.items():
        assert isinstance(key, str)
        assert value is None or type(value) in (str, int, float)
        if isinstance(value, float):
            assert math.isfinite(value)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_flattens_to_text_keys_and_simple_cells(file_data):
    flat = flatten_file_data(file_data)
    _assert_cells(flat)
    assert not set(flat) & set(FIXED_COLUMNS)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*SAMPLES["PASSPORT"], *FIXED_COLUMNS]) | st.text(max_size=8),
        FIELDISH | JSON,
        max_size=6,
    )
)
def test_any_field_shapes_flatten_and_long_rows_agree(file_data):
    flat = flatten_file_data(file_data)
    _assert_cells(flat)
    assert not set(flat) & set(FIXED_COLUMNS)
    assert flatten_file_data(dict(reversed(list(file_data.items())))) == flat
    for row in long_rows(document_row(file_data)):
        assert list(row) == list(LONG_COLUMNS)
        _assert_cells(row)
