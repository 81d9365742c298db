"""Answers that carry markup or terminal control sequences, as a hostile or careless Atlas might.

With ``markup_in_answers`` every batch id, error message and one value per extracted document
carries Markdown image and link syntax and HTML pointing at ``markup_beacon``: shown as Markdown,
it makes every viewer's browser fetch the beacon. With ``control_chars_in_answers`` they carry an
escape sequence that retitles a terminal, a colour change, a C1 control and a bidi override.

Batch ids are spoiled on the way out and restored on the way in (the spoiling is a fixed suffix),
so the client polls the spoiled id and the store still finds the batch. Replies are copied, never
changed in place: extracts listings are cached and shared between requests.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .api import EXTRACTS_PATHS, MULTIUPLOAD_PATHS, Reply, Request
from .behaviour import Behaviour

# What a terminal would act on: retitle (OSC 0), red text (CSI), a C1 CSI, a right-to-left override.
CONTROL_SEQUENCE = "\x1b]0;atlas-owned\x07\x1b[31m\x9b2J\u202e"
_ERROR_KEYS = ("error", "error_message", "reason", "message")


def markup(beacon: str) -> str:
    """Markdown image, link and HTML that fetch or point at ``beacon`` when rendered."""
    return f' ![b]({beacon}) [open]({beacon}) <img src="{beacon}"> **bold** <b>x</b>'


def suffix(behaviour: Behaviour) -> str:
    """What the switches append to every Atlas-sourced text ("" with both off)."""
    text = ""
    if behaviour.markup_in_answers:
        text += markup(behaviour.markup_beacon)
    if behaviour.control_chars_in_answers:
        text += CONTROL_SEQUENCE
    return text


def restore_request(request: Request, behaviour: Behaviour) -> Request:
    """The request with a spoiled batch_id turned back into the id the store knows."""
    tail = suffix(behaviour)
    ids = request.query.get("batch_id")
    if not tail or not ids or not ids[0].endswith(tail):
        return request
    query = dict(request.query)
    query["batch_id"] = [ids[0][: -len(tail)], *ids[1:]]
    return dataclasses.replace(request, query=query)


def spoil_reply(reply: Reply, request: Request, behaviour: Behaviour) -> Reply:
    """A copy of the reply with the switches' text added to ids, messages and values."""
    tail = suffix(behaviour)
    if not tail or reply.drop or reply.body is None:
        return reply
    body = reply.body
    if isinstance(body, dict) and reply.status >= 400:
        body = _spoil_errors(body, tail)
    elif request.path in MULTIUPLOAD_PATHS and isinstance(body, list):
        body = [
            {**r, "batch_id": r["batch_id"] + tail} if isinstance(r, dict) and "batch_id" in r else r
            for r in body
        ]
    elif request.path in EXTRACTS_PATHS and isinstance(body, dict):
        body = {**body, "data": [_spoil_item(item, tail) for item in body.get("data") or []]}
    return dataclasses.replace(reply, body=body)


def _spoil_errors(body: dict[str, Any], tail: str) -> dict[str, Any]:
    return {k: v + tail if k in _ERROR_KEYS and isinstance(v, str) else v for k, v in body.items()}


def _spoil_item(item: Any, tail: str) -> Any:
    if not isinstance(item, dict):
        return item
    item = _spoil_errors(item, tail)
    data = item.get("file_data")
    if isinstance(data, dict):
        for name, field in data.items():
            if isinstance(field, dict) and isinstance(field.get("value"), str):
                item["file_data"] = {**data, name: {**field, "value": field["value"] + tail}}
                break
    return item
