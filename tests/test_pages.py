"""Every page renders under AppTest without an exception; the Connection page never shows a secret."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from test_pages_support import APP, PAGES, open_app, released_runtimes, texts  # noqa: F401 (released_runtimes: a fixture, for pytestmark)

from atlas_core.config import SANDBOX_CLIENT_ID
from atlas_core.sandbox import Behaviour, SandboxServer

CLIENT_ID, CLIENT_SECRET = "acme-client-7781", "s3cret-value-XYZ"

pytestmark = pytest.mark.usefixtures("released_runtimes")


@pytest.fixture
def atlas(tmp_path):
    """A sandbox standing in for a configured Atlas, with its own client id and secret."""
    server = SandboxServer(
        state_path=tmp_path / "atlas-side.jsonl",
        behaviour=Behaviour(processing_seconds=0.2),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    ).start()
    yield server
    server.stop()


EXPECTED_SUBHEADERS = {
    "Upload": [],
    "Batches": ["Uploads", "All batches (0)"],
    "Results": ["Documents (0)", "Downloads", "Charts"],
    "Review": [],  # asks the reviewer's name first
    "Connection": ["Atlas service", "Test the connection", "Product types", "Limits in force"],
}


@pytest.mark.parametrize("title", sorted(PAGES))
def test_page_renders_with_header_and_sandbox_banner(tmp_path, monkeypatch, title):
    at = open_app(tmp_path, monkeypatch, title)
    assert [e.value for e in at.exception] == []
    assert [h.value for h in at.header] == [title]
    assert [s.value for s in at.subheader] == EXPECTED_SUBHEADERS[title]
    assert "Sandbox mode" in texts(at)


def test_every_page_is_in_the_navigation(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch)
    for title, path in PAGES.items():
        at.switch_page(path).run()
        assert [h.value for h in at.header] == [title]


def _connection_table(at) -> dict[str, str]:
    frame = at.dataframe[0].value
    return dict(zip(frame.iloc[:, 0], frame["Value"], strict=True))


def test_connection_page_shows_sandbox_target_and_tests_a_token(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Connection")
    table = _connection_table(at)
    assert table["Service"].startswith("Built-in sandbox")
    assert table["Base URL"].startswith("http://127.0.0.1:")
    assert table["Client id"] == "*" * (len(SANDBOX_CLIENT_ID) - 4) + SANDBOX_CLIENT_ID[-4:]
    assert "credentials work" not in texts(at, "success")
    at.button(key="test_connection").click().run()
    assert [e.value for e in at.error] == []
    assert "Atlas issued a token valid for 60 min" in texts(at, "success")


def test_connection_page_against_a_configured_atlas_masks_the_id_and_never_shows_the_secret(
    tmp_path, monkeypatch, atlas
):
    at = open_app(
        tmp_path,
        monkeypatch,
        "Connection",
        base_url=atlas.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    table = _connection_table(at)
    assert table["Service"] == "Atlas"
    assert table["Base URL"] == atlas.url
    assert table["Client id"] == "************7781"
    assert "Sandbox mode" not in texts(at)
    at.button(key="test_connection").click().run()
    assert "The credentials work" in texts(at, "success")
    shown = texts(at) + "".join(df.value.to_csv() for df in at.dataframe)
    assert CLIENT_SECRET not in shown
    assert CLIENT_ID not in shown


def test_connection_page_explains_refused_credentials(tmp_path, monkeypatch, atlas):
    at = open_app(
        tmp_path,
        monkeypatch,
        "Connection",
        base_url=atlas.url,
        client_id=CLIENT_ID,
        client_secret="wrong-secret",
    )
    at.button(key="test_connection").click().run()
    assert at.exception == []
    assert "credentials work" not in texts(at, "success")
    message = at.error[0].value
    assert "401" in message and "Test connection" in message
    assert "wrong-secret" not in message


def test_a_broken_setting_is_a_sentence_not_a_traceback(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Batches", chunk_size="lots")
    assert at.exception == []
    assert "ATLAS_CHUNK_SIZE has an invalid value" in at.error[0].value


@pytest.mark.parametrize(
    "behaviour, message",
    [
        ("{not json", "is not valid JSON"),
        ('["fail_rate"]', "JSON object"),
        ('{"no_such_switch": 1}', "no_such_switch"),
    ],
)
def test_a_broken_sandbox_behaviour_is_a_sentence(tmp_path, monkeypatch, behaviour, message):
    monkeypatch.setenv("ATLAS_SANDBOX_BEHAVIOUR", behaviour)
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["atlas"] = {"product_types": "POC_CDL"}
    monkeypatch.setenv("ATLAS_DB_PATH", str(tmp_path / "atlas.db"))
    at.run()
    assert at.exception == []
    assert "ATLAS_SANDBOX_BEHAVIOUR" in at.error[0].value and message in at.error[0].value
