"""deploy/systemd/atlas-worker@.service, run the way systemd would run it (systemd is not running here).

The unit is parsed as systemd reads it; its ExecStart runs from its WorkingDirectory with only
the environment its EnvironmentFile gives (systemd passes no shell environment), the ledger and
Atlas swapped for the test's; then its KillSignal is sent the way ``systemctl stop`` does. The
worker must start, register in the ledger, and stop within TimeoutStopSec with a status in
SuccessExitStatus, recorded as stopped.
"""

from __future__ import annotations

import configparser
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from pg_support import ledger_env

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "systemd" / "atlas-worker@.service"
ENV_EXAMPLE = ROOT / "deploy" / "systemd" / "worker.env.example"
INSTALLED = "/opt/atlas-bulk-ops"  # where the unit expects the checkout (and its .venv)


def read_unit(path: Path) -> configparser.ConfigParser:
    """The unit file as systemd's ini dialect: case kept, no interpolation, '#' comments."""
    unit = configparser.ConfigParser(interpolation=None, strict=True, comment_prefixes=("#", ";"))
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(path.read_text(encoding="utf-8"))
    return unit


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a systemd EnvironmentFile (comments and blanks skipped)."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def command_of(service: configparser.SectionProxy, instance: str) -> list[str]:
    """ExecStart with %i expanded and the install folder's Python replaced by this one."""
    argv = shlex.split(service["ExecStart"].replace("%i", instance))
    assert argv[0] == f"{INSTALLED}/.venv/bin/python", argv
    return [sys.executable, *argv[1:]]


def test_the_unit_says_what_systemd_needs():
    unit = read_unit(UNIT)
    service = unit["Service"]
    assert service["Type"] == "exec"
    assert service["WorkingDirectory"] == INSTALLED
    assert shlex.split(service["ExecStart"])[1:] == ["-m", "atlas_core", "worker"]
    assert service["KillSignal"] == "SIGTERM" and service["KillMode"] == "mixed"
    assert service["SuccessExitStatus"] == "0" and service["Restart"] == "on-failure"
    assert int(service["TimeoutStopSec"]) >= 60  # the worker finishes the request it is sending
    assert service["EnvironmentFile"] == "/etc/atlas-bulk-ops/worker.env"
    assert service["User"] != "root"
    # Secrets live in the EnvironmentFile only: `systemctl show` prints a unit's Environment=.
    assert "Environment" not in service
    assert not any("SECRET=" in value or "@" in value for value in service.values())
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    example = read_env_file(ENV_EXAMPLE)
    assert {"ATLAS_DATABASE_URL", "ATLAS_BASE_URL", "ATLAS_CLIENT_ID", "ATLAS_CLIENT_SECRET",
            "ATLAS_MAX_IN_FLIGHT"} <= set(example)


def test_the_unit_starts_registers_and_stops_cleanly_on_its_kill_signal(
    ledger_location, sandbox, tmp_path
):
    service = read_unit(UNIT)["Service"]
    env = read_env_file(ENV_EXAMPLE)
    # The example's database and Atlas are placeholders: point them at the test's.
    env.pop("ATLAS_DATABASE_URL")
    env.update(ledger_env(ledger_location), ATLAS_BASE_URL=sandbox.url,
               ATLAS_CLIENT_ID=SANDBOX_CLIENT_ID, ATLAS_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
               PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    ledger = Ledger(ledger_location)
    log = tmp_path / "journal.log"  # what journald would hold
    with log.open("w") as handle:
        proc = subprocess.Popen(command_of(service, "1"), cwd=ROOT, env=env,
                                stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (ledger.workers() and "running" in log.read_text()):
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        registered = ledger.workers()
        assert len(registered) == 1 and registered[0]["stopped_at"] is None, log.read_text()
        proc.send_signal(signal.Signals[service["KillSignal"]])
        code = proc.wait(timeout=int(service["TimeoutStopSec"]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert code in {int(c) for c in service["SuccessExitStatus"].split()}, text
    assert "worker stopped." in text and "Traceback" not in text
    assert ledger.workers() == []  # recorded as stopped: nobody waits for it to come back
    assert ledger.workers(include_stopped=True)[0]["stopped_at"] is not None
    assert SANDBOX_CLIENT_SECRET not in text
