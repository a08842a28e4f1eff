"""Property test: the compiled query gives the reference's qualified people and reasons on random specs and
random rows, on every dialect (SQLite and DuckDB always; PostgreSQL and MariaDB when reachable)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from qualification_helpers import END, START, activities_frame, people_frame
from qualification_reference import reference
from qualification_strategies import memberships_of, scenario
from source_databases import DIALECTS, source_engine, write_source

from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.qualification.compiler import evaluate as evaluate_module
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
from dynamics_campaign_sync.qualification.memberships import MembershipFacts


@pytest.fixture(scope="module", params=DIALECTS)
def engine(request):
    yield from source_engine(request.param)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=scenario())
def test_compiled_query_agrees_with_the_reference(engine, case):
    spec, tree, people_rows, activity_rows = case
    people, activities = people_frame(people_rows), activities_frame(activity_rows)
    write_source(engine, people, activities)
    plain_people = [{"person_id": f"P{i:03d}", **row} for i, row in enumerate(people_rows, start=1)]
    facts = memberships_of(people_rows)
    expected = reference(spec, tree, plain_people, activity_rows, START, END, facts)
    # Each example from an unguarded start (PostgreSQL): plain casts first, the guarded query where one raises.
    evaluate_module._GUARDED_SOURCES.clear()
    result = evaluate(spec, SqlSource(engine), START, END, MembershipFacts.of(facts))
    got = {pid: json.loads(text)
           for pid, text in zip(result.qualified["person_id"], result.qualified["reasons"], strict=True)}
    assert got == expected
