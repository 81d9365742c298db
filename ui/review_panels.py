"""Review page panels: the threshold and sample controls, the queue's counts, who holds what."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from atlas_core.config import Settings
from atlas_core.ledger import Ledger
from atlas_core.neutralise import csv_cell
from atlas_core.review import ReviewPolicy

from . import review_actions, state, untrusted

_ICONS = {
    "success": ":material/check_circle:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}


def controls(ledger: Ledger, settings: Settings) -> ReviewPolicy:
    """The queue's rule, shared by every reviewer: the sliders show it, and moving one changes it."""
    rule = review_actions.policy_in_use(ledger, settings)
    # Mirror the shared rule into the sliders on every run: another reviewer may have moved it.
    st.session_state[state.REVIEW_PAGE_THRESHOLD] = rule.threshold
    st.session_state[state.REVIEW_QC_RATE] = rule.sample_rate
    left, right = st.columns(2)
    args = (ledger, settings, state.REVIEW_PAGE_THRESHOLD, state.REVIEW_QC_RATE)
    left.slider(
        "Review threshold (confidence)",
        0.0,
        1.0,
        step=0.01,
        key=state.REVIEW_PAGE_THRESHOLD,
        help="A document with any field below this confidence needs a person. Changing it "
        "changes the queue for every reviewer.",
        on_change=review_actions.change_policy,
        args=args,
    )
    right.slider(
        "Quality check: share of the other documents to review too",
        0.0,
        1.0,
        step=0.01,
        key=state.REVIEW_QC_RATE,
        help="A random sample (the same for everyone) of the documents Atlas was sure of. "
        "Changing it changes the queue for every reviewer.",
        on_change=review_actions.change_policy,
        args=args,
    )
    return rule


def counts(ledger: Ledger, who: str, rule: ReviewPolicy) -> None:
    """To review, held now, done today (all and you), and by whom."""
    figures = review_actions.counts(ledger, rule)
    a, b, c, d = st.columns(4)
    a.metric("To review", f"{figures.to_review:,}")
    b.metric("Done today", f"{figures.done:,}", help="Decided since 00:00 UTC.")
    c.metric("Done today by you", f"{figures.by_reviewer.get(who, 0):,}", help="Decided since 00:00 UTC.")
    d.metric("Held by reviewers now", f"{figures.in_review:,}")
    if figures.by_reviewer:
        ranked = sorted(figures.by_reviewer.items(), key=lambda pair: (-pair[1], pair[0]))
        untrusted.caption("Done today: " + ", ".join(f"{name} {n:,}" for name, n in ranked))


def claims(ledger: Ledger) -> None:
    """Which reviewer holds which document now (a held document is shown to nobody else)."""
    rows = review_actions.claims(ledger)
    if not rows:
        st.caption("Nobody holds a document right now.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Reviewer": csv_cell(r["claimed_by"]),
                    "Document": csv_cell(r["document_id"]),
                    "Held until": _clock(r["claim_expires_at"]),
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "A document someone holds is shown to nobody else. A hold lapses when its reviewer "
        "moves on, or after a while without a decision."
    )


def _clock(when: float) -> str:
    return datetime.fromtimestamp(when, tz=UTC).strftime("%H:%M UTC")


def message(kind: str, text: str) -> None:
    """What the last decision did (its text may quote a document id, so it is escaped)."""
    getattr(st, kind if kind in _ICONS else "info")(untrusted.text(text), icon=_ICONS.get(kind))
