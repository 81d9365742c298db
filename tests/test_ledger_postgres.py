"""What only the PostgreSQL ledger has: migrations under a lock, its URL's secret, ledger-copy,
a connection the server dropped. The shared behaviour runs on both engines in test_ledger*.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from pg_support import ledger_env

from atlas_core.config import Settings
from atlas_core.errors import LedgerError, redact
from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S
from atlas_core.ledger.dialect import to_postgres
from atlas_core.ledger.pgstore import MIGRATIONS_TABLE
from atlas_core.ledger.schema import MIGRATION_NAMES

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Pg-S3cret-never-shown"


@pytest.fixture
def url(postgres_cluster) -> str:
    """A fresh, empty database of the session's cluster."""
    return postgres_cluster.fresh_database()


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a plain query, on a connection of the test's own."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def rows(n: int, prefix: str = "D") -> list[RowRecord]:
    """n valid spreadsheet rows."""
    return [RowRecord(i + 2, f"{prefix}{i}", f"https://x.test/{i}.jpg", True, original={"id": f"{prefix}{i}"})
            for i in range(n)]


def test_two_processes_opening_a_fresh_database_apply_each_migration_once(url):
    # The test's own transaction creates the migrations table and holds it uncommitted while
    # both processes start, so both are blocked before either migrates (one on that table, the
    # other on the migration lock); then it rolls back and lets them race. Without the lock
    # both would create the tables at once, and one fail.
    opener = f"from atlas_core.ledger import Ledger; print(Ledger({url!r}).schema_version)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with psycopg.connect(url) as holder:
        holder.execute(f"CREATE TABLE {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)")
        procs = [subprocess.Popen([sys.executable, "-c", opener], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        with psycopg.connect(url, autocommit=True) as watcher:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # both blocked (or one gave up early)
                blocked = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'").fetchone()[0]
                if blocked == 2 or any(p.poll() is not None for p in procs):
                    break
                time.sleep(0.05)
        holder.rollback()
        outcomes = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outcomes
    assert [int(out) for out, _ in outcomes] == [len(MIGRATION_NAMES)] * 2
    applied = [r[0] for r in query(url, f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY name")]
    assert applied == sorted(MIGRATION_NAMES)  # each once
    assert Ledger(url).schema_version == len(MIGRATION_NAMES)  # reopening migrates nothing twice


def test_a_database_written_by_a_newer_version_is_refused(url):
    Ledger(url).close()
    query(url, f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES ('m999_from_the_future', 0)")
    with pytest.raises(LedgerError, match="newer version") as caught:
        Ledger(url)
    assert "ATLAS_DATABASE_URL" in caught.value.user_message()


def test_the_urls_password_never_shows(postgres_cluster):
    secret_url = f"postgresql://atlas:{PASSWORD}@127.0.0.1:{postgres_cluster.port}/no_such_db"
    settings = Settings(database_url=secret_url)
    assert PASSWORD not in repr(settings) and PASSWORD not in settings.ledger_label
    assert settings.ledger_location == secret_url
    with pytest.raises(LedgerError) as caught:
        Ledger(secret_url)
    message = caught.value.user_message()
    assert "cannot be reached" in message and "postgresql://***@127.0.0.1" in message
    assert PASSWORD not in message and PASSWORD not in repr(caught.value)
    assert PASSWORD not in redact(f"log line with {secret_url}")  # remembered as a secret
    run = subprocess.run([sys.executable, "-m", "atlas_core", "status"], cwd=ROOT, text=True,
                         capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                   **ledger_env(secret_url)}, timeout=120)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "cannot be reached" in run.stderr and PASSWORD not in run.stderr + run.stdout


def test_a_url_that_is_not_postgresql_is_refused_without_echoing_it():
    with pytest.raises(Exception, match="must start with postgresql://") as caught:
        Settings.from_mapping({"ATLAS_DATABASE_URL": f"mysql://u:{PASSWORD}@h/db"})
    assert PASSWORD not in str(caught.value)


def test_a_connection_the_server_dropped_is_replaced_by_the_next_unit_of_work(url):
    ledger = Ledger(url)
    ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows(3), chunk_size=2)
    assert ledger.list_uploads()[1] == 1  # this thread's connection is open and idle now
    killed = query(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid != pg_backend_pid()")
    assert killed[0][0] >= 1
    assert ledger.list_uploads()[1] == 1  # a fresh connection, not an error
    assert ledger.claim_chunk("w") is not None


def test_ledger_copy_moves_every_table_with_its_ids_and_refuses_a_full_target(tmp_path, url):
    source_path = tmp_path / "atlas.db"
    source = Ledger(source_path)
    first = source.record_upload(UploadRecord("a.csv", "POC_CDL"), rows(250), chunk_size=100)
    claimed = source.claim_chunk("w")
    source.record_sent(claimed.chunk_id, [("B1", d, "u") for _, d, _ in claimed.documents[:-1]])
    source.cancel_queued(upload_id=first.upload_id)
    source.register_worker("w", host="h", pid=1)
    before = (source.list_uploads(), list(source.iter_documents()), source.chunks_in_state(S.UNCERTAIN))
    env = {**os.environ, "PYTHONPATH": str(ROOT), **ledger_env(source_path)}
    done = subprocess.run([sys.executable, "-m", "atlas_core", "ledger-copy", "--to", url], cwd=ROOT,
                          env=env, text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "documents 250" in done.stdout and "upload_rows 250" in done.stdout
    assert "documents: 250 rows" in done.stderr  # progress
    copied = Ledger(url)
    assert (copied.list_uploads(), list(copied.iter_documents()), copied.chunks_in_state(S.UNCERTAIN)) == before
    assert copied.workers(include_stopped=True)[0]["id"] == "w"
    # The sequences moved past the copied ids: new work gets new ids, old ones stay.
    second = copied.record_upload(UploadRecord("b.csv", "POC_CDL"), rows(1, "N"), chunk_size=100)
    assert second.upload_id == first.upload_id + 1 and min(second.chunk_ids) > max(first.chunk_ids)
    again = subprocess.run([sys.executable, "-m", "atlas_core", "ledger-copy", "--to", url], cwd=ROOT,
                           env=env, text=True, capture_output=True, timeout=120)
    assert again.returncode != 0 and "already holds a ledger" in again.stderr
    assert "Traceback" not in again.stderr
    assert copied.list_uploads()[1] == 2  # nothing merged


def test_a_copy_that_fails_half_way_leaves_the_target_empty(tmp_path, url):
    source = Ledger(tmp_path / "atlas.db")
    source.record_upload(UploadRecord("a.csv", "POC_CDL"), rows(3), chunk_size=100)
    with source.transaction() as db:  # what SQLite lets an old row hold: text in a number column
        db.execute("UPDATE documents SET min_confidence = 'high' WHERE id = 3")
    from atlas_core.ledger.copy import copy_ledger

    with pytest.raises(LedgerError, match="nothing was copied|could not be written"):
        copy_ledger(source, Ledger(url))
    assert query(url, "SELECT count(*) FROM uploads") == [(0,)]  # copied before, rolled back
    assert query(url, "SELECT count(*) FROM upload_rows") == [(0,)]


def test_a_nul_in_any_text_is_stored_as_a_replacement_character_not_refused(url):
    ledger = Ledger(url)
    hostile = [RowRecord(100, "A\x00B", None, False, problems=({"code": "control\x00char"},),
                         original={"id": "A\x00B"}), *rows(2)]
    queued = ledger.record_upload(UploadRecord("n\x00ul.csv", "POC_CDL"), hostile, chunk_size=5)
    assert queued.queued == 2 and queued.invalid == 1
    stored = list(ledger.iter_upload_rows(queued.upload_id))[-1]
    assert stored["document_id"] == "A\ufffdB" and stored["original"] == {"id": "A\x00B"}  # JSON keeps it
    assert ledger.list_uploads()[0][0]["file_name"] == "n\ufffdul.csv"
    chunk = ledger.claim_chunk("w")
    ledger.record_chunk_failure(chunk.chunk_id, S.REJECTED, "Atlas said \x00 no")
    assert ledger.chunks_in_state(S.REJECTED)[0]["error"] == "Atlas said \ufffd no"


@pytest.mark.parametrize(("sqlite", "postgres"), [
    ("SELECT a FROM t INDEXED BY t_a WHERE +a = ? AND b IS ?",
     "SELECT a FROM t WHERE a = %s AND b IS NOT DISTINCT FROM %s"),
    ("SELECT 1 FROM t WHERE upload_id IN (SELECT value FROM json_each(:ids)) AND 1",
     "SELECT 1 FROM t WHERE upload_id IN (SELECT value::bigint FROM json_array_elements_text("
     "CAST(%(ids)s AS json)) AS value) AND TRUE"),
    ("SELECT v FROM c WHERE document BETWEEN ? AND ? AND (:all OR x = 1)",
     "SELECT v FROM c WHERE document BETWEEN %s AND %s AND (CAST(%(all)s AS BOOLEAN) OR x = 1)"),
    ("UPDATE t SET x = CASE WHEN ? THEN 1 ELSE 0 END WHERE note = 'a ? :b 5%'",
     "UPDATE t SET x = CASE WHEN CAST(%s AS BOOLEAN) THEN 1 ELSE 0 END WHERE note = 'a ? :b 5%%'"),
    ("SELECT CAST(f / :size AS INTEGER) FROM (SELECT 1 AS f) GROUP BY 1",
     "SELECT CAST(trunc(f / %(size)s) AS BIGINT) FROM (SELECT 1 AS f) AS _sub1 GROUP BY 1"),
    ("CREATE TABLE r (id INTEGER PRIMARY KEY, at REAL NOT NULL, n INTEGER)",
     "CREATE TABLE r (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at DOUBLE PRECISION"
     " NOT NULL, n BIGINT)"),
])
def test_statements_are_translated_mechanically(sqlite, postgres):
    assert to_postgres(sqlite) == postgres


def test_without_a_server_the_postgresql_variants_skip_locally_and_fail_under_ci(monkeypatch):
    from pg_support import unavailable

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        unavailable("initdb not found")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        unavailable("initdb not found")


LANE = r"""
import json, sys, threading
from atlas_core.ledger import Ledger
ledger = Ledger(sys.argv[1])
claimed, left_at_stop, lock = [], [], threading.Lock()

def lane(name):
    chunk = ledger.claim_chunk(name)
    while chunk is not None:
        with lock:
            claimed.append(chunk.chunk_id)
        receipts = [(f"B{chunk.chunk_id}", d, "u") for _, d, _ in chunk.documents]
        chunk = ledger.record_sent_and_claim(chunk.chunk_id, receipts, name)[1]
    with lock:  # what was still queued when this lane found nothing to claim
        left_at_stop.append(ledger.queued_work()["queued"])

lanes = [threading.Thread(target=lane, args=(f"{sys.argv[2]}-{i}",)) for i in range(4)]
for t in lanes: t.start()
for t in lanes: t.join()
print(json.dumps({"claimed": claimed, "left_at_stop": left_at_stop}))
"""


def test_four_processes_of_four_lanes_claim_each_chunk_once_and_no_lane_stops_early(url):
    ledger = Ledger(url)
    ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows(2000), chunk_size=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", LANE, url, f"p{i}"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(4)]
    outcomes = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outcomes
    results = [__import__("json").loads(out) for out, _ in outcomes]
    claimed = [c for r in results for c in r["claimed"]]
    assert len(claimed) == len(set(claimed)) == 2000  # each chunk claimed once, none left
    assert all(r["claimed"] for r in results)  # every process took part
    # A lane stops only when nothing is left to take: at most the chunks the other 15 lanes were
    # claiming at that moment can still read as queued (READ COMMITTED without SKIP LOCKED
    # stopped lanes with hundreds left).
    assert max(n for r in results for n in r["left_at_stop"]) <= 15
    assert ledger.queued_work() == {"queued": 0, "sending": 0, "next_due": None}
    assert len(ledger.chunks_in_state(S.SENT)) == 2000


def test_a_threads_connection_closes_when_the_thread_ends(url):
    import gc
    import threading
    import warnings

    ledger = Ledger(url)  # a dashboard runs each script run on a thread of its own
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(20):
            thread = threading.Thread(target=ledger.list_uploads)
            thread.start()
            thread.join()
        gc.collect()
    assert [w for w in seen if issubclass(w.category, ResourceWarning)] == []  # closed, not dropped
    open_now = query(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
    assert open_now[0][0] <= 2  # this thread's connection and the query's own


# JSON texts of every shape the server can hand back, numbers above all (a field's confidence).
JSON_TEXTS = ["0", "-0", "7", "-12", "123456789012345678901234567890", "0.93", "1.0", "-2.5e-3",
              "1E5", "1e+2", "1e400", "-1e400", "0.1234567890123456789", '"0.5"', '"1e5"', "true",
              "false", "null", "[1, 2.5]", '{"a": 0.5}', " 3.25 "]


def test_json_from_the_server_reads_exactly_as_json_loads_would(url):
    from atlas_core.ledger.pgstore import PgStore, load_json

    store = PgStore(url)
    with store.reading() as db:  # the ledger's own connection, with its JSON loader
        for text in JSON_TEXTS:
            whole, inner = db.execute(
                "SELECT CAST(? AS json), json_extract(?, '$.a') AS value",
                [text, '{"a": ' + text + "}"]).fetchone()
            expected = json.loads(text)
            for got in (whole, inner):
                assert got == expected and type(got) is type(expected), (text, got)
    for text in JSON_TEXTS:  # and the parser alone, on the bytes the server sends
        assert load_json(text.strip().encode()) == json.loads(text)
    store.close()


def sent_batch(ledger: Ledger, n: int, batch_id: str) -> list[str]:
    """A new upload of n documents, all sent in one batch; their document ids."""
    ledger.record_upload(UploadRecord(f"{batch_id}.csv", "POC_CDL"), rows(n, batch_id), chunk_size=n)
    chunk = ledger.claim_chunk("w")
    ledger.record_sent(chunk.chunk_id, [(batch_id, d, "u") for _, d, _ in chunk.documents])
    return [d for _, d, _ in chunk.documents]


def extracted(document_id: str) -> Interpreted:
    """An extracted result with one scored field."""
    data = {"document_type": "PAN", "name": {"value": "A", "confidence_score": 0.9}}
    return Interpreted(document_id, S.EXTRACTED, "PAN", None, data, 0.9)


def test_pages_of_results_are_stored_side_by_side_not_one_worker_at_a_time(url):
    ledger, other = Ledger(url), Ledger(url)
    docs = sent_batch(ledger, 20, "B1")
    done = threading.Event()
    errors: list[BaseException] = []

    def store_second_page() -> None:
        try:
            other.record_documents("B1", [extracted(d) for d in docs[10:]])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            done.set()

    with ledger.sending() as db:  # one worker's store of the first page, not yet committed
        ledger._store_documents(db, "B1", [extracted(d) for d in docs[:10]], time.time())
        thread = threading.Thread(target=store_second_page)
        thread.start()
        # The other worker's page is stored meanwhile (it waited for the whole write lock before).
        stored_beside = done.wait(30)
    thread.join(60)
    assert stored_beside and not errors
    progress = ledger.finish_poll("B1", 20)
    assert (progress.extracted, progress.state) == (20, S.COMPLETE)


def test_two_workers_storing_one_page_at_once_store_it_once_without_deadlock(url):
    ledgers = [Ledger(url) for _ in range(2)]
    for round_ in range(5):
        batch = f"R{round_}"
        docs = sent_batch(ledgers[0], 200, batch)
        page = [extracted(d) for d in docs]
        start = threading.Barrier(2)

        def store(ledger: Ledger, results: list[Interpreted], batch: str = batch,
                  start: threading.Barrier = start) -> int:
            start.wait()
            return ledger.record_documents(batch, results)

        # The same page from both (a poll lease ran out), one in Atlas's order, one reversed.
        with ThreadPoolExecutor(2) as pool:
            changed = list(pool.map(store, ledgers, [page, page[::-1]]))
        assert 200 <= sum(changed) <= 400
        assert ledgers[0].finish_poll(batch, sum(changed)).extracted == 200
    assert query(url, "SELECT count(*), count(DISTINCT document) FROM review_inbox") == [(1000, 1000)]
    assert query(url, "SELECT state, count(*) FROM documents GROUP BY state") == [(S.EXTRACTED, 1000)]


def test_retry_failed_racing_a_store_sees_the_page_whole_or_not_at_all(url):
    ledger, other = Ledger(url), Ledger(url)
    for round_ in range(5):
        batch = f"F{round_}"
        docs = sent_batch(ledger, 50, batch)
        failures = [Interpreted(d, S.FAILED, error="UNRECOGNISED") for d in docs]
        start = threading.Barrier(2)

        def store(batch: str = batch, failures: list[Interpreted] = failures,
                  start: threading.Barrier = start) -> int:
            start.wait()
            return other.record_documents(batch, failures)

        def retry(batch: str = batch, start: threading.Barrier = start) -> int:
            start.wait()
            return ledger.retry_failed(batch_id=batch)[0]

        with ThreadPoolExecutor(2) as pool:
            stored, retried = pool.submit(store), pool.submit(retry)
            assert stored.result() == 50
            assert retried.result() in (0, 50)  # never part of a page
        if retried.result() == 0:
            assert ledger.retry_failed(batch_id=batch)[0] == 50
        assert ledger.retry_failed(batch_id=batch)[0] == 0  # each failure queued again once
    assert query(url, "SELECT count(*), count(DISTINCT retry_of) FROM documents"
                      " WHERE retry_of IS NOT NULL") == [(250, 250)]
