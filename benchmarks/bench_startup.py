"""What a command costs before it starts, against in-run baselines (a script, not a test).

    python benchmarks/bench_startup.py [--repeat 15]

Each side is one fresh Python process, timed from spawn to exit:
  pass          python -c pass: the interpreter alone (floor)
  sqlite_utils  python -c "import sqlite_utils": the ledger library a command needs (baseline)
  status        python -m atlas_core status --json, no ATLAS_BASE_URL (the sandbox's settings)
  status-atlas  the same with ATLAS_BASE_URL set (status never calls Atlas, so nothing listens)
  help          python -m atlas_core --help
Target: status and help at most 1.2x sqlite_utils. The ledger is a fresh file in a temporary
folder, opened once before timing; every ATLAS_* variable of the caller's environment is dropped.
Times are the best of --repeat runs per side, the sides interleaved so that a busy moment of
the machine lands on all of them alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "sqlite_utils"
TARGET = 1.2  # at most this many times the baseline, for the atlas_core sides
COMMAND = [sys.executable, "-m", "atlas_core"]


def sides() -> dict[str, list[str]]:
    """Each side's command line, in the order they are run and printed."""
    return {
        "pass": [sys.executable, "-c", "pass"],
        BASELINE: [sys.executable, "-c", "import sqlite_utils"],
        "status": [*COMMAND, "status", "--json"],
        "status-atlas": [*COMMAND, "status", "--json"],
        "help": [*COMMAND, "--help"],
    }


def environment(folder: Path, side: str) -> dict[str, str]:
    """The caller's environment without ATLAS_* settings, with the ledger in ``folder``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env["ATLAS_DB_PATH"] = str(folder / "atlas.db")
    env["ATLAS_SANDBOX_STATE_PATH"] = str(folder / "sandbox.jsonl")
    if side == "status-atlas":
        env.update(ATLAS_BASE_URL="http://127.0.0.1:9", ATLAS_CLIENT_ID="bench", ATLAS_CLIENT_SECRET="bench")
    return env


def run_once(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` to its exit; a failed run stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return elapsed


def main() -> None:
    """Time every side, best of --repeat, and print the times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15, help="runs per side; the best counts (default 15)")
    args = parser.parse_args()

    commands = sides()
    best = {name: float("inf") for name in commands}
    with tempfile.TemporaryDirectory(prefix="atlas-bench-startup-") as tmp:
        folder = Path(tmp)
        envs = {name: environment(folder, name) for name in commands}
        for name, argv in commands.items():  # warm up: byte-code caches, and the ledger's migration
            run_once(argv, envs[name])
        for _ in range(args.repeat):
            for name, argv in commands.items():
                best[name] = min(best[name], run_once(argv, envs[name]))

    base = best[BASELINE]
    print(f"Start-up cost, best of {args.repeat} fresh processes per side (Python {sys.version.split()[0]})")
    for name, seconds in best.items():
        verdict = ""
        if name not in ("pass", BASELINE):
            verdict = "  ok" if seconds <= TARGET * base else f"  over the {TARGET}x target"
        print(f"  {name:<13} {seconds * 1000:7.0f} ms   {seconds / base:5.2f}x {BASELINE}   "
              f"{seconds / best['pass']:5.1f}x pass{verdict}")


if __name__ == "__main__":
    main()
