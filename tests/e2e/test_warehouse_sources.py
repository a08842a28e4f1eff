"""A whole sync reading its people from a warehouse reached through an Airflow connection: a ``postgres``
connection (resolved by the provider's common-sql hook) and a ``mysql`` one (MariaDB), each the spec's
``campaign_sync_source``; the run adds exactly who the SQLite source run adds."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import sync_world as world
from source_tables import fit_tables, fit_value
from test_campaign_sync_dag import FIRST_LEADS, SyncWorld, task_states

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "qualification"))  # the compiler tests' databases
from source_databases import MARIADB_URL, connection_uri, source_engine  # noqa: E402

from dynamics_campaign_sync.qualification.contract import activities_table, people_table

pytestmark = pytest.mark.e2e


def copy_source(sqlite_url: str, engine: sa.Engine) -> None:
    """The SQLite source's people (and empty activities) into ``engine``'s database."""
    people = pd.read_sql_table("people", sa.create_engine(sqlite_url))
    metadata = sa.MetaData()
    people_rows = people_table(metadata)
    activities_table(metadata)
    dialect = engine.dialect.name
    fit_tables(metadata, dialect)
    metadata.create_all(engine)
    records = [{k: fit_value(None if pd.isna(v) else getattr(v, "to_pydatetime", lambda v=v: v)(), dialect)
                for k, v in row.items()} for row in people.astype(object).to_dict("records")]
    with engine.begin() as connection:
        connection.execute(people_rows.insert(), records)


@pytest.mark.parametrize("dialect", [pytest.param("postgresql", marks=pytest.mark.postgres), "mariadb"])
def test_people_read_through_a_warehouse_connection_are_synced(dialect, airflow_db, fresh_emulator, tmp_path,
                                                               monkeypatch):
    engines = source_engine(dialect)
    engine = next(engines)
    try:
        synced = SyncWorld(fresh_emulator, tmp_path, monkeypatch)
        copy_source(synced.source_url, engine)
        url = engine.url
        if dialect == "postgresql":  # the scratch schema, as the hook passes it to the driver
            uri = connection_uri(url, "postgres", sqlalchemy_query=dict(url.query))
        else:
            uri = connection_uri(sa.make_url(MARIADB_URL).set(database=url.database), "mysql")
        monkeypatch.setenv("AIRFLOW_CONN_CAMPAIGN_SYNC_SOURCE", uri)

        run = synced.run(day=0)
        assert run.state == "success", task_states(run)
        newbie = synced.lead_id_by_email("newbie@example.com")
        assert synced.owned_members() == {"lead": FIRST_LEADS | {newbie}, "contact": {world.dynamics_id("P6")}}
        summary = run.get_task_instance("summary").xcom_pull(task_ids="summary")
        assert summary["qualified"] == 5 and summary["added"] == 5
        assert uri.split("@")[0] not in str(summary)  # no credentials in what the run reports
    finally:
        engines.close()
