"""The review queue in the ledger: which documents wait for a person, who holds which, decisions
and corrections. Atlas's answer (documents.file_data) is never changed: corrections sit beside it.

The queue is kept in ``reviews``, one row per document a person is to look at or has looked at.
Which documents belong there is decided by ``review/queue.py`` (the one rule, in Python). Storing
an extracted result notes its document in ``review_inbox`` (in the same transaction); each claim
or count first takes the inbox's documents through the rule, so it reads only what arrived since
(no clock: two refreshes committing out of order lose nothing). ``review_sync`` remembers the
rule the queue was chosen by; a changed rule chooses the waiting documents again, from every
current result. Two reviewers never get the same document: a claim is one UPDATE inside
``BEGIN IMMEDIATE`` (SQLite runs one writer at a time), and it holds the document for a lease, so
a reviewer who walks away does not keep it forever.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ..errors import ReviewError
from . import states as S
from .jsontext import load_stored
from .store import LedgerCore, now_ts

if TYPE_CHECKING:
    import sqlite_utils

    from ..review.models import ReviewCounts, ReviewItem
    from ..review.queue import ReviewPolicy
    from .rows import ReviewClaim

_DECISIONS = {
    "confirm": S.CONFIRMED, S.CONFIRMED: S.CONFIRMED,
    "correct": S.CORRECTED, S.CORRECTED: S.CORRECTED,
    "reject": S.REVIEW_REJECTED, S.REVIEW_REJECTED: S.REVIEW_REJECTED,
}
_ITEM_SQL = (
    "SELECT d.id, d.document_id, d.upload_id, d.row_number, d.file_url, d.document_type,"
    " d.min_confidence, d.file_data, d.updated_at, d.state AS document_state, d.superseded,"
    " r.state, r.why, r.revision, r.claimed_by, r.claim_expires_at, r.claimed_version,"
    " r.decided_by, r.decided_at"
    " FROM documents d LEFT JOIN reviews r ON r.document = d.id WHERE d.id = ?"
)
_CURRENT = f"d.state = {S.sql_literals(S.EXTRACTED)} AND d.superseded = 0"


def note_results_for_review(db: sqlite_utils.Database, documents: Sequence[int]) -> None:
    """Note documents whose result was just stored, for the review queue's next look."""
    db.conn.executemany(
        "INSERT INTO review_inbox (document) VALUES (?) ON CONFLICT (document) DO NOTHING",
        [(document,) for document in documents],
    )


def corrections_for(db: sqlite_utils.Database, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The corrections of these documents ({document: {field: value}}), read by one index range."""
    if not ids:
        return {}
    wanted = set(ids)
    found: dict[int, dict[str, str]] = {}
    for document, name, value in db.execute(
        "SELECT document, field, corrected_value FROM corrections WHERE document BETWEEN ? AND ?",
        [min(wanted), max(wanted)],
    ):
        if document in wanted:
            found.setdefault(document, {})[name] = value
    return found


def decisions_for(db: sqlite_utils.Database, ids: Sequence[int]) -> dict[int, str]:
    """A person's decision on each of these documents that has one ({document: state})."""
    if not ids:
        return {}
    wanted = set(ids)
    return {
        document: state
        for document, state in db.execute(
            "SELECT document, state FROM reviews WHERE document BETWEEN ? AND ?"
            f" AND state IN ({S.sql_literals(*S.REVIEW_DECIDED)})",
            [min(wanted), max(wanted)],
        )
        if document in wanted
    }


class ReviewLedger(LedgerCore):
    """The review queue: claim, read, decide, release, count (only this ledger's target's work)."""

    # --- keeping the queue up to date -------------------------------------------------------

    def sync_reviews(self, policy: ReviewPolicy, *, now: float | None = None) -> int:
        """Put the documents stored since the last sync that need a person in the queue; return how many."""
        with self.transaction() as db:
            return self._sync(db, policy, now_ts() if now is None else now)

    @staticmethod
    def _sync(db: sqlite_utils.Database, policy: ReviewPolicy, now: float) -> int:
        from ..review.queue import why_review  # review/ imports the ledger's states: not at load

        mark = db.execute("SELECT policy FROM review_sync WHERE id = 1").fetchone()
        fresh = mark is None or mark[0] != policy.key
        if fresh:
            # A new rule (or the first look): every current result is chosen again. Read in table
            # order: a scan reads 100,000 documents in about half the time the state index takes
            # (it visits each row out of order); the reviews are read apart, not joined per row.
            kept = {row[0]: tuple(row[1:]) for row in db.execute(
                "SELECT document, state, why, priority, claim_expires_at FROM reviews")}
            candidates: list[Any] = [
                (*row, *kept.pop(row[0], (None, None, None, None)), True) for row in db.execute(
                    "SELECT d.id, d.document_id, d.upload_id, d.min_confidence FROM documents d"
                    f" WHERE +d.state = {S.sql_literals(S.EXTRACTED)} AND d.superseded = 0"
                )
            ]
            # the waiting ones whose document is no longer a current result
            candidates += [(doc, None, None, None, *rest, False) for doc, rest in kept.items()]
        elif db.execute("SELECT 1 FROM review_inbox LIMIT 1").fetchone() is None:
            return 0  # nothing stored since: the usual claim pays one lookup here
        else:
            candidates = db.execute(
                "SELECT d.id, d.document_id, d.upload_id, d.min_confidence, r.state, r.why, r.priority,"
                f" r.claim_expires_at, ({_CURRENT}) AS current FROM review_inbox i"
                " JOIN documents d ON d.id = i.document LEFT JOIN reviews r ON r.document = d.id"
            ).fetchall()
        added, changed, dropped = [], [], []
        for doc, document_id, upload_id, lowest, state, was, priority, held_until, current in candidates:
            if state is not None and state != S.TO_REVIEW:
                continue  # decided: a person's decision stands
            why = why_review(document_id, lowest, policy) if current else None
            if why is not None:
                rank = 1.0 if lowest is None else lowest
                if state is None:
                    added.append((doc, upload_id, S.TO_REVIEW, why, rank, now, now))
                elif (was, priority) != (why, rank):  # a new answer or rule: a new place
                    changed.append((why, rank, now, doc))
            elif state is not None and (was != S.CHOSEN or not current):
                # needs no person now (or failed): out of the queue, unless a reviewer holds it
                if not current or held_until is None or held_until <= now:
                    dropped.append((doc,))
        # Only what changed is written: each row written costs its four index entries.
        db.conn.executemany(
            "INSERT INTO reviews (document, upload_id, state, why, priority, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            added,
        )
        db.conn.executemany("UPDATE reviews SET why = ?, priority = ?, updated_at = ? WHERE document = ?", changed)
        db.conn.executemany(f"DELETE FROM reviews WHERE document = ? AND state = {S.sql_literals(S.TO_REVIEW)}",
                            dropped)
        db.execute("DELETE FROM review_inbox")
        db.execute(
            "INSERT INTO review_sync (id, policy, synced_at) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET policy = excluded.policy, synced_at = excluded.synced_at",
            [policy.key, now],
        )
        return len(added) + len(changed)

    # --- one reviewer, one document ---------------------------------------------------------

    def claim_next_review(
        self, reviewer: str, policy: ReviewPolicy, *, upload_id: int | None = None,
        exclude: Sequence[int] = (), now: float | None = None,
    ) -> ReviewItem | None:
        """The next document for ``reviewer``, held for the policy's lease; None when the queue is empty.

        A reviewer holds one document at a time: the one they already hold comes back (a page
        rerun, a second tab) unless it is in ``exclude`` (the documents skipped this session);
        taking another lets go of it. Lowest confidence first, then the QC sample.
        """
        reviewer = _who(reviewer)
        now = now_ts() if now is None else now
        in_scope, scope_args = self.scope.uploads_named("r.upload_id")
        skip = [int(d) for d in exclude]
        params: dict[str, Any] = {
            "who": reviewer, "now": now, "upload_id": upload_id, **scope_args,
            **{f"skip_{i}": d for i, d in enumerate(skip)},
        }
        not_skipped = (
            f" AND r.document NOT IN ({', '.join(f':skip_{i}' for i in range(len(skip)))})" if skip else ""
        )
        only_upload = " AND r.upload_id = :upload_id" if upload_id is not None else ""
        with self.transaction() as db:
            self._sync(db, policy, now)
            held = db.execute(
                "SELECT r.document FROM reviews r WHERE r.claimed_by = :who AND r.claim_expires_at > :now"
                f" AND r.state = {S.sql_literals(S.TO_REVIEW)}{not_skipped}{only_upload} AND {in_scope}"
                " ORDER BY r.priority, r.document LIMIT 1",
                params,
            ).fetchone()
            if held is not None:
                document = held[0]
            else:
                db.execute(
                    "UPDATE reviews SET claimed_by = NULL, claim_expires_at = NULL, claimed_version = NULL"
                    " WHERE claimed_by = :who", params,
                )
                # The queue index gives the lowest priority first: CROSS JOIN keeps SQLite reading
                # it first (else it starts from documents and sorts 60,000 of them, ~100 ms); the
                # join skips a document a retry superseded since.
                row = db.execute(
                    "SELECT r.document FROM reviews r CROSS JOIN documents d"
                    f" WHERE d.id = r.document AND r.state = {S.sql_literals(S.TO_REVIEW)}"
                    " AND (r.claim_expires_at IS NULL OR r.claim_expires_at <= :now)"
                    f" AND {_CURRENT}{not_skipped}{only_upload} AND {in_scope}"
                    " ORDER BY r.priority, r.document LIMIT 1",
                    params,
                ).fetchone()
                if row is None:
                    return None
                document = row[0]
            # Checked again in the UPDATE itself, so the claim stays one atomic step on any engine.
            claimed = db.execute(
                "UPDATE reviews SET claimed_by = :who, claim_expires_at = :until, updated_at = :now,"
                " claimed_version = (SELECT updated_at FROM documents WHERE id = :doc)"
                " WHERE document = :doc AND state = :state AND (claimed_by IS NULL OR claimed_by = :who"
                " OR claim_expires_at IS NULL OR claim_expires_at <= :now)",
                {"who": reviewer, "until": now + policy.lease, "now": now, "doc": document,
                 "state": S.TO_REVIEW},
            ).rowcount
            if claimed != 1:  # cannot happen under BEGIN IMMEDIATE; say so rather than share one
                raise ReviewError("Another reviewer took this document at the same moment.", reason="held",
                                  hint="Ask for the next document again.")
            return self._item(db, document, policy)

    def review_item(self, document: int, policy: ReviewPolicy | None = None) -> ReviewItem | None:
        """One document as the Review page shows it (any extracted document), or None if not in the ledger."""
        with self.reading() as db:
            return self._item(db, document, policy)

    def review_items(self, documents: Sequence[int], policy: ReviewPolicy | None = None) -> dict[int, ReviewItem]:
        """Many documents as ``review_item`` gives them, in one read ({document: item}; unknown ones left out)."""
        with self.reading() as db:
            items = {document: self._item(db, document, policy) for document in dict.fromkeys(documents)}
        return {document: item for document, item in items.items() if item is not None}

    def _item(self, db: sqlite_utils.Database, document: int, policy: ReviewPolicy | None) -> ReviewItem | None:
        from ..results.corrections import review_fields
        from ..review.models import ReviewField, ReviewItem
        from ..review.queue import ReviewPolicy, why_review

        policy = policy or ReviewPolicy()
        row = db.execute(_ITEM_SQL, [document]).fetchone()
        if row is None or not self._in_scope(db, row["upload_id"]):
            return None
        corrected = {
            name: (value, by) for name, value, by in db.execute(
                "SELECT field, corrected_value, corrected_by FROM corrections WHERE document = ?", [document]
            )
        }
        file_data = load_stored(row["file_data"])
        fields = tuple(
            ReviewField(
                spot.name, spot.value, spot.confidence, policy.is_weak(spot.confidence),
                *corrected.get(spot.name, (None, None)),
            )
            for spot in review_fields(file_data, row["document_type"])
        )
        return ReviewItem(
            document=row["id"], document_id=row["document_id"], upload_id=row["upload_id"],
            row_number=row["row_number"], file_url=row["file_url"], document_type=row["document_type"],
            min_confidence=row["min_confidence"], state=row["state"] or S.TO_REVIEW,
            why=row["why"] or why_review(row["document_id"], row["min_confidence"], policy) or S.CHOSEN,
            fields=fields, version=row["updated_at"], revision=row["revision"] or 0,
            claimed_by=row["claimed_by"], claim_expires_at=row["claim_expires_at"],
            decided_by=row["decided_by"], decided_at=row["decided_at"],
        )

    def _in_scope(self, db: sqlite_utils.Database, upload_id: int) -> bool:
        if not self.scope.scoped:
            return True
        in_scope, args = self.scope.positional("target")
        return db.execute(f"SELECT 1 FROM uploads WHERE id = ? AND {in_scope}", [upload_id, *args]).fetchone() is not None

    def release_review(self, document: int, reviewer: str) -> bool:
        """Let go of a document ``reviewer`` holds (skipped, or the page closed); False if not theirs."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE reviews SET claimed_by = NULL, claim_expires_at = NULL, claimed_version = NULL"
                " WHERE document = ? AND claimed_by = ?",
                [document, _who(reviewer)],
            ).rowcount == 1

    def decide_review(
        self, document: int, reviewer: str, decision: str, corrections: Mapping[str, Any] | None = None,
        *, version: float | None = None, policy: ReviewPolicy | None = None, now: float | None = None,
        revision: int | None = None,
    ) -> ReviewItem:
        """Confirm, correct or reject a document; ``corrections`` ({field: value}) replace its earlier ones.

        The state stored is ``rejected`` for a rejection, else ``corrected`` when a value differs
        from Atlas's, else ``confirmed``. A page passes ``version=item.version`` of the item it
        showed (a rerun's claim renews the claim to the answer as it is then). Refused (ReviewError) when another reviewer holds the
        document, when Atlas's answer changed since ``version`` (or since it was claimed), for a
        document that is not a current extracted one, and for a field the document does not have.
        """
        reviewer = _who(reviewer)
        state = _DECISIONS.get(str(decision).strip().lower())
        if state is None:
            raise ReviewError(f"{decision!r} is not a review decision.", reason="decision",
                              hint="Use confirm, correct or reject.")
        now = now_ts() if now is None else now
        with self.transaction() as db:
            row = self._decidable(db, document, reviewer, version, now)
            if revision is not None and (row["revision"] or 0) != revision:  # added for the Review page
                raise ReviewError(
                    f"{row['decided_by'] or 'Someone'} decided document {row['document_id']} meanwhile"
                    f" ({row['state']}).", reason="decided",
                    hint="Your decision was not saved; open the document again to see theirs.",
                )
            wanted = self._corrections_to_store(db, row, dict(corrections or {}))
            if state != S.REVIEW_REJECTED:
                state = S.CORRECTED if wanted else S.CONFIRMED
            self._record_decision(db, row, reviewer, state, now)
            db.execute("DELETE FROM corrections WHERE document = ?", [document])
            self._insert_corrections(db, document, wanted, reviewer, now)
            return self._item(db, document, policy)  # type: ignore[return-value]  # it exists

    def _decidable(self, db: sqlite_utils.Database, document: int, reviewer: str,
                   version: float | None, now: float) -> Any:
        row = db.execute(_ITEM_SQL, [document]).fetchone()
        if row is None or not self._in_scope(db, row["upload_id"]):
            raise ReviewError(f"Document {document} is not in the ledger.", reason="missing",
                              hint="Check the document number; nothing was changed.")
        if row["document_state"] != S.EXTRACTED or row["superseded"]:
            raise ReviewError(
                f"Document {row['document_id']} has no current extracted result to review"
                f" (it is {row['document_state']}{', and a later attempt replaced it' if row['superseded'] else ''}).",
                reason="changed",
            )
        holder, until = row["claimed_by"], row["claim_expires_at"]
        if holder and holder != reviewer and until is not None and until > now:
            raise ReviewError(f"{holder} is reviewing document {row['document_id']} right now.", reason="held",
                              hint="Take the next document; this one comes back if they let it go.")
        seen = version if version is not None else (row["claimed_version"] if holder == reviewer else None)
        if seen is not None and seen != row["updated_at"]:
            raise ReviewError(
                f"Atlas's answer for document {row['document_id']} changed since it was opened.",
                reason="changed", hint="Open it again and review the new answer; nothing was changed.",
            )
        return row

    @staticmethod
    def _corrections_to_store(db: sqlite_utils.Database, row: Any, given: dict[str, Any]) -> dict[str, tuple[str, str]]:
        """{field: (Atlas's value as text, the corrected value)} for the values that differ from Atlas's."""
        from ..results.corrections import review_fields, value_text

        atlas = {spot.name: spot.value for spot in review_fields(load_stored(row["file_data"]), row["document_type"])}
        unknown = sorted(set(given) - set(atlas))
        if unknown:
            raise ReviewError(
                f"Document {row['document_id']} has no field {', '.join(map(repr, unknown))}.", reason="field",
                hint=f"Its fields are: {', '.join(atlas) or 'none'}; nothing was changed.",
            )
        out = {}
        for name, value in given.items():
            text, before = value_text(value), value_text(atlas[name])
            if text != before:
                out[name] = (before, text)
        return out

    @staticmethod
    def _record_decision(db: sqlite_utils.Database, row: Any, reviewer: str, state: str, now: float) -> None:
        if row["state"] is None:  # opened outside the queue: it gets a row now
            db.execute(
                "INSERT INTO reviews (document, upload_id, state, why, priority, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [row["id"], row["upload_id"], S.TO_REVIEW, S.CHOSEN,
                 1.0 if row["min_confidence"] is None else row["min_confidence"], now, now],
            )
        db.execute(
            "UPDATE reviews SET state = ?, decided_by = ?, decided_at = ?, revision = revision + 1,"
            " claimed_by = NULL, claim_expires_at = NULL, claimed_version = NULL, updated_at = ?"
            " WHERE document = ?",
            [state, reviewer, now, now, row["id"]],
        )

    @staticmethod
    def _insert_corrections(db: sqlite_utils.Database, document: int, wanted: Mapping[str, tuple[str, str]],
                            reviewer: str, now: float) -> None:
        db.conn.executemany(
            "INSERT INTO corrections (document, field, atlas_value, corrected_value, corrected_by, corrected_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (document, field) DO UPDATE SET"
            " corrected_value = excluded.corrected_value, corrected_by = excluded.corrected_by,"
            " corrected_at = excluded.corrected_at",
            [(document, name, before, after, reviewer, now) for name, (before, after) in wanted.items()],
        )

    def correct_documents(
        self, changes: Mapping[int, tuple[str, Mapping[str, Any]]], reviewer: str, *, now: float | None = None,
    ) -> dict[int, ReviewError | None]:
        """Apply file corrections ({document: (stamp, {field: value})}) in one transaction, each
        document only if it is unchanged since its ``stamp`` (ReviewItem.stamp at export time).

        A value equal to Atlas's removes that field's correction. Each document ends ``corrected``
        (or ``confirmed`` when no correction is left); returns {document: None, or why it was refused}.
        """
        reviewer = _who(reviewer)
        now = now_ts() if now is None else now
        outcome: dict[int, ReviewError | None] = {}
        with self.transaction() as db:
            for document, (stamp, fields) in changes.items():
                try:
                    row = self._decidable(db, document, reviewer, None, now)
                    current = f"{row['revision'] or 0}:{row['updated_at']!r}"
                    if stamp != current:
                        by = f" (by {row['decided_by']})" if row["decided_by"] else ""
                        raise ReviewError(
                            f"Document {row['document_id']} was reviewed or changed after the file was made{by}.",
                            reason="changed", hint="Export the queue again and redo this row.",
                        )
                    wanted = self._corrections_to_store(db, row, dict(fields))
                    reverted = [name for name in fields if name not in wanted]
                    if reverted:
                        db.execute(
                            f"DELETE FROM corrections WHERE document = ? AND field IN ({', '.join('?' * len(reverted))})",
                            [document, *reverted],
                        )
                    self._insert_corrections(db, document, wanted, reviewer, now)
                    left = db.execute("SELECT count(*) FROM corrections WHERE document = ?", [document]).fetchone()[0]
                    self._record_decision(db, row, reviewer, S.CORRECTED if left else S.CONFIRMED, now)
                    outcome[document] = None
                except ReviewError as exc:
                    outcome[document] = exc
        return outcome

    # --- the queue as a whole ---------------------------------------------------------------

    def review_counts(
        self, policy: ReviewPolicy | None = None, *, upload_id: int | None = None,
        since: float | None = None, now: float | None = None,
    ) -> ReviewCounts:
        """To review, held right now, and decided since ``since`` (default: today, UTC) by whom.

        With a policy, the queue is first brought up to date with the results stored since.
        """
        from ..review.models import ReviewCounts

        now = now_ts() if now is None else now
        since = now - now % 86400 if since is None else since
        if policy is not None:
            self.sync_reviews(policy, now=now)
        in_scope, scope_args = self.scope.uploads_named("r.upload_id")
        only_upload = " AND r.upload_id = :upload_id" if upload_id is not None else ""
        params = {"now": now, "since": since, "upload_id": upload_id, **scope_args}
        with self.reading() as db:
            # From the queue's own indexes: the sync keeps waiting rows to current extracted
            # documents, so no document row is read (a join costs ~100 ms at 60,000 waiting).
            waiting = db.execute(
                f"SELECT count(*) FROM reviews r WHERE r.state = {S.sql_literals(S.TO_REVIEW)}"
                f"{only_upload} AND {in_scope}", params,
            ).fetchone()[0]
            # Only waiting documents are held (a decision lets go), and few at a time: read by
            # the claimed_by index alone, then placed (another term makes SQLite walk the queue).
            holders = [r[0] for r in db.execute(
                "SELECT r.upload_id FROM reviews r WHERE r.claimed_by IS NOT NULL AND r.claim_expires_at > :now",
                {"now": now},
            )]
            held = sum(1 for up in holders if (upload_id is None or up == upload_id) and self._in_scope(db, up))
            by_reviewer: dict[str, int] = {}
            by_state: dict[str, int] = {}
            for who, state, n in db.execute(
                "SELECT r.decided_by, r.state, count(*) FROM reviews r WHERE r.decided_at >= :since"
                f" AND r.state IN ({S.sql_literals(*S.REVIEW_DECIDED)}){only_upload} AND {in_scope}"
                " GROUP BY r.decided_by, r.state",
                params,
            ):
                by_reviewer[who] = by_reviewer.get(who, 0) + n
                by_state[state] = by_state.get(state, 0) + n
        return ReviewCounts(
            to_review=waiting, in_review=held, done=sum(by_state.values()), since=since,
            by_reviewer=dict(sorted(by_reviewer.items(), key=lambda kv: (-kv[1], kv[0]))), by_state=by_state,
        )

    def review_queue(
        self, policy: ReviewPolicy, *, upload_id: int | None = None, states: Sequence[str] = (S.TO_REVIEW,),
        page_size: int = 500, now: float | None = None,
    ) -> Iterator[ReviewItem]:
        """The queue's documents (by default those waiting) in document order, a page at a time."""
        self.sync_reviews(policy, now=now)
        in_scope, scope_args = self.scope.uploads_named("r.upload_id")
        only_upload = " AND r.upload_id = :upload_id" if upload_id is not None else ""
        wanted = {f"state_{i}": s for i, s in enumerate(states)}
        last = 0
        while True:
            with self.reading() as db:
                ids = [r[0] for r in db.execute(
                    "SELECT r.document FROM reviews r JOIN documents d ON d.id = r.document"
                    f" WHERE r.document > :last AND r.state IN ({', '.join(':' + k for k in wanted)})"
                    f" AND {_CURRENT}{only_upload} AND {in_scope} ORDER BY r.document LIMIT :size",
                    {"last": last, "size": page_size, "upload_id": upload_id, **wanted, **scope_args},
                )]
                items = [self._item(db, document, policy) for document in ids]
            yield from (item for item in items if item is not None)
            if len(ids) < page_size:
                return
            last = ids[-1]

    # --- added for the Review page: who holds what, the rule in use ------------------------

    def review_claims(self, *, limit: int = 100, now: float | None = None) -> list[ReviewClaim]:
        """The documents reviewers hold right now (longest held first), at most ``limit``."""
        now = now_ts() if now is None else now
        # The claimed_by index holds the few live claims: "> ''" lets the planner range over it
        # (a name is never empty), and the unary + keeps it from scanning the upload index instead.
        in_scope, scope_args = self.scope.uploads_named("+r.upload_id")
        with self.reading() as db:
            rows = db.execute(
                "SELECT r.document, d.document_id, r.claimed_by, r.claim_expires_at FROM reviews r"
                " JOIN documents d ON d.id = r.document"
                f" WHERE r.claimed_by > '' AND r.claim_expires_at > :now AND {in_scope}"
                " ORDER BY r.claim_expires_at LIMIT :limit",
                {"now": now, "limit": limit, **scope_args},
            ).fetchall()
        return [cast("ReviewClaim", dict(row)) for row in rows]

    def review_policy(self, default: ReviewPolicy) -> ReviewPolicy:
        """The rule the queue was last chosen by (threshold, sample rate), else ``default``."""
        from ..review.queue import ReviewPolicy

        with self.reading() as db:
            mark = db.execute("SELECT policy FROM review_sync WHERE id = 1").fetchone()
        if mark is None:
            return default
        try:
            values = dict(part.split("=", 1) for part in str(mark[0]).split())
            return ReviewPolicy(float(values["threshold"]), float(values["sample_rate"]), default.lease)
        except (KeyError, ValueError):  # a key written by another version: the settings' rule
            return default


def _who(reviewer: str) -> str:
    name = " ".join(str(reviewer or "").split())
    if not name:
        raise ReviewError("A review needs the reviewer's name.", reason="decision",
                          hint="Sign in, or give --by NAME.")
    return name[:200]
