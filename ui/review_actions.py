"""The Review page's calls into the review queue (the ledger's ReviewLedger), and its callbacks.

Every claim, decision and count is the core's; this module decides only what the page does
around them: which document this session shows (its history, for Previous), and what a key press
says when the ledger refuses it (held by another reviewer, decided meanwhile, busy).

The session's history holds the documents this reviewer decided, then the one they hold; a
skipped document leaves it (and is let go of, so another reviewer may take it) and goes on the
skipped list, which the next claim excludes. So Previous only ever shows a document this
reviewer decided or holds: never one another reviewer could be looking at.
"""

from __future__ import annotations

from atlas_core.config import Settings
from atlas_core.errors import ReviewError
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.ledger.rows import ReviewClaim
from atlas_core.results.corrections import value_text
from atlas_core.review import ReviewCounts, ReviewItem, ReviewPolicy

from . import review_queue as queue

MAX_EXCLUDED = 500


def policy_in_use(ledger: Ledger, settings: Settings) -> ReviewPolicy:
    """The rule the queue is chosen by now (shared by every reviewer), else the settings' rule."""
    return ledger.review_policy(ReviewPolicy.from_settings(settings))


def change_policy(ledger: Ledger, settings: Settings, threshold_key: str, rate_key: str) -> None:
    """A slider moved (callback): choose the waiting documents again, for every reviewer."""
    try:
        rule = ReviewPolicy(
            round(float(queue.session_value(threshold_key)), 2),
            round(float(queue.session_value(rate_key)), 2),
            settings.review_lease,
        )
        ledger.sync_reviews(rule)
    except Exception as exc:  # noqa: BLE001 - a callback's error would be a traceback on screen
        queue.say("error", queue.plain_error(exc, "changing the review threshold"))
        return
    queue.say(
        "info",
        f"The queue now holds documents with a field below {rule.threshold:.2f}, plus "
        f"{rule.sample_rate:.0%} of the rest, for every reviewer.",
    )


def counts(ledger: Ledger, rule: ReviewPolicy) -> ReviewCounts:
    """To review, held now, and decided today (since midnight UTC), by whom."""
    return ledger.review_counts(rule)


def claims(ledger: Ledger) -> list[ReviewClaim]:
    """Who holds which document right now."""
    return ledger.review_claims()


def shown_item(ledger: Ledger, who: str, rule: ReviewPolicy) -> ReviewItem | None:
    """The document this session shows now: its place in the history, else the next one claimed."""
    history = queue.history()
    while queue.position() < len(history):
        item = ledger.review_item(history[queue.position()], rule)
        if item is not None and _still_ours(item, who):
            return item
        del history[queue.position()]  # gone, or another reviewer holds it now: never shown twice
        if item is not None and item.claimed_by:
            queue.say("info", f"{item.claimed_by} is reviewing document {item.document_id} now.")
    # Decided documents are out of the queue anyway: only the skipped ones need excluding (the
    # latest few hundred, well inside any engine's limit on a statement's parameters).
    item = ledger.claim_next_review(who, rule, exclude=queue.skipped()[-MAX_EXCLUDED:])
    if item is not None:
        history.append(item.document)
        queue.move(len(history) - 1)
    return item


def _still_ours(item: ReviewItem, who: str) -> bool:
    if item.state in S.REVIEW_DECIDED:
        return True  # decided: anyone may look at it again; deciding again checks the revision
    return item.claimed_by == who


def confirm(ledger: Ledger, item: ReviewItem, who: str, shown: dict[str, str]) -> None:
    """Confirm (callback): boxes that differ from Atlas's value are the corrections; then the next."""
    atlas = {f.name: value_text(f.value) for f in item.fields}
    _decide(ledger, item, who, "confirm", queue.corrections(item.document, shown, atlas))


def reject(ledger: Ledger, item: ReviewItem, who: str) -> None:
    """Reject (callback): the document cannot be used; then on to the next one."""
    _decide(ledger, item, who, "reject", {})


def _decide(ledger: Ledger, item: ReviewItem, who: str, decision: str, corrections: dict[str, str]) -> None:
    try:
        decided = ledger.decide_review(
            item.document, who, decision, corrections, version=item.version, revision=item.revision
        )
    except ReviewError as exc:
        if exc.reason in ("held", "decided", "changed"):
            # Someone else has it, decided it, or Atlas's answer changed: say so, and move on.
            queue.say("warning", f"{exc.message} Your decision was not saved; here is the next document.")
            _leave(item)
        else:
            queue.say("error", exc.user_message())
        return
    except Exception as exc:  # noqa: BLE001 - a callback's error would be a traceback on screen
        queue.say("error", queue.plain_error(exc, "saving your decision"))
        return
    queue.forget_widgets(item.document, len(item.fields))
    changed = len(decided.corrections)
    done = {
        S.CONFIRMED: "Confirmed",
        S.CORRECTED: f"Saved {changed} correction{'s' if changed != 1 else ''} to",
        S.REVIEW_REJECTED: "Rejected",
    }
    queue.say("success", f"{done.get(decided.state, 'Saved')} document {item.document_id}.")
    queue.move(queue.position() + 1)


def _leave(item: ReviewItem) -> None:
    # Out of this session's history, onto the skipped list the next claim excludes.
    queue.forget_widgets(item.document, len(item.fields))
    history = queue.history()
    if item.document in history:
        history.remove(item.document)
    queue.skipped().append(item.document)
    queue.move(min(queue.position(), len(history)))


def next_document(ledger: Ledger, item: ReviewItem, who: str) -> None:
    """Next (callback): past a decided document; or skip this one, letting go so others may take it."""
    if item.state in S.REVIEW_DECIDED:
        queue.forget_widgets(item.document, len(item.fields))
        queue.move(queue.position() + 1)
        return
    try:
        ledger.release_review(item.document, who)
    except Exception as exc:  # noqa: BLE001
        queue.say("error", queue.plain_error(exc, "letting go of the document"))
        return
    _leave(item)


def previous_document() -> None:
    """Previous (callback): back to the document decided before this one."""
    queue.move(queue.position() - 1)
