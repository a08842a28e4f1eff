"""The sync on Airflow's distributed engine: the topology of docker-compose.yaml without Docker.

CeleryExecutor, metadata DB and Celery results on PostgreSQL, broker on Redis, the ledger on PostgreSQL, and
api-server, scheduler, dag-processor, triggerer and a Celery worker as separate processes. A run triggered
through the REST API must leave exactly the qualified people in the campaign, and every task must have run
on the Celery worker.
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from e2e import sync_world as world

from deploy import worker_identity
from deploy.airflow_processes import AirflowStack, airflow_environment, free_port
from deploy.airflow_rest import TERMINAL_RUN_STATES
from deploy.services import POSTGRES, REDIS, database_url, fresh_databases, unreachable
from deploy.sync_helpers import lead_id_by_email, owned_members, prepare_metadata
from dynamics_campaign_sync.ledger import Ledger

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(480)]

DAG_ID = "campaign_sync__e2e_germany"
REQUIRED_MODULES = {
    "airflow.providers.celery": "apache-airflow-providers-celery",
    "asyncpg": "asyncpg (Airflow's async driver for a PostgreSQL metadata DB)",
}


def skip_reason() -> str | None:
    for reason in (unreachable("PostgreSQL", POSTGRES), unreachable("Redis", REDIS)):
        if reason:
            return reason
    for module, package in REQUIRED_MODULES.items():
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed"
    return None


@pytest.fixture
def databases() -> Iterator[dict[str, str]]:
    if reason := skip_reason():
        pytest.skip(reason)
    with fresh_databases("airflow", "ledger") as names:
        yield names


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of our own on the shared Redis, removed afterwards."""
    import redis

    prefix = f"campaign-sync-test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis(*REDIS)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def celery_environment(home: Path, databases: dict[str, str], redis_prefix: str, connections: dict[str, str],
                       specs: Path) -> dict[str, str]:
    metadata = database_url(databases["airflow"])
    celery = {
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": redis_prefix,
        # A queue of our own too: a worker of a parallel run can never take our tasks.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": redis_prefix.rstrip(":"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
    }
    return airflow_environment(home, executor="CeleryExecutor", sql_alchemy_conn=metadata, api_port=free_port(),
                               extra={**celery, "CAMPAIGN_SYNC_SPECS_DIR": str(specs), **connections})


def worker_environment(env: dict[str, str], name: str) -> dict[str, str]:
    """Only the worker names itself ``name``: task instances it ran record that hostname."""
    return {"AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_identity.hostname", worker_identity.ENV: name,
            "PYTHONPATH": os.pathsep.join([env["PYTHONPATH"], str(Path(worker_identity.__file__).parent)])}


def finished(run: dict[str, Any]) -> dict[str, Any] | None:
    return run if run["state"] in TERMINAL_RUN_STATES else None


def test_a_triggered_sync_runs_on_the_celery_worker_and_adds_exactly_the_qualified(
    databases: dict[str, str], redis_prefix: str, fresh_emulator: Any, tmp_path: Path
) -> None:
    emulator = fresh_emulator
    emulator.reset(world.seed_document())
    world.write_specs(tmp_path / "specs")
    ledger_url = database_url(databases["ledger"])
    connections = {  # the world's Dynamics and source connections; the ledger on PostgreSQL instead of SQLite
        **world.connections(emulator, tmp_path / "unused.db", world.write_source(tmp_path / "source.db")),
        "AIRFLOW_CONN_CAMPAIGN_SYNC_LEDGER": json.dumps({"conn_type": "generic", "extra": {"url": ledger_url}}),
    }
    env = celery_environment(tmp_path / "airflow", databases, redis_prefix, connections, tmp_path / "specs")
    worker = f"celery-worker-{redis_prefix.rstrip(':')}"

    with AirflowStack(tmp_path / "airflow", env) as stack:
        prepare_metadata(stack)
        stack.start("api-server", "api-server")
        stack.start("scheduler", "scheduler")
        stack.start("dag-processor", "dag-processor")
        stack.start("triggerer", "triggerer")
        stack.start("celery-worker", "celery", "worker", "--celery-hostname", f"{worker}@%h",
                    "--queues", env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"], "--without-mingle", "--without-gossip",
                    env=worker_environment(env, worker))
        stack.wait_healthy("scheduler", "dag_processor", "triggerer", timeout=180)
        stack.wait_for_log("celery-worker", " ready.", timeout=120)
        stack.wait_for(f"{DAG_ID} to be parsed", lambda: stack.api.dag_parsed(DAG_ID), timeout=180)

        stack.api.unpause(DAG_ID)
        run_id = stack.api.trigger(DAG_ID)
        run = stack.wait_for(f"run {run_id} to finish", lambda: finished(stack.api.dag_run(DAG_ID, run_id)),
                             timeout=300, interval=2)
        instances = stack.api.task_instances(DAG_ID, run_id)
        assert run["state"] == "success", {ti["task_id"]: ti["state"] for ti in instances}

        # The same expectation as the first run under dag.test(): the Germans, the new lead created by email.
        with closing(Ledger.from_url(ledger_url)) as ledger:
            members = owned_members(emulator, ledger, world.CAMPAIGN_ID)
            plan = ledger.plan("e2e_germany", run_id)
        newbie = lead_id_by_email(emulator, "newbie@example.com")
        assert members == {"lead": {world.dynamics_id(p) for p in ("P1", "P2", "P4")} | {newbie},
                           "contact": {world.dynamics_id("P6")}}
        assert (plan.status, plan.counts["to_add"]) == ("applied", 5)

        ran = [ti for ti in instances if ti["hostname"]]
        assert {ti["task_id"] for ti in ran} >= {"gate", "ensure_lists", "qualify_and_plan", "guard", "add",
                                                  "remove", "publish_added", "summary"}
        assert {ti["hostname"] for ti in ran} == {worker}, "a task ran somewhere other than the Celery worker"
        assert {ti["queue"] for ti in instances} == {env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]}
