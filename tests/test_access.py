"""The allow-list and exposure rules of ui.access, without Streamlit (the pages use them in
tests/test_pages_auth.py)."""

from __future__ import annotations

import pytest

from ui.access import AllowList, listens_beyond_loopback


def test_the_environment_replaces_the_secrets_list():
    secrets = {"allowed_emails": ["a@bank.example"], "allowed_domains": ["bank.example"]}
    environ = {
        "ATLAS_ALLOWED_EMAILS": "B@Other.example, c@other.example",
        "ATLAS_ALLOWED_DOMAINS": " ",
    }
    allowed = AllowList.from_settings(secrets, environ)
    assert allowed.emails == {"b@other.example", "c@other.example"}
    assert allowed.domains == {"bank.example"}  # a blank variable does not clear the list


@pytest.mark.parametrize(
    ("email", "verified", "expected"),
    [
        ("ops@bank.example", None, True),
        ("OPS@BANK.EXAMPLE", True, True),
        ("ops@bank.example", False, False),
        ("ops@sub.bank.example", None, False),  # a subdomain is listed on its own
        ("ops@evilbank.example", None, False),
        ("ops@bank.example.evil.example", None, False),
        ("bank.example", None, False),
        ("@bank.example", None, False),
        ("", None, False),
        (None, None, False),
        ("guest@partner.example", None, True),
    ],
)
def test_who_the_list_lets_in(email, verified, expected):
    allowed = AllowList.from_settings(
        {"allowed_domains": "@Bank.Example.", "allowed_emails": ["guest@partner.example"]}, {}
    )
    assert allowed.allows(email, verified=verified) is expected


def test_an_empty_list_lets_every_account_in():
    assert not AllowList().configured and AllowList().allows("anyone@anywhere.example")


@pytest.mark.parametrize(
    ("address", "beyond"),
    [
        (None, True), ("", True), ("0.0.0.0", True), ("::", True), ("10.0.0.5", True),
        ("dashboard.internal", True), ("127.0.0.1", False), ("127.0.1.1", False), ("::1", False),
        ("[::1]", False), ("localhost", False), ("unix:///tmp/atlas.sock", False),
    ],
)  # fmt: skip
def test_which_addresses_other_machines_can_reach(address, beyond):
    assert listens_beyond_loopback(address) is beyond
