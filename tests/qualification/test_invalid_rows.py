"""Bad source rows are left out and reported by kind with example ids, the same by the in-memory and the SQL
source, and never cost the other people their qualification."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from bad_source_rows import EXPECTED_KINDS, bad_activities, bad_people, person, write_tables
from qualification_helpers import END, START, make_spec, utc

from dynamics_campaign_sync.qualification import DataFrameSource, SqlSource, evaluate
from dynamics_campaign_sync.spec import SpecError, load_spec

SPEC = make_spec(
    [
        {"type": "demographic", "field": "country", "operator": "is", "value": "de"},
        {"type": "demographic", "field": "employees", "operator": "gte", "value": 10},
        {"type": "demographic", "field": "renewal_date", "operator": "gt", "value": "2026-01-01"},
        {"type": "behaviour", "activity": "web_visit", "window": {"in_past_days": 30}},
    ],
    "(1 and 2 and 3) or 4",
)


@pytest.fixture
def sql_engine(memory_engine: sa.Engine) -> sa.Engine:
    write_tables(memory_engine, bad_people(), bad_activities(END))
    return memory_engine


def both_sources(engine: sa.Engine) -> dict[str, object]:
    return {"memory": DataFrameSource(bad_people(), bad_activities(END)), "sql": SqlSource(engine)}


@pytest.mark.parametrize("source_name", ["memory", "sql"])
def test_each_kind_of_bad_row_is_left_out_and_counted_with_example_ids(sql_engine, source_name):
    result = evaluate(SPEC, both_sources(sql_engine)[source_name], START, END)

    good = [f"P{n:02d}" for n in range(1, 11)]
    assert result.qualified_ids == sorted(["C1", *good, "V1"])  # B1's blank size just does not match
    report = result.invalid_rows.as_dict()
    assert {kind: (entry["count"], set(entry["examples"])) for kind, entry in report.items()} == EXPECTED_KINDS
    assert result.invalid_rows.rows == 12  # people rows and activity rows, each once
    assert result.summary()["invalid_rows"] == 12
    assert result.reasons_for("P01")["counts"] == {"4": 1}  # the id-less visits count for nobody


def test_a_bad_value_fails_its_person_even_where_another_filter_would_qualify_them(sql_engine):
    """'n/a' is not silently "no match": under ``or`` that would still qualify N1 by country."""
    spec = make_spec([{"type": "demographic", "field": "employees", "operator": "lt", "value": 10},
                      {"type": "demographic", "field": "country", "operator": "is", "value": "de"}], "1 or 2")
    for source in both_sources(sql_engine).values():
        result = evaluate(spec, source, START, END)
        assert "N1" not in result.qualified_ids and "P01" in result.qualified_ids
        assert result.invalid_rows.as_dict()["not_numeric:employees"] == {"count": 1, "examples": ["N1"]}


def test_a_spec_for_one_member_type_still_reports_unknown_types_but_not_the_other_type(sql_engine):
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"}],
                     member_types=["contact"])
    for source in both_sources(sql_engine).values():
        result = evaluate(spec, source, START, END)
        assert result.qualified_ids == ["C1"]
        assert result.invalid_rows.counts["unknown_member_type"] == 2
        assert "activity_null_person_id" not in result.invalid_rows.counts  # no activity filter, no read


def test_only_two_rows_of_the_same_version_are_duplicates():
    """A history keeps several versions per person; only two rows for the version valid at the interval end
    are invalid, and then every row of that person goes."""
    old, new = utc(2026, 1, 1), utc(2026, 3, 1)
    people = pd.DataFrame([
        person("H1", updated_at=old, country="FR"), person("H1", updated_at=new),  # versions: fine
        person("H2", updated_at=old), person("H2", updated_at=old, country="FR"),  # an old version twice: fine
        person("H2", updated_at=new),
        person("H3", updated_at=old), person("H3", updated_at=new), person("H3", updated_at=new),
        person("H4", updated_at=None), person("H4", updated_at=None),  # no time: both always valid
    ])
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"}])
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    write_tables(engine, people, bad_activities(END).iloc[:0])
    for source in (DataFrameSource(people), SqlSource(engine)):
        result = evaluate(spec, source, START, END)
        assert result.qualified_ids == ["H1", "H2"]
        assert result.invalid_rows.as_dict() == {
            "duplicate_person_id": {"count": 5, "examples": ["H3", "H4"]}}


def test_examples_are_at_most_five_ids_of_at_most_100_characters():
    people = pd.DataFrame([person(f"{n}-" + "y" * 500) for n in range(8)])
    result = evaluate(make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"}]),
                      DataFrameSource(people), START, END)
    entry = result.invalid_rows.as_dict()["person_id_too_long"]
    assert entry["count"] == 8 and len(entry["examples"]) == 5
    assert all(len(example) == 100 for example in entry["examples"])


def test_one_bad_person_does_not_fail_the_other_9999(memory_engine):
    people = pd.DataFrame([person(f"P{n:05d}") for n in range(10_000)])
    people.loc[17, "employees"] = "n/a"
    people.loc[4242, "person_id"] = None
    write_tables(memory_engine, people, bad_activities(END).iloc[:1])
    result = evaluate(SPEC, SqlSource(memory_engine), START, END)
    assert len(result.qualified) == 9_998
    assert result.invalid_rows.counts == {"null_person_id": 1, "not_numeric:employees": 1}
    assert "P00017" not in result.qualified_ids


def test_clean_sources_report_nothing(memory_engine):
    people = pd.DataFrame([person("P1"), person("P2", employees=None, renewal_date=None)])
    write_tables(memory_engine, people, bad_activities(END).iloc[:1])
    for source in (DataFrameSource(people, bad_activities(END).iloc[:1]), SqlSource(memory_engine)):
        result = evaluate(SPEC, source, START, END)
        assert result.qualified_ids == ["P1"] and not result.invalid_rows
        assert result.invalid_rows.plan_counts() == {"invalid_rows": 0}


def test_max_invalid_rows_is_a_number_or_a_percentage_of_the_rows_read(tmp_path):
    country = [{"type": "demographic", "field": "country", "operator": "is", "value": "de"}]
    assert make_spec(country, guard={"max_invalid_rows": 50}).guard.max_invalid_rows_for(10) == 50
    assert make_spec(country, guard={"max_invalid_rows": "1%"}).guard.max_invalid_rows_for(1_250) == 12
    assert make_spec(country).guard.max_invalid_rows_for(1_000) is None  # unlimited unless set
    spec_file = tmp_path / "bad_guard.yaml"
    spec_file.write_text(
        "key: bad_guard\ntitle: T\nowner: o\ncampaign: {name: C}\n"
        "schedule: {cron: '0 6 * * *', start_date: 2026-01-01}\n"
        "rules: {filters: [{type: demographic, field: country, operator: is, value: de}]}\n"
        "guard: {max_invalid_rows: a few}\n"
    )
    with pytest.raises(SpecError, match=r"bad_guard.yaml: guard.max_invalid_rows: 'a few' is neither a whole"):
        load_spec(spec_file)


def test_rows_without_an_id_are_reported_when_the_filters_narrow_the_people_read(sql_engine):
    """On a history table the SQL source reads every version of the people the filters select by id;
    a row without an id must still be read (and reported), not silently skipped."""
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"},
                      {"type": "demographic", "field": "employees", "operator": "gte", "value": 10}])
    for source in both_sources(sql_engine).values():
        result = evaluate(spec, source, START, END)
        assert result.invalid_rows.counts["null_person_id"] == 2
        assert "V1" in result.qualified_ids and "D1" not in result.qualified_ids


def test_equality_with_a_number_on_a_text_column_is_decided_not_an_error(sql_engine):
    spec = make_spec([{"type": "demographic", "field": "employees", "operator": "is", "value": 50}])
    for source in both_sources(sql_engine).values():
        result = evaluate(spec, source, START, END)
        assert "P01" in result.qualified_ids and "N1" not in result.qualified_ids
        assert not any(kind.startswith("not_numeric") for kind in result.invalid_rows.counts)
