"""The SQL source: the same answers as the in-memory source, with work pushed into SQL and chunked reads."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from qualification_helpers import (
    END,
    START,
    activities_frame,
    example_specs,
    make_spec,
    people_frame,
    write_sqlite,
)

import sample_data
from dynamics_campaign_sync.qualification import (
    ActivityRequest,
    DataFrameSource,
    SourceError,
    SqlSource,
    evaluate,
)
from dynamics_campaign_sync.qualification.joined_ids import SEPARATOR
from dynamics_campaign_sync.qualification.pushdown import condition_clause
from dynamics_campaign_sync.spec import Condition, load_specs

SPEC_DIR = Path(__file__).resolve().parents[2] / "dags" / "campaigns"
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sql") / "source.db"
    sample_data.generate(path, people=2_000, activities=50_000, log=lambda _: None)
    return path


@pytest.fixture(scope="module")
def frame_source(sample_db) -> DataFrameSource:
    with sqlite3.connect(sample_db) as connection:
        people = pd.read_sql("SELECT * FROM people", connection)
        activities = pd.read_sql("SELECT * FROM activities", connection)
    return DataFrameSource(people, activities)


@pytest.mark.parametrize(("name", "spec"), example_specs(), ids=[name for name, _ in example_specs()])
@pytest.mark.parametrize("options", [{}, {"chunk_size": 97, "id_batch_size": 50, "max_listed_ids": 120}])
def test_sql_source_agrees_with_the_in_memory_source(sample_db, frame_source, name, spec, options):
    sql = evaluate(spec, SqlSource(f"sqlite:///{sample_db}", **options), START, END)
    memory = evaluate(spec, frame_source, START, END)
    pd.testing.assert_frame_equal(sql.qualified, memory.qualified)
    assert sql.activity_rows_read == memory.activity_rows_read
    assert sql.people_scanned <= memory.people_scanned


def test_demographic_filters_are_pushed_into_the_people_query(sample_db, frame_source):
    spec = load_specs(SPEC_DIR)[0]  # emea_enterprise_leaders: demographic only
    sql = evaluate(spec, SqlSource(f"sqlite:///{sample_db}"), START, END)
    assert sql.people_scanned == len(sql.qualified) > 0  # only the qualifying people were read
    assert evaluate(spec, frame_source, START, END).people_scanned > 10 * sql.people_scanned


def test_behaviour_only_specs_read_only_candidate_people(sample_db):
    spec = make_spec([{"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 30}}])
    result = evaluate(spec, SqlSource(f"sqlite:///{sample_db}"), START, END)
    assert 0 < result.people_scanned == len(result.qualified) < 2_000


def test_timestamps_with_and_without_fraction_respect_the_window(memory_engine):
    people = people_frame([{}, {}, {}, {}])
    activities = activities_frame(
        {"person_id": pid, "activity_type": "web_visit", "occurred_at": when}
        for pid, when in [
            ("P001", START),
            ("P002", START),
            ("P003", END),
            ("P004", END - dt.timedelta(microseconds=1)),
        ]
    )
    write_sqlite(memory_engine, people, activities)
    with memory_engine.begin() as connection:  # SQLAlchemy's own format always has a fraction
        connection.execute(
            sa.text("UPDATE activities SET occurred_at = occurred_at || '.000000' WHERE person_id = 'P002'")
        )
        connection.execute(
            sa.text("UPDATE activities SET occurred_at = occurred_at || '.000000' WHERE person_id = 'P003'")
        )
    spec = make_spec([{"type": "behaviour", "activity": "web_visit", "window": {"in_interval": True}}])
    assert evaluate(spec, SqlSource(memory_engine), START, END).qualified_ids == ["P001", "P002", "P004"]


def test_counts_add_up_across_chunks(memory_engine):
    people = people_frame([{}, {}])
    rows = [{"person_id": f"P00{1 + i % 2}", "activity_type": "webinar_attended", "occurred_at": END - DAY,
             "attributes": json.dumps({"minutes": 10 * (i % 5)})} for i in range(100)]  # fmt: skip
    write_sqlite(memory_engine, people, activities_frame(rows))
    source = SqlSource(memory_engine, chunk_size=7)
    condition = Condition(field="minutes", operator="gte", value=20)
    counts = source.count_activities(ActivityRequest("webinar_attended", None, END, (condition,)))
    assert counts.counts.to_dict() == {"P001": 30, "P002": 30} and counts.rows == 60
    plain = source.count_activities(ActivityRequest("webinar_attended", END - 2 * DAY, END))
    assert plain.counts.to_dict() == {"P001": 50, "P002": 50}


def test_ids_that_cannot_be_joined_are_counted_by_the_grouped_query(memory_engine):
    odd = f"P{SEPARATOR}1"  # holds the separator the joined ids are split on
    people = people_frame([{"person_id": odd}, {"person_id": "P002"}])
    rows = [
        {"person_id": pid, "activity_type": "web_visit", "occurred_at": END - DAY}
        for pid in (odd, odd, "P002")
    ]
    write_sqlite(memory_engine, people, activities_frame(rows))
    counts = SqlSource(memory_engine).count_activities(ActivityRequest("web_visit", END - 2 * DAY, END))
    assert counts.counts.to_dict() == {odd: 2, "P002": 1} and counts.rows == 3


def test_only_people_whose_activity_allows_qualifying_are_read(memory_engine):
    people = people_frame([{"country": "Germany"}] * 3)
    rows = [{"person_id": pid, "activity_type": kind, "occurred_at": END - DAY}
            for pid, kind in [("P001", "web_visit"), ("P002", "web_visit"), ("P002", "email_open")]]  # fmt: skip
    write_sqlite(memory_engine, people, activities_frame(rows))
    spec = make_spec(
        [
            {"type": "behaviour", "activity": "web_visit"},
            {"type": "inactivity", "activity": "email_open"},
            {"type": "demographic", "field": "country", "operator": "is_not_empty"},
        ],
        logic="1 and 2 and 3",
    )
    result = evaluate(spec, SqlSource(memory_engine), START, END)
    assert result.qualified_ids == ["P001"]
    assert result.people_scanned == 1  # P002 opened an email, P003 visited nothing: neither is read


@pytest.mark.parametrize(
    ("condition", "dialect", "pushed"),
    [
        (Condition(field="page_url", operator="contains", value="/pricing"), "sqlite", True),
        (Condition(field="page_url", operator="not_contains", value=["a", "b"]), "sqlite", True),
        (
            Condition(field="page_url", operator="is", value="Ärger"),
            "sqlite",
            False,
        ),  # SQLite folds ASCII only
        (Condition(field="page_url", operator="is", value="Ärger"), "postgresql", True),
        (Condition(field="page_url", operator="gt", value=3), "sqlite", False),  # a number on a text column
        (Condition(field="page_url", operator="is_empty"), "sqlite", True),
        (Condition(field="size", operator="between", value=[1, 5]), "sqlite", True),
        (Condition(field="size", operator="contains", value="1"), "sqlite", False),
        (Condition(field="page_url", operator="in_past", value=3), "sqlite", False),
    ],
)
def test_which_conditions_are_pushed_down(condition, dialect, pushed):
    table = sa.table("t", sa.column("page_url", sa.Text), sa.column("size", sa.Integer))
    assert (condition_clause(table.c[condition.field], condition, dialect) is not None) is pushed


def test_negative_pushdown_matches_null(memory_engine):
    people = people_frame([{"job_title": "VP"}, {"job_title": None}, {"job_title": "Engineer"}])
    write_sqlite(memory_engine, people, activities_frame([]))
    spec = make_spec(
        [{"type": "demographic", "field": "job_title", "operator": "not_contains", "value": "vp"}]
    )
    result = evaluate(spec, SqlSource(memory_engine), START, END)
    assert result.qualified_ids == ["P002", "P003"]
    assert result.people_scanned == 2


def test_missing_table_is_a_source_error_without_the_password():
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    source = SqlSource(engine, people_table="persons")
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "x"}])
    with pytest.raises(SourceError, match="table 'persons' not found"):
        evaluate(spec, source, START, END)


def test_from_config_uses_the_spec_table_names(memory_engine):
    spec = make_spec(
        [{"type": "demographic", "field": "country", "operator": "is", "value": "x"}],
        source={"conn_id": "warehouse", "people_table": "persons", "activities_table": "events"},
    )
    assert spec.source.conn_id == "warehouse"
    source = SqlSource.from_config(spec.source, memory_engine)
    with pytest.raises(SourceError, match="'persons'"):
        source.people_columns()
