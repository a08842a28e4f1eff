"""Recommended indexes and parallel counting change how fast the SQL source answers, never what it answers."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from qualification_helpers import END, START, example_specs

import sample_data
from dynamics_campaign_sync.qualification import ActivityRequest, DataFrameSource, SqlSource, evaluate
from dynamics_campaign_sync.qualification.contract import activities_table
from dynamics_campaign_sync.qualification.parallel_counts import next_slice, person_ranges
from dynamics_campaign_sync.qualification.value_lists import distinct_values_query, matching_values
from dynamics_campaign_sync.spec import Condition
from sample_data.writer import add_missing_indexes

MINIMUM_INDEXES = ("ix_activities_type_time", "ix_activities_person")


def _recommended(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    return [name for (name,) in rows if name not in MINIMUM_INDEXES]


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> tuple[Path, Path]:
    """The sample database, and a copy with only the indexes the contract requires."""
    folder = tmp_path_factory.mktemp("indexes")
    indexed, bare = folder / "indexed.db", folder / "bare.db"
    sample_data.generate(indexed, people=1_500, activities=40_000, log=lambda _: None)
    shutil.copy(indexed, bare)
    with sqlite3.connect(bare) as connection:
        for name in _recommended(connection):
            connection.execute(f"DROP INDEX {name}")
    connection.close()
    return indexed, bare


@pytest.fixture(scope="module")
def frame_source(databases) -> DataFrameSource:
    with sqlite3.connect(databases[0]) as connection:
        people = pd.read_sql("SELECT * FROM people", connection)
        activities = pd.read_sql("SELECT * FROM activities", connection)
    connection.close()
    return DataFrameSource(people, activities)


@pytest.mark.parametrize(("name", "spec"), example_specs(), ids=[name for name, _ in example_specs()])
@pytest.mark.parametrize(
    ("database", "options"),
    [
        ("indexed", {}),
        ("indexed", {"processes": 1, "max_listed_values": 3}),
        ("bare", {}),
        ("bare", {"processes": 3}),
    ],
)
def test_same_answer_with_and_without_recommended_indexes(
    databases, frame_source, name, spec, database, options
):
    path = databases[0] if database == "indexed" else databases[1]
    sql = evaluate(spec, SqlSource(f"sqlite:///{path}", **options), START, END)
    memory = evaluate(spec, frame_source, START, END)
    pd.testing.assert_frame_equal(sql.qualified, memory.qualified)
    assert sql.activity_rows_read == memory.activity_rows_read


def test_missing_recommended_indexes_are_added_to_an_existing_database(databases, tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(databases[1], path)
    added = add_missing_indexes(path)
    with sqlite3.connect(path) as connection:
        assert sorted(added) == sorted(_recommended(connection))
    connection.close()
    assert added and add_missing_indexes(path) == []


def test_distinct_values_come_from_the_index_and_stop_at_the_limit():
    engine = sa.create_engine("sqlite://")
    table = activities_table(sa.MetaData())
    table.metadata.create_all(engine)
    rows = [{"activity_id": i, "person_id": "P1", "activity_type": "web_visit" if i % 3 else "form_fill",
             "occurred_at": END, "page_url": f"/page/{i % 7}" if i % 5 else None} for i in range(60)]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)
        values = (
            connection.execute(distinct_values_query(table, "page_url", "web_visit", 100)).scalars().all()
        )
        limited = connection.execute(distinct_values_query(table, "page_url", "web_visit", 3)).scalars().all()
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN "
            + str(
                distinct_values_query(table, "page_url", "web_visit", 3).compile(
                    engine, compile_kwargs={"literal_binds": True}
                )
            )
        ).fetchall()
    expected = sorted(
        {row["page_url"] for row in rows if row["activity_type"] == "web_visit" and row["page_url"]}
    )
    assert values == expected and limited == expected[:4]
    assert any("ix_activities_type_page_url" in str(step) for step in plan)


@pytest.mark.parametrize(
    ("condition", "json_key", "expected"),
    [
        (
            Condition(field="page_url", operator="contains", value="/PRICING"),
            False,
            ["/pricing", "/pricing/team"],
        ),
        (Condition(field="page_url", operator="is_not", value="/docs"), False, None),  # NULL matches: no list
        (Condition(field="page_url", operator="is_empty"), False, None),
        (
            Condition(field="minutes", operator="gte", value=25),
            True,
            ['{"minutes": 25}', '{"minutes": "40"}'],
        ),
        (Condition(field="minutes", operator="lt", value=25), True, ['{"minutes": 10}']),
    ],
)
def test_matching_values_follow_the_pandas_semantics(condition, json_key, expected):
    values = (
        ['{"minutes": 10}', '{"minutes": 25}', '{"minutes": "40"}', '{"webinar": "x"}', "not json"]
        if json_key
        else ["/docs", "/pricing", "/pricing/team", "  "]
    )
    assert matching_values(values, condition, END, json_key=json_key) == expected


def _slices(request: ActivityRequest, rows_per_day: int, rows_per_piece: int) -> list[ActivityRequest]:
    pieces, piece = [], next_slice(request, None, 0, rows_per_piece)
    while piece is not None:
        pieces.append(piece)
        assert piece.start is not None
        rows = round((piece.end - piece.start) / dt.timedelta(days=1) * rows_per_day)
        piece = next_slice(request, piece, rows, rows_per_piece)
    return pieces


def test_time_slices_and_person_ranges_cover_everything():
    request = ActivityRequest("web_visit", END - dt.timedelta(days=10), END)
    for rows_per_day in (0, 1, 1_000, 1_000_000):
        slices = _slices(request, rows_per_day, rows_per_piece=5_000)
        assert slices[0].start == request.start and slices[-1].end == request.end
        assert all(a.end == b.start for a, b in zip(slices, slices[1:], strict=False))
        assert {piece.reference_time for piece in slices} == {END}
    dense = _slices(request, 1_000_000, rows_per_piece=5_000)
    assert len(dense) > 1_000  # about 5,000 rows each
    assert len(_slices(request, 0, rows_per_piece=5_000)) < 6  # sparse: pieces grow
    open_window = ActivityRequest("web_visit", None, END)
    assert next_slice(open_window, None, 0, 5) == open_window
    assert next_slice(open_window, open_window, 100, 5) is None
    assert person_ranges(["P3", "P7"]) == [(None, "P3"), ("P3", "P7"), ("P7", None)]
    assert person_ranges([]) == [(None, None)]
