"""Optional sign-in: with an [auth] section every page is gated, and the signed-in email submits."""

from __future__ import annotations

import pytest
from test_pages_support import (
    PAGES,
    ledger_of,
    open_app,
    released_runtimes,  # noqa: F401 (a fixture, for pytestmark)
    sheet_csv,
    texts,
)

pytestmark = pytest.mark.usefixtures("released_runtimes")


@pytest.mark.parametrize("path", sorted(PAGES.values()))
def test_every_page_asks_a_signed_out_user_to_sign_in(tmp_path, monkeypatch, path):
    at = open_app(tmp_path, monkeypatch, user={"is_logged_in": False})
    at.switch_page(path).run()
    assert at.exception == []
    assert [t.value for t in at.title] == ["Atlas Bulk Ops"]
    assert at.header == []  # no page content
    assert [b.key for b in at.button] == ["sign_in"]
    assert not (tmp_path / "atlas.db").exists()  # nothing was opened for a stranger


def test_a_signed_in_user_sees_pages_and_submits_under_their_email(tmp_path, monkeypatch):
    at = open_app(
        tmp_path, monkeypatch, "Upload", user={"is_logged_in": True, "email": "meera@bank.example"}
    )
    assert [h.value for h in at.header] == ["Upload"]
    assert "Signed in as meera@bank.example" in texts(at, "caption")
    at.file_uploader[0].set_value(("docs.csv", sheet_csv(["M1", "M2"]), "text/csv"))
    at.run()
    assert at.text_input(key="submitter_email").value == "meera@bank.example"
    assert [t.key for t in at.text_input if t.key == "submitter_input"] == []
    at.button(key="review").click().run()
    at.button(key="confirm_send").click().run()
    assert ledger_of(tmp_path).list_uploads()[0][0]["submitted_by"] == "meera@bank.example"


def test_without_an_auth_section_nobody_is_asked_to_sign_in(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Batches")
    assert [h.value for h in at.header] == ["Batches"]
    assert "sign_in" not in [b.key for b in at.button]
