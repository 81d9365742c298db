"""The review queue fed by real refreshes from the sandbox over a socket: results join the queue as
they are stored, and a decision on a document whose answer Atlas changed since it was opened is
refused (played by switching ``markup_in_answers`` on while the batch is still processing)."""

from __future__ import annotations

import pytest
from test_engine_refresh import SLOW, runtime_for, submit

from atlas_core.engine import refresh_batch
from atlas_core.errors import ReviewError
from atlas_core.ledger import states as S
from atlas_core.review.queue import ReviewPolicy

EVERYONE = ReviewPolicy(threshold=1.0, sample_rate=1.0)  # every extracted document needs a person


def test_results_join_the_queue_as_they_come_and_a_changed_answer_is_refused(make_sandbox, tmp_path):
    sandbox = make_sandbox(processing_seconds=SLOW)
    with runtime_for(sandbox, tmp_path / "atlas.db") as runtime:
        ledger = runtime.ledger
        (batch_id,) = submit(runtime, [f"A{i:02d}" for i in range(20)])
        refresh_batch(ledger, runtime.client, batch_id, force=True)
        assert ledger.claim_next_review("asha", EVERYONE) is None  # nothing finished yet
        sandbox.advance(SLOW)  # about half the documents finish (each takes 0.5x to 1.5x)
        progress = refresh_batch(ledger, runtime.client, batch_id, force=True)
        assert 0 < progress.extracted < 20
        assert ledger.review_counts(EVERYONE).to_review == progress.extracted
        held = ledger.claim_next_review("asha", EVERYONE)
        # Atlas answers differently on the next poll (the batch is still open)
        sandbox.set_behaviour(markup_in_answers=True)
        refresh_batch(ledger, runtime.client, batch_id, force=True)
        assert ledger.review_item(held.document).version != held.version
        with pytest.raises(ReviewError) as refused:
            ledger.decide_review(held.document, "asha", "confirm")
        assert refused.value.reason == "changed"
        sandbox.set_behaviour(markup_in_answers=False)
        sandbox.advance(SLOW * 10)
        done = refresh_batch(ledger, runtime.client, batch_id, force=True)
        assert done.extracted == 20
        counts = ledger.review_counts(EVERYONE)
        assert counts.to_review == 20 and counts.in_review == 1
        fresh = ledger.claim_next_review("asha", EVERYONE)
        assert fresh.document == held.document  # still hers, now with the answer as it is
        assert ledger.decide_review(fresh.document, "asha", "confirm", version=fresh.version).state in (
            S.CONFIRMED, S.CORRECTED)
