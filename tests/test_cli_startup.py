"""What a command loads before it starts: `--help` and `status` skip the heavy libraries.

Not timed (benchmarks/bench_startup.py measures the time): each command runs in a fresh
interpreter, and the test reads which modules it loaded.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What costs a command time at start-up, and what it needs only to send, read or write files.
HEAVY = ("requests", "pyarrow", "pandas", "numpy", "openpyxl", "python_calamine", "streamlit",
         "sqlite_utils", "tqdm")
# Rooms `status` never uses: the client (requests), the intake, the sandbox's server.
ROOMS = ("atlas_core.client", "atlas_core.intake", "atlas_core.results", "atlas_core.sandbox.server")

# Runs `python -m atlas_core ARGS` (or a statement) and prints, last, the modules it loaded.
WRAPPER = """
import json, runpy, sys
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
code = 0
if args and args[0] == "-c":
    exec(args[1])
else:
    sys.argv = ["atlas_core", *args]
    try:
        runpy.run_module("atlas_core", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in watched if m in sys.modules)}))
"""


def loaded_by(tmp_path: Path, *args: str, **env: str) -> tuple[int, set[str], str]:
    """Run one command in a fresh interpreter; return (exit code, watched modules loaded, stdout)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    environ.update(ATLAS_DB_PATH=str(tmp_path / "atlas.db"),
                   ATLAS_SANDBOX_STATE_PATH=str(tmp_path / "sandbox.jsonl"), **env)
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, json.dumps(args), json.dumps([*HEAVY, *ROOMS])],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    *output, last = done.stdout.splitlines()
    report = json.loads(last)
    return report["code"], set(report["loaded"]), "\n".join(output)


def test_help_loads_nothing_heavy(tmp_path):
    code, loaded, out = loaded_by(tmp_path, "--help")
    assert code == 0 and "status" in out and "submit" in out
    assert loaded == set()


@pytest.mark.parametrize("command", ["submit", "validate", "sandbox", "worker"])
def test_a_commands_help_loads_nothing_heavy(tmp_path, command):
    code, loaded, out = loaded_by(tmp_path, command, "--help")
    assert code == 0 and "usage:" in out
    assert loaded == set()


@pytest.mark.parametrize(
    "env",
    [{}, {"ATLAS_BASE_URL": "http://127.0.0.1:9", "ATLAS_CLIENT_ID": "id", "ATLAS_CLIENT_SECRET": "secret"}],
    ids=["sandbox-settings", "atlas-settings"],
)
def test_status_loads_only_the_ledger_library(tmp_path, env):
    """status needs sqlite-utils (which loads pandas by itself) and nothing else heavy."""
    code, loaded, out = loaded_by(tmp_path, "status", "--json", **env)
    assert code == 0
    assert json.loads(out)["batches"] == []
    _, by_sqlite_utils, _ = loaded_by(tmp_path, "-c", "import sqlite_utils")
    assert "sqlite_utils" in loaded
    assert loaded - by_sqlite_utils == set()  # no requests, openpyxl, calamine, tqdm, streamlit
    assert not loaded & set(ROOMS)  # neither a client nor a sandbox (server) was made


def test_importing_the_public_face_loads_nothing_heavy(tmp_path):
    _, loaded, _ = loaded_by(tmp_path, "-c", "import atlas_core, atlas_core.engine, atlas_core.sandbox")
    assert loaded == set()


@pytest.mark.parametrize("package", ["atlas_core", "atlas_core.engine", "atlas_core.sandbox"])
def test_every_lazy_name_resolves(package):
    """Each name of a lazy face is importable, and the same object as in its module."""
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        assert value is not None and name in dir(module)
        origin = getattr(value, "__module__", None)
        if origin is not None and origin.startswith(package):
            assert getattr(importlib.import_module(origin), name) is value
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018
