"""Paths the user names on the command line or in ATLAS_* variables, refused in one plain line.

A missing folder, a folder where a file belongs, a file that is not a ledger: each is the
user's to fix, so the command says which path and why (exit 2), never with a traceback.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import Settings, resolve_path
from ..errors import LedgerError, PathError

# The checkout: the folder holding atlas_core/ and app.py (an editable `pip install -e .` keeps
# it there). A relative ATLAS_DB_PATH or ATLAS_SANDBOX_STATE_PATH is read against it, not the
# current folder, exactly as the dashboard does (ui/settings.py), so `atlas-bulk status` run
# from any folder and the dashboard use the same ledger.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def settings_from_environment(environ: Mapping[str, str], flags: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the environment (then flags), their ledger and journal paths made absolute."""
    settings = Settings.from_mapping(environ, flags or {})
    return settings.replace(
        db_path=str(resolve_path(settings.db_path, PROJECT_ROOT)),
        sandbox_state_path=str(resolve_path(settings.sandbox_state_path, PROJECT_ROOT)),
    )

# What opening the ledger (and the sandbox's journal) raises when a path is unusable.
OPENING_ERRORS = (LedgerError, OSError)

# What an OSError means to someone who typed the path; anything else keeps the system's words.
_REASONS = {
    errno.ENOENT: "a folder on the way does not exist",
    errno.ENOTDIR: "a part of it is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "a file stands where a folder is needed",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted there",
    errno.EROFS: "the location is read-only",
    errno.ENOSPC: "the disk is full",
}


def os_error_reason(exc: OSError) -> str:
    """The cause of an OSError in plain words (no errno numbers, no exception names)."""
    return _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).rstrip(".").lower()


def path_error(what: str, path: str | os.PathLike[str], exc: OSError) -> PathError:
    """A PathError saying which path could not be used for what, and why."""
    return PathError(
        f"Cannot use {os.fspath(path)} as {what}: {os_error_reason(exc)}.",
        hint="Check the path and try again; nothing was changed.",
    )


def check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work is done, an output path that cannot be written as a new file."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        problem = "it is a folder; give a file name inside it"
    elif not folder.exists():
        problem = f"the folder {folder} does not exist; create it first or choose another folder"
    elif not folder.is_dir():
        problem = f"{folder} is a file, not a folder"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"the folder {folder} is not writable"
    else:
        return
    raise PathError(f"Cannot write {option} {path}: {problem}.", hint="Nothing was written.")


def ledger_unusable(path: str | os.PathLike[str], exc: LedgerError | OSError) -> PathError:
    """The error for an ATLAS_DB_PATH that cannot be opened as a ledger at all."""
    if Path(path).is_dir():
        reason = "it is a folder, not a file"
    elif isinstance(exc, OSError):
        reason = os_error_reason(exc)
    else:
        # The ledger's own message ends with SQLite's reason ("file is not a database").
        reason = exc.message.rsplit(": ", 1)[-1].rstrip(".") if ": " in exc.message else exc.message
    return PathError(
        f"ATLAS_DB_PATH ({os.fspath(path)}) cannot be used as the ledger: {reason}.",
        hint="Point ATLAS_DB_PATH to a writable SQLite file (a new name creates one), "
        "e.g. data/atlas.db.",
    )


def runtime_path_error(
    db_path: str | os.PathLike[str],
    journal_path: str | os.PathLike[str],
    exc: LedgerError | OSError,
) -> PathError:
    """The error for a runtime that could not open: the ledger's path, or the sandbox journal's."""
    ledger = Path(db_path)
    if isinstance(exc, LedgerError):
        return ledger_unusable(ledger, exc)
    if exc.filename is not None and Path(exc.filename) in (ledger, *ledger.parents):
        return ledger_unusable(ledger, exc)
    return path_error("the sandbox journal (ATLAS_SANDBOX_STATE_PATH)", journal_path, exc)
