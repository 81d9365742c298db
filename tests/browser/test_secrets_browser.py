"""No secret or token in the HTML of any page, in real Chromium (see tests/test_secrets.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from screens import settle
from test_pages_support import sheet_csv

# The same recognisable sandbox as the non-browser secrets test (imported as a fixture).
from test_secrets import CLIENT_ID, CLIENT_SECRET, atlas, cli, file_texts, leaks, secret_pieces  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_no_secret_or_token_in_the_html_of_any_page(atlas, tmp_path, launch_dashboard, page: Page):  # noqa: F811
    workdir = tmp_path / "app"  # launch_dashboard("app") keeps its ledger here
    workdir.mkdir()
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(sheet_csv([f"H{i}" for i in range(6)]))
    outputs = [cli(["submit", str(sheet), "--product-type", "POC_CDL"], atlas, workdir)]
    outputs.append(cli(["refresh", "--wait", "--timeout", "60"], atlas, workdir))
    atlas.expire_tokens()
    app = launch_dashboard(
        "app",
        ATLAS_BASE_URL=atlas.url,
        ATLAS_CLIENT_ID=CLIENT_ID,
        ATLAS_CLIENT_SECRET=CLIENT_SECRET,
    )
    html: dict[str, str] = {}
    for path in ("connection", "", "batches", "results"):
        page.goto(f"{app.url}/{path}")
        settle(page)
        if path == "connection":
            page.get_by_role("button", name="Test connection").click()
            page.get_by_text("Atlas issued a token").wait_for(timeout=30_000)
        html[path or "upload"] = page.content()
    app.stop()
    assert all("stException" not in h for h in html.values())
    assert "H0" in html["results"]
    places: dict[str, bytes | str] = {**file_texts(tmp_path), "cli": "\n".join(outputs)}
    places.update({f"html of {k}": v for k, v in html.items()})
    assert leaks(secret_pieces(atlas), places) == []
