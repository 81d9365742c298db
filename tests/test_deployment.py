"""The deployment examples work: the worker's systemd unit, checked and run as systemd runs it.

No systemd manager runs in the test machine, so the unit is checked with ``systemd-analyze
verify`` (rendered with this checkout's paths), and its ExecStart is started the way systemd
starts it: in WorkingDirectory, with the EnvironmentFile's variables (the example's, pointed at
the test's PostgreSQL database and sandbox), then stopped with its KillSignal, and must end with
exit 0 well within TimeoutStopSec, leaving no live worker and no submit slot behind.
"""

from __future__ import annotations

import configparser
import getpass
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_engine_worker import queue, wait_for

from atlas_core.cli import exitcodes
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "systemd" / "atlas-worker@.service"
ENV_EXAMPLE = ROOT / "deploy" / "worker.env.example"
INSTALLED = "/opt/atlas-bulk-ops"


def unit_service() -> configparser.SectionProxy:
    """The unit's [Service] section (systemd's format is INI-like; no key repeats here)."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd reads an EnvironmentFile (comments and blanks skipped)."""
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def rendered(text: str, env_file: Path) -> str:
    """The unit with this checkout's paths, this interpreter and this user, as installed here."""
    return (text.replace(f"{INSTALLED}/.venv/bin/python", sys.executable)
            .replace(INSTALLED, str(ROOT))
            .replace("/etc/atlas-bulk-ops/worker.env", str(env_file))
            .replace("User=atlas", f"User={getpass.getuser()}")
            .replace("Group=atlas", ""))


def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    env_file = tmp_path / "worker.env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    unit = tmp_path / "atlas-worker@1.service"
    unit.write_text(rendered(UNIT.read_text(), env_file))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_the_unit_does_not_restart_a_configuration_error():
    service = unit_service()
    assert str(exitcodes.CONFIG) in service["RestartPreventExitStatus"].split()
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"


@pytest.mark.slow
def test_the_units_command_starts_works_and_stops_cleanly(postgres_cluster, sandbox, tmp_path):
    url = postgres_cluster.fresh_database()
    ledger = Ledger(url)
    queue(ledger, ["U1", "U2", "U3"])
    env_file = tmp_path / "worker.env"
    settings = environment_file(ENV_EXAMPLE)
    settings.update(ATLAS_DATABASE_URL=url, ATLAS_BASE_URL=sandbox.url,
                    ATLAS_CLIENT_ID=SANDBOX_CLIENT_ID, ATLAS_CLIENT_SECRET=SANDBOX_CLIENT_SECRET)
    env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    service = unit_service()
    command = shlex.split(rendered(service["ExecStart"], env_file))
    cwd = rendered(service["WorkingDirectory"], env_file)
    # systemd gives a service a small environment of its own plus the EnvironmentFile's lines.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           **environment_file(env_file)}
    before, used = connections(url), [0]
    log = tmp_path / "worker.log"
    with log.open("w") as err:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert wait_for(lambda: {d["state"] for d in ledger.iter_documents()} == {S.SUBMITTED}
                        or proc.poll() is not None, 120), log.read_text()
        assert proc.poll() is None, log.read_text()
        assert [w["kind"] for w in ledger.workers()] == ["worker"]
        ledger.send_signal("refresh")  # every refresh thread at work once
        assert wait_for(lambda: {d["state"] for d in ledger.iter_documents()} == {S.EXTRACTED}
                        or (sandbox.advance(5) and False), 120)
        used.append(connections(url) - before)
    finally:
        proc.send_signal(getattr(signal, service["KillSignal"]))
        stop_timeout = float(service["TimeoutStopSec"])
        proc.wait(timeout=stop_timeout)  # within TimeoutStopSec, or systemd would SIGKILL it
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "worker stopped." in text and "Traceback" not in text
    assert SANDBOX_CLIENT_SECRET not in text
    assert ledger.workers() == [] and ledger.leases_in_use() == 0
    # docs/deployment.md's connection budget: at most this many per worker with these settings.
    lanes, pages = int(settings["ATLAS_SUBMIT_CONCURRENCY"]), 8  # ATLAS_REFRESH_CONCURRENCY
    assert max(used) <= lanes + pages + 5, used


def connections(url: str) -> int:
    """Sessions connected to this database now (the worker's, the test's and this one)."""
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM pg_stat_activity"
                                " WHERE datname = current_database()").fetchone()[0]) - 1


def test_the_example_environment_has_no_real_secret():
    settings = environment_file(ENV_EXAMPLE)
    assert settings["ATLAS_CLIENT_SECRET"] == "CHANGE-ME"
    assert "CHANGE-ME@" in settings["ATLAS_DATABASE_URL"]


@pytest.mark.slow
def test_the_backup_commands_round_trip_a_ledger(postgres_cluster, tmp_path):
    """docs/deployment.md's pg_dump -Fc and pg_restore into an empty database keep the ledger."""
    url = postgres_cluster.fresh_database()
    ledger = Ledger(url)
    queue(ledger, ["P1", "P2", "P3"])
    ledger.send_signal("work")
    dump, target = tmp_path / "atlas.dump", postgres_cluster.fresh_database()
    bindir = postgres_cluster.bindir
    subprocess.run([str(bindir / "pg_dump"), "-Fc", "-f", str(dump), url], check=True, timeout=120)
    subprocess.run([str(bindir / "pg_restore"), "-d", target, str(dump)], check=True, timeout=120)
    restored = Ledger(target)  # opens: every migration is recorded, none is applied again
    assert restored.schema_version == ledger.schema_version
    assert sorted(d["document_id"] for d in restored.iter_documents()) == ["P1", "P2", "P3"]
    assert restored.signal_serials()["work"] == 1
    queue(restored, ["P4"])  # ids go on from the copy's, with no clash
    assert len(list(restored.iter_documents())) == 4
