"""The sandbox's own controls over HTTP (``/_sandbox/...``), for a sandbox in another process.

They mirror the Python methods of SandboxServer; they are never subject to faults or tokens.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .api import Reply, Request

if TYPE_CHECKING:
    from .server import SandboxServer

PREFIX = "/_sandbox/"


def handle(sandbox: SandboxServer, request: Request) -> Reply:
    """Answer one control request."""
    name = request.path[len(PREFIX) :]
    route = _ROUTES.get((request.method, name))
    if route is None:
        return Reply(404, {"error": f"No sandbox control {request.method} {request.path}"})
    try:
        body = json.loads(request.body) if request.body else {}
    except ValueError:
        return Reply(400, {"error": "The body is not valid JSON."})
    if not isinstance(body, dict):
        return Reply(400, {"error": "The body must be a JSON object."})
    try:
        return route(sandbox, request, body)
    except (ValueError, TypeError) as exc:
        return Reply(400, {"error": str(exc)})


def _state(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    return Reply(
        200,
        {
            "url": sandbox.url,
            "client_id": sandbox.client_id,
            "state_path": str(sandbox.state_path) if sandbox.state_path else None,
            "behaviour": sandbox.behaviour.to_dict(),
            "now": sandbox.store.now(),
            "uploads": len(sandbox.received_uploads()),
            "pending_faults": [fault.to_dict() for fault in sandbox.pending_faults()],
        },
    )


def _behaviour(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    return Reply(200, sandbox.set_behaviour(**body).to_dict())


def _inject(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    faults = body.get("faults", [])
    if isinstance(faults, str) or not isinstance(faults, list):
        raise ValueError(
            'faults must be a list, e.g. {"faults": ["503", "drop"], "path": "multiupload"}'
        )
    sandbox.inject(*faults, path=body.get("path"))
    return Reply(200, {"pending_faults": [fault.to_dict() for fault in sandbox.pending_faults()]})


def _advance(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    seconds = float(body.get("seconds", 0))
    sandbox.advance(seconds)
    return Reply(200, {"now": sandbox.store.now()})


def _expire_tokens(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    sandbox.expire_tokens()
    return Reply(200, {"expired": True})


def _received(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    return Reply(
        200, {"uploads": sandbox.received_uploads(), "accept_counts": sandbox.accept_counts()}
    )


def _truth(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    batch_id = (request.query.get("batch_id") or [""])[0]
    try:
        return Reply(200, {"batch_id": batch_id, "results": sandbox.truth(batch_id)})
    except KeyError:
        return Reply(404, {"error": f"No batch {batch_id!r} in this sandbox."})


def _concurrency(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    return Reply(200, sandbox.upload_concurrency())


def _reset_concurrency(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    sandbox.reset_upload_concurrency()
    return Reply(200, sandbox.upload_concurrency())


def _requests(sandbox: SandboxServer, request: Request, body: dict[str, Any]) -> Reply:
    return Reply(200, {"requests": sandbox.request_log()})


_ROUTES = {
    ("GET", "state"): _state,
    ("POST", "behaviour"): _behaviour,
    ("POST", "inject"): _inject,
    ("POST", "advance"): _advance,
    ("POST", "expire-tokens"): _expire_tokens,
    ("GET", "received"): _received,
    ("GET", "truth"): _truth,
    ("GET", "requests"): _requests,
    ("GET", "concurrency"): _concurrency,  # multiuploads in flight now and at most (issue 13)
    ("POST", "concurrency/reset"): _reset_concurrency,
}
