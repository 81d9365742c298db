"""Text from Atlas or a spreadsheet on a page: shown as the characters it is, never as markup.

st.markdown, st.caption, st.error and friends (and a progress bar's text) render Markdown: an
Atlas answer holding ``![b](http://host/beacon.png)`` would make every viewer's browser fetch
that image, and a link would look like ours. Every value that comes from Atlas or a spreadsheet
(ids, file names, error messages, values, an error's message that quotes them) goes through
``text`` before it reaches one of those, and the whole-message helpers below use it.
"""

from __future__ import annotations

import html
import re
from typing import Protocol

import streamlit as st

from atlas_core.printable import printable

# Everything below is shown by CommonMark as the character itself once backslash-escaped. Only
# what can start markup is escaped, so an ordinary sentence reads the same in the page source:
# always (links, images, HTML, entities, code, emphasis, strike-through, Streamlit's LaTeX);
_ALWAYS = re.compile(r"[\\`*\[\]<>&$~]")
# an underscore where it can open or close emphasis (not inside a word: ATLAS_DB_PATH stays);
_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# a colon that could start a Streamlit directive, icon or emoji (:red[..], :material/x:, :smile:);
_DIRECTIVE_COLON = re.compile(r":(?=[0-9A-Za-z_+-])")
# and at the start, what would make a heading, quote, list or ordered list (1. or 1)).
_BLOCK_START = re.compile(r"^([#>+-]|\d{1,9}(?=[.)]))")
# Streamlit's Markdown also turns bare URLs, www. names and e-mail addresses in plain text into
# links; an invisible word joiner inside each marker keeps them text.
_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?=@)")


def text(value: object) -> str:
    """Untrusted text ready to sit inside Markdown: shown literally, on one line, no controls."""
    line = printable("" if value is None else value, one_line=True).strip()
    line = _ALWAYS.sub(lambda m: "\\" + m.group(), line)
    line = _UNDERSCORE.sub(r"\_", line)
    line = _DIRECTIVE_COLON.sub(r"\:", line)
    line = _BLOCK_START.sub(lambda m: m.group() + "\\" if m.group()[0].isdigit() else "\\" + m.group(), line)
    return _AUTOLINK.sub(_JOINER, line)


class _Captions(Protocol):
    """Where a caption can go: the st module, a column, the sidebar."""

    def caption(self, body: str) -> object: ...


def caption(value: object, where: _Captions = st) -> None:
    """A caption holding only untrusted text (``where``: st, a column or the sidebar)."""
    where.caption(text(value))


def error(message: object, icon: str = ":material/error:") -> None:
    """An error box whose message may quote Atlas or a spreadsheet."""
    st.error(text(message), icon=icon)


def warning(message: object, icon: str | None = None) -> None:
    """A warning box whose message may quote Atlas or a spreadsheet."""
    st.warning(text(message), icon=icon)


# The only raw HTML the dashboard renders lives below, each piece built from escaped values or
# checked names (tests/test_streamlit_config.py lets no other module call st.html).
_WIDGET_KEY = re.compile(r"[A-Za-z0-9_-]{1,120}")


def image_tag(url: str, alt: str, max_height: int) -> str:
    """An ``<img>`` of a link from a sheet: every value escaped, sent without a referrer."""
    return (
        f'<img src="{html.escape(url.strip(), quote=True)}" alt="{html.escape(alt, quote=True)}" '
        f'referrerpolicy="no-referrer" style="max-width:100%;max-height:{int(max_height)}px;'
        'object-fit:contain;border:1px solid #d0d0d0;border-radius:4px">'
    )


def image(url: str, alt: str, max_height: int) -> None:
    """Show the image at ``url`` as the viewer's browser loads it (never through this server)."""
    st.html(image_tag(url, alt, max_height))


def focus_input(widget_key: str) -> None:
    """Put the cursor in one of our own text boxes (found by its widget key) once per key."""
    if not _WIDGET_KEY.fullmatch(widget_key):
        raise ValueError(f"not a widget key of ours: {widget_key!r}")
    st.html(_FOCUS % widget_key, unsafe_allow_javascript=True)


_FOCUS = """<script>(() => {
  const key = "%s";
  if (window.__atlasReviewFocus === key) return;
  const place = (tries) => {
    const box = document.querySelector(".st-key-" + key + " input");
    if (box) { window.__atlasReviewFocus = key; box.focus(); }
    else if (tries > 0) setTimeout(() => place(tries - 1), 50);
  };
  place(40);
})();</script>"""
