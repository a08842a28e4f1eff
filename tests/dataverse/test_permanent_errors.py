"""Errors built from answers in one place (``HttpError.from_answer``), which of them a task retry cannot cure,
and retry settings with one source: the connection's extras over ``RetryPolicy``'s defaults, through a real
Airflow connection and the hook against the emulator."""

from __future__ import annotations

import json

import pytest

from dynamics_campaign_sync.dataverse import (
    AuthenticationError,
    DataverseConfigError,
    DataverseConnectionError,
    DataverseError,
    HttpError,
    RetryPolicy,
    UnreadableResponseError,
)
from dynamics_campaign_sync.errors import is_permanent
from dynamics_campaign_sync.hooks.dynamics import DynamicsHook, retry_policy_from_extras
from support import emulator_connection

URL = "https://contoso.crm.dynamics.com/api/data/v9.2/lists?$filter=listname eq 'p1@example.com'"
HEADERS = {"x-ms-service-request-id": "req-1", "x-ms-correlation-request-id": "corr-1", "retry-after": "7"}


def test_a_dataverse_error_answer_becomes_a_typed_error_without_the_query():
    body = {"error": {"code": "0x80040217", "message": "list With Id = 42 Does Not Exist"}}
    error = HttpError.from_answer(404, HEADERS, body, method="GET", url=URL)
    assert (error.status, error.code, error.message) == (404, "0x80040217", "list With Id = 42 Does Not Exist")
    assert (error.request_id, error.correlation_id, error.retry_after) == ("req-1", "corr-1", 7.0)
    assert error.url == URL.split("?", 1)[0] and "p1@example.com" not in str(error)


def test_an_entra_answer_and_a_text_answer_are_read_too():
    entra = HttpError.from_answer(400, {"x-ms-request-id": "entra-1"},
                                  {"error": "invalid_scope", "error_description": "AADSTS70011: bad scope",
                                   "correlation_id": "c-2"}, method="POST", url="https://login/token",
                                  source="the token endpoint")
    assert (entra.code, entra.message, entra.request_id, entra.correlation_id) == (
        "invalid_scope", "AADSTS70011: bad scope", "entra-1", "c-2")
    assert str(entra).startswith("the token endpoint returned HTTP 400 [invalid_scope]")
    assert HttpError.from_answer(502, {}, "  Bad gateway  ", method="GET", url=URL).message == "Bad gateway"
    assert HttpError.from_answer(503, {"retry-after": "soon"}, "", method="GET", url=URL,
                                 reason="Service Unavailable").retry_after is None


@pytest.mark.parametrize(("error", "permanent"), [
    (HttpError(400, "bad request"), True),
    (HttpError(401, "no application user"), True),
    (HttpError(403, "missing privilege"), True),
    (HttpError(412, "concurrency"), True),
    (HttpError(429, "throttled"), False),
    (HttpError(503, "unavailable"), False),
    (HttpError(501, "not implemented"), False),  # left to the task's retries: the service may be mending
    (UnreadableResponseError(200, "cut short"), False),
    (UnreadableResponseError(403, "an HTML page"), True),
    (AuthenticationError("invalid_client", "AADSTS7000215"), True),
    (DataverseConfigError("tenant_id is required"), True),
    (DataverseConnectionError("dropped"), False),
    (DataverseConnectionError("untrusted certificate", transient=False), True),
    (DataverseError("$batch answered 3 of 5 lead creations; calling again creates the missing ones"), False),
])
def test_only_what_a_retry_cannot_cure_is_permanent(error, permanent):
    assert is_permanent(error) is permanent


def test_the_connections_retry_extras_set_the_one_policy_the_client_uses(fresh_emulator, monkeypatch):
    extras = {"max_attempts": "2", "max_total_seconds": "30", "base_delay_seconds": "0", "max_delay_seconds": "0"}
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", json.dumps(emulator_connection(fresh_emulator, **extras)))
    fresh_emulator.configure(faults=[{"path": r"/api/data/v9\.2/campaigns", "error_rate": 1,
                                      "error_statuses": [503]}])
    hook = DynamicsHook()
    assert hook.retry_policy == RetryPolicy(max_attempts=2, max_total_seconds=30, base_delay_seconds=0,
                                            max_delay_seconds=0)
    with pytest.raises(HttpError) as unavailable:
        hook.client.check_access()
    assert unavailable.value.status == 503
    assert (hook.client.stats.requests, hook.client.stats.retries) == (2, 1)


def test_no_retry_extra_means_the_policys_own_defaults():
    assert retry_policy_from_extras({"tenant_id": "t"}) == RetryPolicy()


@pytest.mark.parametrize(("extra", "message"), [
    ({"base_delay_seconds": "soon"}, "connection extra 'base_delay_seconds' must be a float, got 'soon'"),
    ({"max_attempts": "0"}, "max_attempts must be at least 1, got 0"),
])
def test_a_bad_retry_extra_is_named(fresh_emulator, monkeypatch, extra, message):
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", json.dumps(emulator_connection(fresh_emulator, **extra)))
    with pytest.raises(DataverseConfigError, match=f"connection 'dynamics_default': {message}"):
        _ = DynamicsHook().config
