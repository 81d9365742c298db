"""Settings.from_mapping: key names and prefixes, coercion, validation, and secrets kept out of repr."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from atlas_core import config
from atlas_core.config import Settings, resolve_path
from atlas_core.errors import ConfigError

SECRET = "s3cret-value-never-shown-91"
CLIENT_ID = "client-id-1234-abcd"
PRODUCTION = {
    "ATLAS_BASE_URL": "https://api.helloatlas.in",
    "ATLAS_CLIENT_ID": CLIENT_ID,
    "ATLAS_CLIENT_SECRET": SECRET,
}


def test_defaults_are_the_named_constants():
    settings = Settings.from_mapping({})
    assert settings.base_url is None
    assert settings.auth_path == config.DEFAULT_AUTH_PATH == "/v1/bulk/authtoken"
    assert settings.product_types == config.DEFAULT_PRODUCT_TYPES
    assert settings.chunk_size == config.DEFAULT_CHUNK_SIZE
    assert settings.connect_timeout == config.DEFAULT_CONNECT_TIMEOUT
    assert settings.read_timeout == config.DEFAULT_READ_TIMEOUT
    assert settings.max_retries == config.DEFAULT_MAX_RETRIES
    assert settings.token_margin == config.DEFAULT_TOKEN_MARGIN


@pytest.mark.parametrize(
    "key",
    ["ATLAS_CHUNK_SIZE", "atlas_chunk_size", "CHUNK_SIZE", "chunk_size", " Atlas_Chunk_Size "],
)
def test_keys_with_or_without_prefix_in_any_case(key):
    assert Settings.from_mapping({key: "250"}).chunk_size == 250


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        ("ATLAS_BASE_URL", "https://api.helloatlas.in/", "base_url", "https://api.helloatlas.in"),
        ("ATLAS_BASE_URL", "  https://x.test//  ", "base_url", "https://x.test"),
        (
            "ATLAS_AUTH_PATH",
            " /v3/verification/authtoken ",
            "auth_path",
            "/v3/verification/authtoken",
        ),
        ("ATLAS_PRODUCT_TYPES", "POC_CDL, KYC_X ,,", "product_types", ("POC_CDL", "KYC_X")),
        ("ATLAS_PRODUCT_TYPES", ["A", " B "], "product_types", ("A", "B")),
        ("ATLAS_CHUNK_SIZE", "1000", "chunk_size", 1000),
        ("ATLAS_SUBMIT_CONCURRENCY", 3, "submit_concurrency", 3),
        ("ATLAS_CONNECT_TIMEOUT", "2.5", "connect_timeout", 2.5),
        ("ATLAS_READ_TIMEOUT", 7, "read_timeout", 7.0),
        ("ATLAS_MAX_RETRIES", "0", "max_retries", 0),
        ("ATLAS_BACKOFF_BASE", "0.01", "backoff_base", 0.01),
        ("ATLAS_DB_PATH", " /tmp/a.db ", "db_path", "/tmp/a.db"),
    ],
)
def test_values_are_coerced_to_the_field_type(key, value, field, expected):
    settings = Settings.from_mapping({**PRODUCTION, key: value})
    assert getattr(settings, field) == expected
    assert type(getattr(settings, field)) is type(expected)


def test_later_mappings_win_and_empty_values_do_not_override():
    secrets_toml = {
        "base_url": "https://a.test",
        "client_id": "id-from-secrets",
        "client_secret": SECRET,
    }
    environment = {
        "ATLAS_BASE_URL": "https://b.test",
        "ATLAS_CLIENT_ID": "",
        "ATLAS_CHUNK_SIZE": None,
    }
    flags = {"chunk_size": 7}
    settings = Settings.from_mapping(secrets_toml, environment, flags)
    assert settings.base_url == "https://b.test"
    assert settings.client_id == "id-from-secrets"
    assert settings.chunk_size == 7


def test_unknown_keys_are_ignored():
    settings = Settings.from_mapping(
        {"ATLAS_NOT_A_SETTING": "x", "PATH": "/usr/bin", "HOME": "/root"}
    )
    assert settings == Settings()


def test_none_mappings_are_skipped():
    assert Settings.from_mapping(None, {"chunk_size": "5"}, None).chunk_size == 5


@pytest.mark.parametrize(
    ("mapping", "names"),
    [
        ({"ATLAS_CHUNK_SIZE": "ten"}, "ATLAS_CHUNK_SIZE"),
        ({"ATLAS_READ_TIMEOUT": "soon"}, "ATLAS_READ_TIMEOUT"),
        ({"ATLAS_MAX_RETRIES": "2.5"}, "ATLAS_MAX_RETRIES"),
        (
            {
                "ATLAS_BASE_URL": "api.helloatlas.in",
                "ATLAS_CLIENT_ID": "a",
                "ATLAS_CLIENT_SECRET": "b",
            },
            "ATLAS_BASE_URL",
        ),
        ({"ATLAS_BASE_URL": "https://api.helloatlas.in"}, "ATLAS_CLIENT_SECRET"),
        ({**PRODUCTION, "ATLAS_CLIENT_SECRET": ""}, "ATLAS_CLIENT_SECRET"),
        ({"ATLAS_AUTH_PATH": "v1/bulk/authtoken"}, "ATLAS_AUTH_PATH"),
        ({"ATLAS_PRODUCT_TYPES": " , ,"}, "ATLAS_PRODUCT_TYPES"),
        ({"ATLAS_CHUNK_SIZE": "0"}, "ATLAS_CHUNK_SIZE"),
        ({"ATLAS_CHUNK_SIZE": "1001"}, "ATLAS_CHUNK_SIZE"),
        ({"ATLAS_SUBMIT_CONCURRENCY": "0"}, "ATLAS_SUBMIT_CONCURRENCY"),
        ({"ATLAS_REFRESH_CONCURRENCY": "-1"}, "ATLAS_REFRESH_CONCURRENCY"),
        ({"ATLAS_MAX_ROWS": "0"}, "ATLAS_MAX_ROWS"),
    ],
)
def test_invalid_settings_raise_config_error_naming_the_setting(mapping, names):
    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping(mapping)
    assert names in caught.value.message
    assert "secrets.toml" in caught.value.user_message()


def test_config_error_messages_do_not_echo_the_secret():
    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping(
            {
                "ATLAS_BASE_URL": "ftp://x",
                "ATLAS_CLIENT_ID": CLIENT_ID,
                "ATLAS_CLIENT_SECRET": SECRET,
            }
        )
    assert SECRET not in caught.value.user_message()


@pytest.mark.parametrize(
    ("mapping", "uses_sandbox"),
    [({}, True), ({"ATLAS_BASE_URL": ""}, True), (PRODUCTION, False)],
)
def test_uses_sandbox_when_no_base_url(mapping, uses_sandbox):
    assert Settings.from_mapping(mapping).uses_sandbox is uses_sandbox


def test_repr_and_str_hide_the_credentials():
    settings = Settings.from_mapping(PRODUCTION)
    for shown in (repr(settings), str(settings)):
        assert SECRET not in shown
        assert CLIENT_ID not in shown
        assert "https://api.helloatlas.in" in shown


@pytest.mark.parametrize(
    ("client_id", "masked"),
    [
        (CLIENT_ID, "***************abcd"),
        ("abcd", "****abcd"),
        ("ab", "****ab"),
        (None, "(not set)"),
    ],
)
def test_masked_client_id_shows_only_the_last_four(client_id, masked):
    assert Settings(client_id=client_id).masked_client_id == masked


def test_settings_are_frozen_and_copied_with_changes():
    settings = Settings.from_mapping(PRODUCTION)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.chunk_size = 5  # type: ignore[misc]
    changed = settings.replace(chunk_size=5)
    assert (changed.chunk_size, settings.chunk_size) == (5, config.DEFAULT_CHUNK_SIZE)
    pointed = Settings().with_base_url("http://127.0.0.1:9", "sandbox-client", "sandbox-secret")
    assert pointed.base_url == "http://127.0.0.1:9"
    assert (pointed.client_id, pointed.client_secret) == ("sandbox-client", "sandbox-secret")
    assert pointed.uses_sandbox is False


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("data/atlas.db", "/srv/app", Path("/srv/app/data/atlas.db")),
        ("/var/atlas.db", "/srv/app", Path("/var/atlas.db")),
        ("data/atlas.db", None, Path("data/atlas.db")),
    ],
)
def test_resolve_path(path, root, expected):
    assert resolve_path(path, root) == expected
