"""What the Review page added to the review ledger: who holds what, the rule in use, stale decisions."""

from __future__ import annotations

import pytest
from review_page_support import fill_reviews

from atlas_core.errors import ReviewError
from atlas_core.ledger import states as S
from atlas_core.review import ReviewPolicy

POLICY = ReviewPolicy(threshold=0.8, sample_rate=0.0, lease=600)


@pytest.fixture
def ledger(tmp_path):
    """A ledger with 30 finished documents, about half under the threshold."""
    ledger = fill_reviews(tmp_path / "atlas.db", 30)
    yield ledger
    ledger.close()


def test_review_claims_lists_live_holds_only(ledger):
    asha = ledger.claim_next_review("Asha", POLICY, now=1e10)
    ravi = ledger.claim_next_review("Ravi", POLICY, now=1e10 + 5)
    claims = ledger.review_claims(now=1e10 + 10)
    assert [(c["claimed_by"], c["document"]) for c in claims] == [("Asha", asha.document), ("Ravi", ravi.document)]
    assert claims[0]["document_id"] == asha.document_id
    assert ledger.review_claims(now=1e10 + 601) == [claims[1]]  # Asha's hold lapsed
    assert ledger.review_claims(now=1e10 + 606) == []


def test_review_policy_is_the_rule_the_queue_was_last_chosen_by(ledger):
    default = ReviewPolicy(threshold=0.8, sample_rate=0.02, lease=900)
    assert ledger.review_policy(default) == default  # nothing chosen yet
    ledger.sync_reviews(ReviewPolicy(threshold=0.65, sample_rate=0.1, lease=60))
    assert ledger.review_policy(default) == ReviewPolicy(0.65, 0.1, 900)  # the lease stays the caller's


def test_a_decision_from_a_stale_view_is_refused(ledger):
    seen = ledger.claim_next_review("Asha", POLICY, now=1e10)
    later = 1e10 + 601  # Asha's hold lapsed; Ravi took the document and confirmed it
    taken = ledger.claim_next_review("Ravi", POLICY, now=later)
    assert taken.document == seen.document
    ledger.decide_review(seen.document, "Ravi", "confirm", version=taken.version, now=later)
    with pytest.raises(ReviewError) as refused:
        ledger.decide_review(
            seen.document, "Asha", "reject", version=seen.version, revision=seen.revision, now=later + 1
        )
    assert refused.value.reason == "decided"
    assert "Ravi decided document" in refused.value.message
    item = ledger.review_item(seen.document)
    assert (item.state, item.decided_by) == (S.CONFIRMED, "Ravi")
    # Deciding again from a fresh view is allowed (the Review page's Previous).
    again = ledger.decide_review(seen.document, "Asha", "reject", revision=item.revision, now=later + 2)
    assert again.state == S.REVIEW_REJECTED
