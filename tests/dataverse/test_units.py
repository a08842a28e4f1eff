"""Pure parts of the client: retry predicate and waits, OData literals, config validation, $batch framing."""

from __future__ import annotations

import pytest

from dynamics_campaign_sync.dataverse import (
    BatchOperation,
    ChangeSet,
    DataverseConfig,
    DataverseConfigError,
    DataverseConnectionError,
    HttpError,
    RetryPolicy,
    is_retryable,
)
from dynamics_campaign_sync.dataverse.batch import decode_batch_response, encode_batch
from dynamics_campaign_sync.dataverse.odata import guid, string_literal

ORG = "https://contoso.crm.dynamics.com"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (HttpError(429, "throttled", retry_after=3), True),
        (HttpError(503, "unavailable"), True),
        (HttpError(500, "boom"), True),
        (HttpError(400, "bad"), False),
        (HttpError(401, "auth"), False),
        (HttpError(404, "missing"), False),
        (HttpError(412, "duplicate"), False),
        (DataverseConnectionError("dropped"), True),
        (ValueError("bug"), False),
    ],
)
def test_retryable_errors(error, expected):
    assert is_retryable(error) is expected


def test_retry_after_wins_over_backoff_and_backoff_grows():
    policy = RetryPolicy(base_delay_seconds=1, max_delay_seconds=8)
    assert policy.wait_seconds(HttpError(429, "x", retry_after=7), 1) == 7
    waits = [policy.wait_seconds(HttpError(503, "x"), n) for n in (1, 2, 3, 4, 5)]
    assert 0.5 <= waits[0] <= 1 and 4 <= waits[3] <= 8 and waits[4] <= 8


def test_retry_policy_stops_after_attempts_and_does_not_retry_client_errors():
    calls = []

    def flaky():
        calls.append(1)
        raise HttpError(503, "unavailable", retry_after=0)

    with pytest.raises(HttpError):
        RetryPolicy(max_attempts=3).call(flaky, describe="test")
    assert len(calls) == 3

    calls.clear()

    def bad_request():
        calls.append(1)
        raise HttpError(400, "bad")

    with pytest.raises(HttpError):
        RetryPolicy(max_attempts=3).call(bad_request, describe="test")
    assert len(calls) == 1


def test_retry_policy_will_not_start_a_wait_beyond_its_time_budget():
    calls = []

    def throttled():
        calls.append(1)
        raise HttpError(429, "slow down", retry_after=120)

    with pytest.raises(HttpError):
        RetryPolicy(max_attempts=5, max_total_seconds=10).call(throttled, describe="test")
    assert len(calls) == 1


def test_string_literals_escape_quotes_and_guids_are_checked():
    assert string_literal("O'Brien & Co") == "'O''Brien & Co'"
    assert guid("6B29FC40-CA47-1067-B31D-00DD010662DA") == "6b29fc40-ca47-1067-b31d-00dd010662da"
    with pytest.raises(DataverseConfigError, match="campaign id is not a GUID: '1 or 1 eq 1'"):
        guid("1 or 1 eq 1", what="campaign id")


def test_config_rejects_bad_settings_naming_them_and_hides_the_secret():
    config = DataverseConfig(org_url=ORG + "/", tenant_id="t", client_id="c", client_secret="s3cr3t-value")
    assert config.api_url == f"{ORG}/api/data/v9.2/"
    assert config.scope == f"{ORG}/.default"
    assert config.authority_url == "https://login.microsoftonline.com/t"
    assert "s3cr3t-value" not in repr(config)
    with pytest.raises(DataverseConfigError, match="org_url must be an https URL"):
        DataverseConfig(org_url="http://contoso.crm.dynamics.com", tenant_id="t", client_id="c", client_secret="s")
    with pytest.raises(DataverseConfigError, match="exactly one credential"):
        DataverseConfig(org_url=ORG, tenant_id="t", client_id="c")
    with pytest.raises(DataverseConfigError, match="max_page_size"):
        DataverseConfig(org_url=ORG, tenant_id="t", client_id="c", client_secret="s", max_page_size=6000)
    with pytest.raises(DataverseConfigError, match="tenant_id is required"):
        DataverseConfig(org_url=ORG, tenant_id="", client_id="c", client_secret="s")


def test_batch_request_framing_has_changesets_and_absolute_urls():
    api = f"{ORG}/api/data/v9.2/"
    content_type, body = encode_batch(
        [
            BatchOperation("GET", "campaigns?$select=name"),
            ChangeSet([BatchOperation("POST", "leads", {"lastname": "A"}), BatchOperation("POST", "leads", {"lastname": "B"})]),
        ],
        api,
    )
    text = body.decode()
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/mixed; boundary=batch_")
    assert text.count(f"--{boundary}\r\n") == 2 and text.endswith(f"--{boundary}--\r\n")
    assert f"GET {api}campaigns?$select=name HTTP/1.1" in text
    assert "Content-Type: multipart/mixed; boundary=changeset_" in text
    assert "Content-ID: 1" in text and "Content-ID: 2" in text
    assert '{"lastname": "B"}' in text
    with pytest.raises(ValueError, match="at most 1000"):
        encode_batch([BatchOperation("GET", "leads")] * 1001, api)


def test_batch_response_decoding_flattens_changesets():
    body = (
        "--batchresponse_1\r\n"
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; odata.metadata=minimal\r\nOData-Version: 4.0\r\n\r\n"
        '{"value": [{"name": "Spring launch"}]}\r\n'
        "--batchresponse_1\r\n"
        "Content-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
        "--changesetresponse_2\r\n"
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
        "HTTP/1.1 204 No Content\r\nOData-EntityId: https://x/api/data/v9.2/leads(1)\r\n\r\n\r\n"
        "--changesetresponse_2--\r\n"
        "--batchresponse_1\r\n"
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n"
        '{"error": {"code": "0x80040217", "message": "lead With Id = 1 Does Not Exist"}}\r\n'
        "--batchresponse_1--\r\n"
    )
    results = decode_batch_response("multipart/mixed; boundary=batchresponse_1", body)
    assert [r.status for r in results] == [200, 204, 404]
    assert results[0].body == {"value": [{"name": "Spring launch"}]}
    assert results[1].content_id == "1" and results[1].headers["odata-entityid"].endswith("leads(1)")
    assert results[2].body["error"]["code"] == "0x80040217" and not results[2].ok
