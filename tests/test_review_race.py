"""Two reviewers at the same moment never get the same document (threads and processes, real SQLite)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from review_support import extracted_upload

from atlas_core.ledger import Ledger
from atlas_core.review.queue import ReviewPolicy

ROOT = Path(__file__).resolve().parent.parent
POLICY = ReviewPolicy(threshold=0.8, sample_rate=0.0, lease=600.0)
DOCUMENTS = 60

# One reviewer working through the queue: claim, decide, claim again; prints what it decided.
REVIEWER = """
import json, sys, time
from pathlib import Path
from atlas_core.ledger import Ledger
from atlas_core.review.queue import ReviewPolicy
path, who, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
ledger = Ledger(path)
while not go.exists():
    time.sleep(0.005)
policy = ReviewPolicy(threshold=0.8, sample_rate=0.0, lease=600.0)
mine = []
while (item := ledger.claim_next_review(who, policy)) is not None:
    mine.append(item.document)
    ledger.decide_review(item.document, who, "confirm")
print(json.dumps(mine))
"""


def _confidences() -> list[float]:
    return [0.1 + (i % 7) / 10 for i in range(DOCUMENTS)]  # every one under 0.8


def test_two_threads_racing_for_the_queue_never_share_a_document(ledger_location):
    ledger = Ledger(ledger_location)  # on each engine
    docs = extracted_upload(ledger, _confidences())
    start = threading.Barrier(2)
    taken: dict[str, list[int]] = {"asha": [], "ravi": []}
    errors: list[BaseException] = []

    def work(who: str) -> None:
        try:
            start.wait()
            while (item := ledger.claim_next_review(who, POLICY)) is not None:
                taken[who].append(item.document)
                ledger.decide_review(item.document, who, "confirm")
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(who,)) for who in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert not set(taken["asha"]) & set(taken["ravi"])
    assert sorted(taken["asha"] + taken["ravi"]) == sorted(docs)
    assert ledger.review_counts(POLICY).to_review == 0
    ledger.close()


@pytest.mark.parametrize("reviewers", [2, 3])
def test_reviewers_in_separate_processes_never_share_a_document(tmp_path, reviewers):
    path = tmp_path / "atlas.db"
    ledger = Ledger(path)
    docs = extracted_upload(ledger, _confidences())
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", REVIEWER, str(path), f"reviewer-{n}", str(go)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(reviewers)
    ]
    go.touch()
    outputs = [proc.communicate(timeout=180) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * reviewers, [err for _, err in outputs]
    taken = [json.loads(out) for out, _ in outputs]
    everything = [doc for mine in taken for doc in mine]
    assert len(everything) == len(set(everything))  # nobody got a document another one had
    assert sorted(everything) == sorted(docs)
    counts = ledger.review_counts(POLICY)
    assert (counts.to_review, counts.done) == (0, DOCUMENTS)
    ledger.close()
