"""Every Dataverse call under the one retry policy: token acquisition through real MSAL against the emulator's
token endpoint, and answers whose body cannot be read, from the token endpoint and the Web API alike."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from dynamics_campaign_sync.dataverse import (
    AuthenticationError,
    DataverseConnectionError,
    HttpError,
    RetryPolicy,
    UnreadableResponseError,
    is_retryable,
)
from support import client_for

ATTEMPTS = 4
FAST = RetryPolicy(max_attempts=ATTEMPTS, max_total_seconds=60, base_delay_seconds=0.01, max_delay_seconds=0.05)


def token_rule(**fault) -> dict:
    return {"path": "oauth2/v2.0/token", "token_endpoint": True, **fault}


def token_requests(emulator) -> list[dict]:
    return [r for r in emulator.requests_log() if r["path"].endswith("/oauth2/v2.0/token")]


def api_requests(emulator) -> list[dict]:
    return [r for r in emulator.requests_log() if r["path"].startswith("/api/data/")]


def retry_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith("dataverse.retry")]


def test_token_endpoint_503_twice_then_a_token_asks_the_endpoint_three_times(fresh_emulator, caplog):
    # No Retry-After: MSAL would serve its cached 503 for 5 s, and a quick retry would never reach the endpoint.
    fresh_emulator.configure(faults=[token_rule(error_rate=1, error_statuses=[503], times=2)])
    caplog.set_level(logging.INFO)
    with client_for(fresh_emulator, FAST) as client:
        client.check_access()
    assert [r["status"] for r in token_requests(fresh_emulator)] == [503, 503, 200]
    assert [r["status"] for r in api_requests(fresh_emulator)] == [200]
    assert client.stats.retries == 2
    lines = retry_lines(caplog)
    assert len(lines) == 2 and "(attempt 1/4)" in lines[0] and "(attempt 2/4)" in lines[1]
    assert all("token" in line and "HTTP 503" in line and "waiting" in line for line in lines)


def test_token_endpoint_retry_after_is_the_wait(fresh_emulator, caplog):
    fresh_emulator.configure(faults=[token_rule(error_rate=1, error_statuses=[500], retry_after=1, times=1)])
    caplog.set_level(logging.WARNING)
    with client_for(fresh_emulator, FAST) as client:
        client.check_access()
    assert [r["status"] for r in token_requests(fresh_emulator)] == [500, 200]
    assert "waiting 1.0s" in retry_lines(caplog)[0]


def test_token_endpoint_always_503_gives_a_typed_error_after_the_policy_attempts(fresh_emulator, caplog):
    fresh_emulator.configure(faults=[token_rule(error_rate=1, error_statuses=[503])])
    caplog.set_level(logging.DEBUG)
    with client_for(fresh_emulator, FAST) as client, pytest.raises(HttpError) as raised:
        client.check_access()
    error, secret = raised.value, fresh_emulator.client_secret
    assert error.status == 503 and error.is_transient and error.code == "temporarily_unavailable"
    assert error.method == "POST" and error.url == fresh_emulator.token_url()
    sent = token_requests(fresh_emulator)
    assert len(sent) == ATTEMPTS and error.request_id == sent[-1]["request_id"]
    assert not api_requests(fresh_emulator)
    assert secret not in str(error) and secret not in repr(error.__dict__) and secret not in caplog.text


def test_a_dropped_token_request_is_retried(fresh_emulator):
    fresh_emulator.configure(faults=[token_rule(drop_rate=1, times=1)])
    with client_for(fresh_emulator, FAST) as client:
        client.check_access()
    assert [r["fault"] for r in token_requests(fresh_emulator)] == ["drop", None]


def test_a_token_request_that_times_out_is_retried(fresh_emulator, caplog):
    # MSAL applies its timeout only to a session it builds; ours must reach the token request too.
    fresh_emulator.configure(faults=[token_rule(slow_rate=1, slow_seconds=2, times=1)])
    caplog.set_level(logging.WARNING)
    with client_for(fresh_emulator, FAST, timeout_seconds=0.5) as client:
        client.check_access()
    assert client.stats.retries == 1 and "ReadTimeout" in retry_lines(caplog)[0]
    # The emulator logs the slow request once it has slept; wait for it, so no later test sees it.
    deadline = time.monotonic() + 30
    while len(token_requests(fresh_emulator)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [r["fault"] for r in token_requests(fresh_emulator)] == [None, "slow"]


@pytest.mark.parametrize("style", ["truncated", "html"])
def test_an_unreadable_token_answer_is_retried_and_never_logged(fresh_emulator, caplog, style):
    fresh_emulator.configure(faults=[token_rule(broken_body_rate=1, broken_body=style, times=1)])
    caplog.set_level(logging.DEBUG)
    with client_for(fresh_emulator, FAST) as client:
        client.check_access()
    assert [r["fault"] for r in token_requests(fresh_emulator)] == ["broken_body", None]
    # MSAL logs a body it cannot parse; a cut token answer still holds most of the token (a JWT: "eyJ...").
    assert "eyJ" not in caplog.text and "<html" not in caplog.text.lower()


@pytest.mark.parametrize(("setting", "value", "error"), [
    ("client_secret", "wrong-secret-Zq8!value", "invalid_client"),
    ("client_id", str(uuid.uuid4()), "unauthorized_client"),
])
def test_a_refused_credential_is_asked_once_and_never_retried(fresh_emulator, caplog, setting, value, error):
    caplog.set_level(logging.DEBUG)
    with client_for(fresh_emulator, FAST, **{setting: value}) as client, \
            pytest.raises(AuthenticationError) as raised:
        client.check_access()
    assert raised.value.error == error and not is_retryable(raised.value)
    assert len(token_requests(fresh_emulator)) == 1 and client.stats.retries == 0
    assert value not in str(raised.value) or setting == "client_id"
    assert "wrong-secret-Zq8!value" not in caplog.text


def test_an_unknown_tenant_fails_at_once_as_bad_configuration(fresh_emulator):
    authority = f"{fresh_emulator.org_url}/{uuid.uuid4()}"
    with client_for(fresh_emulator, FAST, authority=authority) as client, \
            pytest.raises(AuthenticationError) as raised:
        client.check_access()
    assert raised.value.error == "invalid_configuration"
    discovery = [r for r in fresh_emulator.requests_log() if "openid-configuration" in r["path"]]
    assert len(discovery) == 1 and not token_requests(fresh_emulator)


def test_a_web_api_200_with_invalid_json_is_retried(fresh_emulator):
    fresh_emulator.configure(faults=[{"path": "/campaigns", "broken_body_rate": 1, "times": 1}])
    with client_for(fresh_emulator, FAST) as client:
        campaigns = list(client.list_campaigns())
    assert campaigns and client.stats.retries == 1
    assert [(r["status"], r["fault"]) for r in api_requests(fresh_emulator)] == [(200, "broken_body"), (200, None)]


@pytest.mark.parametrize(("style", "says"), [("truncated", "not valid JSON"), ("html", "HTML page")])
def test_a_web_api_body_that_stays_unreadable_is_a_typed_error_naming_the_request(fresh_emulator, style, says):
    fresh_emulator.configure(faults=[{"path": "/campaigns", "broken_body_rate": 1, "broken_body": style}])
    with client_for(fresh_emulator, FAST) as client, pytest.raises(UnreadableResponseError) as raised:
        client.get_campaign(str(uuid.uuid4()))  # a 404 answer, mangled on the way, is unreadable but permanent
    assert raised.value.status == 404 and not raised.value.is_transient
    assert len(api_requests(fresh_emulator)) == 1
    fresh_emulator.clear_requests_log()
    with client_for(fresh_emulator, FAST) as client, pytest.raises(UnreadableResponseError) as raised:
        client.check_access()
    error, sent = raised.value, api_requests(fresh_emulator)
    assert len(sent) == ATTEMPTS and error.is_transient
    url = f"{fresh_emulator.api_url}campaigns"
    assert (error.method, error.url, error.status, error.request_id) == ("GET", url, 200, sent[-1]["request_id"])
    message = str(error)
    assert f"GET {url} " in message and "HTTP 200" in message and sent[-1]["request_id"] in message
    assert says in message and "$select" not in message and "campaignid" not in message


@pytest.mark.parametrize(("error", "expected"), [
    (UnreadableResponseError(200, "cut short"), True),
    (UnreadableResponseError(502, "gateway page"), True),
    (UnreadableResponseError(403, "proxy page"), False),
    (AuthenticationError("invalid_client", "bad secret"), False),
    (DataverseConnectionError("certificate not trusted", transient=False), False),
])
def test_every_typed_error_says_whether_it_is_worth_another_try(error, expected):
    assert is_retryable(error) is expected
