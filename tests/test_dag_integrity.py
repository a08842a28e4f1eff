"""Every DAG file imports cleanly, carries the metadata operators need, and does no I/O at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from project_env import python_path

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def dagbag(airflow_db, monkeypatch_module):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Variable
    from airflow.sdk.definitions.connection import Connection

    reads: list[str] = []

    def forbidden(kind):
        def read(*args, **kwargs):
            reads.append(f"{kind} {args[:1]}")
            raise AssertionError(f"{kind} read at DAG parse time: {args[:1]}")
        return read

    monkeypatch_module.setattr(Connection, "get", classmethod(lambda cls, *a, **k: forbidden("connection")(*a)))
    monkeypatch_module.setattr(Variable, "get", staticmethod(forbidden("variable")))
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    bag.parse_time_reads = reads
    return bag


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}, "\n".join(f"{k}: {v}" for k, v in dagbag.import_errors.items())
    assert dagbag.dags, "no DAG found in dags/"


def test_no_connection_or_variable_read_at_parse_time(dagbag):
    assert dagbag.parse_time_reads == []


def test_every_dag_has_tags_owner_and_retries(dagbag):
    problems = []
    for dag_id, dag in dagbag.dags.items():
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        for task in dag.tasks:
            if not task.owner or task.owner.lower() == "airflow":
                problems.append(f"{dag_id}.{task.task_id}: owner not set")
            if (task.retries or 0) < 1:
                problems.append(f"{dag_id}.{task.task_id}: retries < 1")
    assert problems == []


# -- one broken spec costs only its own campaign ------------------------------------------------------------

SPECS_FOLDER = DAGS_FOLDER / "campaigns"
TYPO = "min_time"  # for min_times: the typo users make


def folder_with_one_typo(folder: Path) -> Path:
    """The shipped specs, with ``min_times`` misspelt in pricing_page_intent.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in SPECS_FOLDER.glob("*.yaml"):
        text = spec.read_text()
        if spec.name == "pricing_page_intent.yaml":
            assert "min_times:" in text
            text = text.replace("min_times:", f"{TYPO}:", 1)
        (folder / spec.name).write_text(text)
    return folder


def test_a_broken_spec_costs_only_its_own_campaign(airflow_db, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    specs = folder_with_one_typo(tmp_path / "specs")
    monkeypatch.setenv("CAMPAIGN_SYNC_SPECS_DIR", str(specs))
    bag = DagBag(dag_folder=str(DAGS_FOLDER))

    assert bag.import_errors == {}
    assert {"campaign_sync__emea_enterprise_leaders", "campaign_sync__reengage_dormant_evaluators",
            "campaign_member_follow_ups", "campaign_member_offboarding"} <= set(bag.dag_ids)
    placeholder = bag.get_dag("campaign_sync__pricing_page_intent")
    assert [t.task_id for t in placeholder.tasks] == ["invalid_spec"]
    assert placeholder.dag_display_name == "Invalid spec: pricing_page_intent.yaml"
    assert f"pricing_page_intent.yaml: rules.filters[1].{TYPO}: unknown field" in placeholder.doc_md


def test_the_placeholder_task_fails_with_file_field_and_message(airflow_db, tmp_path, monkeypatch, capfd):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("CAMPAIGN_SYNC_SPECS_DIR", str(folder_with_one_typo(tmp_path / "specs")))
    placeholder = DagBag(dag_folder=str(DAGS_FOLDER / "campaign_sync.py")).get_dag(
        "campaign_sync__pricing_page_intent")
    run = placeholder.test()
    failed = run.get_task_instance("invalid_spec")
    assert (run.state, failed.state) == ("failed", "failed")
    log = capfd.readouterr().out  # dag.test() writes the task log to this process's output
    assert f"pricing_page_intent.yaml: rules.filters[1].{TYPO}: unknown field (check the spelling)" in log


def test_sync_dags_show_the_spec_title(dagbag):
    assert dagbag.get_dag("campaign_sync__pricing_page_intent").dag_display_name == "Pricing page intent"


def test_every_sync_dag_offers_the_run_options_with_valid_defaults(dagbag):
    """What Airflow checks when params are assigned (a scheduled DAG needs valid defaults): the DAG factory adds
    them in place, so the check is here."""
    syncs = [dag for dag_id, dag in dagbag.dags.items() if dag_id.startswith("campaign_sync__")]
    assert syncs
    for dag in syncs:
        assert {"dry_run", "override_guard", "take_over_campaign", "republish_events"} <= set(dag.params), dag.dag_id
        dag.params.validate()  # raises on a default its schema refuses
        assert all(not task.params for task in dag.tasks), f"{dag.dag_id}: run options copied into tasks"


def test_new_campaign_sync_dags_start_paused_so_their_history_can_be_loaded_first(dagbag):
    syncs = [dag for dag_id, dag in dagbag.dags.items() if dag_id.startswith("campaign_sync__")]
    assert syncs and all(dag.is_paused_upon_creation is True for dag in syncs)


@pytest.mark.parametrize("dag_file", ["campaign_sync.py", "campaign_member_follow_ups.py"])
def test_dag_files_parse_without_pandas_numpy_sqlalchemy_msal_or_requests(dag_file):
    """Every dag-processor imports these files every 30 s: loading specs and building DAGs must not pull in
    the evaluation engine, the ledger or the Dataverse client. Checked in a fresh process, as a dag-processor
    parses (`make bench-parse` prints the same figures, with timings)."""
    repo = DAGS_FOLDER.parent
    env = {**os.environ, "PYTHONPATH": python_path(repo / "dags")}
    env.pop("CAMPAIGN_SYNC_SPECS_DIR", None)  # the example specs
    answer = subprocess.run([sys.executable, str(repo / "include" / "benchmarks" / "bench_parse.py"),
                             "--measure", dag_file], env=env, capture_output=True, text=True, check=True)
    figures = json.loads(answer.stdout.strip().splitlines()[-1])
    assert figures["heavy"] == [], f"{dag_file} imports {figures['heavy']} at parse time"
    assert figures["dags"] >= 1
