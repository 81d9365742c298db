"""Markup from Atlas or a spreadsheet is shown as text on every page, never rendered as Markdown.

The ledger is filled through the real engine from a sandbox playing ``markup_in_answers`` (see
markup_support): batch ids, error messages, values, an uncertain request's error, the file name
and the IDs all hold ``![b](beacon)``, links and HTML. Every element Streamlit renders as
Markdown (markdown, captions, alerts, toasts, a progress bar's text) must hold that text escaped:
no ``[`` or ``<`` left that a Markdown renderer would take as the start of an image, a link or HTML.
The browser test (tests/browser/test_markup_browser.py) checks the same in Chromium by counting
requests to the beacon.
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from markup_support import Beacon, fill_ledger, markup_sandbox
from test_pages_support import PAGES, open_app, release_runtimes, texts, wait_until

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from ui import describe

pytestmark = pytest.mark.slow

MARKDOWN_ELEMENTS = ("markdown", "caption", "error", "warning", "info", "success", "toast")


@pytest.fixture(scope="module")
def beacon():
    """A loopback server counting what fetched the beacon image."""
    server = Beacon()
    yield server
    server.close()


@pytest.fixture(scope="module")
def atlas(tmp_path_factory, beacon):
    """A sandbox answering with markup, and a ledger it filled; stays up for the pages' worker."""
    folder = tmp_path_factory.mktemp("markup")
    server = markup_sandbox(folder, beacon.url)
    db_path = fill_ledger(folder, server, beacon.url)
    yield server, db_path
    server.stop()


@pytest.fixture(autouse=True)
def _release():
    yield
    release_runtimes()


# A bare URL, www. name or e-mail address, which Streamlit's Markdown would turn into a link.
AUTOLINK = re.compile(r"(?i)https?\\?:\\?/|\bwww\\?\.|\w\\?@\w")

CODE_SPAN = re.compile(r"(?<!\\)`[^`]*`")


def live_markup(body: str) -> str | None:
    """The first unescaped character that opens a Markdown image, link, autolink or HTML tag."""
    body = CODE_SPAN.sub("", body)  # shown literally (our own settings, e.g. the base URL)
    found = AUTOLINK.search(body)
    if found:
        return body[max(0, found.start() - 20) : found.end() + 20]
    escaped = False
    for position, char in enumerate(body):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "[<":
            return body[max(0, position - 20) : position + 40]
    return None


def rendered_bodies(at) -> list[tuple[str, str]]:
    """(kind, Markdown source) of every element on the page that renders Markdown.

    State badges (st.badge, our own fixed labels) are Streamlit's ``:red-badge[...]`` directive.
    """
    badges = {f":{colour}-badge[{label}]" for label, colour in describe.STATE_COLOURS.items()}
    bodies = [
        (kind, str(e.value))
        for kind in MARKDOWN_ELEMENTS
        for e in getattr(at, kind)
        if str(e.value) not in badges
    ]
    bodies += [("progress", e.proto.text) for e in at.get("progress")]
    return bodies


def assert_shown_as_text(at, page: str) -> list[str]:
    """No element renders markup; returns the bodies that show the hostile text (escaped)."""
    assert not at.exception, (page, [e.value for e in at.exception])
    bodies = rendered_bodies(at)
    live = [(kind, live_markup(body)) for kind, body in bodies if live_markup(body)]
    assert live == [], page
    assert not any(e.proto.allow_html for e in at.markdown), page
    return [body for _, body in bodies if "beacon" in body]


def open_markup_app(tmp_path, monkeypatch, atlas, page, secret=SANDBOX_CLIENT_SECRET):
    """The dashboard on a copy of the markup ledger (open_app points ATLAS_DB_PATH there)."""
    server, db_path = atlas
    with sqlite3.connect(db_path) as source, sqlite3.connect(tmp_path / "atlas.db") as copy:
        source.backup(copy)
    return open_app(
        tmp_path, monkeypatch, page, base_url=server.url, client_id=SANDBOX_CLIENT_ID,
        client_secret=secret,
    )  # fmt: skip


def test_batches_page_shows_atlas_markup_as_text(tmp_path, monkeypatch, atlas):
    at = open_markup_app(tmp_path, monkeypatch, atlas, "Batches")
    shown = assert_shown_as_text(at, "Batches")
    # The uncertain request's reason (in plain words: Atlas's 500 body is not quoted), the file
    # name, and the batch table.
    assert "Atlas answered with an error (HTTP 500)" in texts(at, "caption")
    assert not any("Atlas answered 500" in body for body in shown), shown
    assert any(body.startswith("**Upload 1**") for body in shown), shown
    batches = next(d.value for d in at.dataframe if "Batch" in d.value.columns)
    assert batches["Batch"].str.contains("![b](", regex=False).all()  # the id as a text cell


def test_results_page_shows_atlas_markup_as_text(tmp_path, monkeypatch, atlas):
    at = open_markup_app(tmp_path, monkeypatch, atlas, "Results")
    assert_shown_as_text(at, "Results")
    box = at.selectbox(key="results_document")
    seen_error = seen_batch = False
    for option in box.options:
        at.selectbox(key="results_document").select(option).run()
        shown = assert_shown_as_text(at, f"Results, {option}")
        seen_error |= any(body.startswith("Atlas reported") for body in shown)
        seen_batch |= any("batch BATCH" in body for body in shown)
    assert seen_error and seen_batch
    batch = next(b for b in at.selectbox(key="results_batch").options if "BATCH" in b)
    at.selectbox(key="results_batch").select(batch).run()
    shown = assert_shown_as_text(at, "Results, one batch")
    # One batch chosen: its documents' lines still name the batch, as text.
    assert any("batch BATCH" in body for body in shown), shown


def test_after_an_action_the_page_still_shows_markup_as_text(tmp_path, monkeypatch, atlas):
    at = open_markup_app(tmp_path, monkeypatch, atlas, "Batches")
    at.button(key="retry_1").click().run()
    shown = assert_shown_as_text(at, "Batches after a retry")
    assert any("queued again" in body for body in shown) or at.success, shown


def test_sidebar_worker_status_quoting_atlas_is_text(tmp_path, monkeypatch, atlas):
    # A refused secret: Atlas's answer (with markup) becomes the worker's last error.
    at = open_markup_app(tmp_path, monkeypatch, atlas, "Batches", secret="not-the-secret")
    at.button(key="retry_1").click().run()  # work to send, so the worker asks for a token

    def status() -> str | None:
        at.run()
        # The sidebar's worker line is a text element (st.text), in our words; Atlas's answer (with
        # its markup) is the worker's last error, and no page renders it as markup either.
        return next((c.value for c in at.sidebar.text if "Background worker: paused" in c.value),
                    None)  # fmt: skip

    wait_until(status, "the worker to report Atlas's refusal")
    for page in PAGES:
        at.switch_page(PAGES[page]).run()
        assert_shown_as_text(at, page)
