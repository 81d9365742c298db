"""Error display: an AtlasError becomes its plain message; anything else a sentence and a log line.

A traceback on screen is a bug: analysts cannot act on one, and it may show file paths or data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from atlas_core.errors import AtlasError

from . import untrusted

logger = logging.getLogger(__name__)


def show_error(exc: BaseException, doing: str) -> None:
    """Render one error as a plain sentence with the next step; log unexpected ones in full."""
    if isinstance(exc, AtlasError):
        logger.warning("%s failed: %s", doing, exc.message)
        untrusted.error(exc.user_message())  # it may quote Atlas or a spreadsheet
        return
    logger.exception("Unexpected error while %s", doing, exc_info=exc)
    st.error(
        f"Something went wrong while {doing}. Nothing was lost: reload the page and try again; "
        "if it happens again, tell the team that runs this dashboard (the details are in its log).",
        icon=":material/error:",
    )


@contextmanager
def shown_errors(doing: str) -> Iterator[None]:
    """Run a block and show any error it raises instead of a traceback.

    Streamlit's own rerun/stop signals derive from BaseException, so they pass through.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the whole point is that nothing escapes as a traceback
        show_error(exc, doing)
