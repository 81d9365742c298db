"""Each upload's balance (extracted, failed, left out, missing, pending) and the cells fixed before
sending, on real SQLite: every row in exactly one part, and a lost document made visible."""

from __future__ import annotations

import sqlite3

import pytest
from ledger_support import record_results
from test_ledger_page_queries import busy as busy_ledger
from test_ledger_page_queries import busy_file as busy_file_ledger
from test_ledger_page_queries import recount, result, send

from atlas_core.ledger import CellFix, Ledger, RowRecord, UploadRecord, format_balance
from atlas_core.ledger import states as S
from atlas_core.ledger.balance import UploadBalance, balance_warning
from atlas_core.ledger.schema import MIGRATION_NAMES

busy = pytest.fixture(busy_ledger.__wrapped__, name="busy")  # the page queries' ledger in every state
# The same in a SQLite file, for what only SQLite has (its file, EXPLAIN QUERY PLAN).
busy_file = pytest.fixture(busy_file_ledger.__wrapped__, name="busy_file")


def sheet_rows(prefix: str, n: int, *, invalid: set[int] = frozenset()) -> list[RowRecord]:
    """n spreadsheet rows (numbers 2..n+1), the positions in ``invalid`` without a URL."""
    return [
        RowRecord(i + 2, f"{prefix}{i}", None if i in invalid else f"https://x.test/{prefix}{i}.jpg",
                  i not in invalid)
        for i in range(n)
    ]


def plain_balance(ledger: Ledger, upload_id: int) -> dict[str, int]:
    """The balance recounted in Python from a plain read of the rows and current documents."""
    docs: dict[int, list[tuple[int, str]]] = {}
    for doc_id, row_number, state in recount(
        ledger, "SELECT id, row_number, state FROM documents WHERE upload_id = ? AND superseded = 0",
        (upload_id,),
    ):
        docs.setdefault(row_number, []).append((doc_id, state))
    counts = dict.fromkeys(("rows", *S.BALANCE_PARTS), 0)
    for row_number, disposition in recount(
        ledger, "SELECT row_number, disposition FROM upload_rows WHERE upload_id = ?", (upload_id,)
    ):
        state = max(docs[row_number])[1] if row_number in docs else None
        counts[S.balance_part(disposition, state)] += 1
        counts["rows"] += 1
    return counts


def parts(balance: UploadBalance) -> dict[str, int]:
    """The rows and the five parts of a balance."""
    return {"rows": balance.rows, **{p: balance.part(p) for p in S.BALANCE_PARTS}}


def test_the_busy_ledger_balances_as_a_plain_recount(busy):
    ledger, a, b = busy
    balances = ledger.upload_balances([a, b])
    for upload_id in (a, b):
        assert parts(balances[upload_id]) == plain_balance(ledger, upload_id)
        assert balances[upload_id].missing == 0 and balances[upload_id].unexpected == 0
    # a: 30 rows. 8 sent (3 failed, retried and queued again; 5 extracted), 2 uncertain,
    # 10 refused by Atlas, 10 cancelled before sending.
    assert parts(balances[a]) == {"rows": 30, "extracted": 5, "failed": 10, "left_out": 10,
                                  "missing": 0, "pending": 5}
    assert balances[a].detail == {S.EXTRACTED: 5, S.QUEUED: 3, S.UNCERTAIN: 2, S.REJECTED: 10,
                                  S.CANCELLED: 10}
    assert parts(balances[b]) == {"rows": 20, "extracted": 13, "failed": 1, "left_out": 0,
                                  "missing": 0, "pending": 6}


def test_every_row_counts_in_exactly_one_part(busy):
    ledger, a, b = busy
    for balance in ledger.upload_balances([a, b]).values():
        assert balance.rows == sum(balance.part(p) for p in S.BALANCE_PARTS)


def test_rows_never_sent_are_left_out_by_their_disposition(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    first = ledger.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 3), chunk_size=10)
    # Row 2 invalid, a0/a1 already sent (duplicates), then a pilot of 2 holds the rest.
    rows = [*sheet_rows("a", 2), RowRecord(4, "x", None, False),
            *(RowRecord(5 + i, f"n{i}", f"https://x.test/n{i}.jpg", True) for i in range(5))]
    upload = ledger.record_upload(UploadRecord("b.csv", "T"), rows, chunk_size=10, pilot=2).upload_id
    balance = ledger.upload_balance(upload)
    assert parts(balance) == {"rows": 8, "extracted": 0, "failed": 0, "left_out": 6, "missing": 0,
                              "pending": 2}
    assert balance.detail == {"rows_duplicate": 2, "rows_invalid": 1, "rows_held": 3, S.QUEUED: 2}
    ledger.cancel_queued(upload_id=upload)  # the pilot's queued documents, and the held rows
    balance = ledger.upload_balance(upload)
    assert parts(balance) == {"rows": 8, "extracted": 0, "failed": 0, "left_out": 8, "missing": 0,
                              "pending": 0}
    assert balance.detail == {"rows_duplicate": 2, "rows_invalid": 1, "rows_cancelled": 3,
                              S.CANCELLED: 2}
    assert ledger.upload_balance(first.upload_id).pending == 3


def test_a_lost_document_shows_as_missing_and_is_named_by_row(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    upload = ledger.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 5), chunk_size=10)
    conn = sqlite3.connect(ledger.path)
    with conn:  # damage: the document of sheet row 4 is gone
        conn.execute("DELETE FROM documents WHERE row_number = 4")
    conn.close()
    balance = ledger.upload_balance(upload.upload_id)
    assert (balance.rows, balance.missing, balance.pending) == (5, 1, 4)
    assert ledger.missing_rows(upload.upload_id) == [4]
    assert "1 missing" in balance.sentence()
    assert "1 row(s) were queued to be sent but have no document" in balance_warning(balance)


def test_a_document_in_no_row_is_counted_apart(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    upload = ledger.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 3), chunk_size=10)
    conn = sqlite3.connect(ledger.path)
    with conn:  # damage: a second current document for row 2, and one with no row at all
        for row_number in (2, None):
            conn.execute(
                "INSERT INTO documents (document_id, file_url, upload_id, row_number, state,"
                " created_at, updated_at) VALUES ('stray', 'u', ?, ?, 'queued', 0, 0)",
                [upload.upload_id, row_number])
    conn.close()
    balance = ledger.upload_balance(upload.upload_id)
    assert (balance.rows, balance.pending, balance.missing, balance.unexpected) == (3, 3, 0, 2)
    assert balance.sentence().endswith("; 2 document(s) in no row of the sheet")
    assert "2 document(s) match no row of the sheet" in balance_warning(balance)


def test_the_sentence_says_every_part_with_thousands_separators():
    balance = UploadBalance(7, rows=5_000, extracted=4_885, failed=91, left_out=24)
    assert format_balance(balance) == (
        "5,000 rows: 4,885 extracted, 91 failed, 24 left out, 0 missing, 0 pending"
    )
    assert balance.sentence() == format_balance(balance)
    assert UploadBalance(1, rows=1, pending=1).sentence() == (
        "1 row: 0 extracted, 0 failed, 0 left out, 0 missing, 1 pending")
    assert balance_warning(balance) is None


def test_an_unknown_upload_balances_at_zero_and_many_uploads_in_one_call(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    ids = [ledger.record_upload(UploadRecord(f"{i}.csv", "T"), sheet_rows(f"u{i}-", i + 1),
                                chunk_size=10).upload_id for i in range(3)]
    balances = ledger.upload_balances([*ids, 99])
    assert [balances[i].rows for i in ids] == [1, 2, 3]
    assert balances[99].rows == 0 and balances[99].sentence().startswith("0 rows: ")


def test_storing_results_moves_rows_from_pending_to_their_outcome(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    upload = ledger.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 4), chunk_size=10)
    sent = send(ledger, upload.upload_id, "B1", 100.0)
    record_results(ledger, "B1", [result(sent[0]), result(sent[1], S.FAILED)], keep_open=True)
    assert parts(ledger.upload_balance(upload.upload_id)) == {
        "rows": 4, "extracted": 1, "failed": 1, "left_out": 0, "missing": 0, "pending": 2}
    ledger.retry_failed(upload_id=upload.upload_id)  # the failed row is pending again
    assert ledger.upload_balance(upload.upload_id).pending == 3


def test_fixed_cells_are_recorded_with_the_upload_who_and_when(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    fixes = (CellFix(3, "file_url", "htp://bad", "https://x.test/a1.jpg"),
             CellFix(2, "Applicant Ref", "=HYPERLINK(1)", "A-0"))
    upload = ledger.record_upload(UploadRecord("a.csv", "T", submitted_by="Asha"),
                                  sheet_rows("a", 3), chunk_size=10, fixes=fixes, now=1234.0)
    assert ledger.cell_fixes(upload.upload_id) == [
        {"row_number": 2, "column_name": "Applicant Ref", "old_value": "=HYPERLINK(1)",
         "new_value": "A-0", "fixed_by": "Asha", "fixed_at": 1234.0},
        {"row_number": 3, "column_name": "file_url", "old_value": "htp://bad",
         "new_value": "https://x.test/a1.jpg", "fixed_by": "Asha", "fixed_at": 1234.0},
    ]
    other = ledger.record_upload(UploadRecord("b.csv", "T"), sheet_rows("b", 1), chunk_size=10)
    assert ledger.cell_fixes(other.upload_id) == []


def test_a_refused_upload_records_no_fixed_cells(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    ledger.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 1), chunk_size=10)
    with pytest.raises(ValueError):  # more dispositions than rows: the transaction rolls back
        ledger.record_upload(UploadRecord("b.csv", "T"), sheet_rows("b", 1), chunk_size=10,
                             dispositions=(S.ROW_QUEUED, S.ROW_QUEUED),
                             fixes=(CellFix(2, "file_url", "a", "b"),))
    assert recount(ledger, "SELECT count(*) FROM cell_fixes") == [(0,)]


def test_the_balance_migration_upgrades_an_existing_ledger(busy_file):
    ledger, a, _ = busy_file
    before = ledger.upload_balance(a)
    ledger.close()
    conn = sqlite3.connect(ledger.path)
    with conn:  # the file as the schema before m005 left it
        conn.execute("DROP TABLE cell_fixes")
        conn.execute("DROP INDEX documents_upload_row")
        conn.execute("DROP INDEX upload_rows_disposition_row")
        conn.execute("CREATE INDEX upload_rows_disposition ON upload_rows(upload_id, disposition)")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm005_cell_fixes_and_row_balance'")
    conn.close()
    reopened = Ledger(ledger.path)
    assert reopened.schema_version == len(MIGRATION_NAMES)
    assert reopened.upload_balance(a) == before
    assert reopened.cell_fixes(a) == []


def test_the_missing_check_reads_indexes_only(busy_file):
    ledger, a, _ = busy_file
    plan = " ".join(str(r) for r in recount(
        ledger, "EXPLAIN QUERY PLAN SELECT count(*) FROM upload_rows r WHERE r.upload_id = ?"
        " AND r.disposition = 'queued' AND NOT EXISTS (SELECT 1 FROM documents d"
        " WHERE d.upload_id = r.upload_id AND d.row_number = r.row_number AND d.superseded = 0)",
        (a,)))
    assert "COVERING INDEX upload_rows_disposition_row" in plan, plan
    assert "COVERING INDEX documents_upload_row" in plan, plan


def test_no_statement_of_a_balancing_upload_reads_a_table_row(busy_file):
    """Every count of an upload that adds up is read in an index (covering), never in the
    documents' or rows' tables, whose rows carry results and sheet cells. (The states come from
    the pages' own counters, queries.py's ``_state_counts``, tested with the page queries.)"""
    from atlas_core.ledger.balance import _balances

    ledger, a, b = busy_file
    statements: list[str] = []
    with ledger.reading() as db:
        db.conn.set_trace_callback(statements.append)
        try:
            _balances(db, [b])
        finally:
            db.conn.set_trace_callback(None)
        plans = {sql: " ".join(str(tuple(r)) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
                 for sql in statements if "json_each" not in sql}
    for sql, plan in plans.items():
        for line in plan.split(")("):
            if "SEARCH" in line or "SCAN" in line:
                assert "COVERING INDEX" in line, (sql, plan)
    assert any("upload_rows" in sql for sql in plans) and len(plans) >= 3


def test_a_doubled_document_is_recounted_row_by_row(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    upload = ledger.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 4), chunk_size=10)
    sent = send(ledger, upload.upload_id, "B1", 100.0)
    record_results(ledger, "B1", [result(d) for d in sent])
    conn = sqlite3.connect(ledger.path)
    with conn:  # damage: row 3's document is gone and row 2 holds an extra queued one
        conn.execute("DELETE FROM documents WHERE row_number = 3")
        conn.execute(
            "INSERT INTO documents (document_id, file_url, upload_id, row_number, state,"
            " created_at, updated_at) VALUES ('a0', 'u', ?, 2, 'queued', 0, 0)", [upload.upload_id])
    conn.close()
    balance = ledger.upload_balance(upload.upload_id)
    assert parts(balance) == plain_balance(ledger, upload.upload_id)
    assert (balance.missing, balance.unexpected, balance.pending, balance.extracted) == (1, 1, 1, 2)


def test_attempts_without_results_reconcile_as_the_full_documents_do(busy):
    from atlas_core.results import reconcile

    ledger, a, b = busy
    for upload_id in (a, b):
        full = reconcile(ledger.iter_upload_rows(upload_id),
                         ledger.iter_documents(upload_id=upload_id, include_superseded=True))
        light = reconcile(ledger.iter_upload_rows(upload_id), ledger.iter_attempts(upload_id))
        assert light == full
        attempts = list(ledger.iter_attempts(upload_id))
        assert "file_data" not in attempts[0] and [d["id"] for d in attempts] == sorted(
            d["id"] for d in attempts)


def test_attempts_and_balance_are_read_only_for_the_ledgers_own_target(tmp_path):
    sandbox = Ledger(tmp_path / "atlas.db", target="sandbox")
    upload = sandbox.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 2), chunk_size=10)
    assert len(list(sandbox.iter_attempts(upload.upload_id))) == 2
    other = Ledger(tmp_path / "atlas.db", target="https://atlas.example")
    assert list(other.iter_attempts(upload.upload_id)) == []
    assert other.upload_balance(upload.upload_id).rows == 0
    assert sandbox.upload_balance(upload.upload_id).rows == 2


def test_fixed_cells_are_read_only_for_the_ledgers_own_target(tmp_path):
    sandbox = Ledger(tmp_path / "atlas.db", target="sandbox")
    upload = sandbox.record_upload(UploadRecord("a.csv", "T"), sheet_rows("a", 1), chunk_size=10,
                                   fixes=(CellFix(2, "file_url", "a", "b"),))
    assert len(sandbox.cell_fixes(upload.upload_id)) == 1
    assert Ledger(tmp_path / "atlas.db", target="https://atlas.example").cell_fixes(
        upload.upload_id) == []
