"""SandboxServer: the built-in Atlas on a loopback port, with faults and a record of what it got.

HTTP/1.1 with keep-alive on a threading server (daemon threads), because the client keeps a
connection pool and fetches pages in parallel. A "drop" fault answers nothing and closes the
socket, so the client sees a real connection error rather than a status.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from . import control
from .api import AUTH_PATHS, MULTIUPLOAD_PATHS, Endpoints, Reply, Request
from .behaviour import Behaviour, Fault, FaultQueue, parse_fault, path_matches
from .echo import echoed_body
from .journal import Journal
from .spoiling import restore_request, spoil_reply
from .store import BatchStore, TokenBook, truth

logger = logging.getLogger(__name__)

_MAX_BODY = 64 * 1024 * 1024
_REQUEST_LOG_SIZE = 100_000
_IDLE_TIMEOUT = 60.0  # seconds a kept-alive connection may sit idle before its thread ends


class SandboxServer:
    """A real HTTP server on loopback that behaves like the documented Atlas Bulk API."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_path: str | Path | None = None,
        behaviour: Behaviour | None = None,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
    ) -> None:
        self.host = host
        self.port = port
        self.state_path = Path(state_path) if state_path else None
        self.client_id = client_id
        self._behaviour = behaviour or Behaviour()
        self._behaviour_lock = threading.Lock()
        self._accepted_uploads = 0  # accepted multiuploads, for refuse_credentials_after_uploads
        self._rng = random.Random(self._behaviour.seed)
        self._rng_lock = threading.Lock()
        self._faults = FaultQueue()
        self._log: deque[dict[str, Any]] = deque(maxlen=_REQUEST_LOG_SIZE)
        self._log_lock = threading.Lock()
        self.store = BatchStore(Journal(self.state_path) if self.state_path else None)
        self.tokens = TokenBook()
        self.endpoints = Endpoints(self.store, self.tokens, client_id, client_secret)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Issue 13: multiupload requests being answered now, and the most at once (the shared
        # submit budget caps what all workers together have in flight).
        self._in_flight = self._in_flight_peak = 0
        self._in_flight_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SandboxServer(url={self.url!r}, state_path={self.state_path!r})"

    # Lifecycle

    def start(self) -> SandboxServer:
        """Bind, start serving in a background thread, and return self."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name=f"atlas-sandbox-{self.port}",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        logger.info("Atlas sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to give the client, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    # Controls for tests and the dashboard

    @property
    def behaviour(self) -> Behaviour:
        """The switches in force now."""
        return self._behaviour

    def set_behaviour(self, **changes: Any) -> Behaviour:
        """Change some switches (validated; ValueError on a bad one) and return the new Behaviour."""
        with self._behaviour_lock:
            new = self._behaviour.replace(**changes)
            if "seed" in changes:
                with self._rng_lock:
                    self._rng = random.Random(new.seed)
            refusing = new.refuse_credentials and not self._behaviour.refuse_credentials
            self._behaviour = new
        if refusing:  # credentials refused: the tokens minted with them stop working too
            self.tokens.expire_all()
        return new

    def _count_accepted_upload(self) -> None:
        """Count an accepted upload; start refusing the credentials when the behaviour says so."""
        with self._behaviour_lock:
            self._accepted_uploads += 1
            after = self._behaviour.refuse_credentials_after_uploads
            due = after is not None and self._accepted_uploads >= after
        if due:
            self.set_behaviour(refuse_credentials=True, refuse_credentials_after_uploads=None)

    def inject(self, *faults: str, path: str | None = None) -> None:
        """Queue faults ("503", "429", "401", "drop", "drop_after_accept", "latency:2.5") for the next matching requests."""
        self._faults.push(*(parse_fault(spec, path) for spec in faults))

    def pending_faults(self) -> list[Fault]:
        """Queued faults not consumed yet."""
        return self._faults.pending()

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward, so processing (and token lifetimes) run on."""
        self.store.advance(seconds)

    def expire_tokens(self) -> None:
        """Make every token minted so far expired (the next call with one gets 401)."""
        self.tokens.expire_all()

    def received_uploads(self) -> list[dict[str, Any]]:
        """Every accepted multiupload: batch_id, product_type, items, at."""
        return self.store.records()

    def accept_counts(self) -> dict[str, int]:
        """document_id -> how many times multiupload accepted it."""
        return self.store.accept_counts()

    def truth(self, batch_id: str) -> list[dict[str, Any]]:
        """The finished results the sandbox holds for a batch right now (KeyError if unknown)."""
        batch = self.store.get(batch_id)
        if batch is None:
            raise KeyError(f"no batch {batch_id!r} in this sandbox")
        return truth(batch, self._behaviour, self.store.now())

    def request_log(self) -> list[dict[str, Any]]:
        """Every request seen: method, path, status (or "dropped"), fault, at."""
        with self._log_lock:
            return list(self._log)

    def upload_concurrency(self) -> dict[str, int]:
        """Multiupload requests in flight now and the most at once since the last reset."""
        with self._in_flight_lock:
            return {"in_flight": self._in_flight, "peak": self._in_flight_peak}

    def reset_upload_concurrency(self) -> None:
        """Start counting the peak afresh (from the requests in flight now)."""
        with self._in_flight_lock:
            self._in_flight_peak = self._in_flight

    @contextmanager
    def counting_upload(self, path: str) -> Iterator[None]:
        """Count a multiupload request as in flight for the block (other paths are not counted)."""
        if path not in MULTIUPLOAD_PATHS:
            yield
            return
        with self._in_flight_lock:
            self._in_flight += 1
            self._in_flight_peak = max(self._in_flight_peak, self._in_flight)
        try:
            yield
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    # Request handling

    def handle_api(self, request: Request) -> Reply:
        """Answer one API request, playing a queued or random fault first if one applies."""
        behaviour = self._behaviour
        request = restore_request(request, behaviour)
        fault = self._faults.pop_for(request.path)
        faultable = any(path_matches(p, request.path) for p in behaviour.fault_paths or (None,))
        if faultable:
            if behaviour.latency:
                time.sleep(behaviour.latency)
            if fault is None:
                fault = self._random_fault(behaviour, request.path)
        kind = fault.kind if fault else None
        if kind == "latency" and fault is not None:
            time.sleep(fault.seconds)
        if kind == "drop":
            reply = Reply(0, None, drop=True)
        elif kind == "500":  # a crash that may come after the work was done
            reply = Reply(500, {"error": "Internal server error."})
        elif kind == "503":
            reply = Reply(503, {"error": "Service temporarily unavailable: a dependency is down."})
        elif kind == "429":
            headers = (
                {}
                if behaviour.retry_after is None
                else {"Retry-After": _seconds(behaviour.retry_after)}
            )
            reply = Reply(
                429, {"error_code": "429", "error_message": "Too many requests."}, headers
            )
        elif kind == "401" and request.path in AUTH_PATHS:
            reply = Reply(
                401,
                {"error_code": "401", "error_message": "The credentials match no active account."},
            )
        elif kind == "401":
            reply = Reply(401, {"error": "Invalid token", "reason": "The token has expired."})
        else:
            reply = self.endpoints.route(request, behaviour)
            reply.drop = kind == "drop_after_accept"
            if request.path in MULTIUPLOAD_PATHS and 200 <= reply.status < 300:
                self._count_accepted_upload()
        reply.fault = kind
        if behaviour.echo_request_in_errors and reply.status >= 400 and not reply.drop:
            reply.raw = echoed_body(reply.body, request.headers)
        return spoil_reply(reply, request, behaviour)

    def _random_fault(self, behaviour: Behaviour, path: str) -> Fault | None:
        with self._rng_lock:
            draw = self._rng.random()
        for kind, rate in (
            ("drop", behaviour.rate_drop),
            ("503", behaviour.rate_503),
            ("429", behaviour.rate_429),
            ("drop_after_accept", behaviour.rate_drop_after_accept),
        ):
            if kind == "drop_after_accept" and path not in MULTIUPLOAD_PATHS:
                continue
            if draw < rate:
                return Fault(kind)
            draw -= rate
        return None

    def record(self, method: str, path: str, status: int | str, fault: str | None = None) -> None:
        """Add one line to the request log."""
        with self._log_lock:
            self._log.append(
                {
                    "method": method,
                    "path": path,
                    "status": status,
                    "fault": fault,
                    "at": time.time(),
                }
            )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (or a stop during a latency fault) is no news.
        logger.debug("sandbox connection from %s ended abruptly", client_address, exc_info=True)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would add ~40 ms
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("sandbox %s", format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        body = self._read_body()
        if body is None:
            self._send(Reply(400, {"error": "Content-Length is invalid or the body is too large."}))
            self.close_connection = True
            return
        request = Request(
            method,
            path,
            parse_qs(split.query),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        if path.startswith(control.PREFIX):
            self._send(control.handle(sandbox, request))  # controls stay out of the request log
            return
        with sandbox.counting_upload(path):  # until the answer is sent, as a client sees it
            try:
                reply = sandbox.handle_api(request)
            except Exception:  # a bug in the sandbox must show as a 500, not a hung client
                logger.exception("sandbox failed on %s %s", method, path)
                reply = Reply(500, {"error": "Internal sandbox error."})
            if reply.drop:
                sandbox.record(method, path, "dropped", reply.fault)
                self.close_connection = True  # no answer at all: the client sees the socket close
                return
            sandbox.record(method, path, reply.status, reply.fault)
            self._send(reply)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        data = (
            reply.raw if reply.raw is not None else json.dumps(reply.body, ensure_ascii=False).encode()
        )
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
