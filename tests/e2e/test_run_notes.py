"""Each finished campaign sync run carries a note saying what it did, read back from Airflow's metadata DB:
applied runs give the interval and the changes, dry runs and superseded runs say first that nothing was written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from e2e import sync_world as world
from e2e.test_campaign_sync_dag import SyncWorld, task_states

pytestmark = pytest.mark.e2e
DAG_ID = "campaign_sync__e2e_germany"


@pytest.fixture
def sync_world(airflow_db, fresh_emulator, tmp_path, monkeypatch) -> SyncWorld:
    return SyncWorld(fresh_emulator, tmp_path, monkeypatch)


def note_of(run_id: str) -> str | None:
    """The run's note as the Airflow UI and REST API show it."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.scalar(sa.select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id)).note


def test_runs_are_noted_with_what_they_did_and_never_look_applied_when_nothing_was(sync_world):
    preview = sync_world.run(day=0, conf={"dry_run": True})
    assert preview.state == "success", task_states(preview)
    assert note_of(preview.run_id) == "DRY RUN, nothing written (interval 02-28 06:00 → 03-01 06:00, plan +5 −0)"

    applied = sync_world.run(day=0)
    assert applied.state == "success", task_states(applied)
    assert note_of(applied.run_id) == "interval 02-28 06:00 → 03-01 06:00: +5 −0, 1 not ours"

    assert sync_world.run(day=3).state == "success"
    world.write_source(sync_world.source_path, countries={"P1": "FR"})
    older = sync_world.run(day=1)
    assert older.state == "success", task_states(older)
    assert note_of(older.run_id) == ("SUPERSEDED, nothing written: a newer interval is already applied "
                                     "(interval 03-01 06:00 → 03-02 06:00, plan +0 −1)")
