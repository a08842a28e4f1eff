"""The dashboard's JSON API inside Airflow's real API app (plugin loading, auth manager, login), in-process.

Numbers are compared with what the ledger itself answers after real syncs (see conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_world import KEY, RETIRED_KEY, SyncedLedger

from dynamics_campaign_sync.ledger import Ledger

pytestmark = pytest.mark.e2e
LIST = "/campaign-sync/api/campaigns"
USERS = "admin:admin,analyst:viewer"


class Airflow:
    """Airflow's API app with our plugin, and logins as its simple auth manager users."""

    def __init__(self, client) -> None:
        self.client = client

    def token(self, username: str) -> str:
        from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

        passwords = json.loads(Path(SimpleAuthManager.get_generated_password_file()).read_text())
        response = self.client.post("/auth/token", json={"username": username, "password": passwords[username]})
        assert response.status_code == 201, response.text
        return response.json()["access_token"]

    def get(self, url: str, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(url, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def airflow(synced_ledger: SyncedLedger) -> Iterator[Airflow]:
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", USERS)
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        # Set here: whether this process read an airflow.cfg with a generated secret depends on test order.
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        for name, value in synced_ledger.env.items():
            patch.setenv(name, value)
        purge_cached_app()
        try:
            with TestClient(create_app(), follow_redirects=False) as client:
                yield Airflow(client)
        finally:
            purge_cached_app()


@pytest.fixture(scope="module")
def analyst(airflow: Airflow) -> str:
    return airflow.token("analyst")


@pytest.fixture
def ledger(synced_ledger: SyncedLedger) -> Iterator[Ledger]:
    ledger = synced_ledger.ledger()
    yield ledger
    ledger.close()


def campaign_id(ledger: Ledger) -> str:
    return ledger.event_batches(campaign_key=KEY)[0].campaign_id


# -- authentication and authorization --------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, f"{LIST}/{KEY}", f"{LIST}/no_such_campaign"])
def test_requests_without_a_login_get_no_data(airflow: Airflow, url: str) -> None:
    response = airflow.get(url)
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize("credentials", ["header", "cookie"])
def test_a_forged_or_foreign_token_gets_no_data(airflow: Airflow, analyst: str, credentials: str) -> None:
    forged = analyst[:-4] + ("AAAA" if not analyst.endswith("AAAA") else "BBBB")
    if credentials == "header":
        response = airflow.get(LIST, forged)
    else:
        response = airflow.client.get(LIST, cookies={"_token": forged})
    assert response.status_code == 403
    assert "campaigns" not in response.text


def test_a_user_without_dag_access_gets_403(airflow: Airflow) -> None:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    roleless = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="intern", role=None))
    for url in (LIST, f"{LIST}/{KEY}"):
        response = airflow.get(url, roleless)
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": "Forbidden"}


def test_the_ui_cookie_is_accepted_like_a_bearer_token(airflow: Airflow, analyst: str) -> None:
    response = airflow.client.get(LIST, cookies={"_token": analyst})
    assert response.status_code == 200
    assert {c["key"] for c in response.json()["campaigns"]} == {KEY, RETIRED_KEY}


def test_the_page_sends_strangers_to_the_airflow_login(airflow: Airflow, analyst: str) -> None:
    response = airflow.get("/campaign-sync/")
    assert response.status_code == 307
    assert response.headers["location"].startswith("/api/v2/auth/login?next=")
    page = airflow.client.get("/campaign-sync/", cookies={"_token": analyst})
    assert page.status_code == 200 and "<title>Campaign Sync</title>" in page.text


def test_only_reads_are_routed_and_answers_are_not_cached(airflow: Airflow, analyst: str) -> None:
    headers = {"Authorization": f"Bearer {analyst}"}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert airflow.client.request(method, f"{LIST}/{KEY}", headers=headers).status_code == 405
    assert airflow.get(LIST, analyst).headers["cache-control"] == "no-store"


def test_the_plugin_is_registered_with_a_nav_entry(airflow: Airflow, analyst: str) -> None:
    plugins = airflow.get("/api/v2/plugins", analyst).json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "campaign_sync_dashboard")
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == ["/campaign-sync"]
    view = ours["external_views"][0]
    assert view["name"] == "Campaign Sync" and view["url_route"] == "campaign-sync"
    assert view["destination"] == "nav" and view["href"] == "campaign-sync/"
    assert airflow.client.get("/campaign-sync/static/icon.svg").status_code == 200


# -- numbers ---------------------------------------------------------------------------------------------------


def test_overview_numbers_equal_the_ledger(airflow: Airflow, analyst: str, ledger: Ledger) -> None:
    response = airflow.get(LIST, analyst)
    assert response.status_code == 200
    body = response.json()
    assert body["ledger"] == {"available": True, "message": None} and body["spec_errors"] == []
    rows = {c["key"]: c for c in body["campaigns"]}
    row, cid = rows[KEY], campaign_id(ledger)

    members = Counter(m.member_type for m in ledger.members(cid).values())
    assert row["members"]["lead"] == members["lead"] == 4
    assert row["members"]["contact"] == members["contact"] == 0
    assert row["members"]["total"] == len(ledger.members(cid))
    batches = ledger.event_batches(campaign_key=KEY)
    assert row["totals"] == {
        "added": sum(b.count for b in batches if b.action == "add"),
        "removed": sum(b.count for b in batches if b.action == "remove"),
    } == {"added": 6, "removed": 2}

    last = ledger.latest_plan(KEY)
    assert row["last_run"]["run_id"] == last.run_id and row["last_run"]["status"] == last.status == "dry_run"
    assert row["last_run"]["counts"] == dict(last.counts)
    assert row["not_ours"] == last.counts["not_ours"]

    catalog = {c["campaign_id"]: c for c in ledger.campaigns()}
    assert row["campaign"]["id"] == cid and row["campaign"]["name"] == catalog[cid]["name"] == "E2E Launch"
    assert (row["campaign"]["state"], row["campaign"]["status"]) == ("Active", "Launched")
    assert row["title"] == "E2E German audience" and row["owner"] == "e2e-tests"
    assert row["dag_id"] == f"campaign_sync__{KEY}"

    retired = rows[RETIRED_KEY]
    assert (retired["campaign"]["state"], retired["campaign"]["status"]) == ("Inactive", "Inactive")
    assert retired["last_run"] is None and retired["members"]["total"] == 0


def test_campaign_detail_equals_the_ledger(airflow: Airflow, analyst: str, ledger: Ledger) -> None:
    response = airflow.get(f"{LIST}/{KEY}", analyst, params={"events": 500})
    assert response.status_code == 200
    detail, cid = response.json(), campaign_id(ledger)

    owned = {o.member_type: o for o in ledger.owned_lists(cid)}
    assert {o["member_type"]: o["list_id"] for o in detail["owned_lists"]} == {
        t: o.list_id for t, o in owned.items()}

    batches = ledger.event_batches(campaign_key=KEY)
    recorded = [(e["person_id"], e["action"]) for b in batches for e in ledger.batch_events(b.batch_id)]
    assert sorted((e["person_id"], e["action"]) for e in detail["recent_events"]) == sorted(recorded)
    assert [e["event_id"] for e in detail["recent_events"]] == sorted(
        (e["event_id"] for e in detail["recent_events"]), reverse=True)
    adds = [e for e in detail["recent_events"] if e["action"] == "add"]
    assert all(e["matched"] == [1] and e["why"] == "1. country is 'de'" for e in adds)
    assert {e["source_person_id"] for e in adds} == {"P1", "P2", "P3", "P4", "P6", "P8"}

    by_day = {d["date"]: (d["added"], d["removed"]) for d in detail["timeline"]}
    expected: dict[str, list[int]] = {}
    for b in batches:
        expected.setdefault(b.interval_end.date().isoformat(), [0, 0])[b.action == "remove"] += b.count
    assert by_day == {day: tuple(v) for day, v in expected.items()} == {"2026-03-01": (5, 0), "2026-03-02": (1, 2)}

    assert [r["status"] for r in detail["runs"]] == ["dry_run", "applied", "applied"]
    applied = ledger.plan(KEY, detail["runs"][1]["run_id"])
    assert detail["runs"][1]["counts"] == dict(applied.counts)
    assert applied.counts["to_add"] == 1 and applied.counts["to_remove"] == 2 and applied.counts["not_ours"] == 1

    dry = ledger.latest_plan(KEY, "dry_run")
    shown = detail["latest_dry_run"]
    assert shown["run_id"] == dry.run_id and shown["counts"] == dict(dry.counts)
    assert {(i["person_id"], i["action"]) for i in shown["items"]} == {
        (i.person_id, i.action) for i in ledger.plan_items(KEY, dry.run_id)} != set()
    assert detail["rules"] == {"logic": "1", "filters": [{"number": 1, "text": "country is 'de'"}]}


def test_limits_cap_the_lists_but_not_the_totals(airflow: Airflow, analyst: str) -> None:
    detail = airflow.get(f"{LIST}/{KEY}", analyst, params={"events": 2}).json()
    assert len(detail["recent_events"]) == 2 and detail["totals"] == {"added": 6, "removed": 2}
    assert airflow.get(f"{LIST}/{KEY}", analyst, params={"events": 0}).status_code == 422


def test_an_unknown_campaign_is_404(airflow: Airflow, analyst: str) -> None:
    response = airflow.get(f"{LIST}/no_such_campaign", analyst)
    assert response.status_code == 404 and "no_such_campaign" in response.json()["detail"]


def test_the_ledger_file_is_never_written(airflow: Airflow, analyst: str, synced_ledger: SyncedLedger) -> None:
    before = hashlib.sha256(synced_ledger.ledger_path.read_bytes()).hexdigest()
    for url in (LIST, f"{LIST}/{KEY}", f"{LIST}/{RETIRED_KEY}"):
        assert airflow.get(url, analyst).status_code == 200
    assert hashlib.sha256(synced_ledger.ledger_path.read_bytes()).hexdigest() == before


def test_before_the_first_sync_the_specs_show_with_nothing_recorded(
    airflow: Airflow, analyst: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "not-yet" / "ledger.db"
    monkeypatch.setenv("AIRFLOW_CONN_CAMPAIGN_SYNC_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(missing)}))
    body = airflow.get(LIST, analyst).json()
    assert body["ledger"]["available"] is False and "no campaign sync has run yet" in body["ledger"]["message"]
    assert {c["key"]: c["members"]["total"] for c in body["campaigns"]} == {KEY: 0, RETIRED_KEY: 0}
    detail = airflow.get(f"{LIST}/{KEY}", analyst).json()
    assert detail["runs"] == [] and detail["latest_dry_run"] is None and detail["campaign"]["id"]
    assert not missing.parent.exists()


def test_a_misspelt_spec_is_named_with_its_field_and_hides_no_campaign(
        airflow: Airflow, analyst: str, synced_ledger: SyncedLedger) -> None:
    broken = synced_ledger.specs_dir / "typo.yaml"
    shipped = (Path(__file__).resolve().parents[2] / "dags" / "campaigns" / "pricing_page_intent.yaml").read_text()
    broken.write_text(shipped.replace("key: pricing_page_intent", "key: typo").replace("min_times:", "min_time:"))
    try:
        body = airflow.get(LIST, analyst).json()
    finally:
        broken.unlink()
    assert body["spec_errors"] == [f"{broken}: rules.filters[1].min_time: unknown field (check the spelling)"]
    assert KEY in {c["key"] for c in body["campaigns"]}


# -- runs, events, people and membership over time -------------------------------------------------------------


def test_a_failed_sync_shows_its_airflow_state_failed_task_and_log_link(airflow: Airflow, analyst: str) -> None:
    rows = {c["key"]: c for c in airflow.get(LIST, analyst).json()["campaigns"]}
    retired = rows[RETIRED_KEY]
    assert retired["last_run"] is None and retired["last_applied"] is None
    attempt = retired["last_attempt"]
    assert attempt["state"] == "failed" and attempt["failed_tasks"], attempt
    task = attempt["failed_tasks"][0]
    assert task["state"] == "failed"
    # Why it failed, as the gate said it (kept by the failure callback), not only "see the log".
    assert task["task_id"] == "gate" and "inactive" in task["error"].lower(), task
    run = quote(attempt["run_id"], safe="")
    assert task["log_url"] == f"/dags/campaign_sync__{RETIRED_KEY}/runs/{run}/tasks/{task['task_id']}"
    synced = rows[KEY]  # newest attempt a dry run; the newest applied plan is the day before
    assert synced["last_attempt"]["state"] == "dry_run" and synced["last_attempt"]["failed_tasks"] == []
    assert synced["last_applied"]["status"] == "applied"
    assert synced["last_applied"]["run_id"] != synced["last_attempt"]["run_id"] == synced["last_run"]["run_id"]


def test_events_page_through_all_with_their_total_and_filters(airflow: Airflow, analyst: str,
                                                              ledger: Ledger) -> None:
    url = f"{LIST}/{KEY}/events"
    recorded = {e["event_id"]: e for e in ledger.events_page(KEY)[1]}
    first = airflow.get(url, analyst, params={"limit": 5}).json()
    rest = airflow.get(url, analyst, params={"limit": 5, "offset": 5}).json()
    assert first["total"] == rest["total"] == len(recorded) == 8
    assert len(first["events"]) == 5 and len(rest["events"]) == 3
    assert {e["event_id"] for e in first["events"] + rest["events"]} == set(recorded)

    removes = airflow.get(url, analyst, params={"action": "remove"}).json()
    assert removes["total"] == 2 and {e["action"] for e in removes["events"]} == {"remove"}
    [p2] = [e for e in recorded.values() if e["reason"]["source_person_id"] == "P2" and e["action"] == "add"]
    found = airflow.get(url, analyst, params={"q": "P2"}).json()
    assert {e["person_id"] for e in found["events"]} == {p2["person_id"]} and found["total"] == 2
    day = p2["recorded_at"].date().isoformat()
    assert airflow.get(url, analyst, params={"since": day, "until": day}).json()["total"] == 8
    assert airflow.get(url, analyst, params={"until": "2000-01-01"}).json()["total"] == 0
    bad = airflow.get(url, analyst, params={"since": "2026-03-05", "until": "2026-03-01"})
    assert bad.status_code == 422 and "since" in bad.text
    assert airflow.get(url, analyst, params={"action": "delete"}).status_code == 422


def test_events_export_as_csv_with_every_matching_row(airflow: Airflow, analyst: str, ledger: Ledger) -> None:
    import csv
    import io

    response = airflow.get(f"{LIST}/{KEY}/events.csv", analyst, params={"action": "add"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    adds = [e for e in ledger.events_page(KEY)[1] if e["action"] == "add"]
    assert sorted(r["person_id"] for r in rows) == sorted(e["person_id"] for e in adds)
    assert {r["why"] for r in rows} == {"1. country is 'de'"} and all(r["run_id"] for r in rows)


def test_the_person_page_shows_everything_done_to_one_person(airflow: Airflow, analyst: str,
                                                             ledger: Ledger) -> None:
    # P2: added on day 0, removed on day 1 after leaving Germany.
    p2 = next(e for e in ledger.events_page(KEY)[1] if e["reason"]["source_person_id"] == "P2")
    for who in ("P2", p2["person_id"]):
        body = airflow.get(f"/campaign-sync/api/people/{who}", analyst).json()
        assert [e["action"] for e in body["events"]] == ["remove", "add"], who
        assert {e["person_id"] for e in body["events"]} == {p2["person_id"]}
        assert body["events"][1]["why"] == "1. country is 'de'"
        assert [m["state"] for m in body["memberships"]] == ["removed"]
        assert body["qualifications"] and {q["source_person_id"] for q in body["qualifications"]} == {"P2"}
        assert {i["action"] for i in body["plan_items"]} >= {"add", "remove"}
        assert all(e["dag_id"] == f"campaign_sync__{KEY}" and e["run_id"] for e in body["events"])
    nobody = airflow.get("/campaign-sync/api/people/nobody@example.com", analyst).json()
    assert nobody["events"] == nobody["memberships"] == []


def test_membership_over_time_equals_the_ledger(airflow: Airflow, analyst: str, ledger: Ledger) -> None:
    detail = airflow.get(f"{LIST}/{KEY}", analyst).json()
    assert detail["timeline"] == [
        {"date": "2026-03-01", "added": 5, "removed": 0, "members": 5},
        {"date": "2026-03-02", "added": 1, "removed": 2, "members": 4},
    ]
    assert detail["timeline"][-1]["members"] == len(ledger.members(campaign_id(ledger)))
    assert detail["events_total"] == 8
    applied = [r for r in detail["runs"] if r["status"] == "applied"]
    for run in applied:
        plan = ledger.plan(KEY, run["run_id"])
        assert run["requests"] == plan.counts["requests"] and run["requests"] > 0
        assert run["duration_seconds"] == (plan.finished_at - plan.created_at).total_seconds() >= 0


def test_every_catalog_campaign_is_listed_with_its_id_and_the_spec_syncing_it(airflow: Airflow, analyst: str,
                                                                                ledger: Ledger) -> None:
    from e2e import sync_world as world

    listed = {c["campaign_id"]: c for c in airflow.get(LIST, analyst).json()["dynamics_campaigns"]}
    assert set(listed) == {c["campaign_id"] for c in ledger.campaigns()}  # synced or not
    assert listed[world.CAMPAIGN_ID]["synced_by"] == KEY and listed[world.CAMPAIGN_ID]["name"] == "E2E Launch"
    assert listed[world.INACTIVE_CAMPAIGN_ID]["state"] == 1
