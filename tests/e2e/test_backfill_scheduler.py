"""Backfills run by the scheduler (``airflow backfill create``), as users run them — not ``dag.test()``.

SQLite metadata DB and LocalExecutor, like ``airflow standalone``, with api-server, dag-processor and
scheduler as separate processes. The campaign qualifies people by behaviour in the run's interval, and each
day different people visit the pricing page, so each backfilled interval has its own, known plan. Run in
order, every interval is applied and the campaign ends up with the newest interval's people. A later backfill
of older intervals (one new, one reprocessed) must be superseded: no write to Dynamics, no asset event.
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import sync_world as world
from deploy.airflow_processes import AirflowStack, airflow_environment, free_port
from deploy.airflow_rest import TERMINAL_RUN_STATES
from deploy.sync_helpers import (
    last_request_id,
    lead_id_by_email,
    owned_members,
    prepare_metadata,
    web_api_writes,
)

from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.qualification.contract import activities_table

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

KEY = "e2e_pricing_visits"
DAG_ID = f"campaign_sync__{KEY}"
SPEC = """
key: {key}
title: E2E pricing page visitors
description: Everyone who looked at the pricing page during the run's interval.
owner: e2e-tests
tags: [e2e]
campaign:
  id: {campaign_id}
member_types: [lead, contact]
schedule:
  cron: "0 6 * * *"
  timezone: UTC
  start_date: 2026-01-01
rules:
  filters:
    - type: behaviour
      activity: web_visit
      where:
        - {{field: page_url, operator: contains, value: /pricing}}
      window: {{in_interval: true}}
  logic: all
qualification: every_time
removal: mirror
guard:
  max_adds: 100
"""


def interval_start(day: int) -> dt.datetime:
    """Start (= logical date) of the daily interval that begins on 2026-03-<day> at 06:00 UTC."""
    return dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC) + dt.timedelta(days=day - 1)


#: Who visited the pricing page in each interval (keyed by the day it starts). Day 0 is 28 February.
VISITORS = {
    0: {"P3"},              # only in the late backfill of an older interval
    1: {"P1", "P2"},
    2: {"P2", "P4"},
    3: {"P4", "P6", "P8"},  # P6 is a contact; P8 is known only by email and becomes a new lead
}


def plan_id(person: str) -> str:
    """How a plan names a person: the Dynamics id, or ``new:<source id>`` for a lead still to be created."""
    return world.dynamics_id(person) or f"new:{person}"


def members_of(people: set[str], created_lead: str) -> dict[str, set[str]]:
    """Dynamics ids by member type; people the source knows only by email map to ``created_lead``."""
    members: dict[str, set[str]] = {"lead": set(), "contact": set()}
    for person in people:
        members[world.PEOPLE[person][0]].add(world.dynamics_id(person) or created_lead)
    return members


def write_visits(source_path: Path) -> None:
    """Pricing page visits at noon of each interval, plus a visit elsewhere that must not count."""
    engine = sa.create_engine(f"sqlite:///{source_path}")
    activities = activities_table(sa.MetaData())
    rows = [{"person_id": person, "activity_type": "web_visit", "page_url": "https://example.com/pricing",
             "occurred_at": interval_start(day) + dt.timedelta(hours=6)}
            for day, people in VISITORS.items() for person in sorted(people)]
    rows.append({"person_id": "P5", "activity_type": "web_visit", "page_url": "https://example.com/blog",
                 "occurred_at": interval_start(2) + dt.timedelta(hours=6)})
    with engine.begin() as connection:
        connection.execute(activities.insert(), rows)
    engine.dispose()


class BackfillWorld:
    """The sync world plus the behaviour spec, and the scheduler-driven stack that runs it."""

    def __init__(self, emulator: Any, tmp: Path) -> None:
        self.emulator = emulator
        self.ledger_path = tmp / "ledger.db"
        source_path = tmp / "source.db"
        source_url = world.write_source(source_path)
        write_visits(source_path)
        emulator.reset(world.seed_document())
        (tmp / "specs").mkdir()  # this spec alone: the world's specs sync the same campaign
        (tmp / "specs" / f"{KEY}.yaml").write_text(SPEC.format(key=KEY, campaign_id=world.CAMPAIGN_ID))
        home = tmp / "airflow"
        env = airflow_environment(
            home, executor="LocalExecutor", sql_alchemy_conn=None,
            api_port=free_port(),
            extra={"CAMPAIGN_SYNC_SPECS_DIR": str(tmp / "specs"),
                   **world.connections(emulator, self.ledger_path, source_url)},
        )
        self.stack = AirflowStack(home, env)

    def start(self) -> None:
        stack = self.stack
        prepare_metadata(stack)
        stack.start("api-server", "api-server")  # tasks report to its Execution API, also under LocalExecutor
        stack.start("dag-processor", "dag-processor")
        stack.start("scheduler", "scheduler")
        stack.wait_healthy("scheduler", "dag_processor", timeout=180)
        stack.wait_for(f"{DAG_ID} to be parsed", lambda: stack.api.dag_parsed(DAG_ID), timeout=180)
        stack.api.unpause(DAG_ID)

    def backfill(self, first_day: int, last_day: int, *extra: str) -> dict[int, dict[str, Any]]:
        """``airflow backfill create`` over the intervals starting on these days; their runs once finished."""
        stack = self.stack
        # One active backfill per DAG: wait for the scheduler to mark earlier ones complete (every 30 s).
        stack.wait_for("earlier backfills to complete", lambda: all(
            b["completed_at"] for b in stack.api.backfills(DAG_ID)), timeout=120, interval=2)
        # Airflow's CLI on a SQLite metadata DB fails with "database is locked" when the scheduler writes while
        # `backfill create` (which reads, then re-queues runs) is half done, and leaves the backfill half made.
        # The backfill is the scheduler's to run anyway: create it while the scheduler is stopped.
        stack.stop_component("scheduler")
        stack.cli("backfill", "create", "--dag-id", DAG_ID, "--from-date", interval_start(first_day).isoformat(),
                  "--to-date", interval_start(last_day).isoformat(), "--max-active-runs", "1", *extra)
        stack.start("scheduler", "scheduler")
        days = {interval_start(day).isoformat().replace("+00:00", "Z"): day for day in range(first_day, last_day + 1)}

        def finished() -> dict[int, dict[str, Any]] | None:
            # The command created (or re-queued) every run before returning, so none is missed here.
            runs = {days[r["logical_date"]]: r for r in stack.api.dag_runs(DAG_ID) if r["logical_date"] in days}
            states = [r["state"] for r in runs.values()]
            return runs if "failed" in states or set(states) <= TERMINAL_RUN_STATES else None

        runs = stack.wait_for(f"the runs of days {first_day}..{last_day} to finish", finished, timeout=420,
                              interval=2)
        assert sorted(runs) == sorted(days.values())
        for day, run in runs.items():
            assert (run["run_type"], run["state"]) == ("backfill", "success"), (
                day, stack.api.task_states(DAG_ID, run["dag_run_id"]))
        return runs

    def ledger(self) -> closing[Ledger]:
        return closing(Ledger.from_url(f"sqlite:///{self.ledger_path}"))

    def planned(self, run_id: str, action: str) -> set[str]:
        with self.ledger() as ledger:
            return {item.person_id for item in ledger.plan_items(KEY, run_id, action=action)}

    def members(self) -> dict[str, set[str]]:
        with self.ledger() as ledger:
            return owned_members(self.emulator, ledger, world.CAMPAIGN_ID)

    def plan(self, run_id: str) -> Any:
        with self.ledger() as ledger:
            return ledger.plan(KEY, run_id)

    def asset_events(self) -> list[dict[str, Any]]:
        return self.stack.api.asset_events(DAG_ID)


@pytest.fixture
def backfill_world(fresh_emulator: Any, tmp_path: Path) -> BackfillWorld:
    return BackfillWorld(fresh_emulator, tmp_path)


def test_backfilled_intervals_apply_in_order_and_an_older_interval_is_superseded(
    backfill_world: BackfillWorld,
) -> None:
    bw = backfill_world
    with bw.stack:
        bw.start()

        runs = bw.backfill(1, 3)
        ids = {day: run["dag_run_id"] for day, run in runs.items()}
        for day, run_id in ids.items():
            before, now = VISITORS[day - 1] if day > 1 else set(), VISITORS[day]
            plan = bw.plan(run_id)
            assert (plan.status, plan.interval_start) == ("applied", interval_start(day)), day
            assert bw.planned(run_id, "add") == {plan_id(p) for p in now - before}, day
            assert bw.planned(run_id, "remove") == {plan_id(p) for p in before - now}, day
            assert (plan.counts["to_add"], plan.counts["to_remove"]) == (len(now - before), len(before - now))
        # The campaign holds exactly the newest interval's people (P8 as the lead created for them).
        final = bw.members()
        newbie = lead_id_by_email(bw.emulator, "newbie@example.com")
        assert final == members_of(VISITORS[3], newbie) == {"lead": {world.dynamics_id("P4"), newbie},
                                                             "contact": {world.dynamics_id("P6")}}
        events = bw.asset_events()
        changes = sorted((e["name"].rsplit(".", 1)[-1], e["source_run_id"], e["extra"]["count"]) for e in events)
        assert changes == sorted([("added", ids[1], 2), ("added", ids[2], 1), ("removed", ids[2], 1),
                                  ("added", ids[3], 2), ("removed", ids[3], 1)])

        # Later, someone backfills older intervals: day 0 never ran, day 1 is reprocessed.
        mark = last_request_id(bw.emulator)
        late = bw.backfill(0, 1, "--reprocess-behavior", "completed")
        assert late[1]["dag_run_id"] == ids[1]
        for day, run in late.items():
            states = bw.stack.api.task_states(DAG_ID, run["dag_run_id"])
            assert {states[t] for t in ("add", "remove", "publish_added", "publish_removed")} == {"skipped"}, day
            assert bw.plan(run["dag_run_id"]).status == "superseded", day
        assert bw.planned(late[0]["dag_run_id"], "add") == {plan_id("P3")}  # what it would have added
        assert web_api_writes(bw.emulator, since=mark) == []
        assert len(bw.asset_events()) == len(events)
        assert bw.members() == final
