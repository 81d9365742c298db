"""Text from Atlas or a spreadsheet made safe to print: no control characters a terminal acts on.

A batch id or an error message comes from Atlas, an ID or a sheet name from a spreadsheet; printed
raw, an ``ESC ] 0 ;`` sequence retitles the terminal, ``ESC [`` moves the cursor or recolours, a C1
control does the same in one byte, and a bidi override makes text read backwards. Every
human-readable line the CLI prints goes through ``printable``; ``--json`` output does not need
to, since JSON escapes every control character, and stays exact.
"""

from __future__ import annotations

import io
import re
from typing import IO

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


# Raw in JSON text only inside strings (json.dumps escapes C0 but not these): written as \uXXXX
# escapes instead, the same value to any JSON reader, and inert in a terminal.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]")


def json_safe(text: str) -> str:
    """JSON text with C1 controls and bidi marks escaped as \\uXXXX: the same JSON value."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class PrintableStream(io.TextIOBase):
    """A text stream that cleans every write on its way to ``raw`` (``printable`` or ``json_safe``).

    The CLI puts one in front of stdout and stderr, so no command needs to remember to clean what
    it prints; ``raw`` stays reachable for output that must keep its own controls (a progress bar).
    """

    def __init__(self, raw: IO[str], *, as_json: bool = False) -> None:
        self.raw = raw
        self._clean = json_safe if as_json else printable

    def write(self, text: str) -> int:
        """Write the cleaned text; report the caller's length, as print() expects."""
        self.raw.write(self._clean(text))
        return len(text)

    def flush(self) -> None:
        """Flush the stream underneath."""
        self.raw.flush()

    def isatty(self) -> bool:
        """Whether the stream underneath is a terminal."""
        return self.raw.isatty()

    def fileno(self) -> int:
        """The file descriptor underneath."""
        return self.raw.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The encoding of the stream underneath."""
        return getattr(self.raw, "encoding", "utf-8")

    def __getattr__(self, name: str) -> object:
        # Anything else (``buffer`` for bytes, ``reconfigure``...) is the stream underneath's.
        return getattr(self.raw, name)
