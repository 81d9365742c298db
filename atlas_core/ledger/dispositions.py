"""What becomes of each spreadsheet row: queued, skipped as a duplicate, held by a pilot, invalid.

The one rule. The plan shown before sending (engine/planning.py) decides with it, and the ledger
records that decision, re-checking inside its transaction only that no ID it queues was
submitted meanwhile; a ledger given rows without a plan decides with the same rule.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from . import states as S
from .records import RowRecord


def decide_rows(
    rows: Iterable[RowRecord], live: Container[str], *, pilot: int | None = None, force: bool = False
) -> tuple[str, ...]:
    """Each row's disposition, in order.

    A valid row is a duplicate when its ID is ``live`` (submitted and not failed) or came earlier
    in the sheet, unless ``force``; once ``pilot`` rows are queued, the other rows are held.
    """
    seen: set[str] = set()
    queued = 0
    decided = []
    for row in rows:
        if not row.valid:
            decided.append(S.ROW_INVALID)
            continue
        doc_id = str(row.document_id)
        if not force and (doc_id in live or doc_id in seen):
            decided.append(S.ROW_DUPLICATE)
            continue
        seen.add(doc_id)
        if pilot is not None and queued >= pilot:
            decided.append(S.ROW_HELD)
            continue
        queued += 1
        decided.append(S.ROW_QUEUED)
    return tuple(decided)
