"""client/answers.py: reading a 2xx body bounded in size and depth, each refusal a plain reason."""

from __future__ import annotations

import json

import pytest

from atlas_core.client.answers import MAX_ANSWER_DEPTH, UnreadableAnswer, exceeds_depth, read_json
from atlas_core.errors import error_for_response, parse_error_body


def nested(depth: int) -> bytes:
    """A JSON array nested ``depth`` levels deep."""
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [MAX_ANSWER_DEPTH + 1, 999, 100_000, 5_000_000])
def test_json_nested_too_deep_is_refused_plainly(depth):
    with pytest.raises(UnreadableAnswer) as caught:
        read_json(nested(depth))
    assert caught.value.kind == "too_deep" and "nested more than 64 levels" in caught.value.reason


def test_json_as_deep_as_allowed_is_read():
    assert read_json(nested(MAX_ANSWER_DEPTH)) is not None
    assert read_json(b'{"a": [{"b": {"c": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}}]}')


@pytest.mark.parametrize("body", [b"", b"<html>", b'{"data": [', b"\xff\xfe\x00garbage", b"NaN x"])
def test_anything_but_json_is_refused_plainly(body):
    with pytest.raises(UnreadableAnswer) as caught:
        read_json(body)
    assert caught.value.kind == "not_json"


def test_a_body_over_the_limit_is_refused_before_parsing():
    with pytest.raises(UnreadableAnswer) as caught:
        read_json(b"[" + b" " * 2_000 + b"]", max_bytes=1_000)
    assert caught.value.kind == "too_large" and "more than the" in caught.value.reason


def test_a_byte_order_mark_is_accepted_as_requests_did():
    assert read_json(b"\xef\xbb\xbf" + json.dumps({"a": 1}).encode()) == {"a": 1}


def test_depth_counts_dicts_and_lists_alike():
    value: object = "leaf"
    for level in range(10):
        value = {"k": value} if level % 2 else [value]
    assert not exceeds_depth(value, 10) and exceeds_depth(value, 9)


def test_an_error_body_nested_too_deep_is_kept_as_text_not_raised():
    text = nested(100_000).decode()
    assert parse_error_body(text) == (None, None)
    error = error_for_response(400, text)
    assert error.status == 400 and error.message.startswith("Atlas answered 400: [[[[")
