"""The example DAG runs for real: Airflow's dag.test() against the emulator through the hook."""

from __future__ import annotations

import json

import pytest

from support import emulator_connection

pytestmark = pytest.mark.e2e


def test_overview_dag_lists_the_emulator_campaigns(airflow_db, fresh_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", json.dumps(emulator_connection(fresh_emulator)))
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder="dags/dynamics_campaigns_overview.py").get_dag("dynamics_campaigns_overview")
    run = dag.test()
    assert run.state == "success"

    summary = run.get_task_instance("list_campaigns").xcom_pull(task_ids="list_campaigns")
    seeded = fresh_emulator.api_session().get(fresh_emulator.api_url + "campaigns?$select=statecode").json()["value"]
    assert summary["campaigns"] == len(seeded) > 0
    assert summary["active"] == sum(c["statecode"] == 0 for c in seeded)
    assert summary["by_status"]["inactive"] >= 1
