"""Stored results read back as json reads them, whichever parser does the work (orjson or json)."""

from __future__ import annotations

import json

import pytest

from atlas_core.ledger.jsontext import load_stored


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 18446744073709551616}',  # past 64 bits: orjson would give a float
        '{"n": -9223372036854775809}',
        '{"n": 123456789012345678901234567890, "m": 0.5}',
        '{"name": {"value": "A", "confidence_score": 0.93}}',
        '{"a": 1, "a": 2}',
        '{"s": "\\ud800"}',  # a lone surrogate, which orjson refuses
        '{"x": 1e400}',  # past a float: json reads infinity
        '{"v": "0012345678901234567890123"}',  # a long run of digits in text
        '{"v": "नाम", "n": 98765432109876543210}',  # a long number after non-ASCII text
        '{"v": "\u0966\u0967\u0968", "n": 1.5}',  # Devanagari digits are not ASCII digits
        '{"s": "\ud83d", "n": 18446744073709551617}',  # a raw lone surrogate, a long number
    ],
)
def test_stored_json_reads_as_json_reads_it(text):
    got, want = load_stored(text), json.loads(text)
    assert got == want
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_older_rows_keep_their_non_finite_numbers_as_text_and_junk_reads_as_none():
    assert load_stored('{"c": NaN, "d": [Infinity, -Infinity]}') == {
        "c": "NaN", "d": ["Infinity", "-Infinity"]
    }
    assert load_stored("not json") is None
    assert load_stored("[" * 100_000) is None
    assert load_stored("") is None and load_stored(None) is None
