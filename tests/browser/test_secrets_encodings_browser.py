"""An Atlas echoing the request in its errors, seen in real Chromium and in the server's log.

The dashboard runs as a real ``streamlit run`` with credentials in ATLAS_BASE_URL and a secret
holding ``/``, ``+``, ``=`` and ``ä``; the sandbox echoes every request's headers, encoded, in
every error. The Connection page after a refused "Test connection", the Batches page with a
last error, the server's own log and the ledger are searched (see tests/test_secrets_encodings.py).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from screens import settle
from test_pages_support import sheet_csv

# The echoing sandbox fixture and the search, shared with the non-browser tests.
from test_secrets_encodings import (  # noqa: F401
    CLIENT_ID,
    cli,
    echoing,
    file_texts,
    leaks,
    pieces,
    url_with_credentials,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "S3cr/et+Välue==Br0"


def test_an_echoing_atlas_leaves_no_secret_in_pages_or_the_server_log(
    echoing, tmp_path, launch_dashboard, page: Page  # noqa: F811
):
    atlas = echoing(SECRET)
    workdir = tmp_path / "app"  # launch_dashboard("app") keeps its ledger here
    workdir.mkdir()
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(sheet_csv([f"E{i}" for i in range(3)]))
    outputs = [cli(["submit", str(sheet), "--product-type", "POC_CDL"], atlas, workdir, SECRET)]
    atlas.set_behaviour(rate_503=1.0, fault_paths=("extracts",))  # every poll: 503 with the echo
    outputs.append(cli(["refresh"], atlas, workdir, SECRET))
    app = launch_dashboard(
        "app",
        ATLAS_BASE_URL=url_with_credentials(atlas.url),
        ATLAS_CLIENT_ID=CLIENT_ID,
        ATLAS_CLIENT_SECRET=SECRET,
    )
    html: dict[str, str] = {}
    page.goto(f"{app.url}/batches")
    settle(page)
    html["batches"] = page.content()
    page.goto(f"{app.url}/connection")
    settle(page)
    atlas.inject("401", path="authtoken")  # the token request is refused, echoing Client-Secret
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text("did not accept the client id and secret").wait_for(timeout=30_000)
    settle(page)
    html["connection"] = page.content()
    app.stop()
    assert "Request headers" in html["connection"]  # the echo is on the page, scrubbed
    assert all("stException" not in h for h in html.values())
    places: dict[str, bytes | str] = {**file_texts(tmp_path), "cli": "\n".join(outputs)}
    places.update({f"html of {k}": v for k, v in html.items()})
    places["server log"] = app.log()
    assert leaks(pieces(SECRET, atlas, url_credentials=True), places) == []
