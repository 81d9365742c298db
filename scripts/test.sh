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

# The ledger suites run on PostgreSQL too: tests/pg_support.py starts a throwaway cluster with
# Debian's server binaries (initdb/pg_ctl under /usr/lib/postgresql/*/bin), so install them when
# missing. Only the binaries are needed: the package's own cluster is not used by the tests.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "Installing Debian's postgresql for the ledger's PostgreSQL tests..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

# The replica tests put Debian's nginx in front of two dashboards (deploy/nginx/atlas-dashboard.conf).
if [ ! -x /usr/sbin/nginx ]; then
  echo "Installing Debian's nginx for the replica tests..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
fi

# The README's first command made .venv (a stock Debian/Ubuntu Python refuses a bare pip install,
# PEP 668): use it when no virtual environment is active. CI (a fresh clone, run as root) has no
# .venv and keeps its own python.
PYTHON=python3
if [ -z "${VIRTUAL_ENV:-}" ]; then
  # A Python that refuses pip installs (PEP 668's marker) gets the same .venv the first command makes.
  if [ ! -x .venv/bin/python ] && "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then  # Debian ships venv's pip separately
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
      rm -rf .venv && "$PYTHON" -m venv .venv
    fi
  fi
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; fi
fi

"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
"$PYTHON" -m ruff check .
"$PYTHON" -m mypy atlas_core ui
"$PYTHON" -m pytest "$@"
