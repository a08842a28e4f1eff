"""A ledger filled by real campaign syncs (``dag.test()`` against the emulator), shared by the dashboard tests.

History it leaves, for the campaign ``e2e_germany`` (sync_world's German audience):

- day 0: five people added (three leads we know, one lead created from an email, one contact);
- day 1: someone hand-adds P5 to our lead list, P3 moves to Germany, P2 and P6 leave it:
  one add, two removes, one person "not ours";
- day 2: a dry run after P1 leaves Germany: one planned remove, nothing written.

``e2e_retired`` points at an inactive campaign: its one run failed at the gate. The catalog DAG ran first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dashboard_world import DAY, KEY, REPO, RETIRED_KEY, SyncedLedger


def _dag(module: str, dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / module))
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    for task in dag.tasks:  # retries stay on; the waits between them do not
        task.retry_delay = dt.timedelta(0)
        task.retry_exponential_backoff = False
    return dag


def _run(module: str, dag_id: str, **kwargs) -> None:
    run = _dag(module, dag_id).test(**kwargs)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states


@contextmanager
def synced_world(emulator, tmp: Path, specs: Callable[[Path], None]) -> Iterator[tuple[SyncedLedger, str]]:
    """``(ledger and specs, source URL)`` of sync_world in ``tmp`` (``specs`` writes the spec folder), with the
    emulator seeded and the connections set for ``dag.test()`` inside the block; the emulator is reset after."""
    from e2e import sync_world as world

    synced = SyncedLedger(ledger_path=tmp / "ledger.db", specs_dir=tmp / "specs")
    source_url = world.write_source(tmp / "source.db")
    specs(synced.specs_dir)
    emulator.reset_config()
    emulator.reset(world.seed_document())
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {**world.connections(emulator, synced.ledger_path, source_url), **synced.env}.items():
                patch.setenv(name, value)
            yield synced, source_url
    finally:
        emulator.reset_config()
        emulator.reset("default")


@pytest.fixture(scope="session")
def synced_ledger(airflow_db, emulator, tmp_path_factory) -> Iterator[SyncedLedger]:
    from e2e import sync_world as world

    from dynamics_campaign_sync.dataverse import MemberType
    from support import client_for

    with synced_world(emulator, tmp_path_factory.mktemp("dashboard-world"), world.write_specs) as (synced, source_url):
        source = synced.ledger_path.parent / "source.db"
        _run("dynamics_campaign_catalog.py", "dynamics_campaign_catalog")
        retired = _dag("campaign_sync.py", f"campaign_sync__{RETIRED_KEY}").test(logical_date=DAY[0])
        assert retired.state == "failed"  # stopped at the gate: the campaign is inactive
        sync = f"campaign_sync__{KEY}"
        _run("campaign_sync.py", sync, logical_date=DAY[0])
        lead_list = synced.ledger().owned_list(world.CAMPAIGN_ID, "lead").list_id
        with client_for(emulator) as client:  # someone else's person in our list: "not ours"
            client.add_members(lead_list, MemberType.LEAD, [world.dynamics_id("P5")])
        moved = {"P2": "FR", "P3": "DE", "P6": "FR"}
        world.write_source(source, countries=moved)
        _run("campaign_sync.py", sync, logical_date=DAY[1])
        world.write_source(source, countries={**moved, "P1": "FR"})
        _run("campaign_sync.py", sync, logical_date=DAY[2], run_conf={"dry_run": True})
    yield synced


@pytest.fixture(autouse=True)
def _fresh_dashboard_engines() -> Iterator[None]:
    """Each test resolves its own ledger: no engine cached by an earlier test survives."""
    from dynamics_campaign_sync.dashboard import sources

    sources.forget_ledgers()
    yield
    sources.forget_ledgers()
