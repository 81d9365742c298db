"""The sandbox's faults, queued and random, over a real socket (no timed assertions)."""

from __future__ import annotations

import pytest
import requests
from sandbox_http import CREDENTIALS, TIMEOUT, extracts, items, submit, token, upload

from atlas_core.sandbox import SandboxServer

# Faults


def test_injected_faults_are_consumed_in_order(sandbox):
    tok, batch_id = submit(sandbox, 1)
    sandbox.inject("503", "429", "401")
    statuses = [extracts(sandbox, tok, batch_id=batch_id).status_code for _ in range(4)]
    assert statuses == [503, 429, 401, 200]
    assert sandbox.pending_faults() == []


def test_429_carries_retry_after(make_sandbox):
    server = make_sandbox(retry_after=7)
    tok, batch_id = submit(server, 1)
    server.inject("429")
    assert extracts(server, tok, batch_id=batch_id).headers["Retry-After"] == "7"
    server.set_behaviour(retry_after=None)
    server.inject("429")
    assert "Retry-After" not in extracts(server, tok, batch_id=batch_id).headers


def test_drop_closes_the_socket_before_doing_anything(sandbox):
    tok = token(sandbox)
    sandbox.inject("drop", path="multiupload")
    with pytest.raises(requests.ConnectionError):
        upload(sandbox, tok, items(2))
    assert sandbox.received_uploads() == []
    assert sandbox.request_log()[-1]["status"] == "dropped"


def test_drop_after_accept_records_the_batch_but_answers_nothing(sandbox):
    tok = token(sandbox)
    sandbox.inject("drop_after_accept", path="/v1/bulk/multiupload")
    with pytest.raises(requests.ConnectionError):
        upload(sandbox, tok, items(2))
    assert sandbox.accept_counts() == {"doc-0": 1, "doc-1": 1}


def test_injected_path_leaves_other_endpoints_alone(sandbox):
    tok, batch_id = submit(sandbox, 1)
    sandbox.inject("503", path="multiupload")
    assert extracts(sandbox, tok, batch_id=batch_id).status_code == 200
    assert token(sandbox)
    assert upload(sandbox, tok, items(1)).status_code == 503


def test_latency_delays_but_answers(sandbox):
    tok, batch_id = submit(sandbox, 1)
    sandbox.inject("latency:0.05")
    assert extracts(sandbox, tok, batch_id=batch_id).status_code == 200
    assert sandbox.request_log()[-1]["fault"] == "latency"


@pytest.mark.parametrize("spec", ["418", "latency", "latency:-1", "drop:3"])
def test_unknown_fault_specs_are_refused(sandbox, spec):
    with pytest.raises(ValueError):
        sandbox.inject(spec)


def test_keep_alive_connection_survives_a_drop(sandbox):
    tok, batch_id = submit(sandbox, 1)
    with requests.Session() as session:
        session.headers["Token"] = tok
        url = f"{sandbox.url}/v1/bulk/extracts"
        assert session.get(url, params={"batch_id": batch_id}, timeout=TIMEOUT).status_code == 200
        sandbox.inject("drop")
        with pytest.raises(requests.ConnectionError):
            session.get(url, params={"batch_id": batch_id}, timeout=TIMEOUT)
        assert session.get(url, params={"batch_id": batch_id}, timeout=TIMEOUT).status_code == 200


def test_random_faults_hit_only_fault_paths(make_sandbox):
    server = make_sandbox(rate_503=1.0, fault_paths=("/v1/bulk/extracts",))
    tok = token(server)
    batch_id = upload(server, tok, items(1)).json()[0]["batch_id"]
    assert extracts(server, tok, batch_id=batch_id).status_code == 503


def test_random_drop_after_accept_hits_multiupload_only(make_sandbox):
    server = make_sandbox(rate_drop_after_accept=1.0)
    tok = token(server)
    with pytest.raises(requests.ConnectionError):
        upload(server, tok, items(1))
    [recorded] = server.received_uploads()
    assert extracts(server, tok, batch_id=recorded["batch_id"]).status_code == 200


def test_random_faults_repeat_with_the_same_seed(make_sandbox):
    def statuses(server: SandboxServer) -> list[int]:
        tok, batch_id = submit(server, 1)
        server.set_behaviour(rate_503=0.3, rate_429=0.3, seed=42)
        return [extracts(server, tok, batch_id=batch_id).status_code for _ in range(30)]

    first, second = statuses(make_sandbox(state_path=None)), statuses(make_sandbox(state_path=None))
    assert first == second
    assert {503, 429, 200} <= set(first)


def test_bad_behaviour_switches_are_refused(sandbox):
    with pytest.raises(ValueError):
        sandbox.set_behaviour(pending_style="sometimes")
    with pytest.raises(ValueError):
        sandbox.set_behaviour(rate_503=1.5)
    with pytest.raises(ValueError):
        sandbox.set_behaviour(no_such_switch=True)


# A token endpoint that gives no token (switched over the HTTP control, as another process would)


@pytest.mark.parametrize("status", [403, 404, 301, 302, 307])
def test_token_status_makes_the_token_endpoint_refuse_or_redirect(sandbox, status):
    control = f"{sandbox.url}/_sandbox/behaviour"
    assert requests.post(control, json={"token_status": status}, timeout=TIMEOUT).status_code == 200
    reply = requests.post(f"{sandbox.url}/v1/bulk/authtoken", headers=CREDENTIALS,
                          allow_redirects=False, timeout=TIMEOUT)
    assert reply.status_code == status and "access_token" not in reply.text
    if 300 <= status < 400:
        assert reply.headers["Location"] == "https://elsewhere.invalid/v1/bulk/authtoken"
    requests.post(control, json={"token_status": None}, timeout=TIMEOUT)
    assert token(sandbox)


@pytest.mark.parametrize("bad", [200, 201, 99, 600, "403", True])
def test_token_status_must_be_a_refusing_status(sandbox, bad):
    reply = requests.post(f"{sandbox.url}/_sandbox/behaviour", json={"token_status": bad},
                          timeout=TIMEOUT)
    assert reply.status_code == 400 and "token_status" in reply.json()["error"]


def test_token_crlf_hands_out_tokens_holding_a_line_break(sandbox):
    control = f"{sandbox.url}/_sandbox/behaviour"
    assert requests.post(control, json={"token_crlf": True}, timeout=TIMEOUT).status_code == 200
    hostile = token(sandbox)
    assert "\r\n" in hostile
