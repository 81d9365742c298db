"""Secrets through encodings: an Atlas that echoes the request in its error bodies, encoded.

The sandbox switch ``echo_request_in_errors`` makes every error answer repeat the request's
headers (Client-Secret, Token, the Basic Authorization that credentials in ATLAS_BASE_URL
produce) as JSON inside the message (``\\/``), URL-encoded (``%2F``, ``%2B``, ``%3D``) and with
every character a ``\\uXXXX`` escape. With secrets holding ``/``, ``+``, ``=`` and a non-ASCII
letter, the real paths run (client errors, the engine storing them, the CLI as a subprocess, the
Connection and Batches pages) and the secret, every token the sandbox minted and the URL's
credentials are searched for, in every one of those encodings, in everything left behind: the
ledger and its -wal, CLI output, log records and page elements.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import pytest
import requests
from test_pages_support import PAGES, open_app, release_runtimes, sheet_csv
from test_secrets import file_texts, rendered

from atlas_core.client import AtlasClient, RetryPolicy, UploadItem
from atlas_core.config import Settings
from atlas_core.engine import open_runtime, refresh_batches, send_until_answered
from atlas_core.errors import (
    ApiError,
    AtlasError,
    AuthError,
    ConfigError,
    display_url,
    error_for_response,
    redact,
    remember_secret,
    remember_url_credentials,
)
from atlas_core.ledger import Interpreted, RowRecord, UploadRecord
from atlas_core.sandbox import Behaviour, SandboxServer

ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID = "bulk-client-echo"
SECRETS = [
    pytest.param("S3cr/et+Value==Qx7", id="ascii"),
    pytest.param("S3cr/et+Välue==Qx8", id="non-ascii"),
]
URL_USER = "bulk-ops-user-7"
URL_PASSWORD = "p4ss/w+rd=Zq9"  # written percent-encoded in the URL, as it must be


def url_with_credentials(url: str) -> str:
    """``url`` with URL_USER and URL_PASSWORD embedded (http://user:pass@host:port)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{URL_USER}:{quote(URL_PASSWORD, safe='')}@{parts.netloc}{parts.path}"


def encodings(value: str) -> set[str]:
    """``value`` as an echo could carry it: raw, JSON-escaped (\\/ and \\u), URL-encoded, base64."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
        json.dumps(value, ensure_ascii=False)[1:-1].replace("/", "\\/"),
        "".join(f"\\u{ord(c):04x}" for c in value),
        "".join(f"\\u{ord(c):04X}" for c in value),
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }
    data = value.encode()
    for offset in range(3):  # base64 of the value inside something longer, at each alignment
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return {form for form in forms if len(form) >= 8}


def pieces(secret: str, sandbox: SandboxServer | None = None, *, url_credentials: bool = False) -> set[str]:
    """Every form of the secret, of each token the sandbox minted (and its parts), of the URL's credentials."""
    found = encodings(secret)
    for token in sandbox.tokens.issued() if sandbox else ():
        parts = token.split(".")[1:] if token.count(".") == 2 else []  # a JWT's unique parts too
        for part in (token, *parts):
            found |= encodings(part)
    if url_credentials:
        found |= {URL_USER, f"{URL_USER}:"} | encodings(URL_PASSWORD)
        found |= encodings(quote(URL_PASSWORD, safe="")) | encodings(f"{URL_USER}:{URL_PASSWORD}")
    return found


def leaks(found: set[str], places: dict[str, bytes | str]) -> list[str]:
    """Where any form appears, as 'place: form[:16]'."""
    out = []
    for place, content in places.items():
        data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
        for form in sorted(found):
            if form.encode() in data:
                out.append(f"{place}: {form[:16]}")
    return out


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as a handler would write it: message, arguments and traceback."""
    return "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)


@pytest.fixture
def echoing(tmp_path):
    """A factory for sandboxes with echo_request_in_errors on and the given client secret."""
    started = []

    def make(secret: str) -> SandboxServer:
        server = SandboxServer(
            state_path=tmp_path / "atlas-side.jsonl",
            behaviour=Behaviour(processing_seconds=0.2, echo_request_in_errors=True, opaque_tokens=True),
            client_id=CLIENT_ID,
            client_secret=secret,
        ).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


# -- redact itself --------------------------------------------------------------------------


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda s: json.dumps({"error": f"echo {s}"}).replace("/", "\\/"), id="json-slash"),
        pytest.param(lambda s: json.dumps({"error": f"echo {s}"}).replace("+", "\\u002b"), id="json-u-some"),
        pytest.param(lambda s: '{"e": "' + "".join(f"\\u{ord(c):04x}" for c in s) + '"}', id="json-all-u"),
        pytest.param(lambda s: "".join(f"\\u{ord(c):04X}" for c in s), id="all-u-bare"),
        pytest.param(lambda s: f"client-secret={quote(s, safe='')}&x=1", id="percent"),
        pytest.param(lambda s: f"client-secret={quote_plus(s)}", id="form-plus"),
        pytest.param(lambda s: "secret=" + re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(s, safe="")),
                     id="percent-lower-hex"),
        pytest.param(lambda s: json.dumps({"reason": json.dumps({"Client-Secret": s}).replace("/", "\\/")}),
                     id="json-in-json"),
        pytest.param(lambda s: json.dumps({"reason": quote(s, safe="")}).replace("%", "\\u0025"),
                     id="url-encoded-then-escaped"),
        pytest.param(lambda s: "Basic " + base64.b64encode(f"{CLIENT_ID}:{s}".encode()).decode(),
                     id="base64-inside"),
        pytest.param(lambda s: "x" + base64.urlsafe_b64encode(s.encode()).decode().rstrip("="), id="base64url"),
        pytest.param(lambda s: s.replace("/", "&#x2F;").replace("+", "&#43;"), id="html-entities"),
    ],
)
def test_redact_finds_the_secret_in_every_encoding(secret, wrap):
    text = f"before {wrap(secret)} after"
    cleaned = redact(text, (secret,))
    assert leaks(encodings(secret), {"redacted": cleaned}) == []
    assert cleaned.startswith("before ") and cleaned.endswith(" after") and "***" in cleaned


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_keeps_a_json_body_json_and_ordinary_text_as_it_is(secret):
    body = json.dumps({"error": "Invalid token", "reason": f"token {secret}"}).replace("/", "\\/")
    assert json.loads(redact(body, (secret,))) == {"error": "Invalid token", "reason": "token ***"}
    ordinary = 'a + b = 100% "quoted" \\n &amp; https://host/path?q=a%20b'
    assert redact(ordinary, (secret,)) == ordinary


def test_base64_of_the_secret_inside_a_long_blob_is_cut_in_bounded_time():
    # A hostile body can hold a long base64 blob; scrubbing it must stay linear (a regex with a
    # run on each side of the secret's base64 backtracked for minutes through 60 KB).
    secret = "S3cr/et+Välue==Qx8"
    blob = base64.b64encode(random.Random(7).randbytes(46_000)).decode()  # 61 KB, no secret in it
    echoed = base64.b64encode(f"id:{secret}".encode()).decode()
    started = time.monotonic()
    cleaned = redact(f"data {blob} and {echoed} end", (secret,))
    assert time.monotonic() - started < 5.0  # a deadline, not a benchmark: it takes milliseconds
    assert cleaned == f"data {blob} and *** end"


@pytest.mark.parametrize("text", [
    pytest.param("a." * 32_000, id="dotted-run"),  # every '.' a word boundary a scheme could start at
    pytest.param("eyJ" * 21_000, id="token-starts"),  # every 'eyJ' a place a token could start at
])
def test_long_hostile_text_is_scrubbed_in_bounded_time(text):
    started = time.monotonic()
    assert redact(text, ("S3cr/et+Value==Qx7",)) == text
    # A deadline, not a benchmark: it takes a few milliseconds (seconds when it was quadratic).
    assert time.monotonic() - started < 1.0


def test_a_remembered_secret_and_url_credentials_are_redacted_everywhere(caplog):
    secret = "Remembered/Secret+Only=="
    remember_secret(secret)
    url = url_with_credentials("http://127.0.0.1:9/v1")
    remember_url_credentials(url)
    text = f"echo {quote(secret, safe='')} at {url} with {quote_plus(URL_PASSWORD)}"
    assert leaks(pieces(secret, url_credentials=True), {"redacted": redact(text)}) == []
    assert display_url(url) == "http://***@127.0.0.1:9/v1"
    # Every log record of the process, whoever logs it, is scrubbed the same way.
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything.at.all").info("answer %s", json.dumps({"e": secret}).replace("/", "\\/"))
        try:
            raise RuntimeError(f"failed with {quote(secret, safe='')}")
        except RuntimeError:
            logging.getLogger("anything.at.all").exception("unexpected")
    assert len(caplog.records) == 2
    assert leaks(encodings(secret), {"log": log_text(caplog)}) == []


def test_an_escaped_echo_in_an_error_body_stays_out_of_the_error():
    secret = "S3cr/et+Value==Qx7"
    text = json.dumps({"error_code": "401", "error_message": f"bad Client-Secret {secret}"}).replace("/", "\\/")
    error = error_for_response(401, text, url=url_with_credentials("http://atlas.test/x"), secrets=(secret,))
    shown = {"message": error.user_message(), "text": error.text, "body": json.dumps(error.body),
             "repr": repr(error), "url": error.url}
    assert leaks(pieces(secret, url_credentials=True), shown) == []
    assert "bad Client-Secret ***" in error.message


def test_a_document_error_from_atlas_is_scrubbed_before_the_ledger_sees_it():
    secret = "Doc/Error+Secret==9"
    remember_secret(secret)
    echoed = json.dumps({"Token": secret}).replace("/", "\\/")
    result = Interpreted(document_id="D1", state="failed", error=f"INVALID_DOC: request was {echoed}")
    assert leaks(encodings(secret), {"error": result.error}) == []
    assert result.error.startswith("INVALID_DOC: request was")


def test_a_base_url_without_scheme_is_refused_without_echoing_its_credentials():
    with pytest.raises(ConfigError) as refused:
        Settings.from_mapping({"ATLAS_BASE_URL": f"{URL_USER}:{URL_PASSWORD}@atlas.example",
                               "ATLAS_CLIENT_ID": CLIENT_ID, "ATLAS_CLIENT_SECRET": "x" * 12})
    assert "http://" in refused.value.message
    assert leaks(pieces("x" * 12, url_credentials=True), {"message": refused.value.user_message()}) == []


# -- the client over a real socket ----------------------------------------------------------


def test_the_switches_play_over_http_control_in_each_documented_shape(tmp_path):
    with SandboxServer(state_path=tmp_path / "side.jsonl", client_id=CLIENT_ID,
                       client_secret="S3cr/et+Value==Qx7") as atlas:
        changed = requests.post(f"{atlas.url}/_sandbox/behaviour", timeout=5,
                                json={"echo_request_in_errors": True, "opaque_tokens": True}).json()
        assert changed["echo_request_in_errors"] is True and changed["opaque_tokens"] is True
        token = requests.post(f"{atlas.url}/v1/bulk/authtoken", timeout=5, headers={
            "Client-Id": CLIENT_ID, "Client-Secret": "S3cr/et+Value==Qx7"}).json()["access_token"]
        assert not token.startswith("eyJ") and "/" in token and "+" in token
        answers = {
            "error_code": requests.post(f"{atlas.url}/v1/bulk/authtoken", timeout=5,
                                        headers={"Client-Id": CLIENT_ID, "Client-Secret": "wrong/one+=="}),
            "error": requests.get(f"{atlas.url}/v1/bulk/extracts", timeout=5, headers={"Token": token}),
            "reason": requests.post(f"{atlas.url}/v1/bulk/multiupload", timeout=5, json={},
                                    headers={"Token": "stale/token+x=="}),
        }
        for key, answer in answers.items():
            assert answer.status_code in (400, 401) and key in answer.json()
            raw = answer.text
            assert "\\/" in raw and "\\u00" in raw and "%2F" in raw  # escaped JSON and URL-encoded
            assert "request_headers" in answer.json()



@pytest.mark.parametrize("secret", SECRETS)
def test_client_errors_never_carry_the_secret_the_token_or_url_credentials(echoing, secret, caplog):
    caplog.set_level(logging.DEBUG)
    atlas = echoing(secret)
    url = url_with_credentials(atlas.url)
    errors: list[AtlasError] = []
    wrong = AtlasClient(url, CLIENT_ID, secret + "-wrong", retry=RetryPolicy(0, 0, 0))
    with pytest.raises(AuthError) as refused:
        wrong.authenticate()  # 401 {"error_code", "error_message"} echoing the Client-Secret
    errors.append(refused.value)
    with AtlasClient(url, CLIENT_ID, secret, retry=RetryPolicy(0, 0, 0)) as client:
        with pytest.raises(ApiError) as bad:
            client.extracts_page("no-such-batch")  # 400 {"error"} echoing the live Token
        errors.append(bad.value)
        atlas.inject("401", "401", path="extracts")  # {"error", "reason"} twice: a new token too
        with pytest.raises(AuthError) as expired:
            client.extracts_page("no-such-batch")
        errors.append(expired.value)
        for fault, path in (("503", "multiupload"), ("429", "extracts")):
            atlas.inject(fault, path=path)
            with pytest.raises(AtlasError) as busy:
                if path == "multiupload":
                    client.multiupload("POC_CDL", [UploadItem("https://docs.test/a.jpg", "A1")])
                else:
                    client.extracts_page("no-such-batch")
            errors.append(busy.value)
    assert len(atlas.tokens.issued()) >= 2
    places: dict[str, bytes | str] = {"log records": log_text(caplog)}
    for n, error in enumerate(errors):
        places[f"error {n}"] = "\n".join(
            [str(error), repr(error), error.user_message(), getattr(error, "url", None) or "",
             getattr(error, "text", ""), json.dumps(getattr(error, "body", None), ensure_ascii=False)]
        )
    assert all("Request headers" in places[f"error {n}"] for n in range(len(errors)))  # echoed
    assert leaks(pieces(secret + "-wrong", atlas, url_credentials=True) | pieces(secret), places) == []


# -- the engine and the ledger (with its -wal) -------------------------------------------------


@pytest.mark.parametrize("secret", SECRETS)
def test_stored_errors_in_the_ledger_and_its_wal_hold_no_secret(echoing, secret, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    atlas = echoing(secret)
    settings = Settings(db_path=str(tmp_path / "atlas.db"), max_retries=0, backoff_base=0.01,
                        backoff_cap=0.05).with_base_url(url_with_credentials(atlas.url), CLIENT_ID, secret)
    with open_runtime(settings) as rt:
        rows = [RowRecord(i + 2, f"D{i}", f"https://docs.test/D{i}.jpg", True) for i in range(6)]
        rt.ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=3)

        def send():
            return send_until_answered(rt.ledger, rt.client, worker_id="t", max_wait=30, concurrency=1,
                                       backoff_base=0.01, backoff_cap=0.05)

        atlas.inject("401", "401", path="multiupload")  # the chunk goes back with the token echo
        with pytest.raises(AuthError):
            send()
        stored_auth = [c["error"] for c in rt.ledger.chunks_in_state("queued")]
        atlas.inject("503", path="multiupload")  # refused: put back with the echo, sent later
        assert send().documents_sent == 6
        atlas.set_behaviour(rate_503=1.0, fault_paths=("extracts",))  # every poll: 503 + echo
        summary = refresh_batches(rt.ledger, rt.client, force=True)
        assert summary.errors
        batches = [rt.ledger.batch(b) for b in set(summary.errors)]
        atlas.set_behaviour(rate_503=0.0)
        atlas.inject("401", "401", path="extracts")
        with contextlib.suppress(AuthError):  # refused credentials stop the round (the token echoed)
            refresh_batches(rt.ledger, rt.client, force=True)
        files_while_open = file_texts(tmp_path)
    assert any("Request headers" in (e or "") for e in stored_auth), stored_auth  # the echo was stored
    assert all(b and b["last_error"] for b in batches)
    assert any(name.endswith("atlas.db-wal") for name in files_while_open)
    places: dict[str, bytes | str] = {**files_while_open, **file_texts(tmp_path)}
    places["log records"] = log_text(caplog)
    places["summary"] = json.dumps(summary.errors, ensure_ascii=False)
    assert leaks(pieces(secret, atlas, url_credentials=True), places) == []


# -- the CLI as a subprocess ------------------------------------------------------------------


def cli(args: list[str], atlas: SandboxServer, tmp_path: Path, secret: str) -> str:
    """Run ``python -m atlas_core -v ARGS`` against ``atlas`` with URL credentials; stdout + stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(PYTHONPATH=str(ROOT), ATLAS_BASE_URL=url_with_credentials(atlas.url),
               ATLAS_CLIENT_ID=CLIENT_ID, ATLAS_CLIENT_SECRET=secret,
               ATLAS_DB_PATH=str(tmp_path / "atlas.db"), ATLAS_PRODUCT_TYPES="POC_CDL",
               ATLAS_CHUNK_SIZE="3", ATLAS_BACKOFF_BASE="0.01", ATLAS_MAX_RETRIES="0",
               PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-m", "atlas_core", "-v", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=120)
    return (f"$ {args[0]} -> {done.returncode}\n{done.stdout.decode('utf-8', 'replace')}\n"
            f"{done.stderr.decode('utf-8', 'replace')}")


@pytest.mark.parametrize("secret", SECRETS)
def test_cli_output_holds_no_secret_token_or_url_credentials(echoing, secret, tmp_path):
    atlas = echoing(secret)
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(sheet_csv([f"K{i}" for i in range(6)]))
    out = {}
    atlas.inject("401", "401", "503", path="multiupload")
    out["submit"] = cli(["submit", str(sheet), "--product-type", "POC_CDL", "--max-wait", "20"],
                        atlas, tmp_path, secret)
    out["resume"] = cli(["resume", "--max-wait", "20"], atlas, tmp_path, secret)
    atlas.set_behaviour(rate_503=1.0, fault_paths=("extracts",))
    out["refresh"] = cli(["refresh"], atlas, tmp_path, secret)
    out["status"] = cli(["status"], atlas, tmp_path, secret)
    out["wrong secret"] = cli(["submit", str(sheet), "--product-type", "POC_CDL", "--force"],
                              atlas, tmp_path, secret + "-wrong")
    text = "\n".join(out.values())
    # The echo reached the output: the error line, the refresh warnings and the -v log lines.
    for name in ("submit", "refresh", "wrong secret"):
        assert "Request headers" in out[name], out[name]
    assert "error:" in out["wrong secret"] and "warning:" in out["refresh"], text
    places: dict[str, bytes | str] = {f"output of {k}": v for k, v in out.items()}
    places.update(file_texts(tmp_path))
    assert leaks(pieces(secret + "-wrong", atlas, url_credentials=True) | pieces(secret), places) == []


# -- the pages (AppTest) ----------------------------------------------------------------------


def page_text(at) -> str:
    """Every rendered element, plus each dataframe's cells as text (protobuf keeps them as bytes)."""
    frames = [frame.value.to_csv() for frame in at.dataframe]
    return rendered(at) + "\n" + "\n".join(frames)


@pytest.mark.parametrize("secret", SECRETS)
def test_connection_page_after_a_refused_test_shows_no_secret(echoing, secret, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    atlas = echoing("the-secret-atlas-expects-1")  # so ours is refused and echoed back
    try:
        at = open_app(tmp_path, monkeypatch, "Connection", base_url=url_with_credentials(atlas.url),
                      client_id=CLIENT_ID, client_secret=secret, db_path=str(tmp_path / "atlas.db"))
        at.button(key="test_connection").click().run()
        assert not at.exception, [e.value for e in at.exception]
        shown = page_text(at)
        errors = " ".join(e.value for e in at.error)
    finally:
        release_runtimes()
    assert "did not accept" in errors and "Request headers" in errors, errors  # the echo is shown
    assert "127.0.0.1" in shown  # the URL is shown, without its credentials
    places = {"Connection page": shown, "log records": log_text(caplog)}
    assert leaks(pieces(secret, url_credentials=True), places) == []


@pytest.mark.parametrize("secret", SECRETS)
def test_batches_page_last_error_shows_no_secret_or_token(echoing, secret, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    atlas = echoing(secret)
    url = url_with_credentials(atlas.url)
    settings = Settings(db_path=str(tmp_path / "atlas.db"), max_retries=0).with_base_url(url, CLIENT_ID, secret)
    with open_runtime(settings) as rt:
        rows = [RowRecord(i + 2, f"B{i}", f"https://docs.test/B{i}.jpg", True) for i in range(3)]
        rt.ledger.record_upload(UploadRecord("b.csv", "POC_CDL"), rows, chunk_size=3)
        send_until_answered(rt.ledger, rt.client, worker_id="t", max_wait=30)
        atlas.set_behaviour(rate_503=1.0, fault_paths=("extracts",))  # every poll echoes the token
        assert refresh_batches(rt.ledger, rt.client, force=True).errors
    try:
        at = open_app(tmp_path, monkeypatch, "Batches", base_url=url, client_id=CLIENT_ID,
                      client_secret=secret, db_path=str(tmp_path / "atlas.db"))
        assert not at.exception, [e.value for e in at.exception]
        shown = page_text(at)
        frames = "\n".join(frame.value.to_csv() for frame in at.dataframe)
        at.switch_page(PAGES["Connection"]).run()
        shown += page_text(at)
    finally:
        release_runtimes()
    assert "Atlas answered 503" in frames, frames  # the last error is on the page, scrubbed
    places = {"pages": shown, "log records": log_text(caplog), **file_texts(tmp_path)}
    assert leaks(pieces(secret, atlas, url_credentials=True), places) == []
