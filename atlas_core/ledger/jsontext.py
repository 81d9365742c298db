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
import re
from typing import Any

import orjson  # reads stored results about twice as fast as json: exports read every one

log = logging.getLogger(__name__)

# orjson reads an integer past 64 bits as a float (json keeps every digit): text holding a run
# of 19 or more digits goes to json. (A lookahead finds it faster than ``\d{19}`` does.)
_LONG_DIGITS = re.compile(r"[0-9](?=[0-9]{18})")

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


def load_stored(text: str | bytes | None) -> Any:
    """Stored JSON text parsed (non-finite numbers as text, as stored now); None if unreadable."""
    if not text:
        return None
    if type(text) is str and not _LONG_DIGITS.search(text):
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
