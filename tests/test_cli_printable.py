"""The CLI never prints Atlas's escape sequences raw; --json keeps them exact (and inert).

A sandbox playing ``control_chars_in_answers`` puts an OSC retitle (ESC ] 0 ; ... BEL), a CSI
colour, a C1 CSI and a right-to-left override into batch ids, error messages and values. Each
command runs as a real subprocess; its output bytes must hold none of them, while ``--json``
decodes to the exact ids.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.printable import json_safe, printable
from atlas_core.sandbox import Behaviour, SandboxServer
from atlas_core.sandbox.spoiling import CONTROL_SEQUENCE

ROOT = Path(__file__).resolve().parents[1]
# What a terminal acts on, as bytes in UTF-8 output: ESC, BEL, C1 CSI (U+009B), RLO (U+202E).
TERMINAL_CONTROLS = (b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode())

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    """A sandbox whose ids, messages and values carry terminal control sequences."""
    folder = tmp_path_factory.mktemp("controls")
    behaviour = Behaviour(processing_seconds=0.2, fail_rate=0.5, control_chars_in_answers=True)
    with SandboxServer(state_path=folder / "atlas-side.jsonl", behaviour=behaviour) as server:
        yield server


def cli(
    args: list[str], atlas: SandboxServer, folder: Path, **extra_env: str
) -> subprocess.CompletedProcess:
    """``python -m atlas_core ARGS`` against ``atlas`` with its ledger in ``folder``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(PYTHONPATH=str(ROOT), ATLAS_BASE_URL=atlas.url, ATLAS_CLIENT_ID=SANDBOX_CLIENT_ID,
               ATLAS_CLIENT_SECRET=SANDBOX_CLIENT_SECRET, ATLAS_DB_PATH=str(folder / "atlas.db"),
               ATLAS_PRODUCT_TYPES="POC_CDL", ATLAS_CHUNK_SIZE="3", **extra_env)  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "atlas_core", "-v", *args], cwd=folder, env=env,
        capture_output=True, timeout=180,
    )  # fmt: skip


def assert_clean(done: subprocess.CompletedProcess) -> None:
    for name, output in (("stdout", done.stdout), ("stderr", done.stderr)):
        assert [c for c in TERMINAL_CONTROLS if c in output] == [], (name, output[-2000:])


@pytest.fixture(scope="module")
def ledger_folder(atlas, tmp_path_factory):
    """A ledger with batches sent and refreshed through the CLI (outputs checked as they go)."""
    folder = tmp_path_factory.mktemp("ledger")
    sheet = folder / "sheet.csv"
    sheet.write_text("document_id,file_url\n" + "".join(
        f"C{i},https://files.example.com/kyc/C{i}.jpg\n" for i in range(6)))  # fmt: skip
    submitted = cli(["submit", str(sheet), "--product-type", "POC_CDL"], atlas, folder)
    assert submitted.returncode == 0, submitted.stderr
    assert_clean(submitted)
    atlas.advance(5.0)
    refreshed = cli(["refresh", "--wait", "--timeout", "60"], atlas, folder)
    assert_clean(refreshed)
    return folder


def test_status_prints_batch_ids_without_their_control_sequences(atlas, ledger_folder):
    done = cli(["status"], atlas, ledger_folder)
    assert done.returncode == 0, done.stderr
    assert_clean(done)
    text = done.stdout.decode()
    assert text.count("BATCH-") == 2  # the ids are there, only the controls went


def test_status_json_keeps_the_ids_exact(atlas, ledger_folder):
    done = cli(["status", "--json"], atlas, ledger_folder)
    assert done.returncode == 0, done.stderr
    assert_clean(done)
    batches = json.loads(done.stdout)["batches"]
    assert len(batches) == 2
    assert all(b["batch_id"].endswith(CONTROL_SEQUENCE) for b in batches)


def test_a_batch_error_from_atlas_prints_without_its_controls(atlas, tmp_path):
    # Atlas answers 500 while a batch is polled: the warning names the batch id and quotes
    # Atlas's message, both carrying the control sequence.
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("document_id,file_url\nE1,https://files.example.com/kyc/E1.jpg\n")
    assert cli(["submit", str(sheet), "--product-type", "POC_CDL"], atlas, tmp_path).returncode == 0
    atlas.inject("500", "500", "500", "500", path="extracts")
    done = cli(["refresh"], atlas, tmp_path, ATLAS_MAX_RETRIES="0")
    atlas.clear_faults()
    assert_clean(done)
    assert b"warning: BATCH-" in done.stderr and b"Internal server error." in done.stderr


@pytest.mark.parametrize(
    "text, shown",
    [
        ("BATCH-1\x1b]0;owned\x07 ok", "BATCH-1 ok"),
        ("a\x1b[2J\x1b[31mb", "ab"),
        ("a\x9b2Jb\u202ec", "abc"),
        ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
        ("x\x1bPdcs\x1b\\y\x00z\x7f", "xyz"),
        ("हिन्दी ₹ ok", "हिन्दी ₹ ok"),
    ],
)
def test_printable(text, shown):
    assert printable(text) == shown


def test_json_safe_is_the_same_json_value():
    value = {"id": "BATCH-1" + CONTROL_SEQUENCE, "name": "राहुल\u2028"}
    text = json_safe(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert not any(c in text for c in "\x1b\x07\x9b\u202e\u2028")
