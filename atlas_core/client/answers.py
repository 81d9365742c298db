"""Reading a 2xx body from Atlas as JSON, bounded in size and nesting depth.

``json.loads`` recurses once per level of nesting, so a body of ``[[[[...]]]]`` 100,000 deep
raises RecursionError; and every later step (storing, flattening, showing) walks the same tree.
No documented answer is nested more than a handful of levels, so the depth is bounded right
after parsing, and a body too deep to parse at all is refused the same way: a plain
``UnreadableAnswer`` that the client turns into a ProtocolError.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

MAX_ANSWER_BYTES = 32 * 1024 * 1024  # a full extracts page or a 5,000-receipt upload is ~1 MB
MAX_ANSWER_DEPTH = 64  # an extracts page is 5 levels deep (page, data, item, file_data, field)


class UnreadableAnswer(ValueError):
    """A body that is not JSON, or is too large or too deeply nested to read; ``reason`` says which."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind  # not_json | too_large | too_deep
        self.reason = reason


def read_json(content: bytes, *, max_bytes: int = MAX_ANSWER_BYTES,
              max_depth: int = MAX_ANSWER_DEPTH) -> Any:
    """The JSON value of ``content``, or UnreadableAnswer saying plainly why it cannot be had."""
    if len(content) > max_bytes:
        raise UnreadableAnswer(
            "too_large",
            f"the answer is {len(content) / 1_048_576:.1f} MB, more than the "
            f"{max_bytes / 1_048_576:.0f} MB any documented answer needs"
        )
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8):]  # json.loads refuses a BOM; requests accepted it
    try:
        value = json.loads(content)
    except RecursionError:
        raise UnreadableAnswer("too_deep", too_deep(max_depth)) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise UnreadableAnswer("not_json", f"it is not JSON ({type(exc).__name__})") from None
    if exceeds_depth(value, max_depth):
        raise UnreadableAnswer("too_deep", too_deep(max_depth))
    return value


def head_text(content: bytes, encoding: str | None, limit: int = 2_000) -> str:
    """The start of a body as text, for evidence (decoding all of a 30 MB body takes seconds)."""
    try:
        return content[:limit].decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return content[:limit].decode("utf-8", "replace")


def too_deep(max_depth: int) -> str:
    """The reason given for a body nested too deeply."""
    return f"its JSON is nested more than {max_depth} levels deep, which no documented answer is"


def exceeds_depth(value: Any, max_depth: int) -> bool:
    """True when containers in ``value`` nest more than ``max_depth`` levels (iteratively)."""
    if type(value) is not dict and type(value) is not list:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        for child in node.values() if type(node) is dict else node:
            # json.loads builds plain dicts and lists only, so exact type checks are enough.
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False
