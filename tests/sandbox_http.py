"""Plain HTTP helpers for the sandbox's own tests (no client code: these test the server)."""

from __future__ import annotations

import requests

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.sandbox import SandboxServer

CREDENTIALS = {"Client-Id": SANDBOX_CLIENT_ID, "Client-Secret": SANDBOX_CLIENT_SECRET}
TIMEOUT = 10


def token(server: SandboxServer) -> str:
    """A fresh token from the server."""
    reply = requests.post(f"{server.url}/v1/bulk/authtoken", headers=CREDENTIALS, timeout=TIMEOUT)
    assert reply.status_code == 201, reply.text
    return reply.json()["access_token"]


def items(count: int, prefix: str = "doc") -> list[dict[str, str]]:
    """Upload items with ids prefix-0.. and URLs without type or failure hints."""
    return [
        {"file_url": f"https://files.example/{prefix}/{i}.jpg", "document_id": f"{prefix}-{i}"}
        for i in range(count)
    ]


def upload(
    server: SandboxServer, tok: str, file_urls: list, product_type: object = "POC_CDL"
) -> requests.Response:
    """POST a multiupload."""
    return requests.post(
        f"{server.url}/v1/bulk/multiupload",
        headers={"Token": tok},
        json={"product_type": product_type, "file_urls": file_urls},
        timeout=TIMEOUT,
    )


def extracts(server: SandboxServer, tok: str, **params: object) -> requests.Response:
    """GET one extracts page."""
    return requests.get(
        f"{server.url}/v1/bulk/extracts", headers={"Token": tok}, params=params, timeout=TIMEOUT
    )


def submit(server: SandboxServer, count: int, prefix: str = "doc") -> tuple[str, str]:
    """(token, batch_id) after uploading ``count`` plain documents."""
    tok = token(server)
    reply = upload(server, tok, items(count, prefix))
    assert reply.status_code == 201, reply.text
    return tok, reply.json()[0]["batch_id"]


def all_items(server: SandboxServer, tok: str, batch_id: str, per_page: int = 50) -> list[dict]:
    """Every item, walking pages until has_next is false."""
    found, page = [], 1
    while True:
        body = extracts(server, tok, batch_id=batch_id, page=page, per_page=per_page).json()
        found += body["data"]
        if not body["has_next"]:
            return found
        page += 1
