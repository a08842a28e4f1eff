"""Every DAG file imports cleanly, carries the metadata operators need, and does no I/O at parse time."""

from __future__ import annotations

from pathlib import Path

import pytest

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
