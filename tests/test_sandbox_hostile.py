"""The sandbox plays each hostile answer, switched over HTTP control, and still records uploads."""

from __future__ import annotations

import math

import pytest
import requests
from sandbox_http import CREDENTIALS, TIMEOUT, extracts, items, submit, token, upload

from atlas_core.sandbox.hostile import DEEP_JSON_DEPTH, HUGE_ANSWER_BYTES


def control(server, **switches) -> requests.Response:
    """Change behaviour switches the way another process would: over HTTP."""
    return requests.post(f"{server.url}/_sandbox/behaviour", json=switches, timeout=TIMEOUT)


def test_a_deep_answer_to_an_upload_is_played_after_the_upload_is_recorded(sandbox):
    assert control(sandbox, hostile_upload_answer="deep_json").status_code == 200
    reply = upload(sandbox, token(sandbox), items(2))
    assert reply.status_code == 201
    assert reply.content == b"[" * DEEP_JSON_DEPTH + b"]" * DEEP_JSON_DEPTH
    assert sandbox.accept_counts() == {"doc-0": 1, "doc-1": 1}  # exactly-once stays checkable


@pytest.mark.parametrize("answer", ["not_json", "wrong_shape", "huge"])
def test_each_hostile_extracts_answer_is_played(sandbox, answer):
    tok, batch_id = submit(sandbox, 1)
    control(sandbox, hostile_extracts_answer=answer)
    reply = extracts(sandbox, tok, batch_id=batch_id)
    assert reply.status_code == 200
    if answer == "not_json":
        with pytest.raises(ValueError):
            reply.json()
    elif answer == "wrong_shape":
        assert not isinstance(reply.json().get("data"), list)
    else:
        assert len(reply.content) >= HUGE_ANSWER_BYTES and reply.json()["data"] is not None


def test_a_hostile_token_answer_is_played(sandbox):
    control(sandbox, hostile_token_answer="not_json")
    reply = requests.post(f"{sandbox.url}/v1/bulk/authtoken", headers=CREDENTIALS, timeout=TIMEOUT)
    assert (reply.status_code, reply.content) == (201, b"<html><body>OK</body></html>")


def test_nan_in_file_data_sends_non_standard_numbers(sandbox):
    tok, batch_id = submit(sandbox, 2)
    sandbox.advance(60)
    control(sandbox, nan_in_file_data=True)
    text = extracts(sandbox, tok, batch_id=batch_id).text
    assert "NaN" in text and "Infinity" in text
    data = extracts(sandbox, tok, batch_id=batch_id).json()["data"]
    scores = [f["confidence_score"] for d in data for f in d["file_data"].values()
              if isinstance(f, dict) and "confidence_score" in f]
    assert any(isinstance(s, float) and math.isnan(s) for s in scores)
    control(sandbox, nan_in_file_data=False)
    assert "NaN" not in extracts(sandbox, tok, batch_id=batch_id).text


@pytest.mark.parametrize("switches", [
    {"hostile_upload_answer": "evil"}, {"hostile_extracts_answer": 3},
    {"hostile_token_answer": "deep"}, {"nan_in_file_data": "yes"},
])
def test_bad_switch_values_are_refused(sandbox, switches):
    reply = control(sandbox, **switches)
    assert reply.status_code == 400 and next(iter(switches)) in reply.json()["error"]
