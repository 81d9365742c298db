"""Atlas's JSON as the ledger stores it: standard JSON only, and read back without raising.

Python writes ``NaN`` and ``Infinity`` into JSON by default, which is not JSON: SQLite's JSON
functions refuse such a document, and one of them in a query fails the whole query. So a
non-finite number is stored as the text Atlas sent, ``"NaN"``, ``"Infinity"`` or
``"-Infinity"``: the document stays standard JSON, a person still sees what Atlas sent, and it
counts as no number anywhere a number is looked for (a confidence chart takes only real numbers).
Rows written by older versions may still hold such numbers, or text that is no JSON at all;
reading them never raises (see ``load_stored``), and the queries that use SQLite's JSON
functions skip a document that ``json_valid`` refuses.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import orjson  # reads stored results about twice as fast as json: exports read every one

log = logging.getLogger(__name__)

# orjson reads an integer past 64 bits as a float (json keeps every digit): text holding a run
# of 19 or more ASCII digits goes to json. The run is found by turning every digit into "0" in
# the UTF-8 bytes (a table lookup per byte, about 4x cheaper than a regex scan, which cost 6% of
# a wide export) and looking for 19 zeros; a digit is one byte in UTF-8 and no byte of a
# multi-byte character is a digit, so the two agree.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19

_NON_FINITE = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}


def dump_standard(value: Any) -> str:
    """``value`` as standard JSON text; NaN and ±Infinity become the strings Atlas sent."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        pass  # a non-finite number somewhere: rare, so only then is the tree copied
    log.warning("Atlas sent NaN or Infinity in a result; stored as text to keep the JSON standard")
    return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(child) for child in value]
    return value


def _has_long_digit_run(text: str) -> bool:
    # surrogatepass: a lone surrogate (old rows) encodes to non-digit bytes instead of raising
    return _LONG_RUN in text.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)


def load_stored(text: str | bytes | None) -> Any:
    """Stored JSON text parsed (non-finite numbers as text, as stored now); None if unreadable."""
    if not text:
        return None
    if type(text) is str and not _has_long_digit_run(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # NaN or Infinity from old rows, lone surrogates, too deep: json decides below
    try:
        return json.loads(text, parse_constant=_NON_FINITE.__getitem__)
    except (ValueError, RecursionError):
        # Written by an older version, or damaged: one bad row must not break a page or export.
        log.warning("a stored result is not readable JSON; shown without its fields")
        return None
