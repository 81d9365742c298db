#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs all of it:
# lint, type checks, unit and integration tests against the sandbox, AppTest and real-Chromium browser tests.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k client`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# The README's first command made .venv (a stock Debian/Ubuntu Python refuses a bare pip install,
# PEP 668): use it when no virtual environment is active. CI (a fresh clone, run as root) has no
# .venv and keeps its own python.
PYTHON=python
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; fi

"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
"$PYTHON" -m ruff check .
"$PYTHON" -m mypy atlas_core ui
"$PYTHON" -m pytest "$@"
