"""Property test: the vectorized evaluator (both sources) agrees with the slow reference on random data and specs."""

from __future__ import annotations

import json

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from qualification_helpers import END, START, activities_frame, people_frame, write_sqlite
from qualification_reference import reference
from qualification_strategies import memberships_of, scenario

from dynamics_campaign_sync.qualification import DataFrameSource, SqlSource, evaluate
from dynamics_campaign_sync.qualification.memberships import MembershipFacts


def _sqlite(people, activities) -> SqlSource:
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    write_sqlite(engine, people, activities)
    return SqlSource(engine, chunk_size=4, id_batch_size=3, max_listed_ids=5)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_evaluator_agrees_with_the_reference(case):
    spec, tree, people_rows, activity_rows = case
    people = people_frame(people_rows)
    activities = activities_frame(activity_rows)
    plain_people = [{"person_id": f"P{i:03d}", **row} for i, row in enumerate(people_rows, start=1)]
    facts = memberships_of(people_rows)
    expected = reference(spec, tree, plain_people, activity_rows, START, END, facts)
    for source in (DataFrameSource(people, activities), _sqlite(people, activities)):
        result = evaluate(spec, source, START, END, MembershipFacts.of(facts))
        got = {
            pid: json.loads(text)
            for pid, text in zip(result.qualified["person_id"], result.qualified["reasons"], strict=True)
        }
        assert got == expected, type(source).__name__
