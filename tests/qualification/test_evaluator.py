"""Evaluation: windows, counts, inactivity, logic, as-of semantics and reasons, on both sources."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa
from qualification_helpers import (
    END,
    START,
    activities_frame,
    make_spec,
    people_frame,
    sources,
    utc,
    write_sqlite,
)

from dynamics_campaign_sync.qualification import DataFrameSource, SourceError, SqlSource, evaluate

DAY = dt.timedelta(days=1)
MICRO = dt.timedelta(microseconds=1)


def qualified(spec, people, activities, start=START, end=END) -> list[list[str]]:
    """Qualified ids per source (in-memory and SQLite), which must agree."""
    answers = [evaluate(spec, source, start, end).qualified_ids for source in sources(people, activities)]
    assert answers[0] == answers[1], "the SQL source disagrees with the in-memory source"
    return answers[0]


def visits(*rows: tuple[str, dt.datetime, str]) -> pd.DataFrame:
    return activities_frame(
        {"person_id": pid, "activity_type": "web_visit", "occurred_at": when, "page_url": url}
        for pid, when, url in rows
    )


PEOPLE = people_frame([{}, {}, {}])  # P001, P002, P003


def test_in_past_window_start_inclusive_end_exclusive():
    spec = make_spec([{"type": "behaviour", "activity": "web_visit", "window": {"in_past_days": 7}}])
    activities = visits(
        ("P001", END - 7 * DAY, "/a"),  # exactly at the window start: counted
        ("P002", END - 7 * DAY - MICRO, "/a"),  # just before the start: not counted
        ("P003", END, "/a"),  # exactly at the interval end: not counted
    )
    assert qualified(spec, PEOPLE, activities) == ["P001"]
    assert qualified(spec, PEOPLE, visits(("P003", END - MICRO, "/a"))) == ["P003"]


def test_between_dates_includes_both_whole_days_and_stops_at_the_interval_end():
    spec = make_spec(
        [{"type": "behaviour", "activity": "web_visit", "window": {"between": ["2026-05-01", "2026-05-10"]}}]
    )
    activities = visits(
        ("P001", utc(2026, 5, 1), "/a"),
        ("P002", utc(2026, 5, 10, 23, 59, 59), "/a"),
        ("P003", utc(2026, 5, 11), "/a"),
    )
    assert qualified(spec, PEOPLE, activities) == ["P001", "P002"]
    # evaluated for an interval that ends on May 5th, later activities are invisible
    assert qualified(spec, PEOPLE, activities, utc(2026, 5, 4), utc(2026, 5, 5)) == ["P001"]


def test_in_interval_window():
    spec = make_spec([{"type": "behaviour", "activity": "web_visit", "window": {"in_interval": True}}])
    activities = visits(("P001", START, "/a"), ("P002", START - MICRO, "/a"), ("P003", END, "/a"))
    assert qualified(spec, PEOPLE, activities) == ["P001"]


def test_no_window_counts_everything_before_the_interval_end():
    spec = make_spec([{"type": "behaviour", "activity": "web_visit"}])
    activities = visits(("P001", utc(2020, 1, 1), "/a"), ("P002", END, "/a"))
    assert qualified(spec, PEOPLE, activities) == ["P001"]


def test_min_times_and_max_times():
    rows = [("P001", END - DAY, "/pricing")] * 3 + [("P002", END - DAY, "/pricing")] * 2
    rows += [("P003", END - DAY, "/PRICING/plans")] * 5
    activities = visits(*rows)
    at_least_3 = make_spec([{"type": "behaviour", "activity": "web_visit", "min_times": 3}])
    assert qualified(at_least_3, PEOPLE, activities) == ["P001", "P003"]
    two_to_three = make_spec([{"type": "behaviour", "activity": "web_visit", "min_times": 2, "max_times": 3}])
    assert qualified(two_to_three, PEOPLE, activities) == ["P001", "P002"]


def test_attribute_constraints_are_case_insensitive():
    spec = make_spec(
        [
            {
                "type": "behaviour",
                "activity": "web_visit",
                "where": [{"field": "page_url", "operator": "contains", "value": "/Pricing"}],
                "min_times": 2,
            }
        ]
    )
    activities = visits(
        ("P001", END - DAY, "https://x/PRICING"),
        ("P001", END - DAY, "https://x/pricing?a=1"),
        ("P002", END - DAY, "https://x/pricing"),
        ("P002", END - DAY, "https://x/blog"),
        ("P003", END - DAY, "https://x/100%_pricing"),
    )
    assert qualified(spec, PEOPLE, activities) == ["P001"]


def test_custom_activity_type_with_json_attributes():
    spec = make_spec(
        [
            {
                "type": "behaviour",
                "activity": "webinar_attended",
                "where": [
                    {"field": "minutes", "operator": "gte", "value": 25},
                    {"field": "webinar", "operator": "starts_with", "value": "security"},
                ],
            }
        ]
    )
    activities = activities_frame(
        {
            "person_id": pid,
            "activity_type": "webinar_attended",
            "occurred_at": END - DAY,
            "attributes": payload,
        }
        for pid, payload in [
            ("P001", json.dumps({"webinar": "Security Deep Dive", "minutes": 40})),
            ("P002", json.dumps({"webinar": "Security Deep Dive", "minutes": 10})),
            ("P003", json.dumps({"webinar": "Keynote", "minutes": 55})),
            ("P003", "not json"),
            ("P002", None),
        ]
    )
    assert qualified(spec, PEOPLE, activities) == ["P001"]


def test_inactivity_means_no_matching_activity_in_the_window():
    spec = make_spec([{"type": "inactivity", "activity": "email_open", "window": {"in_past_days": 90}}])
    activities = activities_frame(
        [
            {"person_id": "P001", "activity_type": "email_open", "occurred_at": END - 10 * DAY},
            {"person_id": "P002", "activity_type": "email_open", "occurred_at": END - 91 * DAY},
            {"person_id": "P002", "activity_type": "web_visit", "occurred_at": END - DAY},
        ]
    )
    assert qualified(spec, PEOPLE, activities) == ["P002", "P003"]


def test_custom_logic_mixing_filter_kinds():
    people = people_frame(
        [
            {"country": "Germany", "job_title": "VP Sales"},
            {"country": "germany", "job_title": "Student"},
            {"country": "France", "job_title": "CTO"},
            {"country": "Germany", "job_title": "Director"},
        ]
    )
    spec = make_spec(
        [
            {"type": "demographic", "field": "country", "operator": "is", "value": "Germany"},
            {"type": "behaviour", "activity": "web_visit", "window": {"in_past_days": 30}},
            {"type": "behaviour", "activity": "form_fill", "window": {"in_past_days": 30}},
            {"type": "demographic", "field": "job_title", "operator": "contains", "value": "student"},
        ],
        logic="1 and (2 or 3) and not 4",
    )
    activities = activities_frame(
        [
            {"person_id": "P001", "activity_type": "form_fill", "occurred_at": END - DAY},
            {"person_id": "P002", "activity_type": "web_visit", "occurred_at": END - DAY},
            {"person_id": "P003", "activity_type": "web_visit", "occurred_at": END - DAY},
        ]
    )
    assert qualified(spec, people, activities) == ["P001"]
    any_spec = make_spec(spec.model_dump()["rules"]["filters"], logic="any")
    assert qualified(any_spec, people, activities) == ["P001", "P002", "P003", "P004"]


def test_member_types():
    people = people_frame([{"member_type": "lead"}, {"member_type": "contact"}, {"member_type": "account"}])
    base = [{"type": "demographic", "field": "email", "operator": "is_not_empty"}]
    assert qualified(make_spec(base, member_types=["contact"]), people, activities_frame([])) == ["P002"]
    assert qualified(make_spec(base), people, activities_frame([])) == ["P001", "P002"]


def test_as_of_determinism_activities_after_the_interval_end_change_nothing():
    spec = make_spec(
        [
            {"type": "behaviour", "activity": "web_visit", "min_times": 2, "window": {"in_past_days": 30}},
            {"type": "inactivity", "activity": "email_open", "window": {"in_past_days": 30}},
        ],
        logic="1 or 2",
    )
    before = activities_frame(
        [
            {"person_id": "P001", "activity_type": "web_visit", "occurred_at": END - DAY},
            {"person_id": "P002", "activity_type": "email_open", "occurred_at": END - DAY},
            {"person_id": "P003", "activity_type": "email_open", "occurred_at": END - DAY},
        ]
    )
    later = [
        {"person_id": "P001", "activity_type": "web_visit", "occurred_at": END},
        {"person_id": "P002", "activity_type": "web_visit", "occurred_at": END + DAY},
        {"person_id": "P002", "activity_type": "web_visit", "occurred_at": END + 2 * DAY},
        {"person_id": "P003", "activity_type": "email_open", "occurred_at": END + 300 * DAY},
    ]
    after = activities_frame([*before.drop(columns="activity_id").to_dict("records"), *later])
    first = evaluate(spec, DataFrameSource(PEOPLE, before), START, END).qualified
    for source in sources(PEOPLE, after):
        again = evaluate(spec, source, START, END).qualified
        pd.testing.assert_frame_equal(first, again)


def test_people_created_after_the_interval_end_are_not_seen():
    people = people_frame(
        [{"created_at": END - DAY}, {"created_at": END}, {"created_at": None}, {"created_at": END + 30 * DAY}]
    )
    spec = make_spec([{"type": "demographic", "field": "email", "operator": "is_not_empty"}])
    assert qualified(spec, people, activities_frame([])) == ["P001", "P003"]


def test_people_history_uses_the_version_valid_at_the_interval_end():
    people = people_frame(
        [
            {"person_id": "P001", "country": "France", "updated_at": utc(2026, 1, 1)},
            {"person_id": "P001", "country": "Germany", "updated_at": utc(2026, 5, 20)},
            {"person_id": "P001", "country": "Spain", "updated_at": utc(2026, 7, 1)},
            {
                "person_id": "P002",
                "country": "Germany",
                "updated_at": utc(2026, 8, 1),
            },  # only a newer version
            {"person_id": "P003", "country": "Germany", "updated_at": utc(2026, 4, 1)},
            {"person_id": "P003", "country": "Italy", "updated_at": utc(2026, 5, 1)},
        ]
    )
    spec = make_spec([{"type": "demographic", "field": "country", "operator": "is", "value": "Germany"}])
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    write_sqlite(engine, people, activities_frame([]), snapshot=False)
    for source in (DataFrameSource(people), SqlSource(engine)):
        result = evaluate(spec, source, START, END)
        # P001 was in Germany at the end of May; P002 only has a version from after it (the
        # snapshot limitation: that version is used); P003 had moved to Italy by then.
        assert result.qualified_ids == ["P001", "P002"]
        assert result.people_scanned <= 3
        # in March every version of P002 and P003 is newer: their earliest one is used (P003: Germany)
        early = evaluate(spec, source, utc(2026, 3, 1), utc(2026, 3, 2))
        assert early.qualified_ids == ["P002", "P003"]


def test_reasons_and_counts():
    people = people_frame([{"country": "Germany"}, {"country": "Germany"}, {"country": "France"}])
    spec = make_spec(
        [
            {"type": "demographic", "field": "country", "operator": "is", "value": "Germany"},
            {"type": "behaviour", "activity": "web_visit", "min_times": 2},
            {"type": "inactivity", "activity": "email_open"},
        ],
        logic="1 and (2 or 3)",
    )
    activities = activities_frame(
        [
            {"person_id": "P001", "activity_type": "web_visit", "occurred_at": END - DAY},
            {"person_id": "P001", "activity_type": "web_visit", "occurred_at": END - DAY},
            {"person_id": "P001", "activity_type": "web_visit", "occurred_at": END - DAY},
            {"person_id": "P001", "activity_type": "email_open", "occurred_at": END - DAY},
            {"person_id": "P002", "activity_type": "web_visit", "occurred_at": END - DAY},
        ]
    )
    for source in sources(people, activities):
        result = evaluate(spec, source, START, END)
        assert list(result.qualified.columns) == [
            "person_id",
            "member_type",
            "dynamics_id",
            "email",
            "reasons",
        ]
        # the counts of the filters each matched (P001 opened an email, P002 visited once: not enough)
        assert result.reasons_for("P001") == {"matched": [1, 2], "counts": {"2": 3}}
        assert result.reasons_for("P002") == {"matched": [1, 3], "counts": {"3": 0}}
        assert json.loads(json.dumps(result.summary()))["qualified"] == 2
        assert result.activity_rows_read == 5
        with pytest.raises(KeyError):
            result.reasons_for("P003")


def test_demographic_only_reasons_have_no_counts():
    spec = make_spec([{"type": "demographic", "field": "email", "operator": "is_not_empty"}])
    result = evaluate(spec, DataFrameSource(PEOPLE), START, END)
    assert result.reasons_for("P001") == {"matched": [1]}


def test_empty_source_gives_an_empty_result():
    spec = make_spec([{"type": "behaviour", "activity": "web_visit"}])
    for source in sources(people_frame([]), activities_frame([])):
        result = evaluate(spec, source, START, END)
        assert result.qualified.empty and result.source_empty
        assert list(result.qualified.columns) == [
            "person_id",
            "member_type",
            "dynamics_id",
            "email",
            "reasons",
        ]


def test_source_empty_is_about_the_source_not_about_who_was_read():
    spec = make_spec([{"type": "behaviour", "activity": "form_fill"}], member_types=["lead"])
    people = people_frame([{"member_type": "lead", "created_at": END - DAY}, {"member_type": "contact"}])
    for source in sources(people, activities_frame([])):
        result = evaluate(spec, source, START, END)
        assert result.people_scanned == 0  # nobody can qualify without a form fill: nobody was read
        assert result.source_empty is False and result.summary()["source_empty"] is False
        too_early = evaluate(spec, source, START - 5 * DAY, END - 5 * DAY)
        assert too_early.source_empty is True  # the only lead did not exist yet


def test_unknown_demographic_column_names_the_filter():
    spec = make_spec(
        [
            {"type": "behaviour", "activity": "web_visit"},
            {"type": "demographic", "field": "industy", "operator": "is", "value": "Software"},
        ]
    )
    for source in sources(PEOPLE, activities_frame([])):
        with pytest.raises(SourceError, match=r"rules.filters\[2\].field: 'industy' is not a column"):
            evaluate(spec, source, START, END)


def test_interval_must_be_aware_and_ordered():
    spec = make_spec([{"type": "behaviour", "activity": "web_visit"}])
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(spec, DataFrameSource(PEOPLE), START.replace(tzinfo=None), END)
    with pytest.raises(ValueError, match="is after"):
        evaluate(spec, DataFrameSource(PEOPLE), END, START)


def test_other_timezones_are_converted_to_utc():
    berlin = dt.timezone(dt.timedelta(hours=2))
    spec = make_spec([{"type": "behaviour", "activity": "web_visit", "window": {"in_interval": True}}])
    activities = visits(("P001", utc(2026, 5, 31, 22), "/a"))
    result = evaluate(
        spec, DataFrameSource(PEOPLE, activities), END.astimezone(berlin) - DAY, END.astimezone(berlin)
    )
    assert result.qualified_ids == ["P001"]
    assert result.interval_end == END and result.interval_end.tzinfo == dt.UTC
