"""The compiled query leaves out and reports bad source rows as the pandas evaluator does, on every dialect;
and it reads history tables (several versions per person) as of the interval end."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from bad_source_rows import EXPECTED_KINDS, bad_activities, bad_people, bad_rows_spec, person, write_tables
from qualification_helpers import END, START, comparable, make_spec, utc
from source_databases import DIALECTS, source_engine

from dynamics_campaign_sync.qualification import DataFrameSource, SqlSource
from dynamics_campaign_sync.qualification import evaluate as reference_evaluate
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate

SPEC = make_spec(**bad_rows_spec("unused")["rules"])


@pytest.fixture(params=DIALECTS)
def engine(request):
    yield from source_engine(request.param)


def test_each_kind_of_bad_row_is_left_out_and_counted_with_example_ids(engine):
    write_tables(engine, bad_people(), bad_activities(END))
    result = evaluate(SPEC, SqlSource(engine), START, END)

    good = [f"P{n:02d}" for n in range(1, 11)]
    assert sorted(result.qualified_ids) == sorted(["C1", *good, "V1"])
    report = result.invalid_rows.as_dict()
    assert {kind: (entry["count"], set(entry["examples"])) for kind, entry in report.items()} == EXPECTED_KINDS
    assert result.invalid_rows.rows == 12
    assert result.reasons_for("P01")["counts"] == {"4": 1}
    reference = reference_evaluate(SPEC, DataFrameSource(bad_people(), bad_activities(END)), START, END)
    pd.testing.assert_frame_equal(comparable(result.qualified), comparable(reference.qualified))
    assert result.activity_rows_read == reference.activity_rows_read
    # the people rows read out of the source: the qualified ones and the people rows left out
    people_left_out = result.invalid_rows.rows - report["activity_null_person_id"]["count"]
    assert result.people_scanned == len(result.qualified) + people_left_out == 12 + 9


def test_a_bad_value_fails_its_person_even_where_another_filter_would_qualify_them(engine):
    write_tables(engine, bad_people(), bad_activities(END))
    spec = make_spec([{"type": "demographic", "field": "employees", "operator": "lt", "value": 10},
                      {"type": "demographic", "field": "country", "operator": "is", "value": "de"}], "1 or 2")
    result = evaluate(spec, SqlSource(engine), START, END)
    assert "N1" not in result.qualified_ids and "P01" in result.qualified_ids
    assert result.invalid_rows.as_dict()["not_numeric:employees"] == {"count": 1, "examples": ["N1"]}


def test_only_two_rows_of_the_same_version_are_duplicates(engine):
    old, new = utc(2026, 1, 1), utc(2026, 3, 1)
    people = pd.DataFrame([
        person("H1", updated_at=old, country="FR"), person("H1", updated_at=new),
        person("H2", updated_at=old), person("H2", updated_at=old, country="FR"),
        person("H2", updated_at=new),
        person("H3", updated_at=old), person("H3", updated_at=new), person("H3", updated_at=new),
        person("H4", updated_at=None), person("H4", updated_at=None),
    ])
    write_tables(engine, people, bad_activities(END).iloc[:0])
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"}])
    result = evaluate(spec, SqlSource(engine), START, END)
    assert sorted(result.qualified_ids) == ["H1", "H2"]
    assert result.invalid_rows.as_dict() == {"duplicate_person_id": {"count": 5, "examples": ["H3", "H4"]}}


def test_the_version_valid_at_the_interval_end_decides(engine):
    """The latest version before the end; a person whose versions are all newer keeps the earliest."""
    before, after, later = utc(2026, 5, 1), utc(2026, 7, 1), utc(2026, 8, 1)
    people = pd.DataFrame([
        person("A", updated_at=before, country="DE"), person("A", updated_at=after, country="FR"),
        person("B", updated_at=after, country="DE"), person("B", updated_at=later, country="FR"),
        person("C", updated_at=before, country="FR"), person("C", updated_at=None, country="DE"),
    ])
    write_tables(engine, people, bad_activities(END).iloc[:0])
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"}])
    assert sorted(evaluate(spec, SqlSource(engine), START, END).qualified_ids) == ["A", "B"]


def test_impossible_dates_and_nan_text_are_unreadable_values_as_in_the_reference(engine):
    people = pd.DataFrame([
        person("G1", employees="20", renewal_date="2026-03-01"),
        person("B1", employees="nan", renewal_date="2026-13-01"),  # month 13: ISO-looking, no date
        person("B2", employees="25", renewal_date="2026-02-30T10:00:00"),
        person("B3", employees="30", renewal_date="2026-03-01T24:00:00"),  # hour 24: Python reads no time
    ])
    write_tables(engine, people, bad_activities(END).iloc[:0])
    spec = make_spec([{"type": "demographic", "field": "employees", "operator": "gte", "value": 10},
                      {"type": "demographic", "field": "renewal_date", "operator": "lt", "value": "2026-04-01"}],
                     "1 or 2")
    result = evaluate(spec, SqlSource(engine), START, END)
    reference = reference_evaluate(spec, DataFrameSource(people, bad_activities(END).iloc[:0]), START, END)
    assert result.qualified_ids == reference.qualified_ids == ["G1"]
    assert result.invalid_rows.as_dict() == reference.invalid_rows.as_dict()


def test_a_spec_requiring_behaviour_reports_the_people_rows_the_reference_reads(engine):
    """Only people with a matching activity can qualify, so both read those alone: an activity under an empty
    person id belongs to nobody, and does not bring the empty-id people row in to be reported."""
    write_tables(engine, bad_people(), bad_activities(END))
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"},
                      {"type": "behaviour", "activity": "web_visit", "window": {"in_past_days": 30}}], "1 and 2")
    result = evaluate(spec, SqlSource(engine), START, END)
    reference = reference_evaluate(spec, DataFrameSource(bad_people(), bad_activities(END)), START, END)
    assert result.qualified_ids == reference.qualified_ids == ["P01"]
    assert result.invalid_rows.as_dict() == reference.invalid_rows.as_dict()
    assert result.people_scanned == reference.people_scanned


def test_rows_are_reported_only_among_people_whose_activity_lets_the_logic_hold(engine):
    """``(1 or 2) and (3 or 4)``, 3 demographic: only people matching 1 or 2 can qualify, so those are the people
    read (as the reference reads them); a bad row whose only activity matches 4 is not read, hence not reported."""
    end = END
    visit = {"occurred_at": end - dt.timedelta(days=2)}
    activities = pd.DataFrame([
        {"activity_id": 1, "person_id": "P01", "activity_type": "web_visit", **visit},
        {"activity_id": 2, "person_id": "P02", "activity_type": "email_open", **visit},  # matches 4 alone
        {"activity_id": 3, "person_id": "M1", "activity_type": "email_open", **visit},  # bad, matches 4 alone
        {"activity_id": 4, "person_id": "M2", "activity_type": "form_fill", **visit},  # bad, matches 2
        {"activity_id": 5, "person_id": "N1", "activity_type": "web_visit", **visit},  # bad value, matches 1
    ])
    write_tables(engine, bad_people(), activities)
    window = {"in_past_days": 30}
    spec = make_spec([{"type": "behaviour", "activity": "web_visit", "window": window},
                      {"type": "behaviour", "activity": "form_fill", "window": window},
                      {"type": "demographic", "field": "employees", "operator": "gte", "value": 10},
                      {"type": "behaviour", "activity": "email_open", "window": window}], "(1 or 2) and (3 or 4)")
    result = evaluate(spec, SqlSource(engine), START, END)
    reference = reference_evaluate(spec, DataFrameSource(bad_people(), activities), START, END)
    assert result.qualified_ids == reference.qualified_ids == ["P01"]
    assert result.invalid_rows.as_dict() == reference.invalid_rows.as_dict()
    assert set(result.invalid_rows.as_dict()) == {"unknown_member_type", "not_numeric:employees"}
    assert result.invalid_rows.as_dict()["unknown_member_type"]["examples"] == ["M2"]
    assert result.people_scanned == reference.people_scanned == 3


@pytest.mark.parametrize(("logic", "expected"), [
    ("1 and 2 and (1 or 3)", {"unknown_member_type": ["M2"]}),  # 2 is required: an anti-join
    ("1 and (2 or 3)", {"unknown_member_type": ["M2"], "duplicate_person_id": ["D1"]}),
])
def test_rows_are_not_reported_for_people_their_activity_already_rules_out(engine, logic, expected):
    """Of the people with a behaviour match, the reference reads only those the logic can still qualify given
    their activity, so a bad row of someone who fails an inactivity filter (and nothing else lets in) is not read:
    M1 and D1 filled a form; D1 also opened an email, which lets ``1 and (2 or 3)`` hold."""
    visit = {"occurred_at": END - dt.timedelta(days=2)}
    activities = pd.DataFrame([
        {"activity_id": number, "person_id": person, "activity_type": kind, **visit} for number, (person, kind)
        in enumerate([("P01", "web_visit"), ("M1", "web_visit"), ("M1", "form_fill"), ("M2", "web_visit"),
                      ("D1", "web_visit"), ("D1", "form_fill"), ("D1", "email_open")], start=1)])
    write_tables(engine, bad_people(), activities)
    window = {"in_past_days": 30}
    spec = make_spec([{"type": "behaviour", "activity": "web_visit", "window": window},
                      {"type": "inactivity", "activity": "form_fill", "window": window},
                      {"type": "behaviour", "activity": "email_open", "window": window}], logic)
    result = evaluate(spec, SqlSource(engine), START, END)
    reference = reference_evaluate(spec, DataFrameSource(bad_people(), activities), START, END)
    assert result.qualified_ids == reference.qualified_ids == ["P01"]
    assert result.invalid_rows.as_dict() == reference.invalid_rows.as_dict()
    assert {kind: entry["examples"] for kind, entry in result.invalid_rows.as_dict().items()} == expected
    assert result.people_scanned == reference.people_scanned


def test_person_ids_of_up_to_400_characters_qualify_and_longer_ones_are_reported(engine):
    """Characters, not bytes: 400 accented letters are 800 bytes in UTF-8 and still a valid id."""
    accented, too_long, too_long_accented = "é" * 400, "x" * 401, "é" * 401
    people = pd.DataFrame([person("P1"), person(accented), person(too_long), person(too_long_accented)])
    write_tables(engine, people, bad_activities(END).iloc[:0])
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "de"}])
    result = evaluate(spec, SqlSource(engine), START, END)
    assert sorted(result.qualified_ids) == sorted(["P1", accented])
    entry = result.invalid_rows.as_dict()["person_id_too_long"]
    assert entry["count"] == 2
    assert sorted(entry["examples"]) == sorted([too_long[:100], too_long_accented[:100]])
