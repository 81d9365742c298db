"""Sections that refresh themselves while work is unfinished, and stop once it is done."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from .errors import shown_errors

REFRESH_SECONDS = 5.0


def live_section(
    unfinished: Callable[[], bool],
    render: Callable[[], None],
    *,
    doing: str,
    every: float = REFRESH_SECONDS,
) -> None:
    """Render now, and again every few seconds while ``unfinished()`` is true.

    A fragment's run_every is fixed when it is drawn, so when the work finishes during a
    refresh the whole page reruns once to draw the section again without a timer.
    """
    with shown_errors(doing):
        refreshing = unfinished()

    @st.fragment(run_every=every if refreshing else None)
    def section() -> None:
        with shown_errors(doing):
            render()
            if refreshing and not unfinished():
                st.rerun(scope="app")

    section()
