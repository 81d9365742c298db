"""The Review page's image panel: which links the browser is given, and what an expired one says.

The image is loaded by the reviewer's browser from the pre-signed link: the server neither
fetches it nor reads a file a hostile link names (st.image would read a server path).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from review_page_support import presigned
from streamlit.testing.v1 import AppTest

from atlas_core.intake.presigned import expiry_of
from ui.review_image import image_problem, image_tag

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
BUCKET = "https://kyc-bucket.s3.ap-south-1.amazonaws.com"


def test_expiry_of_reads_one_presigned_link():
    link = presigned(BUCKET, "D1.jpg", signed=NOW - timedelta(minutes=30), lifetime=3600)
    assert expiry_of(link) == NOW + timedelta(minutes=30)
    assert expiry_of(f"{BUCKET}/D1.jpg") is None
    assert expiry_of(f"{BUCKET}/D1.jpg?Expires=1700000000&Signature=abc") == datetime.fromtimestamp(
        1_700_000_000, tz=UTC
    )


def test_a_fresh_link_is_given_to_the_browser():
    link = presigned(BUCKET, "D1.jpg", signed=NOW - timedelta(minutes=5))
    assert image_problem(link, NOW) is None
    assert image_problem(f"{BUCKET}/plain.jpg", NOW) is None  # not pre-signed: nothing to expire


def test_an_expired_link_says_so_with_its_time():
    link = presigned(BUCKET, "D1.jpg", signed=NOW - timedelta(hours=2), lifetime=3600)
    problem = image_problem(link, NOW)
    assert problem and "expired at 02 Dec 2026 08:00 UTC" in problem
    assert "fresh pre-signed link" in problem


@pytest.mark.parametrize(
    "link",
    [
        "/app/.streamlit/secrets.toml",  # a server path: st.image would read and serve it
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "",
        None,
        "https://",
    ],
)
def test_only_web_links_reach_the_browser(link):
    assert image_problem(link, NOW)


def test_the_tag_escapes_the_link_and_sends_no_referrer():
    tag = image_tag('https://x.example/a.jpg?q="><script>alert(1)</script>', 'Image of "D1"')
    assert "<script>" not in tag and "&quot;&gt;&lt;script&gt;" in tag
    assert 'alt="Image of &quot;D1&quot;"' in tag
    assert 'referrerpolicy="no-referrer"' in tag


def _panel_script(link: str) -> None:
    from ui.review_image import image_panel

    image_panel(link, "D1")


@pytest.mark.parametrize("link", ["/etc/hostname", __file__])
def test_a_link_naming_a_server_file_is_never_read(link):
    """A hostile sheet's file_url naming a file on the server: nothing of the file is served."""
    at = AppTest.from_function(_panel_script, args=(link,)).run()
    assert not at.exception
    assert not at.get("imgs") and not at.get("html")
    assert "not a web address" in at.info[0].value
