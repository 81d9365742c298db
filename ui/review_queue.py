"""Review page session state: who reviews, where the session is, messages and errors in words.

The queue itself (claims, decisions, counts) is the ledger's; this keeps only what one browser
session needs: the documents it was shown, in order, so Previous can go back, the ones it
skipped, the boxes' keys, and a message of what the last key press did. The callbacks
(ui/review_actions.py) never raise, as a callback's error would reach the screen as a
traceback: they leave a plain message here instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from atlas_core.errors import AtlasError, LedgerError

from . import auth, state
from .errors import show_error

logger = logging.getLogger(__name__)

BUSY = (
    "The ledger is busy with other work right now, so nothing was saved. "
    "Press the same key again in a few seconds."
)


def reviewer() -> str:
    """Who decides: the signed-in email, else the name typed on this page (or on Upload)."""
    return auth.signed_in_email() or str(
        st.session_state.get(state.REVIEWER_NAME) or st.session_state.get(state.SUBMITTER_NAME) or ""
    ).strip()


def remember_reviewer() -> None:
    """Copy the typed name out of its widget, whose state Streamlit drops on other pages."""
    st.session_state[state.REVIEWER_NAME] = str(st.session_state.get(state.REVIEWER_INPUT, "")).strip()


def history() -> list[int]:
    """Document row ids this session decided, then the one it holds, oldest first."""
    return st.session_state.setdefault(state.REVIEW_HISTORY, [])


def skipped() -> list[int]:
    """Document row ids this session skipped (let go of); the next claim excludes them."""
    return st.session_state.setdefault(state.REVIEW_SKIPPED, [])


def position() -> int:
    """Where in ``history`` the page is (len(history) means: claim a new one)."""
    return int(st.session_state.get(state.REVIEW_POSITION, 0))


def move(to: int) -> None:
    """Go to that place in the history (clamped)."""
    st.session_state[state.REVIEW_POSITION] = max(0, min(to, len(history())))


def say(kind: str, text: str) -> None:
    """Leave a message for the next run: kind is success, info, warning or error."""
    st.session_state[state.REVIEW_MESSAGE] = (kind, text)


def take_message() -> tuple[str, str] | None:
    """The message the last key press left, once."""
    return st.session_state.pop(state.REVIEW_MESSAGE, None)


def plain_error(exc: BaseException, doing: str) -> str:
    """A sentence for an error inside a callback (the page shows it; the log keeps the details)."""
    if isinstance(exc, LedgerError) and _is_busy(exc):
        logger.warning("Ledger busy while %s: %s", doing, exc.message)
        return BUSY
    if isinstance(exc, AtlasError):
        logger.warning("%s failed: %s", doing, exc.message)
        return exc.user_message()
    logger.exception("Unexpected error while %s", doing, exc_info=exc)
    return (
        f"Something went wrong while {doing}; nothing was saved. Reload the page and try again; "
        "if it happens again, tell the team that runs this dashboard."
    )


@contextmanager
def shown_errors(doing: str) -> Iterator[None]:
    """ui.errors.shown_errors, with a busy ledger said as such (not as a path and "locked")."""
    try:
        yield
    except LedgerError as exc:
        if not _is_busy(exc):
            show_error(exc, doing)
            return
        logger.warning("Ledger busy while %s: %s", doing, exc.message)
        st.error(
            "The ledger is busy with other work right now, so the queue could not be read. "
            "Reload the page in a few seconds.",
            icon=":material/hourglass:",
        )
    except Exception as exc:  # noqa: BLE001 - no traceback on screen
        show_error(exc, doing)


def _is_busy(exc: LedgerError) -> bool:
    text = exc.message.lower()
    return "locked" in text or "busy" in text


def corrections(item_id: int, shown: dict[str, str], atlas: dict[str, str]) -> dict[str, str]:
    """Each field whose box differs from Atlas's own value: field -> text.

    Compared with Atlas's value, not with what the box showed: a decision replaces the
    document's corrections, so confirming again a document corrected earlier (Previous) keeps
    them, and putting Atlas's value back in a box drops that one.
    """
    found = {}
    for index, (field, before) in enumerate(shown.items()):
        now = st.session_state.get(field_key(item_id, index))
        text = before if now is None else str(now)
        if text != atlas.get(field):
            found[field] = text
    return found


def field_key(item_id: int, index: int) -> str:
    """The widget key of one field's box (per document, so each one starts from its own values)."""
    return f"review_field_{item_id}_{index}"


def forget_widgets(item_id: int, count: int) -> None:
    """Drop a decided document's boxes, so Previous shows what the ledger now holds."""
    for index in range(count):
        st.session_state.pop(field_key(item_id, index), None)


def session_value(key: str, default: Any = None) -> Any:
    """A session value (for tests and the page), without creating it."""
    return st.session_state.get(key, default)


