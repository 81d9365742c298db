"""One document under review: its heading, its fields as boxes to correct, the decision keys."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from atlas_core.ledger import Ledger
from atlas_core.results.corrections import value_text
from atlas_core.review import ReviewField, ReviewItem

from . import review_actions, review_keys, untrusted
from . import review_queue as queue

WEAK_MARK = ":orange-background[:material/warning: **weak**] · "  # in a weak field's label
DECISION_WORDS = {"confirmed": "Confirmed", "corrected": "Corrected", "rejected": "Rejected"}


def heading(item: ReviewItem) -> None:
    """Which document, why it is here, and what was decided on it already."""
    kind = item.document_type or "type unknown"
    if item.why == "sample":
        why = "picked at random for a quality check"
    elif item.min_confidence is not None:
        why = f"lowest confidence {item.min_confidence:.2f}"
    else:
        why = "opened by a person"
    st.subheader(f"Document {untrusted.text(item.document_id)}", anchor=False)
    where = f" · upload {item.upload_id}" + (f", row {item.row_number}" if item.row_number else "")
    st.markdown(f"{untrusted.text(kind)} · {why}{where}")
    if item.state in DECISION_WORDS:
        st.info(
            f"{DECISION_WORDS[item.state]} by {untrusted.text(item.decided_by or 'someone')} "
            f"at {_clock(item.decided_at)}. Deciding again replaces that decision.",
            icon=":material/history:",
        )


def fields_form(ledger: Ledger, item: ReviewItem, who: str) -> None:
    """Each field in a box (weak ones marked), the rejection reason, Confirm and Reject."""
    shown = {f.name: value_text(f.final) for f in item.fields}
    with st.form(f"review_form_{item.document}", border=False, enter_to_submit=False):
        if not item.fields:
            st.caption("Atlas returned no fields for this document.")
        for index, field in enumerate(item.fields):
            st.text_input(
                _label(field),
                value=shown[field.name],
                key=queue.field_key(item.document, index),
                help=_help(field),
            )
        confirm, reject = st.columns(2)
        confirm.form_submit_button(
            "Confirm",
            type="primary",
            icon=":material/check:",
            key="review_confirm",
            shortcut=review_keys.CONFIRM,
            on_click=review_actions.confirm,
            args=(ledger, item, who, shown),
            width="stretch",
            help="Confirm the document; fields you changed are saved as corrections.",
        )
        reject.form_submit_button(
            "Reject",
            icon=":material/block:",
            key="review_reject",
            shortcut=review_keys.REJECT,
            on_click=review_actions.reject,
            args=(ledger, item, who),
            width="stretch",
            help="The document cannot be used (wrong document, unreadable image).",
        )
    weak = len(item.weak_fields)
    if weak:
        st.caption(f":material/warning: {weak} weak field{'s' if weak != 1 else ''}, marked **weak**: Atlas was unsure of them.")


def focus_first_field(item: ReviewItem) -> None:
    """Move the cursor into the document's first weak field (else its first) when it appears."""
    # So a reviewer types a correction, or confirms with Ctrl+Enter, without a dozen Tabs past
    # the sidebar and the sliders. Once per document (untrusted.focus_input): a rerun never pulls
    # the cursor back. Only our own widget key goes in, never a value from Atlas or the sheet.
    if not item.fields:
        return
    index = next((i for i, f in enumerate(item.fields) if f.weak), 0)
    untrusted.focus_input(queue.field_key(item.document, index))


def navigation(ledger: Ledger, item: ReviewItem, who: str) -> None:
    """Previous and Next (skip), with where this document sits in the session."""
    back, ahead, where = st.columns([1, 1, 3], vertical_alignment="center")
    back.button(
        "Previous",
        icon=":material/arrow_upward:",
        key="review_previous",
        shortcut=review_keys.PREVIOUS,
        on_click=review_actions.previous_document,
        disabled=queue.position() == 0,
        width="stretch",
    )
    ahead.button(
        "Next",
        icon=":material/arrow_downward:",
        key="review_next",
        shortcut=review_keys.NEXT,
        on_click=review_actions.next_document,
        args=(ledger, item, who),
        width="stretch",
        help="Skip this document for now (someone else may take it); unsaved corrections are dropped.",
    )
    where.caption(
        f"Document {queue.position() + 1} of the {len(queue.history())} shown to you this session."
    )


def _label(field: ReviewField) -> str:
    score = f" · {field.confidence:.2f}" if isinstance(field.confidence, int | float) else ""
    mark = WEAK_MARK if field.weak else ""
    fixed = " · corrected" if field.corrected is not None else ""
    return f"{mark}{untrusted.text(field.name)}{score}{fixed}"


def _help(field: ReviewField) -> str | None:
    # Only a corrected field has help (Atlas's own value): each help icon is one more Tab stop.
    if field.corrected is None:
        return None
    return (
        f"Corrected by {untrusted.text(field.corrected_by or 'a person')}; Atlas said "
        f"“{untrusted.text(value_text(field.value))}”, which the ledger keeps."
    )


def _clock(when: float | None) -> str:
    if when is None:
        return "an unknown time"
    return datetime.fromtimestamp(when, tz=UTC).strftime("%d %b %H:%M UTC")
