"""The sandbox plays answers carrying markup or terminal control sequences, switched over HTTP."""

from __future__ import annotations

import pytest
import requests
from sandbox_http import TIMEOUT, all_items, submit, token, upload

from atlas_core.sandbox import SandboxServer
from atlas_core.sandbox.spoiling import CONTROL_SEQUENCE, markup

BEACON = "http://127.0.0.1:9/beacon.png"


@pytest.fixture
def server():
    """A sandbox with quick results and a few failures, switched over its HTTP control."""
    with SandboxServer() as sandbox:
        yield sandbox


def switch(server: SandboxServer, **switches: object) -> None:
    reply = requests.post(f"{server.url}/_sandbox/behaviour", json=switches, timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(
    "switches, tail",
    [
        ({"markup_in_answers": True, "markup_beacon": BEACON}, markup(BEACON)),
        ({"control_chars_in_answers": True}, CONTROL_SEQUENCE),
    ],
)
def test_ids_messages_and_values_carry_the_hostile_text(server, switches, tail):
    switch(server, processing_seconds=0.0, fail_rate=0.5, **switches)
    tok, batch_id = submit(server, 12)
    assert batch_id.endswith(tail) and batch_id != tail  # a real id, spoiled
    found = all_items(server, tok, batch_id)  # the spoiled id is the one to poll with
    assert len(found) == 12
    failed = [i for i in found if "error_message" in i]
    extracted = [i for i in found if i.get("file_data")]
    assert failed and extracted
    assert all(i["error_message"].endswith(tail) for i in failed)
    for item in extracted:
        values = [f.get("value") for f in item["file_data"].values() if isinstance(f, dict)]
        assert sum(isinstance(v, str) and v.endswith(tail) for v in values) == 1
    refused = upload(server, tok, [])
    assert refused.status_code == 400 and refused.json()["error"].endswith(tail)


def test_a_500_fault_answers_with_an_error_body(server):
    switch(server, markup_in_answers=True, markup_beacon=BEACON)
    tok = token(server)
    reply = requests.post(
        f"{server.url}/_sandbox/inject", json={"faults": ["500"], "path": "multiupload"},
        timeout=TIMEOUT,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    answer = upload(server, tok, [{"file_url": "https://x.example/1.jpg", "document_id": "1"}])
    assert answer.status_code == 500
    assert answer.json()["error"] == "Internal server error." + markup(BEACON)


def test_switches_are_off_by_default(server):
    tok, batch_id = submit(server, 3)
    assert "<" not in batch_id and "\x1b" not in batch_id
