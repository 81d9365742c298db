"""Exit codes of ``python -m atlas_core``, so a cron job can tell outcomes apart."""

from __future__ import annotations

from ..errors import (
    AtlasError,
    AuthError,
    ConfigError,
    IntakeError,
    PathError,
    ServerError,
    TransportError,
)

OK = 0  # done (a file with bad rows that was read is still OK for `validate`)
FAILURE = 1  # an error not covered below
UNREADABLE = 2  # a file named by the user (input, output, ledger) is unusable, or bad arguments
CONFIG = 3  # settings are missing or wrong
AUTH = 4  # Atlas refused the credentials, or its token endpoint gave no usable token
UNAVAILABLE = 5  # Atlas could not be reached or is down; nothing lost, run again later
INCOMPLETE = 6  # finished, but some documents are uncertain, rejected or still pending
INTERRUPTED = 130

# Printed at the end of every `--help`, so a cron job's author need not read the source.
MEANINGS = {
    OK: "done",
    FAILURE: "an error not covered below",
    UNREADABLE: "a file, path or id given is unusable or does not exist, or bad arguments",
    CONFIG: "settings are missing or wrong",
    AUTH: "Atlas refused the credentials",
    UNAVAILABLE: "Atlas could not be reached or is down; nothing lost, run again later",
    INCOMPLETE: "finished, but some documents are uncertain, rejected or still pending",
    INTERRUPTED: "interrupted (Ctrl-C); the ledger keeps what was done",
}


def help_text() -> str:
    """The exit codes as the closing lines of ``--help``."""
    return "exit codes:\n" + "\n".join(f"  {code:<4} {text}" for code, text in MEANINGS.items())


def for_error(exc: AtlasError) -> int:
    """The exit code for an error that ended a command."""
    if isinstance(exc, IntakeError | PathError):
        return UNREADABLE
    if isinstance(exc, ConfigError):
        return CONFIG
    if isinstance(exc, AuthError):
        return AUTH
    if isinstance(exc, TransportError | ServerError):
        return UNAVAILABLE
    return FAILURE
