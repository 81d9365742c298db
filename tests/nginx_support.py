"""nginx in front of dashboard replicas, run the way docs/deployment.md says, on a free port.

The site configuration is deploy/nginx/atlas-dashboard.conf itself: only its ``listen`` port and
its two ``server 127.0.0.1:850x`` lines are replaced by the test's. The main configuration around
it is a temporary prefix of its own (pid, logs, temp folders), so nothing of the machine's nginx
is read or touched. As root, nginx runs as ``nobody`` (setpriv) on a folder ``nobody`` owns: it
needs no privilege on a port above 1024. ``stop()`` ends only the nginx this helper started, by PID.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "atlas-dashboard.conf"
NGINX = Path(os.environ.get("ATLAS_TEST_NGINX", "/usr/sbin/nginx"))
UPSTREAM_LINE = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+;.*$", re.M)
LISTEN_LINE = re.compile(r"^(\s*)listen 8080;$", re.M)

# Which replica answered, per affinity cookie: the test reads it back from the access log.
MAIN = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 512; }}
http {{
    log_format affinity '$cookie_atlas_replica|$status|$request|$upstream_addr';
    access_log {prefix}/access.log affinity;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/atlas-dashboard.conf;
}}
"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_config(port: int, upstreams: list[str]) -> str:
    """deploy/nginx/atlas-dashboard.conf with the test's port and replicas (host:port each)."""
    text = SITE.read_text(encoding="utf-8")
    lines = UPSTREAM_LINE.findall(text)
    if len(lines) != 2 or len(LISTEN_LINE.findall(text)) != 1:
        raise AssertionError(f"{SITE} no longer has one `listen 8080;` and two replica lines")
    indent = lines[0]
    first = UPSTREAM_LINE.search(text)
    assert first is not None
    servers = "\n".join(f"{indent}server {u};" for u in upstreams)
    text = text[: first.start()] + servers + UPSTREAM_LINE.sub("", text[first.end():])
    text = re.sub(r"\n\s*\n(\s*)}", r"\n\1}", text)  # the removed lines leave no gap
    return LISTEN_LINE.sub(rf"\1listen 127.0.0.1:{port};", text)


class Nginx:
    """One started nginx (master PID ``process.pid``), its URL and its access log."""

    def __init__(self, upstreams: list[str]) -> None:
        self.prefix = Path(tempfile.mkdtemp(prefix="atlas-nginx-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (self.prefix / "atlas-dashboard.conf").write_text(site_config(self.port, upstreams))
        (self.prefix / "nginx.conf").write_text(MAIN.format(prefix=self.prefix))
        command = [str(NGINX), "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                   "-c", str(self.prefix / "nginx.conf")]
        if os.geteuid() == 0:  # no root needed: run the whole server as nobody
            for path in [self.prefix, *self.prefix.iterdir()]:
                shutil.chown(path, user="nobody", group="nogroup")
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration: {checked.stderr}")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: {self.errors()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port}: {self.errors()}")

    def errors(self) -> str:
        """nginx's error log so far."""
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def served(self) -> list[tuple[str, str, str]]:
        """(affinity cookie, replica address, request line) of every request so far."""
        path = self.prefix / "access.log"
        rows = []
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            cookie, _status, request, upstream = line.split("|", 3)
            rows.append((cookie, upstream, request))
        return rows

    def stop(self) -> None:
        """Stop this nginx (SIGQUIT: a graceful stop, by the master's PID) and delete its folder."""
        if self.process.poll() is None:
            self.process.send_signal(3)  # SIGQUIT: finish open requests, then exit
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        shutil.rmtree(self.prefix, ignore_errors=True)
