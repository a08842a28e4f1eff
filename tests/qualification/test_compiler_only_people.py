"""A triggered run's evaluation (``only_people``: the people with new activity) reads only their rows and gives,
for them, exactly the batch evaluation's answer: the compiled query on every dialect (SQLite and DuckDB always;
PostgreSQL when reachable), and the frame evaluator on an in-memory source."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qualification_helpers import END, START, activities_frame, make_spec, people_frame
from qualification_strategies import memberships_of, scenario
from source_databases import DIALECTS, source_engine, write_source

from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.qualification.compiler.dialects import dialect_of
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
from dynamics_campaign_sync.qualification.compiler.query import compile_spec
from dynamics_campaign_sync.qualification.memberships import MembershipFacts
from dynamics_campaign_sync.qualification.sources import DataFrameSource


@pytest.fixture(scope="module", params=DIALECTS)
def engine(request):
    yield from source_engine(request.param)


def answer(result) -> dict[str, str]:
    return dict(zip(result.qualified["person_id"], result.qualified["reasons"], strict=True))


def restricted(result, people: set[str]) -> dict[str, str]:
    return {p: reasons for p, reasons in answer(result).items() if p in people}


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=scenario(), data=st.data())
def test_only_people_is_the_batch_answer_for_them(engine, case, data):
    spec, _, people_rows, activity_rows = case
    people, activities = people_frame(people_rows), activities_frame(activity_rows)
    write_source(engine, people, activities)
    ids = [f"P{i:03d}" for i in range(1, len(people_rows) + 1)]
    woken = data.draw(st.sets(st.sampled_from([*ids, "PX", "P999", "P'1"])), label="woken")
    facts = MembershipFacts.of(memberships_of(people_rows))  # what the sync gathers for membership filters
    batch = evaluate(spec, SqlSource(engine), START, END, facts)
    triggered = evaluate(spec, SqlSource(engine), START, END, facts, only_people=woken)
    assert answer(triggered) == restricted(batch, woken)
    assert triggered.source_empty == batch.source_empty  # "is anyone there" stays the whole source's answer
    in_memory = evaluate(spec, DataFrameSource(people, activities), START, END, facts, only_people=woken)
    assert answer(in_memory) == answer(triggered)


def test_only_the_woken_peoples_rows_are_read(engine):
    people = people_frame([{"member_type": "lead", "country": "DE"} for _ in range(5)])
    activities = activities_frame([
        {"person_id": f"P{i:03d}", "activity_type": "form_fill", "occurred_at": END - dt.timedelta(hours=1)}
        for i in (1, 2, 3, 3)])
    write_source(engine, people, activities)
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "DE"},
                      {"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 7}}], "1 or 2")
    result = evaluate(spec, SqlSource(engine), START, END, only_people={"P002", "P003"})
    assert sorted(result.qualified["person_id"]) == ["P002", "P003"]
    assert (result.people_scanned, result.activity_rows_read) == (2, 3)  # not 5 people, not 4 activities
    people_table, activity_table = SqlSource(engine).tables
    sql = str(compile_spec(spec, people_table, activity_table, (START, END), dialect_of(engine), only_people={"P002"}).query
              .compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True}))
    assert "'P002'" in sql  # inline, not one bound parameter per id and use
