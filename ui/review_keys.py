"""The Review page's keyboard shortcuts, named once for the buttons, the legend and the tests.

Streamlit ignores a shortcut without Ctrl/Cmd/Alt while the cursor is in a text box, so every
key here carries Mod (Ctrl, or Cmd on a Mac): a reviewer who just typed a correction confirms
with Ctrl+Enter without leaving the field. "C" and "R" are Streamlit's own keys; Ctrl+N, Ctrl+T
and Ctrl+W belong to the browser; Ctrl+Backspace deletes a word while typing. Hence the arrows
and Ctrl+Shift+X, which nobody presses by accident while correcting a name.
"""

from __future__ import annotations

import streamlit as st

CONFIRM = "Mod+Enter"
REJECT = "Mod+Shift+X"
NEXT = "Mod+Down"
PREVIOUS = "Mod+Up"

# What each key does, in the order the legend shows them (Ctrl on Windows and Linux).
LEGEND = (
    ("Ctrl + Enter", "confirm the document (with your corrections, if you typed any)"),
    ("Ctrl + Shift + X", "reject the document"),
    ("Ctrl + ↓", "skip to the next document (unsaved corrections are dropped)"),
    ("Ctrl + ↑", "back to the previous one"),
    ("Tab / Shift + Tab", "move between the fields"),
)


def legend() -> None:
    """The keys on the page, so a reviewer learns them without a manual (Cmd on a Mac)."""
    keys = " · ".join(f"**{key}** {what}" for key, what in LEGEND)
    st.caption(
        f":material/keyboard: Keys: {keys}. The cursor starts in the first weak field. "
        "On a Mac, use Cmd instead of Ctrl."
    )
