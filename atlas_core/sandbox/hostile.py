"""Hostile answers the sandbox can play instead of a well-formed 2xx body.

Each is chosen by a ``Behaviour`` switch (``hostile_upload_answer``, ``hostile_extracts_answer``,
``nan_in_file_data``). A hostile answer to an upload is played after the upload was accepted and
recorded, as a broken Atlas would: the documents are in a batch, but the receipts cannot be read.
"""

from __future__ import annotations

import json
from typing import Any

# The first is the default: the answer the contract describes.
HOSTILE_ANSWERS = ("none", "deep_json", "not_json", "wrong_shape", "huge")
DEEP_JSON_DEPTH = 100_000  # far beyond any JSON parser's recursion limit
HUGE_ANSWER_BYTES = 40 * 1024 * 1024  # above the client's limit on an answer (32 MiB)


def hostile_body(kind: str, answer: Any) -> bytes:
    """The raw body that plays ``kind`` in place of ``answer`` (the well-formed one)."""
    if kind == "deep_json":
        return b"[" * DEEP_JSON_DEPTH + b"]" * DEEP_JSON_DEPTH
    if kind == "not_json":
        return b"<html><body>OK</body></html>"
    if kind == "wrong_shape":
        # Valid JSON, a plausible shape, but not what the contract documents.
        return json.dumps({"result": "accepted", "count": "many", "data": "see batch"}).encode()
    if kind == "huge":
        # Valid JSON padded with whitespace: too large to read, whatever it holds.
        data = json.dumps(answer).encode()
        return data + b" " * max(HUGE_ANSWER_BYTES - len(data), 0)
    raise ValueError(f"unknown hostile answer {kind!r}")


def with_non_finite_numbers(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items whose extracted fields hold NaN and Infinity (copies: the listing cache is shared)."""
    spoiled = []
    for item in items:
        file_data = item.get("file_data")
        fields = (
            [k for k, v in file_data.items() if isinstance(v, dict) and "value" in v]
            if isinstance(file_data, dict)
            else []
        )
        if not fields or not isinstance(file_data, dict):
            spoiled.append(item)
            continue
        data = dict(file_data)
        data[fields[0]] = {**data[fields[0]], "confidence_score": float("nan")}
        last = fields[-1]
        data[last] = {**data[last], "value": float("inf"), "raw": float("-inf")}
        spoiled.append({**item, "file_data": data})
    return spoiled
