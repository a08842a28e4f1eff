"""Service protection limits (429 + Retry-After, growing waits) and seeded fault injection."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from dataverse_emulator.testing import EmulatorSession, RunningEmulator


def test_request_limit_answers_429_and_the_wait_grows(emu: RunningEmulator, api: EmulatorSession) -> None:
    emu.configure(limits={"requests_per_window": 3, "window_seconds": 1})
    for _ in range(3):
        assert api.get(emu.api_url + "WhoAmI").status_code == 200
    first = api.get(emu.api_url + "WhoAmI")
    assert first.status_code == 429
    assert first.json()["error"] == {"code": "0x80072322", "message": "Number of requests exceeded the limit of 3 "
                                                                      "over time window of 1 seconds."}
    wait = int(first.headers["Retry-After"])
    second = api.get(emu.api_url + "WhoAmI")  # still hammering: the block is extended
    assert second.status_code == 429 and int(second.headers["Retry-After"]) > wait >= 1
    time.sleep(int(second.headers["Retry-After"]) + 0.1)
    assert api.get(emu.api_url + "WhoAmI").status_code == 200
    assert [e["status"] for e in emu.requests_log() if e["path"].endswith("WhoAmI")] == [200] * 3 + [429] * 2 + [200]


def test_execution_time_limit(emu: RunningEmulator, api: EmulatorSession) -> None:
    emu.configure(limits={"execution_seconds_per_window": 0.2, "window_seconds": 1},
                  faults=[{"path": "WhoAmI", "slow_rate": 1, "slow_seconds": 0.3}])
    assert api.get(emu.api_url + "WhoAmI").status_code == 200
    blocked = api.get(emu.api_url + "leads?$top=1")
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "0x80072321"
    assert "1,200,000" not in blocked.text and "200 milliseconds" in blocked.text
    assert int(blocked.headers["Retry-After"]) >= 1


def test_concurrency_limit(emu: RunningEmulator, api: EmulatorSession) -> None:
    emu.configure(limits={"max_concurrent": 1}, faults=[{"path": "WhoAmI", "slow_rate": 1, "slow_seconds": 0.5}])
    slow = threading.Thread(target=lambda: emu.api_session().get(emu.api_url + "WhoAmI"))
    slow.start()
    time.sleep(0.2)
    refused = api.get(emu.api_url + "leads?$top=1")
    slow.join()
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "0x80072326"
    assert refused.headers["Retry-After"] == "1"


def _statuses(emu: RunningEmulator, api: EmulatorSession, n: int = 24) -> list[int]:
    return [api.get(emu.api_url + "leads?$top=1&$select=fullname").status_code for _ in range(n)]

def test_requests_still_in_flight_count_toward_the_request_limit(emu: RunningEmulator, api: EmulatorSession
                                                                 ) -> None:
    """Dataverse counts a request when it is made: two slow requests in flight use up a limit of two, so a
    third sent before either has finished is refused (counting on finish let concurrent callers exceed it)."""
    emu.configure(limits={"requests_per_window": 2, "window_seconds": 5},
                  faults=[{"path": "WhoAmI", "slow_rate": 1, "slow_seconds": 0.6}])
    slow = [threading.Thread(target=lambda: emu.api_session().get(emu.api_url + "WhoAmI")) for _ in range(2)]
    for thread in slow:
        thread.start()
    time.sleep(0.2)
    refused = api.get(emu.api_url + "leads?$top=1")
    for thread in slow:
        thread.join()
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "0x80072322"
    assert 1 <= int(refused.headers["Retry-After"]) <= 5



def test_faults_are_reproducible_with_a_seed(emu: RunningEmulator, api: EmulatorSession) -> None:
    rule = {"path": r"/leads\b", "method": "GET", "error_rate": 0.5, "error_statuses": [500, 503], "retry_after": 2}
    emu.configure(faults=[rule], fault_seed=42)
    first = _statuses(emu, api)
    assert set(first) == {200, 500, 503}
    assert api.get(emu.api_url + "campaigns?$top=1").status_code == 200  # other paths are not affected
    emu.configure(faults=[rule], fault_seed=42)
    assert _statuses(emu, api) == first
    emu.reset("default")  # a reset restarts the fault draws too
    assert _statuses(emu, api) == first
    emu.configure(fault_seed=43)
    assert _statuses(emu, api) != first
    unavailable = next(e for e in emu.requests_log() if e["status"] == 503)
    assert unavailable["fault"] == "error"


def test_injected_503_carries_retry_after_and_drops_close_the_socket(emu: RunningEmulator,
                                                                    api: EmulatorSession) -> None:
    emu.configure(faults=[{"path": "campaigns", "error_rate": 1, "error_statuses": [503], "retry_after": 7},
                          {"path": "contacts", "drop_rate": 1}])
    unavailable = api.get(emu.api_url + "campaigns")
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "7"
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get(emu.api_url + "contacts")
    assert api.get(emu.api_url + "leads?$top=1").status_code == 200  # the next connection works
    dropped = [e for e in emu.requests_log() if e["fault"] == "drop"]
    assert len(dropped) == 1 and dropped[0]["status"] == 0


def test_token_endpoint_faults_only_when_a_rule_says_so(emu: RunningEmulator) -> None:
    emu.configure(faults=[{"path": ".*", "error_rate": 1, "error_statuses": [503]}])
    assert emu.access_token()  # Web API rules leave the token endpoint alone
    emu.configure(faults=[{"path": "oauth2", "error_rate": 1, "error_statuses": [503], "token_endpoint": True}])
    with pytest.raises(requests.HTTPError):
        emu.access_token()
    assert emu.requests_log()[-1]["path"].endswith("/oauth2/v2.0/token")


def test_bad_configuration_is_refused(emu: RunningEmulator) -> None:
    for patch in ({"limits": {"requests_per_window": 0}}, {"faults": [{"path": "(", "error_rate": 1}]},
                  {"faults": [{"error_rate": 2}]}, {"nonsense": 1}):
        with pytest.raises(Exception, match="400"):
            emu.configure(**patch)
    assert emu.config()["limits"]["requests_per_window"] == 6000


def test_a_rule_with_times_fails_exactly_that_many_token_requests(emu: RunningEmulator) -> None:
    emu.configure(faults=[{"path": "oauth2", "error_rate": 1, "error_statuses": [503], "retry_after": 3,
                           "times": 2, "token_endpoint": True}])
    session = emu.session()
    form = {"grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
            "scope": f"{emu.org_url}/.default"}
    answers = [session.post(emu.token_url(), data=form) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "3"
    assert answers[0].json()["error"] == "temporarily_unavailable"  # Entra's shape at Entra's endpoint
    assert emu.client_secret not in answers[0].text
    assert "access_token" in answers[2].json()
    assert [e["fault"] for e in emu.requests_log()] == ["error", "error", None]


def test_broken_bodies_keep_the_status_and_the_effect(emu: RunningEmulator, api: EmulatorSession) -> None:
    emu.configure(faults=[{"path": "campaigns", "broken_body_rate": 1, "times": 1},
                          {"path": "contacts", "broken_body_rate": 1, "broken_body": "html"},
                          {"path": "oauth2", "broken_body_rate": 1, "times": 1, "token_endpoint": True}])
    truncated = api.get(emu.api_url + "campaigns?$select=name")
    assert truncated.status_code == 200 and truncated.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        truncated.json()
    assert api.get(emu.api_url + "campaigns?$select=name").json()["value"]  # the rule is spent
    page = api.get(emu.api_url + "contacts?$top=1")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    missing = api.get(emu.api_url + f"contacts({uuid.uuid4()})")  # an error answer breaks the same way
    assert missing.status_code == 404 and missing.text.startswith("<!DOCTYPE html>")
    token_answer = emu.session().post(emu.token_url(), data={
        "grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
        "scope": f"{emu.org_url}/.default"})
    assert token_answer.status_code == 200 and token_answer.text.startswith('{"token_type"')
    with pytest.raises(ValueError):
        token_answer.json()
    faults = [(e["path"].split("?")[0].rsplit("/", 1)[-1], e["fault"]) for e in emu.requests_log()]
    assert [fault for _, fault in faults[-5:]] == ["broken_body", None, "broken_body", "broken_body", "broken_body"]
    assert faults[-1][0] == "token"


def test_fault_rule_fields_are_checked(emu: RunningEmulator) -> None:
    for rule in ({"times": 0}, {"times": "2"}, {"broken_body": "gzip"}, {"broken_body_rate": 1.5}):
        with pytest.raises(Exception, match="400") as refused:
            emu.configure(faults=[rule])
        assert next(iter(rule)) in str(refused.value)
