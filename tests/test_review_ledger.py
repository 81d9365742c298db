"""The review queue in the ledger (real SQLite): the rule, claims, decisions, corrections, counts."""

from __future__ import annotations

import pytest
from ledger_support import record_results
from review_support import extracted_upload, pan_result

from atlas_core.errors import ConfigError, ReviewError
from atlas_core.ledger import Interpreted, Ledger
from atlas_core.ledger import states as S
from atlas_core.review.queue import ReviewPolicy, sample_point, why_review

NO_SAMPLE = ReviewPolicy(threshold=0.8, sample_rate=0.0, lease=60.0)


@pytest.fixture
def ledger(ledger_location):
    """A fresh ledger on each engine (SQLite under tmp_path, a PostgreSQL database), closed after."""
    ledger = Ledger(ledger_location)
    yield ledger
    ledger.close()


def test_the_rule_sends_low_confidence_and_a_stable_sample():
    policy = ReviewPolicy(threshold=0.8, sample_rate=0.1)
    assert why_review("A1", 0.5, policy) == S.BELOW_THRESHOLD
    assert why_review("A1", None, ReviewPolicy(sample_rate=0.0)) is None  # no score is not "low"
    sampled = [f"ID{i}" for i in range(10_000) if why_review(f"ID{i}", 0.99, policy) == S.SAMPLE]
    assert 850 < len(sampled) < 1150  # about 10%
    again = [f"ID{i}" for i in range(10_000) if why_review(f"ID{i}", 0.99, policy) == S.SAMPLE]
    assert sampled == again and sample_point("ID1") == sample_point("ID1")
    assert all(why_review(f"ID{i}", 0.99, ReviewPolicy(sample_rate=0.0)) is None for i in range(1000))


@pytest.mark.parametrize("bad", [{"threshold": 1.5}, {"sample_rate": -0.1}, {"threshold": float("nan")},
                                 {"lease": 0}, {"lease": float("inf")}])
def test_a_policy_out_of_range_is_refused(bad):
    with pytest.raises(ConfigError):
        ReviewPolicy(**bad)


def test_claims_come_lowest_confidence_first_and_skip_confident_ones(ledger):
    docs = extracted_upload(ledger, [0.9, 0.3, 0.7, 0.95, 0.5])
    seen = []
    while (item := ledger.claim_next_review("asha", NO_SAMPLE, exclude=seen)) is not None:
        seen.append(item.document)
    assert seen == [docs[1], docs[4], docs[2]]
    counts = ledger.review_counts(NO_SAMPLE)
    assert (counts.to_review, counts.in_review, counts.done) == (3, 0, 0)  # skipping past the end lets go


def test_a_reviewer_holds_one_document_and_gets_it_back(ledger):
    docs = extracted_upload(ledger, [0.3, 0.4, 0.5])
    first = ledger.claim_next_review("asha", NO_SAMPLE)
    assert ledger.claim_next_review("asha", NO_SAMPLE).document == first.document  # a page rerun
    other = ledger.claim_next_review("ravi", NO_SAMPLE)
    assert other.document != first.document
    nxt = ledger.claim_next_review("asha", NO_SAMPLE, exclude=[first.document])
    assert nxt.document == docs[2]  # the first is let go, the second is Ravi's
    assert ledger.review_item(first.document).claimed_by is None


def test_a_lease_runs_out_and_another_reviewer_may_take_it(ledger):
    extracted_upload(ledger, [0.3])
    policy = ReviewPolicy(0.8, 0.0, lease=60.0)
    held = ledger.claim_next_review("asha", policy, now=2000.0)
    assert ledger.claim_next_review("ravi", policy, now=2030.0) is None
    taken = ledger.claim_next_review("ravi", policy, now=2061.0)
    assert taken.document == held.document and taken.claimed_by == "ravi"
    with pytest.raises(ReviewError) as refused:
        ledger.decide_review(held.document, "asha", "confirm", now=2070.0)
    assert refused.value.reason == "held" and "ravi" in refused.value.message


def test_confirm_correct_reject_and_counts_by_reviewer(ledger):
    docs = extracted_upload(ledger, [0.3, 0.4, 0.5, 0.6])
    a = ledger.claim_next_review("asha", NO_SAMPLE)
    done = ledger.decide_review(a.document, "asha", "correct", {"name_as_per_pan": "ASHA R. RAO"})
    assert done.state == S.CORRECTED and done.corrections == {"name_as_per_pan": "ASHA R. RAO"}
    field = next(f for f in done.fields if f.name == "name_as_per_pan")
    assert (field.value, field.corrected, field.final, field.weak) == ("ASHA RAO", "ASHA R. RAO", "ASHA R. RAO", True)
    b = ledger.claim_next_review("asha", NO_SAMPLE)
    assert ledger.decide_review(b.document, "asha", "confirm").state == S.CONFIRMED
    c = ledger.claim_next_review("ravi", NO_SAMPLE)
    assert ledger.decide_review(c.document, "ravi", "reject").state == S.REVIEW_REJECTED
    counts = ledger.review_counts(NO_SAMPLE, now=1020.0)
    assert (counts.to_review, counts.done) == (1, 3)
    assert counts.by_reviewer == {"asha": 2, "ravi": 1}
    assert counts.by_state == {S.CORRECTED: 1, S.CONFIRMED: 1, S.REVIEW_REJECTED: 1}
    assert ledger.review_counts(since=10**12).done == 0
    assert [d for d in docs if d not in (a.document, b.document, c.document)] == [
        ledger.claim_next_review("ravi", NO_SAMPLE).document]


def test_atlas_answer_stays_verbatim_beside_the_correction(ledger):
    extracted_upload(ledger, [0.3])
    item = ledger.claim_next_review("asha", NO_SAMPLE)
    ledger.decide_review(item.document, "asha", "confirm",
                         {"formatted_address.city": "Pune City", "formatted_address.postcode": 411001})
    detail = ledger.document_detail(item.document)
    assert detail["file_data"]["formatted_address"] == {"city": "Pune", "postcode": 411001, "confidence_score": 0.97}
    # the same value as Atlas's (as a number or as text) is no correction; "confirm" with one is "corrected"
    again = ledger.review_item(item.document)
    assert again.state == S.CORRECTED and again.corrections == {"formatted_address.city": "Pune City"}
    rows = list(ledger.iter_documents())
    assert rows[0]["corrections"] == {"formatted_address.city": "Pune City"}


@pytest.mark.parametrize(("decision", "fields", "reason"), [
    ("approve", None, "decision"),
    ("correct", {"no_such_field": "x"}, "field"),
    ("correct", {"document_type": "AADHAAR"}, "field"),
])
def test_bad_decisions_are_refused_and_change_nothing(ledger, decision, fields, reason):
    extracted_upload(ledger, [0.3])
    item = ledger.claim_next_review("asha", NO_SAMPLE)
    with pytest.raises(ReviewError) as refused:
        ledger.decide_review(item.document, "asha", decision, fields)
    assert refused.value.reason == reason
    assert ledger.review_item(item.document).state == S.TO_REVIEW


def test_a_decision_is_refused_when_atlas_answer_changed_since_it_was_claimed(ledger):
    extracted_upload(ledger, [0.3])
    item = ledger.claim_next_review("asha", NO_SAMPLE)
    record_results(ledger, "B1", [pan_result("D0000", 0.35, name="ASHA RAO K")], now=5000.0)
    with pytest.raises(ReviewError) as refused:
        ledger.decide_review(item.document, "asha", "confirm")
    assert refused.value.reason == "changed"
    fresh = ledger.review_item(item.document)
    assert ledger.decide_review(item.document, "asha", "confirm", version=fresh.version).state == S.CONFIRMED


def test_unknown_and_failed_documents_are_refused(ledger):
    extracted_upload(ledger, [0.3])
    with pytest.raises(ReviewError) as missing:
        ledger.decide_review(999, "asha", "confirm")
    assert missing.value.reason == "missing"
    assert ledger.review_item(999) is None
    record_results(ledger, "B1", [Interpreted("D0000", S.FAILED, error="UNREADABLE")], now=6000.0)
    with pytest.raises(ReviewError):
        ledger.decide_review(1, "asha", "confirm")
    assert ledger.claim_next_review("asha", NO_SAMPLE) is None
    with pytest.raises(ReviewError):
        ledger.claim_next_review("   ", NO_SAMPLE)


def test_results_stored_later_join_the_queue_and_a_new_policy_rechooses(ledger):
    extracted_upload(ledger, [0.3, 0.9])
    assert ledger.review_counts(NO_SAMPLE).to_review == 1
    extracted_upload(ledger, [0.1, 0.99], prefix="E", batch_id="B2", now=3000.0)
    assert ledger.review_counts(NO_SAMPLE).to_review == 2
    strict = ReviewPolicy(threshold=0.95, sample_rate=0.0)
    assert ledger.review_counts(strict).to_review == 3
    everyone = ReviewPolicy(threshold=0.0, sample_rate=1.0)
    counts = ledger.review_counts(everyone)
    assert counts.to_review == 4
    item = ledger.claim_next_review("asha", everyone)
    assert item.why == S.SAMPLE


def test_release_lets_another_reviewer_take_it(ledger):
    extracted_upload(ledger, [0.3])
    item = ledger.claim_next_review("asha", NO_SAMPLE)
    assert not ledger.release_review(item.document, "ravi")
    assert ledger.release_review(item.document, "asha")
    assert ledger.claim_next_review("ravi", NO_SAMPLE).document == item.document


def test_a_document_opened_outside_the_queue_can_be_decided(ledger):
    docs = extracted_upload(ledger, [0.99])
    item = ledger.review_item(docs[0], NO_SAMPLE)
    assert item.state == S.TO_REVIEW and item.why == S.CHOSEN and item.weak_fields == []
    assert ledger.decide_review(docs[0], "asha", "reject").state == S.REVIEW_REJECTED
    assert ledger.review_counts(NO_SAMPLE).done == 1


def test_the_queue_is_scoped_to_the_ledger_target(tmp_path):
    path = tmp_path / "atlas.db"
    everything = Ledger(path)
    extracted_upload(everything, [0.3])  # written with target "unknown"
    sandbox = Ledger(path, target="sandbox")
    assert sandbox.claim_next_review("asha", NO_SAMPLE) is None
    assert sandbox.review_item(1) is None
    assert sandbox.review_counts(NO_SAMPLE).to_review == 0
    assert everything.claim_next_review("asha", NO_SAMPLE) is not None
    everything.close()
    sandbox.close()


def test_the_policy_comes_from_the_settings_and_bad_values_are_refused():
    from atlas_core.config import Settings

    settings = Settings.from_mapping({"ATLAS_REVIEW_THRESHOLD": "0.6", "ATLAS_REVIEW_SAMPLE_RATE": "0.1",
                                      "ATLAS_REVIEW_LEASE": "120"})
    assert ReviewPolicy.from_settings(settings) == ReviewPolicy(0.6, 0.1, 120.0)
    for bad in ({"ATLAS_REVIEW_THRESHOLD": "80"}, {"ATLAS_REVIEW_SAMPLE_RATE": "nan"}, {"ATLAS_REVIEW_LEASE": "0"}):
        with pytest.raises(ConfigError):
            Settings.from_mapping(bad)


def test_a_new_rule_keeps_decisions_and_the_document_a_reviewer_holds(ledger):
    docs = extracted_upload(ledger, [0.3, 0.5, 0.7])
    ledger.decide_review(docs[0], "asha", "reject")
    held = ledger.claim_next_review("ravi", NO_SAMPLE)
    assert held.document == docs[1]
    strict = ReviewPolicy(threshold=0.4, sample_rate=0.0)  # now only 0.3 is under it, and decided
    counts = ledger.review_counts(strict)
    assert (counts.to_review, counts.in_review, counts.done) == (1, 1, 1)  # Ravi's stays his
    assert ledger.review_item(docs[0]).state == S.REVIEW_REJECTED
    assert ledger.decide_review(held.document, "ravi", "confirm").state == S.CONFIRMED
    assert ledger.claim_next_review("ravi", strict) is None
    assert ledger.review_counts(NO_SAMPLE).to_review == 1  # the old rule again: 0.7 waits
