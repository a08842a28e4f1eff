"""On PostgreSQL a JSON attribute (or an instant in text) is read with a plain cast first, several times faster than
the guarded function a value needs when it is no JSON; a cast that raises makes the evaluation run the guarded
query instead, with the same answer, and the source is guarded from then on. (The sources here lack the contract's
index on the attributes: with it, a condition reads the documents it holds for, listed before the query, see
``compiler.value_lists``, and the query casts nothing.)"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from qualification_helpers import END, START, activities_frame, make_spec, people_frame, record_queries
from source_databases import source_engine
from source_databases import write_source as write_indexed_source

from dynamics_campaign_sync.qualification import SqlSource
from dynamics_campaign_sync.qualification.compiler import evaluate as evaluate_module

pytestmark = pytest.mark.postgres

SPEC = make_spec([{"type": "behaviour", "activity": "webinar_attended", "window": {"in_past_days": 30},
                   "where": [{"field": "minutes", "operator": "gte", "value": 40}]}])


def evaluate_spying(engine, monkeypatch):
    """The evaluation's qualified ids, and the SQL of each query it ran."""
    queries = record_queries(monkeypatch)
    result = evaluate_module.evaluate(SPEC, SqlSource(engine), START, END)
    return sorted(result.qualified_ids), queries


def write_source(engine, people, activities):
    """The tables, without the index that lists the documents (see the module's docstring)."""
    write_indexed_source(engine, people, activities)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_activities_type_attributes"))


@pytest.fixture
def engine(monkeypatch):
    monkeypatch.setattr(evaluate_module, "_GUARDED_SOURCES", set())  # no source known to need guards yet
    yield from source_engine("postgresql")


def test_clean_documents_are_read_with_a_plain_cast(engine, monkeypatch):
    write_source(engine, people_frame([{}, {}]), activities_frame([
        {"person_id": "P001", "activity_type": "webinar_attended", "occurred_at": START,
         "attributes": json.dumps({"minutes": 45})},
        {"person_id": "P002", "activity_type": "webinar_attended", "occurred_at": START,
         "attributes": json.dumps({"minutes": "n/a"})}]))
    ids, queries = evaluate_spying(engine, monkeypatch)
    assert ids == ["P001"]
    assert len(queries) == 1 and "pg_temp." not in queries[0] and "AS JSONB" in queries[0]


def test_a_document_that_is_no_json_makes_the_guarded_query_run_with_the_same_answer(engine, monkeypatch):
    write_source(engine, people_frame([{}, {}, {}]), activities_frame([
        {"person_id": "P001", "activity_type": "webinar_attended", "occurred_at": START,
         "attributes": json.dumps({"minutes": 45})},
        {"person_id": "P002", "activity_type": "webinar_attended", "occurred_at": START, "attributes": "{minutes: 50"},
        {"person_id": "P003", "activity_type": "webinar_attended", "occurred_at": START,
         "attributes": json.dumps({"minutes": 40})}]))
    ids, queries = evaluate_spying(engine, monkeypatch)
    assert ids == ["P001", "P003"]  # the unreadable document matches nothing; nothing else is lost
    assert len(queries) == 2 and "pg_temp." not in queries[0] and "pg_temp.campaign_sync_jsonb" in queries[1]
    ids, queries = evaluate_spying(engine, monkeypatch)
    assert ids == ["P001", "P003"] and len(queries) == 1 and "pg_temp.campaign_sync_jsonb" in queries[0]
