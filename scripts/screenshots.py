"""Refresh the committed dashboard screenshots in docs/screenshots/ from the browser tests."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    env = {**os.environ, "ATLAS_UPDATE_SCREENSHOTS": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/browser",
        "-m",
        "browser",
        "-q",
        *sys.argv[1:],
    ]
    sys.exit(subprocess.run(command, cwd=ROOT, env=env).returncode)
