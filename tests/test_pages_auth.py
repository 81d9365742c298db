"""Optional sign-in: with an [auth] section every page is gated, and the signed-in email submits;
an allow-list refuses other accounts, and a server open to the network says so."""

from __future__ import annotations

import pytest
from streamlit import config as streamlit_config
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


# The allow-list: who may use the dashboard once signed in

REFUSED_BUTTONS = ["sign_out_refused"]


@pytest.fixture
def listening_on():
    """Set Streamlit's server.address for one test (as --server.address would), then restore it."""
    before = streamlit_config.get_option("server.address")
    yield lambda address: streamlit_config.set_option("server.address", address)
    streamlit_config.set_option("server.address", before)


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("meera@bank.example", {"allowed_emails": ["Meera@Bank.example", "ravi@bank.example"]}),
        ("Ravi@Branch.Bank.example", {"allowed_domains": "@branch.bank.example, other.example"}),
        ("asha@bank.example", {"allowed_emails": ["x@y.example"], "allowed_domains": ["bank.example"]}),
    ],
)
def test_an_account_on_the_allow_list_uses_the_dashboard(tmp_path, monkeypatch, email, allowed):
    at = open_app(
        tmp_path, monkeypatch, "Upload", user={"is_logged_in": True, "email": email}, **allowed
    )
    assert at.exception == []
    assert [h.value for h in at.header] == ["Upload"]
    assert f"Signed in as {email}" in texts(at, "caption")
    assert "not allowed" not in texts(at)


@pytest.mark.parametrize("path", sorted(PAGES.values()))
@pytest.mark.parametrize(
    "user",
    [
        {"is_logged_in": True, "email": "eve@elsewhere.example"},
        {"is_logged_in": True, "email": "eve@notbank.example"},  # a suffix is not the domain
        {"is_logged_in": True, "email": "bank.example@elsewhere.example"},
        {"is_logged_in": True, "email": "meera@bank.example", "email_verified": False},
        {"is_logged_in": True},  # the provider gave no email at all
    ],
    ids=["other-domain", "suffix", "domain-as-name", "unverified", "no-email"],
)
def test_an_account_not_on_the_list_sees_nothing_but_a_refusal(tmp_path, monkeypatch, path, user):
    at = open_app(tmp_path, monkeypatch, user=user, allowed_domains=["bank.example"])
    at.switch_page(path).run()
    assert at.exception == []
    assert [t.value for t in at.title] == ["Atlas Bulk Ops"]
    assert "not allowed to use this dashboard" in texts(at, "error")
    assert [b.key for b in at.button] == REFUSED_BUTTONS  # only "Sign out"
    assert at.header == [] and at.subheader == []  # no page content
    assert len(at.sidebar.children) == 0  # no connection state, no worker status
    assert at.dataframe == [] and at.file_uploader == [] and at.download_button == []
    assert not (tmp_path / "atlas.db").exists()  # nothing was opened for a refused account


def test_the_refusal_shows_the_email_as_text(tmp_path, monkeypatch):
    email = "eve_[x](http://beacon.example/p.png)@elsewhere.example"
    at = open_app(
        tmp_path, monkeypatch, user={"is_logged_in": True, "email": email},
        allowed_emails="meera@bank.example",
    )  # fmt: skip
    assert [t.value for t in at.text] == [f"Signed in as {email}."]
    assert "beacon" not in texts(at)


def test_without_an_allow_list_every_signed_in_account_is_let_in(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Batches", user={"is_logged_in": True, "email": "a@b.example"})
    assert [h.value for h in at.header] == ["Batches"]


# Exposure: a server other machines can reach says so, unless sign-in and an allow-list guard it


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.0.2.10", "dashboard.internal"])
def test_sign_in_without_an_allow_list_on_the_network_warns(tmp_path, monkeypatch, listening_on, address):
    listening_on(address)
    at = open_app(tmp_path, monkeypatch, "Upload", user={"is_logged_in": True, "email": "a@b.example"})
    assert [h.value for h in at.header] == ["Upload"]
    assert f"listens on {address} and has no allow-list" in texts(at, "warning")


def test_an_allow_list_on_the_network_does_not_warn(tmp_path, monkeypatch, listening_on):
    listening_on("0.0.0.0")
    at = open_app(
        tmp_path, monkeypatch, "Upload", user={"is_logged_in": True, "email": "a@b.example"},
        allowed_domains="b.example",
    )  # fmt: skip
    assert "listens on" not in texts(at, "warning")


def test_no_sign_in_on_the_network_warns_everyone(tmp_path, monkeypatch, listening_on):
    listening_on("")  # unset: Streamlit listens on every interface
    at = open_app(tmp_path, monkeypatch, "Upload")
    assert "listens on every network interface with no sign-in" in texts(at, "warning")


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1", "unix:///run/atlas.sock"])
def test_a_loopback_server_does_not_warn(tmp_path, monkeypatch, listening_on, address):
    listening_on(address)
    at = open_app(tmp_path, monkeypatch, "Upload")
    assert "listens on" not in texts(at, "warning")
