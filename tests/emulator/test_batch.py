"""``$batch``: ordered execution, stop-or-continue on error, atomic change sets, the 1,000-operation cap."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from dataverse_emulator.testing import EmulatorSession, RunningEmulator, demo_record

Op = tuple[str, str, Any]  # (method, path below the service root, JSON body or None)


def _part(emu: RunningEmulator, op: Op, content_id: int | None = None, absolute: bool = True) -> str:
    method, path, body = op
    url = path if path.startswith("$") else (emu.api_url + path if absolute else f"/api/data/v9.2/{path}")
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines += ["", ""]
    return "\r\n".join(lines)


def _batch(emu: RunningEmulator, api: EmulatorSession, items: list[Op | list[Op]],
           continue_on_error: bool = False, token: bool = True) -> Any:
    boundary = f"batch_{uuid.uuid4()}"
    chunks = []
    for n, item in enumerate(items):
        if isinstance(item, list):
            cs = f"changeset_{uuid.uuid4()}"
            inner = "".join(f"--{cs}\r\n{_part(emu, op, i + 1)}\r\n" for i, op in enumerate(item))
            chunks.append(f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={cs}\r\n\r\n{inner}--{cs}--\r\n")
        else:
            chunks.append(f"--{boundary}\r\n{_part(emu, item, absolute=n % 2 == 0)}\r\n")
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    if continue_on_error:
        headers["Prefer"] = "odata.continue-on-error"
    session = api if token else emu.session()
    return session.post(emu.api_url + "$batch", data="".join(chunks) + f"--{boundary}--\r\n", headers=headers)


def _parse(response: Any) -> list[dict[str, Any]]:
    """Flatten a batch response into parts: {"status", "headers", "body", "content_id", "changeset"}."""
    def split(text: str, boundary: str) -> list[str]:
        return [c.strip("\r\n") for c in text.split(f"--{boundary}")[1:] if not c.startswith("--")]

    def http(part: str, changeset: bool) -> dict[str, Any]:
        mime, _, message = part.partition("\r\n\r\n")
        head, _, payload = message.partition("\r\n\r\n")
        status_line, *header_lines = head.split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines)
        cid = re.search(r"Content-ID: (\S+)", mime)
        return {"status": int(status_line.split()[1]), "headers": headers,
                "body": json.loads(payload) if payload.strip() else None,
                "content_id": cid.group(1) if cid else None, "changeset": changeset}

    outer = re.search(r"boundary=(\S+)", response.headers["Content-Type"]).group(1)
    parts: list[dict[str, Any]] = []
    for part in split(response.text, outer):
        inner = re.match(r"Content-Type: multipart/mixed; boundary=(\S+)\r\n\r\n", part)
        if inner:
            parts += [http(p, True) for p in split(part[inner.end():], inner.group(1))]
        else:
            parts.append(http(part, False))
    return parts


def _lead(name: str) -> Op:
    return ("POST", "leads", {"firstname": "Batch", "lastname": name})


def _lead_names(emu: RunningEmulator, api: EmulatorSession) -> set[str]:
    rows = api.get(emu.api_url + "leads", params={"$filter": "firstname eq 'Batch'", "$select": "lastname"}).json()
    return {r["lastname"] for r in rows["value"]}


def test_batch_runs_operations_in_order(emu: RunningEmulator, api: EmulatorSession) -> None:
    response = _batch(emu, api, [_lead("one"), _lead("two"), _lead("three"),
                                 ("GET", "leads?$select=lastname&$filter=firstname%20eq%20'Batch'", None)])
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(
        "multipart/mixed; boundary=batchresponse_")
    parts = _parse(response)
    assert [p["status"] for p in parts] == [204, 204, 204, 200]
    assert all(p["headers"]["OData-EntityId"].startswith(emu.api_url + "leads(") for p in parts[:3])
    assert [r["lastname"] for r in parts[3]["body"]["value"]] != [] and _lead_names(emu, api) == {"one", "two", "three"}
    log = [e for e in emu.requests_log() if e["path"].endswith("$batch")]
    assert len(log) == 1 and [o["status"] for o in log[0]["operations"]] == [204, 204, 204, 200]


def test_batch_stops_at_the_first_error_unless_asked_to_continue(emu: RunningEmulator,
                                                                 api: EmulatorSession) -> None:
    missing = str(uuid.uuid4())
    broken: Op = ("PATCH", f"leads({missing})", {"lastname": "x"})
    items = [_lead("before"), ("DELETE", f"leads({missing})", None), _lead("after")]
    stopped = _batch(emu, api, items)
    parts = _parse(stopped)
    assert stopped.status_code == 404 and [p["status"] for p in parts] == [204, 404]
    assert parts[1]["body"]["error"]["code"] == "0x80040217" and missing in parts[1]["body"]["error"]["message"]
    assert _lead_names(emu, api) == {"before"}
    continued = _batch(emu, api, [("DELETE", f"leads({missing})", None), _lead("later"), broken],
                       continue_on_error=True)
    assert continued.status_code == 200 and continued.headers["Preference-Applied"] == "odata.continue-on-error"
    assert [p["status"] for p in _parse(continued)] == [404, 204, 204]  # PATCH without If-Match upserts
    assert _lead_names(emu, api) == {"before", "later"}


def test_change_sets_are_all_or_nothing(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    campaign = demo_record("campaigns", statuscode=1)["campaignid"]
    missing = str(uuid.uuid4())
    failing = [_lead("cs-1"), _lead("cs-2"), ("DELETE", f"leads({missing})", None)]
    response = _batch(emu, api, [failing, _lead("outside")], continue_on_error=True)
    parts = _parse(response)
    assert [(p["status"], p["changeset"]) for p in parts] == [(404, False), (204, False)]
    assert parts[0]["content_id"] == "3"
    assert _lead_names(emu, api) == {"outside"}  # cs-1 and cs-2 were rolled back
    linked = [("POST", "lists", {"listname": "Mkto-leads-cs", "type": False, "createdfromcode": 4}),
              ("POST", f"campaigns({campaign})/campaignlist_association/$ref", {"@odata.id": "$1"})]
    ok = _batch(emu, api, [linked])
    parts = _parse(ok)
    assert ok.status_code == 200 and [(p["status"], p["content_id"], p["changeset"]) for p in parts] == [
        (204, "1", True), (204, "2", True)]
    list_id = parts[0]["headers"]["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    lists = api.get(emu.api_url + f"campaigns({campaign})/campaignlist_association?$select=listname").json()
    assert list_id in {r["listid"] for r in lists["value"]}


def test_batch_limits_and_authorisation(emu: RunningEmulator, api: EmulatorSession) -> None:
    too_many = _batch(emu, api, [("GET", "WhoAmI", None)] * 1001)
    assert too_many.status_code == 400 and "at most 1000" in too_many.json()["error"]["message"]
    assert _batch(emu, api, [("GET", "WhoAmI", None)] * 1000).status_code == 200
    assert _batch(emu, api, [("GET", "WhoAmI", None)], token=False).status_code == 401
    not_multipart = api.post(emu.api_url + "$batch", json={"requests": []})
    assert not_multipart.status_code == 400 and "multipart/mixed" in not_multipart.json()["error"]["message"]
