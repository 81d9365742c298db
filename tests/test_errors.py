"""The error tree, the one status-to-class mapping, error-body parsing and redaction (no HTTP)."""

from __future__ import annotations

import json

import pytest

from atlas_core import errors
from atlas_core.errors import (
    ApiError,
    AtlasError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectFailedError,
    GoneError,
    IntakeError,
    LedgerError,
    OutcomeUnknownError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TransportError,
    error_for_response,
    parse_error_body,
    redact,
)

SECRET = "client-secret-DO-NOT-LEAK-7f3a"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYW5kYm94In0.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (409, ConflictError),
        (410, GoneError),
        (422, BadRequestError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (301, ApiError),
        (403, ApiError),
        (404, ApiError),
        (405, ApiError),
        (418, ApiError),
    ],
)
def test_every_status_maps_to_its_class(status, cls):
    error = error_for_response(status, '{"error": "nope"}', url="https://atlas.test/v1/bulk/x")
    assert type(error) is cls
    assert isinstance(error, ApiError)
    assert error.status == status
    assert error.url == "https://atlas.test/v1/bulk/x"
    assert error.message == f"Atlas answered {status}: nope"


BODY_SHAPES = [
    pytest.param(
        {"error_code": "401", "error_message": "The credentials match no active account."},
        "The credentials match no active account. (code 401)",
        id="error_code+error_message",
    ),
    pytest.param(
        {"error_code": "INVALID_TOKEN", "error_message": "Token INVALID_TOKEN rejected"},
        "Token INVALID_TOKEN rejected",
        id="code-already-in-message",
    ),
    pytest.param({"error": "Invalid batch_id"}, "Invalid batch_id", id="error"),
    pytest.param(
        {"error": "Invalid token", "reason": "The token has expired."},
        "Invalid token: The token has expired.",
        id="error+reason",
    ),
    pytest.param({"error": "Same", "reason": "Same"}, "Same", id="repeated-parts-once"),
    pytest.param({"message": "Gateway says hi"}, "Gateway says hi", id="message"),
    pytest.param({"error_message": 42}, "42", id="numeric-message"),
]


@pytest.mark.parametrize(("body", "expected"), BODY_SHAPES)
def test_parse_error_body_reads_every_documented_shape(body, expected):
    parsed, message = parse_error_body(json.dumps(body))
    assert parsed == body
    assert message == expected


@pytest.mark.parametrize(("body", "expected"), BODY_SHAPES)
@pytest.mark.parametrize("status", [400, 401, 429, 503])
def test_error_for_response_keeps_the_evidence(status, body, expected):
    text = json.dumps(body)
    error = error_for_response(status, text, url="https://atlas.test/x")
    assert error.message == f"Atlas answered {status}: {expected}"
    assert error.body == body
    assert error.text == text
    assert expected in error.user_message()
    assert error.hint and error.hint in error.user_message()


@pytest.mark.parametrize(
    "text",
    ["", "null", "[]", '{"detail": {"nested": true}}', '{"error": ""}', '{"error": null}'],
)
def test_parse_error_body_without_a_message(text):
    parsed, message = parse_error_body(text)
    assert message is None
    assert parsed == (json.loads(text) if text else None)


@pytest.mark.parametrize(
    ("text", "expected_detail"),
    [
        (
            "<html>\n  <body>502   Bad   Gateway</body>\n</html>",
            "<html> <body>502 Bad Gateway</body> </html>",
        ),
        ("upstream connect error", "upstream connect error"),
        ("", "no details given"),
        ("   \n ", "no details given"),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_non_json_or_unreadable_bodies_fall_back_to_the_raw_text(text, expected_detail):
    error = error_for_response(502, text)
    assert error.message == f"Atlas answered 502: {expected_detail}"


def test_a_huge_body_is_shortened_in_message_and_evidence():
    text = "x" * 50_000
    error = error_for_response(500, text)
    assert len(error.message) < 300
    assert len(error.text) == 2000


@pytest.mark.parametrize("retry_after", [None, 0.0, 1.5, 30.0])
def test_rate_limited_errors_carry_retry_after(retry_after):
    error = error_for_response(429, '{"error": "slow down"}', retry_after=retry_after)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == retry_after
    assert error.retry_safe is True


@pytest.mark.parametrize(
    ("cls", "retry_safe"),
    [
        (ConnectFailedError, True),
        (OutcomeUnknownError, False),
        (TransportError, False),
        (ServerError, True),
        (RateLimitedError, True),
        (AuthError, False),
        (BadRequestError, False),
    ],
)
def test_retry_safe_says_whether_resending_is_harmless(cls, retry_safe):
    assert cls.retry_safe is retry_safe


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (ConfigError, AtlasError),
        (IntakeError, AtlasError),
        (LedgerError, AtlasError),
        (ProtocolError, AtlasError),
        (TransportError, AtlasError),
        (ConnectFailedError, TransportError),
        (OutcomeUnknownError, TransportError),
        (ApiError, AtlasError),
        (BadRequestError, ApiError),
        (AuthError, ApiError),
        (ConflictError, ApiError),
        (GoneError, ApiError),
        (RateLimitedError, ApiError),
        (ServerError, ApiError),
    ],
)
def test_the_tree_is_the_one_in_the_docstring(cls, parent):
    assert issubclass(cls, parent)
    assert cls.__name__ in errors.__doc__


@pytest.mark.parametrize(
    "cls", [ConfigError, ProtocolError, ConnectFailedError, OutcomeUnknownError]
)
def test_user_message_is_message_then_hint(cls):
    error = cls("Something went wrong.")
    assert error.user_message() == f"Something went wrong. {cls.default_hint}".strip()
    assert cls("x", hint="Do this.").user_message() == "x Do this."
    assert str(error) == "Something went wrong."


def test_an_error_without_a_hint_is_just_the_message():
    assert IntakeError("The file is empty.").user_message() == "The file is empty."


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        (f"bad secret {SECRET}!", (SECRET,), "bad secret ***!"),
        (f"{SECRET}{SECRET}", (SECRET,), "******"),
        (f"token {JWT} refused", (), "token *** refused"),
        (f"a {JWT} and {SECRET}", (SECRET,), "a *** and ***"),
        ("short abc stays", ("abc",), "short abc stays"),  # too short to scrub safely
        ("nothing here", (SECRET, ""), "nothing here"),
        ("eyJnot-a-token", (), "eyJnot-a-token"),
    ],
)
def test_redact(text, secrets, expected):
    assert redact(text, secrets) == expected


@pytest.mark.parametrize("status", [400, 401, 429, 500])
def test_secrets_in_an_error_body_never_reach_the_error(status):
    text = json.dumps({"error": f"Client-Secret {SECRET} is wrong", "reason": f"token {JWT}"})
    error = error_for_response(status, text, url="https://atlas.test/x", secrets=(SECRET,))
    for shown in (
        str(error),
        repr(error),
        error.message,
        error.text,
        error.user_message(),
        json.dumps(error.body),
    ):
        assert SECRET not in shown
        assert JWT not in shown
    assert "Client-Secret *** is wrong" in error.message


def test_api_error_repr_shows_status_message_and_url_only():
    error = error_for_response(404, "not here", url="https://atlas.test/nope")
    assert (
        repr(error)
        == "ApiError(status=404, message='Atlas answered 404: not here', url='https://atlas.test/nope')"
    )
