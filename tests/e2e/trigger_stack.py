"""A trigger campaign run by a real Airflow: a trigger-only spec over many leads (all in Germany, each with a
Dynamics lead), the Dataverse emulator, a SQLite source and ledger, and api-server, dag-processor, scheduler and
triggerer as separate processes (LocalExecutor, SQLite metadata, as ``make run``). Shared by the scheduler-level
test and ``make bench-trigger``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sync_world as world
from deploy.airflow_processes import AirflowStack, airflow_environment, free_port
from deploy.sync_helpers import prepare_metadata

from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.qualification.contract import activities_table, people_table
from support import client_for


def triggered_dag_id(key: str) -> str:
    return f"campaign_sync__{key}__triggered"


def person(n: int) -> str:
    return f"B{n:05d}"


def lead_id(n: int) -> str:
    return str(uuid.uuid5(world.NAMESPACE, f"bench-lead:{n}"))


def write_world(tmp: Path, key: str, people: int, emulator: Any, poll: float) -> tuple[str, Path]:
    """``people`` German leads in the source and in Dynamics, and the spec; returns the source URL and the ledger
    file."""
    source_url = f"sqlite:///{tmp / 'source.db'}"
    engine = sa.create_engine(source_url)
    metadata = sa.MetaData()
    people_rows, _ = people_table(metadata), activities_table(metadata)
    metadata.create_all(engine)
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as connection:
        connection.execute(people_rows.insert(), [
            {"person_id": person(n), "member_type": "lead", "dynamics_id": lead_id(n),
             "email": f"{person(n).lower()}@example.com", "country": "DE", "created_at": created,
             "updated_at": created} for n in range(people)])
    engine.dispose()
    seed = world.seed_document()
    seed["leads"] += [{"leadid": lead_id(n), "lastname": person(n), "emailaddress1": f"{person(n).lower()}@example.com"}
                      for n in range(people)]
    emulator.reset(seed)
    (tmp / "specs").mkdir()
    (tmp / "specs" / f"{key}.yaml").write_text(world.trigger_spec(key, member_types="[lead]", poll=poll))
    return source_url, tmp / "ledger.db"


def airflow_stack(tmp: Path, emulator: Any, source_url: str, ledger_path: Path) -> AirflowStack:
    """The stack (not started yet): the spec folder of :func:`write_world`, no cron runs (trigger-only specs)."""
    home = tmp / "airflow"
    env = airflow_environment(home, executor="LocalExecutor", sql_alchemy_conn=None, api_port=free_port(), extra={
        "CAMPAIGN_SYNC_SPECS_DIR": str(tmp / "specs"), "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
        **world.connections(emulator, ledger_path, source_url)})
    return AirflowStack(home, env)


def start(stack: AirflowStack, *dag_ids: str, timeout: float = 240) -> None:
    """Start every component, unpause ``dag_ids`` (the first: the triggered DAG) and wait for its watcher's trigger
    to run in the triggerer."""
    prepare_metadata(stack)
    for component in ("api-server", "dag-processor", "scheduler", "triggerer"):
        stack.start(component, component)
    stack.wait_healthy("scheduler", "dag_processor", "triggerer", timeout=timeout)
    for dag_id in dag_ids:
        stack.wait_for(f"{dag_id} to be parsed", lambda dag_id=dag_id: stack.api.dag_parsed(dag_id), timeout=timeout)
        stack.api.unpause(dag_id)
    stack.wait_for_log("triggerer", "starting", timeout=timeout)  # "trigger ID <n> starting"


def insert_demo_requests(engine: sa.Engine, numbers: Iterable[int]) -> None:
    """A demo request happening now for each person ``numbers``, in one transaction."""
    world.insert_activities(engine, [(person(n), "form_fill", world.DEMO) for n in numbers])


def members(emulator: Any, ledger: Ledger) -> set[str]:
    """The Dynamics ids in the campaign's owned lead list, read through the Web API."""
    owned = ledger.owned_list(world.CAMPAIGN_ID, "lead")
    if owned is None:
        return set()
    with client_for(emulator) as client:
        return set(client.iter_list_member_ids(owned.list_id))
