"""The dashboard in a real browser: a real ``airflow api-server`` with our plugins folder, headless Chromium
logs in as the analyst, opens "Campaign Sync" from the Airflow navigation and reads the numbers it shows.

Screenshots go to ``test-output/`` in the repository (git-ignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dashboard_world import KEY, REPO, RETIRED_KEY, SyncedLedger
from project_env import airflow_process_environment, api_health_problem

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = REPO / "test-output"
STARTUP_TIMEOUT = 180
UI_TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


@dataclass(frozen=True)
class Server:
    url: str
    passwords: dict[str, str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    problem = api_health_problem(url, process, STARTUP_TIMEOUT, poll=1)
    if problem:
        pytest.fail(f"airflow api-server {problem}:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (uvicorn and its workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(synced_ledger: SyncedLedger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from airflow.configuration import conf

    home = tmp_path_factory.mktemp("airflow-home")
    port = free_port()
    env = {
        **airflow_process_environment(home, {
            # The metadata DB the synced world's DAG runs were recorded in: the page shows their states.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conf.get("database", "sql_alchemy_conn"),
            **os.environ,
            **synced_ledger.env,
        }),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,analyst:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
    }
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    log = home / "api-server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            env=env, cwd=home, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, log)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        yield Server(url=url, passwords=passwords)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                              timeout=UI_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


def text(scope, selector: str) -> str:
    return scope.locator(selector).first.inner_text().strip()


def as_int(value: str) -> int:
    return int(value.replace(",", ""))


def test_analyst_sees_the_ledger_numbers_in_the_airflow_ui(server: Server, browser, synced_ledger) -> None:
    ledger = synced_ledger.ledger()
    campaign_id = ledger.event_batches(campaign_key=KEY)[0].campaign_id
    members = Counter(m.member_type for m in ledger.members(campaign_id).values())
    batches = ledger.event_batches(campaign_key=KEY)
    events = sum(len(ledger.batch_events(b.batch_id)) for b in batches)
    last, dry = ledger.latest_plan(KEY), ledger.latest_plan(KEY, "dry_run")
    ledger.close()

    context = browser.new_context(viewport={"width": 1440, "height": 1500})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    script_errors: list[str] = []
    page.on("console", lambda message: script_errors.append(message.text)
            if message.type == "error" and "/campaign-sync/" in message.location.get("url", "") else None)
    try:
        page.goto(f"{server.url}/")
        page.wait_for_selector("input[name=username]")
        page.fill("input[name=username]", "analyst")
        page.fill("input[name=password]", server.passwords["analyst"])
        page.click("button[type=submit]")
        nav = page.locator('a[href$="plugin/campaign-sync"]').first
        nav.wait_for()
        nav.click()
        page.wait_for_url("**/plugin/campaign-sync**")

        frame = page.frame_locator('iframe[title="Campaign Sync"]')
        row = frame.locator(f'#overview tr[data-key="{KEY}"]')
        row.wait_for()
        assert as_int(text(row, '[data-field="members.lead"]')) == members["lead"]
        assert as_int(text(row, '[data-field="members.contact"]')) == members["contact"]
        assert as_int(text(row, '[data-field="members.total"]')) == sum(members.values())
        assert as_int(text(row, '[data-field="totals.added"]')) == sum(b.count for b in batches if b.action == "add")
        assert as_int(text(row, '[data-field="totals.removed"]')) == sum(
            b.count for b in batches if b.action == "remove")
        assert as_int(text(row, '[data-field="not_ours"]')) == last.counts["not_ours"]
        assert frame.locator(f'#overview tr[data-key="{RETIRED_KEY}"]').count() == 1

        detail = frame.locator(f'#detail [data-key="{KEY}"]')
        detail.wait_for()
        assert as_int(text(detail, '[data-field="members.total"]')) == sum(members.values())
        for name in ("qualified", "to_add", "to_remove"):
            assert as_int(text(detail, f'[data-field="last_run.counts.{name}"]')) == last.counts[name]
        assert as_int(text(detail, '[data-field="dry_run.to_remove"]')) == dry.counts["to_remove"]
        shown = detail.locator('[data-field="events.shown"]')
        shown.wait_for()
        frame.locator('#detail [data-testid="events"] tbody tr').first.wait_for()
        assert frame.locator('#detail [data-testid="events"] tbody tr').count() == events
        assert text(detail, '[data-field="events.shown"]') == f"1–{events} of {events}"
        members_line = detail.locator("circle[data-members]")
        assert int(members_line.last.get_attribute("data-members")) == sum(members.values())
        retired = frame.locator(f'#overview tr[data-key="{RETIRED_KEY}"]')
        assert text(retired, '[data-field="last_attempt.state"]') == "failed"
        assert retired.locator("[data-failed-task] a").first.get_attribute("href").startswith(
            f"../dags/campaign_sync__{RETIRED_KEY}/runs/")
        assert "inactive" in text(retired, '[data-field="failed_task.error"]').lower()  # why, not only a link
        from e2e import sync_world as world
        assert frame.locator(f'#catalog tr[data-campaign-id="{world.INACTIVE_CAMPAIGN_ID}"]').count() == 1
        bars = detail.locator("g[data-date]")
        drawn = {bars.nth(i).get_attribute("data-date"): (int(bars.nth(i).get_attribute("data-added")),
                                                          int(bars.nth(i).get_attribute("data-removed")))
                 for i in range(bars.count())}
        assert sum(a for a, _ in drawn.values()) == sum(b.count for b in batches if b.action == "add")
        assert sum(r for _, r in drawn.values()) == sum(b.count for b in batches if b.action == "remove")
        assert "country is 'de'" in text(detail, '[data-testid="events"]')

        assert script_errors == []

        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "dashboard.png"))
        page.goto(f"{server.url}/campaign-sync/#{KEY}")
        page.locator(f'#detail [data-key="{KEY}"]').wait_for()
        page.screenshot(path=str(OUTPUT / "dashboard-page.png"), full_page=True)

        page.fill('#detail [data-testid="event-filters"] input[name=q]', "P2")
        page.click('#detail [data-testid="event-filters"] button[type=submit]')
        page.wait_for_function(
            "document.querySelector('[data-field=\"events.shown\"]').textContent.endsWith('of 2')")
        page.locator('#detail [data-testid="events"] a[data-person]').first.click()
        person = page.locator('#detail [data-person-query]')
        person.wait_for()
        assert page.locator('[data-testid="person-events"] tbody tr').count() == 2
        assert "country is 'de'" in text(page, '[data-testid="person-events"]')
        page.screenshot(path=str(OUTPUT / "dashboard-person.png"), full_page=True)
    finally:
        context.close()


def test_a_browser_without_the_login_cookie_gets_no_data(server: Server, browser) -> None:
    context = browser.new_context()
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        response = page.goto(f"{server.url}/campaign-sync/api/campaigns")
        assert response.status == 401 and "campaigns" not in page.content()
        page.goto(f"{server.url}/campaign-sync/")
        page.wait_for_selector("input[name=username]")  # sent to the Airflow login, not the dashboard
        assert "/auth/login" in page.url
    finally:
        context.close()

