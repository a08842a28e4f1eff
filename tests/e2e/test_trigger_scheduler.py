"""Trigger campaigns run by the real scheduler, triggerer and dag-processor — no ``dag.test()``, no cron run.

An activity inserted into the source wakes the watcher's trigger in the triggerer; the scheduler starts the triggered
DAG; the person becomes a member of the campaign's owned list in Dynamics (read back through the Web API), and the
"Added to Microsoft Campaign" asset event starts the downstream follow-up DAG as a batch run's does. A burst of
demo requests coalesces into a few runs, each person added once. Waits are generous (a loaded 2-core machine);
nothing here asserts how fast.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trigger_stack as ts
from deploy.airflow_rest import TERMINAL_RUN_STATES

from dynamics_campaign_sync.downstream import FOLLOW_UPS
from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.ledger.schema import events

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1500)]

KEY = "e2e_sched_demo"
DAG_ID = ts.triggered_dag_id(KEY)
FOLLOW_UP_DAG = "campaign_member_follow_ups"
BURST = 200
WAIT = 420  # seconds for one wake-up to reach Dynamics: polls, the scheduler loop and task start-ups, loaded


def added_events(ledger: Ledger, person_ids: list[str]) -> dict[str, int]:
    """How many adds the ledger recorded per Dynamics id."""
    with ledger.engine.connect() as connection:
        return dict(connection.execute(sa.select(events.c.person_id, sa.func.count()).where(
            events.c.person_id.in_(person_ids), events.c.action == "add").group_by(events.c.person_id)).all())


def follow_ups(ledger: Ledger) -> set[str]:
    with ledger.engine.connect() as connection:
        return set(connection.scalars(sa.select(FOLLOW_UPS.c.person_id).where(FOLLOW_UPS.c.campaign_key == KEY)))


def finished_runs(stack: Any, dag_id: str) -> list[dict[str, Any]] | None:
    """The DAG's runs once none is still going (None while one is)."""
    runs = stack.api.dag_runs(dag_id)
    return runs if all(r["state"] in TERMINAL_RUN_STATES for r in runs) else None


def test_inserted_activities_reach_dynamics_and_downstream_through_the_scheduler(fresh_emulator, tmp_path: Path):
    emulator = fresh_emulator
    source_url, ledger_path = ts.write_world(tmp_path, KEY, 1 + BURST, emulator, poll=2.0)
    source = sa.create_engine(source_url)
    with ts.airflow_stack(tmp_path, emulator, source_url, ledger_path) as stack, \
            closing(Ledger.from_url(f"sqlite:///{ledger_path}")) as ledger:
        ledger.migrate()  # the tables the probes read, before the first run creates them
        ts.start(stack, DAG_ID, FOLLOW_UP_DAG)

        # One demo request: the person is a member without any cron run.
        ts.insert_demo_requests(source, [0])
        stack.wait_for("the first person to be a member", lambda: ts.members(emulator, ledger) == {ts.lead_id(0)},
                       timeout=WAIT, interval=2)
        (first,) = stack.wait_for("the triggered run to finish", lambda: finished_runs(stack, DAG_ID), timeout=WAIT)
        assert (first["run_type"], first["state"]) == ("asset_triggered", "success"), \
            stack.api.task_states(DAG_ID, first["dag_run_id"])
        (added,) = [e for e in stack.api.asset_events(DAG_ID) if e["name"].endswith(".added")]
        assert added["source_run_id"] == first["dag_run_id"] and added["extra"]["count"] == 1
        assert set(added["extra"]) == {"campaign_key", "campaign_id", "action", "count", "run_id", "batch_ids"}
        # The downstream DAG ran on that event, for that person, as it does after a batch run.
        (downstream,) = stack.wait_for("the follow-up DAG to run", lambda: [
            r for r in finished_runs(stack, FOLLOW_UP_DAG) or [] if r["state"] in TERMINAL_RUN_STATES] or None,
            timeout=WAIT, interval=2)
        assert (downstream["run_type"], downstream["state"]) == ("asset_triggered", "success")
        assert follow_ups(ledger) == {ts.lead_id(0)}

        # A burst: a few runs (the trigger coalesces what arrives between polls), every person added once.
        burst = list(range(1, 1 + BURST))
        ts.insert_demo_requests(source, burst[: BURST // 2])
        ts.insert_demo_requests(source, burst[BURST // 2:])
        everyone = {ts.lead_id(n) for n in [0, *burst]}
        stack.wait_for("the burst's people to be members", lambda: ts.members(emulator, ledger) == everyone,
                       timeout=WAIT, interval=2)
        runs = stack.wait_for("the triggered runs to finish", lambda: finished_runs(stack, DAG_ID), timeout=WAIT)
        assert all(r["state"] == "success" for r in runs), [(r["dag_run_id"], r["state"]) for r in runs]
        assert 2 <= len(runs) <= 1 + 10  # the first run, then a handful for 200 activities
        assert added_events(ledger, sorted(everyone)) == dict.fromkeys(everyone, 1)
        announced = sum(e["extra"]["count"] for e in stack.api.asset_events(DAG_ID) if e["name"].endswith(".added"))
        assert announced == len(everyone)
        stack.wait_for("the follow-ups of everyone", lambda: follow_ups(ledger) == everyone, timeout=WAIT,
                       interval=2)
    source.dispose()
