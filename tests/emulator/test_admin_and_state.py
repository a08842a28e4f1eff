"""State across restarts, the admin API, the request log and the CLI contract."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from dataverse_emulator.testing import EmulatorError, RunningEmulator, start_emulator


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_state_certificates_and_tokens_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "emu"
    port = _free_port()
    with start_emulator(data_dir, port=port, extra_args=["--empty"]) as first:
        api = first.api_session()
        assert api.get(first.api_url + "leads").json()["value"] == []  # --empty: no demo data
        lead_id = str(uuid.uuid4())
        assert api.post(first.api_url + "leads", json={"leadid": lead_id, "lastname": "Persistent"}).status_code == 204
        token = api.headers["Authorization"]
        ca = Path(first.ca_path).read_bytes()
        info = json.loads((data_dir / "emulator.json").read_text())
        assert info == first.info
        assert first.output[-1].startswith("EMULATOR READY ")
    with start_emulator(data_dir, port=port) as second:  # an existing database is never re-seeded
        assert Path(second.ca_path).read_bytes() == ca
        session = second.session()
        session.headers["Authorization"] = token
        rows = session.get(second.api_url + "leads").json()["value"]
        assert [(r["leadid"], r["lastname"]) for r in rows] == [(lead_id, "Persistent")]
    assert not second.running


def test_reset_seed_and_request_log(emu: RunningEmulator) -> None:
    api = emu.api_session()
    status = emu.status()
    assert status["records"]["leads"] == 50 and status["records"]["campaignitems"] == 2
    mark = emu.requests_log()[-1]["id"]
    api.get(emu.api_url + "campaigns?$select=name")
    newer = emu.requests_log(since=mark)
    assert [(e["method"], e["path"], e["status"]) for e in newer] == [("GET", "/api/data/v9.2/campaigns?$select=name",
                                                                       200)]
    assert newer[0]["client"] == emu.client_id and newer[0]["duration_ms"] >= 0 and "time" in newer[0]
    assert any(e["path"].endswith("/oauth2/v2.0/token") and e["client"] == emu.client_id for e in emu.requests_log())
    emu.clear_requests_log()
    assert emu.requests_log() == []
    doc: dict[str, Any] = {
        "campaigns": [{"campaignid": str(uuid.uuid4()), "name": "Only campaign", "statecode": 0, "statuscode": 2}],
        "leads": [{"leadid": str(uuid.uuid4()), "firstname": "Solo", "lastname": "Lead"}],
        "lists": [{"listid": str(uuid.uuid4()), "listname": "Seeded list", "createdfromcode": 4}],
    }
    doc["listmembers"] = [{"listid": doc["lists"][0]["listid"], "entityid": doc["leads"][0]["leadid"]}]
    doc["campaignlists"] = [{"campaignid": doc["campaigns"][0]["campaignid"], "listid": doc["lists"][0]["listid"]}]
    loaded = emu.reset(doc)["loaded"]
    assert loaded == {"campaigns": 1, "leads": 1, "contacts": 0, "lists": 1, "listmembers": 1, "campaignlists": 1}
    assert emu.requests_log() == []
    seeded = api.get(emu.api_url + f"lists({doc['lists'][0]['listid']})?$select=membercount").json()
    assert seeded["membercount"] == 1
    emu.seed({"leads": [{"leadid": doc["leads"][0]["leadid"], "firstname": "Renamed", "lastname": "Lead"}]})
    assert api.get(emu.api_url + "leads?$select=fullname").json()["value"][0]["fullname"] == "Renamed Lead"
    emu.reset()
    assert emu.status()["records"]["leads"] == 0
    with pytest.raises(EmulatorError, match="unknown seed section"):
        emu.seed({"accounts": []})
    with pytest.raises(EmulatorError, match="does not exist"):
        emu.seed({"listmembers": [{"listid": str(uuid.uuid4()), "entityid": str(uuid.uuid4())}]})


def test_admin_is_separate_from_the_web_api(emu: RunningEmulator) -> None:
    session = emu.session()
    assert session.get(emu.org_url + "/api/data/v9.2/_emulator/info").status_code == 401
    assert session.get(emu.admin_url + "nope").status_code == 404
    assert session.patch(emu.admin_url + "config", json={"token_lifetime_seconds": 120}).json()[
        "token_lifetime_seconds"] == 120
    assert emu.reset_config()["token_lifetime_seconds"] == 3600


def test_start_failure_is_reported(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match="did not start"):
        start_emulator(tmp_path / "bad", extra_args=["--config", str(tmp_path / "missing.json")], timeout=20)
