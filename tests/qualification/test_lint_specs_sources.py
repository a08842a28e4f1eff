"""`make lint-specs` (its source check, ``compiler.lint``) against reachable sources: an unknown people column is named by file and spec field,
and, when Dataverse is reachable through `dynamics_default`, the marketing lists `member_of_list` names must
exist (one per name) and be static — against the emulator; without the connection it says it skipped them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from bad_source_rows import person, write_tables
from test_spec import ONE_FILTER, VALID, write

from dynamics_campaign_sync.dataverse import MemberType
from dynamics_campaign_sync.qualification.compiler import lint
from support import client_for, emulator_connection


@pytest.fixture
def sql_source(tmp_path, monkeypatch) -> None:
    """`campaign_sync_source`: a SQLite file with the contract's tables."""
    path = tmp_path / "source.db"
    write_tables(sa.create_engine(f"sqlite:///{path}"), pd.DataFrame([person("S1", country="Germany")]),
                 pd.DataFrame(columns=["activity_id", "person_id"]))
    monkeypatch.setenv("AIRFLOW_CONN_CAMPAIGN_SYNC_SOURCE", json.dumps({"conn_type": "sqlite", "host": str(path)}))


def spec_file(tmp_path: Path, filters: str, logic: str = "all") -> Path:
    return write(tmp_path, VALID.format(filters=filters, logic=logic), name=f"spec_{uuid.uuid4().hex[:6]}.yaml")


def test_an_unknown_column_is_named_by_file_and_spec_field(tmp_path, sql_source, capsys):
    # What `make lint-specs` runs after validating the files.
    path = spec_file(tmp_path, f"{ONE_FILTER}\n    - {{type: demographic, field: jobtitel, operator: is, value: CTO}}")
    assert lint.main([str(path)]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith(str(path))]
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: rules.filters[2].field: 'jobtitel' is not a column of the people table "
                               "(columns: ")


@pytest.fixture
def lists(fresh_emulator, monkeypatch) -> dict[str, str]:
    """A static list, a dynamic one and two static lists of one name, in the emulator `dynamics_default`
    points at."""
    monkeypatch.setenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", json.dumps(emulator_connection(fresh_emulator)))
    client = client_for(fresh_emulator)
    suffix = uuid.uuid4().hex[:6]
    static = client.create_static_list(f"VIP {suffix}", MemberType.LEAD)
    dynamic = client.create("lists", {"listname": f"Dynamic {suffix}", "type": True, "createdfromcode": 4})
    for _ in range(2):
        client.create_static_list(f"Twice {suffix}", MemberType.LEAD)
    client.close()
    return {"static": static.name, "static_id": static.id, "dynamic_id": dynamic, "twice": f"Twice {suffix}"}


def member_of(**ref: str) -> str:
    return f"    - {json.dumps({'type': 'member_of_list', **ref})}"


def test_member_of_list_names_and_ids_are_checked_against_dataverse(tmp_path, sql_source, lists, capsys):
    good = spec_file(tmp_path, f"{ONE_FILTER}\n{member_of(name=lists['static'])}\n{member_of(id=lists['static_id'])}")
    assert lint.main([str(good)]) == 0
    assert f"ok: {good} runs on sqlite" in capsys.readouterr().out

    missing_id = str(uuid.uuid4())
    bad = spec_file(tmp_path, "\n".join([ONE_FILTER, member_of(name="No such list"), member_of(id=lists["dynamic_id"]),
                                         member_of(name=lists["twice"]), member_of(id=missing_id)]))
    assert lint.main([str(bad)]) == 1
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith(str(bad))] == [
        f"{bad}: rules.filters[2]: no marketing lists are named 'No such list': name one list, or give its id",
        f"{bad}: rules.filters[3]: list {lists['dynamic_id']} is a dynamic list: Dynamics stores members of "
        "static lists only",
        f"{bad}: rules.filters[4]: 2 marketing lists are named {lists['twice']!r}: name one list, or give its id",
        f"{bad}: rules.filters[5]: no marketing list has the id {missing_id}",
    ]


def test_without_a_dynamics_connection_the_list_check_is_skipped_saying_why(tmp_path, sql_source, monkeypatch,
                                                                            capsys):
    monkeypatch.delenv("AIRFLOW_CONN_DYNAMICS_DEFAULT", raising=False)
    path = spec_file(tmp_path, f"{ONE_FILTER}\n{member_of(name='VIP accounts')}")
    assert lint.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert f"skipped: {path}: Dynamics checks (marketing lists, Dataverse columns): connection 'dynamics_default' " \
           "is not defined or not valid" in out
    assert f"ok: {path} runs on sqlite" in out
