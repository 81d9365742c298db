"""Text from Atlas or a spreadsheet made safe to print: no control characters a terminal acts on.

A batch id or an error message comes from Atlas, an ID or a sheet name from a spreadsheet; printed
raw, an ``ESC ] 0 ;`` sequence retitles the terminal, ``ESC [`` moves the cursor or recolours, a C1
control does the same in one byte, and a bidi override makes text read backwards. Every
human-readable line the CLI prints goes through ``printable``; ``--json`` output does not need
to, since JSON escapes every control character, and stays exact.
"""

from __future__ import annotations

import re

# ESC sequences first, whole (so their parameters do not survive as text): CSI (ESC [ ... final),
# OSC/DCS/SOS/PM/APC strings (ESC ] ... BEL or ST), then any other two-byte escape.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x90\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b.?",
    re.DOTALL,
)
# C0 (but tab and line feed), DEL, C1, and the bidi embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\x0b\x0c\r\x85\u2028\u2029]+")


def printable(text: object, *, one_line: bool = False) -> str:
    """The text without escape sequences and control characters (tab and newline kept).

    ``one_line`` also turns tabs and line breaks into spaces, for a value inside a sentence.
    """
    cleaned = _ESCAPES.sub("", "" if text is None else str(text))
    if one_line:
        cleaned = _BREAKS.sub(" ", cleaned)
    return _CONTROLS.sub("", cleaned)
