"""Text from Atlas or a spreadsheet on a page: shown as the characters it is, never as markup.

st.markdown, st.caption, st.error and friends (and a progress bar's text) render Markdown: an
Atlas answer holding ``![b](http://host/beacon.png)`` would make every viewer's browser fetch
that image, and a link would look like ours. Every value that comes from Atlas or a spreadsheet
(ids, file names, error messages, values, an error's message that quotes them) goes through
``text`` before it reaches one of those, and the whole-message helpers below use it.
"""

from __future__ import annotations

import re
import string

import streamlit as st

from atlas_core.printable import printable

# CommonMark lets a backslash escape any ASCII punctuation, and shows it as itself; escaping all
# of it (not a chosen few) also covers Streamlit's own syntax (:red[...], :material/...:, $...$).
_ESCAPES = str.maketrans({ch: "\\" + ch for ch in string.punctuation})
# Streamlit's Markdown also turns bare URLs, www. names and e-mail addresses in plain text into
# links (after escapes are resolved); an invisible word joiner inside each marker keeps them text.
_JOINER = "\u2060"
_AUTOLINK_MARKERS = (
    ("\\:\\/\\/", "\\:" + _JOINER + "\\/\\/"),
    ("\\@", _JOINER + "\\@"),
)
_WWW = re.compile(r"(?i)\bwww\\\.")


def text(value: object) -> str:
    """Untrusted text ready to sit inside Markdown: shown literally, on one line, no controls."""
    escaped = printable("" if value is None else value, one_line=True).translate(_ESCAPES)
    for marker, broken in _AUTOLINK_MARKERS:
        escaped = escaped.replace(marker, broken)
    return _WWW.sub(lambda m: m.group()[:3] + _JOINER + "\\.", escaped)


def caption(value: object, where: object = st) -> None:
    """A caption holding only untrusted text (``where``: st, a column or the sidebar)."""
    where.caption(text(value))


def error(message: object, icon: str = ":material/error:") -> None:
    """An error box whose message may quote Atlas or a spreadsheet."""
    st.error(text(message), icon=icon)


def warning(message: object, icon: str | None = None) -> None:
    """A warning box whose message may quote Atlas or a spreadsheet."""
    st.warning(text(message), icon=icon)
