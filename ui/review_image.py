"""The document image on the Review page: the reviewer's browser loads the link itself.

The server never fetches the image: the pre-signed link goes into an ``<img>`` the browser
loads, so no document passes through this server and no server file is ever read. That is why
this is not ``st.image``: given a string that names a file on the server (a hostile sheet's
``file_url`` of ``/app/.streamlit/secrets.toml``), st.image would read that file and serve it.
Only http(s) links are drawn; an expired pre-signed link is said to be expired instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import streamlit as st

from atlas_core.intake.presigned import expiry_of

from . import untrusted

IMAGE_HEIGHT = 560  # px: the panel's height, so the fields beside it keep their place


def image_problem(file_url: str | None, now: datetime | None = None) -> str | None:
    """Why this link's image cannot be shown (a sentence), or None when the browser may load it."""
    if not file_url or not file_url.strip():
        return "This document has no link to its image."
    try:
        parts = urlsplit(file_url.strip())
    except ValueError:
        return "This document's link is not a web address, so its image cannot be shown here."
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "This document's link is not a web address, so its image cannot be shown here."
    expires = expiry_of(file_url.strip())
    now = now or datetime.now(UTC)
    if expires is not None and expires <= now:
        return (
            f"The link to this image expired at {expires:%d %b %Y %H:%M} UTC, so the image cannot "
            "be shown. The fields can still be reviewed; to see the image, ask whoever made the "
            "spreadsheet for a fresh pre-signed link."
        )
    return None


def image_tag(file_url: str, alt: str) -> str:
    """The ``<img>`` for a link that passed ``image_problem``: escaped, sent without a referrer."""
    return untrusted.image_tag(file_url, alt, IMAGE_HEIGHT)


def image_panel(file_url: str | None, document_id: str, now: datetime | None = None) -> None:
    """The image as the browser loads it, or a plain sentence saying why it cannot be shown."""
    problem = image_problem(file_url, now)
    if problem:
        st.info(problem, icon=":material/hide_image:")
        if file_url:
            untrusted.caption(f"Link: {short_link(file_url)}")
        return
    assert file_url is not None
    untrusted.image(file_url, f"Image of document {printable_id(document_id)}", IMAGE_HEIGHT)
    expires = expiry_of(file_url.strip())
    when = f" The link works until {expires:%d %b %Y %H:%M} UTC." if expires else ""
    st.caption(
        "Your browser loads this image straight from the link; it never passes through this "
        f"server. If it stays blank, the link cannot be reached from your computer.{when}"
    )


def printable_id(document_id: str) -> str:
    """A document id for an attribute (escaped by the caller), on one line."""
    return " ".join(str(document_id).split())[:200]


def short_link(file_url: str) -> str:
    """The link without its query (a pre-signed link's signature is long and says nothing)."""
    base, _, query = file_url.strip().partition("?")
    return f"{base[:300]} (signed query left out)" if query else base[:300]
