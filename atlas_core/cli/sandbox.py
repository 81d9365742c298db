"""``python -m atlas_core sandbox``: run the built-in Atlas in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import threading
from typing import TYPE_CHECKING, Any

from ..config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from ..errors import ConfigError
from . import exitcodes
from .paths import path_error, settings_from_environment

if TYPE_CHECKING:
    from ..sandbox import Behaviour

DEFAULT_PORT = 8765


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sandbox`` command."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run the built-in Atlas sandbox on a loopback port until Ctrl-C or SIGTERM",
        description="Run the built-in Atlas sandbox (a fake Atlas Bulk API) in the foreground. "
        "Point ATLAS_BASE_URL at the printed URL, with the printed credentials.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--state",
        metavar="PATH",
        default=None,
        help="journal of accepted uploads (default: ATLAS_SANDBOX_STATE_PATH or data/sandbox.jsonl; '' keeps it in memory)",
    )
    parser.add_argument(
        "--behaviour",
        metavar="JSON",
        default=None,
        help='behaviour switches as JSON, e.g. \'{"pending_style": "empty", "rate_503": 0.1}\'',
    )
    parser.add_argument(
        "--processing-seconds",
        type=float,
        default=None,
        metavar="S",
        help="mean seconds until an accepted document is finished (default: 2)",
    )
    parser.set_defaults(handler=run_sandbox)


def behaviour_from_args(args: argparse.Namespace) -> Behaviour:
    """The Behaviour the flags ask for; ConfigError with a plain message when they are wrong."""
    from ..sandbox import Behaviour  # the server's modules: loaded only to run it

    switches = {}
    if args.behaviour:
        try:
            switches = json.loads(args.behaviour)
        except ValueError as exc:
            raise ConfigError(
                f"--behaviour is not valid JSON ({exc}).",
                hint='Write it like \'{"pending_style": "empty"}\'.',
            ) from None
        if not isinstance(switches, dict):
            raise ConfigError("--behaviour must be a JSON object of switches.")
    if args.processing_seconds is not None:
        switches["processing_seconds"] = args.processing_seconds
    try:
        return Behaviour.from_dict(switches)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"--behaviour has a bad switch: {exc}.",
            hint="See atlas_core/sandbox/behaviour.py for every switch.",
        ) from None


def _stop_on_signals(stopping: threading.Event) -> dict[int, Any]:
    """Set ``stopping`` on SIGTERM (a service manager's stop) and on SIGINT (Ctrl-C).

    A SIGINT the parent chose to ignore (a background job of a shell) stays ignored, as it does
    for every program; SIGTERM always stops. Returns the handlers to put back.
    """

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    previous: dict[int, Any] = {signal.SIGTERM: signal.signal(signal.SIGTERM, stop)}
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, stop)
    return previous


def shell_lines(url: str, journal: str | os.PathLike[str] | None) -> str:
    """What the sandbox prints: ``export`` lines to paste into a shell, and comments around them.

    Every line is either a comment or an ``export`` with its value shell-quoted, so pasting the
    whole output into bash or zsh points the dashboard or the CLI started there at this sandbox.
    """
    exports = {
        "ATLAS_BASE_URL": url,
        "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
        "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
    }
    return "\n".join([
        f"# Atlas sandbox listening on {url}",
        "# Paste these lines into the shell that runs the dashboard or the CLI"
        " (the sandbox's credentials are not secrets):",
        *(f"export {name}={shlex.quote(value)}" for name, value in exports.items()),
        f"# journal of accepted uploads: {journal or '(memory only)'}",
        "# Press Ctrl-C to stop (or send SIGTERM).",
    ])


def run_sandbox(args: argparse.Namespace) -> int:
    """Serve until interrupted, then stop cleanly."""
    from ..sandbox import SandboxServer

    behaviour = behaviour_from_args(args)
    state = args.state
    if state is None:
        state = settings_from_environment(os.environ).sandbox_state_path
    try:
        server = SandboxServer(
            host=args.host, port=args.port, state_path=state or None, behaviour=behaviour
        )
    except OSError as exc:
        raise path_error("the sandbox journal (--state)", state, exc) from None
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(
            f"The sandbox cannot listen on {args.host}:{args.port} ({exc.strerror}).",
            hint="Pick another port with --port, or --port 0 for any free one.",
        ) from None
    # Before the URL is printed: whoever read it may send SIGTERM at once.
    stopping = threading.Event()
    previous = _stop_on_signals(stopping)
    try:
        print(shell_lines(server.url, server.state_path), flush=True)
        # A timed wait: signal handlers run in the main thread between waits on any platform.
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    print("# Atlas sandbox stopped.", flush=True)
    return exitcodes.OK
