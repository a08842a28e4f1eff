"""An activity condition on a column with the contract's attribute index becomes ``column IN (the values it holds
for)`` on PostgreSQL and SQLite: the values listed by one query before the spec's, each tested with the condition's
own clause, so the answer is the same as the clause's on every row. Not where the clause holds on a missing value,
where the column has too many values for the type, or without the index; never on DuckDB or MariaDB."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from qualification_helpers import END, START, activities_frame, make_spec, people_frame, record_queries
from source_databases import DIALECTS, source_engine, write_source

from dynamics_campaign_sync.qualification import DataFrameSource, SqlSource
from dynamics_campaign_sync.qualification.compiler import evaluate as evaluate_module
from dynamics_campaign_sync.qualification.compiler import value_lists
from dynamics_campaign_sync.qualification.evaluator import evaluate as frame_evaluate

FORMS = ["Demo Request", "demo request", "DEMO REQUEST", "Demo Request ", "Démo Request", "Free Trial", "", None]
DOCUMENTS = [json.dumps({"minutes": 45}), json.dumps({"minutes": 40.0}), json.dumps({"minutes": "n/a"}),
             json.dumps({"minutes": 39}), json.dumps({"other": 60}), "{minutes: 50", None]


def _people():
    return people_frame({} for _ in range(len(FORMS) + len(DOCUMENTS)))


def _activities():
    rows = [{"person_id": f"P{i:03d}", "activity_type": "form_fill", "occurred_at": START, "form_name": form}
            for i, form in enumerate(FORMS, start=1)]
    rows += [{"person_id": f"P{i:03d}", "activity_type": "webinar_attended", "occurred_at": START,
              "attributes": document} for i, document in enumerate(DOCUMENTS, start=len(FORMS) + 1)]
    rows.append({"person_id": "P001", "activity_type": "web_visit", "occurred_at": START, "form_name": "Free Trial"})
    return activities_frame(rows)


@pytest.fixture(scope="module", params=DIALECTS)
def engine(request):
    for engine in source_engine(request.param):
        write_source(engine, _people(), _activities())
        yield engine


def _form_spec(operator: str, value):
    return make_spec([{"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 30},
                       "where": [{"field": "form_name", "operator": operator, "value": value}]}])


def _evaluated(engine, spec, monkeypatch):
    """The compiled evaluation's qualified ids and its query's SQL, with the reference's ids."""
    monkeypatch.setattr(evaluate_module, "_GUARDED_SOURCES", set())
    queries = record_queries(monkeypatch)
    ids = sorted(evaluate_module.evaluate(spec, SqlSource(engine), START, END).qualified_ids)
    expected = sorted(frame_evaluate(spec, DataFrameSource(_people(), _activities()), START, END).qualified_ids)
    return ids, expected, queries[-1]


def _lists(engine) -> bool:
    return engine.dialect.name in ("postgresql", "sqlite")


def _listed(sql: str, column: str) -> int:
    """How many lists of values of ``column`` the query tests (PostgreSQL: an array, see ``value_lists``)."""
    return sql.count(f"{column} IN (") + sql.count(f"{column} = ANY (")


@pytest.mark.parametrize(("operator", "value"), [("is", "demo request"), ("in", ["Free Trial", "Demo Request"]),
                                                 ("contains", "request"), ("starts_with", "DÉMO")])
def test_a_condition_on_an_indexed_column_reads_the_values_it_holds_for(engine, monkeypatch, operator, value):
    ids, expected, sql = _evaluated(engine, _form_spec(operator, value), monkeypatch)
    assert ids == expected and ids
    assert _listed(sql, "form_name") == _lists(engine)


def test_a_condition_no_value_holds_for_reads_no_row(engine, monkeypatch):
    ids, expected, sql = _evaluated(engine, _form_spec("is", "Webinar Signup"), monkeypatch)
    assert ids == expected == []
    assert ("lower(" not in sql) == _lists(engine)  # no row's value is folded: none can match


@pytest.mark.parametrize(("operator", "value"), [("is_not", "Demo Request"), ("not_contains", "trial"),
                                                 ("is_empty", None)])
def test_a_condition_that_holds_on_a_missing_value_keeps_its_clause(engine, monkeypatch, operator, value):
    ids, expected, sql = _evaluated(engine, _form_spec(operator, value), monkeypatch)
    assert ids == expected and ids  # people without a form name match, and are found
    assert not _listed(sql, "form_name")


def test_a_json_attribute_is_listed_by_its_documents_with_guarded_casts(engine, monkeypatch):
    spec = make_spec([{"type": "behaviour", "activity": "webinar_attended", "window": {"in_past_days": 30},
                       "where": [{"field": "minutes", "operator": "gte", "value": 40}]}])
    ids, expected, sql = _evaluated(engine, spec, monkeypatch)
    assert ids == expected == ["P009", "P010"]  # a text that is no JSON neither matches nor stops the listing
    assert _listed(sql, "attributes") == _lists(engine)


def test_conditions_on_one_column_are_one_list_of_the_values_they_all_hold_for(engine, monkeypatch):
    spec = make_spec([{"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 30}, "where": [
        {"field": "form_name", "operator": "contains", "value": "request"},
        {"field": "form_name", "operator": "starts_with", "value": "demo"},
        {"field": "form_name", "operator": "ends_with", "value": "request"}]}])
    ids, expected, sql = _evaluated(engine, spec, monkeypatch)
    assert ids == expected == ["P001", "P002", "P003"]  # not "Demo Request " (a space after), not "Démo Request"
    assert _listed(sql, "form_name") == _lists(engine)


def test_a_column_with_more_values_than_listed_keeps_its_clause(engine, monkeypatch):
    monkeypatch.setattr(value_lists, "MAX_LISTED_VALUES", 3)
    ids, expected, sql = _evaluated(engine, _form_spec("is", "demo request"), monkeypatch)
    assert ids == expected
    assert not _listed(sql, "form_name")


def test_without_the_attribute_index_the_column_is_not_listed(monkeypatch):
    engine = next(source_engine("sqlite"))
    write_source(engine, _people(), _activities())
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_activities_type_form_name"))
    ids, expected, sql = _evaluated(engine, _form_spec("is", "demo request"), monkeypatch)
    assert ids == expected
    assert not _listed(sql, "form_name")


def test_value_lists_leave_out_a_condition_that_holds_on_a_missing_value_or_has_too_many_values(monkeypatch):
    spec = make_spec([{"type": "behaviour", "activity": "form_fill", "where": [
        {"field": "form_name", "operator": "is", "value": "a"},
        {"field": "form_name", "operator": "is_not", "value": "b"},
        {"field": "page_url", "operator": "contains", "value": "c"}]}])
    table = sa.Table("activities", sa.MetaData(), *(sa.Column(name, sa.Text) for name in ("form_name", "page_url")))
    listables = value_lists.listable_conditions(spec, table, lambda: {"form_name", "page_url"})
    monkeypatch.setattr(value_lists, "MAX_LISTED_VALUES", 2)
    rows = [(0, "a", 1), (0, "A", 1), (0, None, 0), (1, "a", 1), (1, None, 1),
            (2, "c", 1), (2, "cc", 1), (2, "d", 0), (2, None, 0)]
    assert value_lists.value_lists(rows, listables) == {(1, 0): ["a", "A"]}


def test_a_spec_without_activity_conditions_asks_for_no_index(monkeypatch):
    engine = next(source_engine("sqlite"))
    write_source(engine, _people(), _activities())

    class Unasked(SqlSource):
        @property
        def indexed_attributes(self):
            raise AssertionError("the indexes were read for a spec that lists nothing")

    spec = make_spec([{"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 30}},
                      {"type": "demographic", "field": "member_type", "operator": "is", "value": "lead"}])
    ids = evaluate_module.evaluate(spec, Unasked(engine), START, END).qualified_ids
    assert sorted(ids) == [f"P{i:03d}" for i in range(1, len(FORMS) + 1)]


@pytest.mark.parametrize("logic", ["1 or 2", "1 and 2", "not 1 and 2"])
def test_a_filter_no_stored_value_holds_for_is_joined_to_nobody(engine, monkeypatch, logic):
    spec = make_spec([{"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 30},
                       "where": [{"field": "form_name", "operator": "is", "value": "Webinar Signup"}]},
                      {"type": "demographic", "field": "person_id", "operator": "in", "value": ["P001", "P009"]}],
                     logic)
    ids, expected, sql = _evaluated(engine, spec, monkeypatch)
    assert ids == expected == ([] if logic == "1 and 2" else ["P001", "P009"])
    if _lists(engine) and logic != "1 and 2":  # a required filter stays an inner join, which ends the query at once
        assert "OUTER JOIN" not in sql


def test_only_text_columns_with_the_index_and_no_collation_of_their_own_are_listed():
    spec = make_spec([{"type": "behaviour", "activity": "form_fill", "where": [
        {"field": "form_name", "operator": "is", "value": "a"},
        {"field": "page_url", "operator": "is", "value": "b"},
        {"field": "minutes", "operator": "gte", "value": 5},
        {"field": "link_url", "operator": "is", "value": "c"},
        {"field": "email_name", "operator": "is", "value": "d"}]}])
    table = sa.Table("activities", sa.MetaData(), sa.Column("form_name", sa.Text), sa.Column("page_url", sa.Text),
                     sa.Column("attributes", sa.JSON), sa.Column("link_url", sa.String(200)),
                     sa.Column("email_name", sa.Text(collation="NOCASE")))
    listables = value_lists.listable_conditions(spec, table, lambda: {"form_name", "attributes", "link_url",
                                                                      "email_name"})
    assert [(listable.position, listable.column) for listable in listables] == [(0, "form_name"), (3, "link_url")]
