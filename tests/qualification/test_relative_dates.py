"""Relative dates and empty dates in specs: parsing, file/field errors, sentences, and the same answers to the
microsecond from the evaluator (in-memory and SQLite sources) and the compiled query on every dialect."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from qualification_helpers import activities_frame, make_spec, people_frame, sources
from source_databases import DIALECTS, source_engine, write_source

from dynamics_campaign_sync.qualification import SqlSource, evaluate
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate as evaluate_compiled
from dynamics_campaign_sync.qualification.odata_pushdown import condition_clause as odata_clause
from dynamics_campaign_sync.spec import SpecError, load_spec
from dynamics_campaign_sync.spec.describe import describe_filter, render_doc_md
from dynamics_campaign_sync.spec.models import Condition, QualificationRule, RemovalPolicy, Window
from dynamics_campaign_sync.spec.relative_dates import Anchor, Duration, TimeFrame, frame_bounds

END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
MICRO = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# -- parsing -------------------------------------------------------------------------------------------------

def test_durations_use_marketos_units():
    assert Condition(field="d", operator="in_past", value="2 weeks").value.delta == 14 * DAY
    assert Condition(field="d", operator="in_past", value="3 Months").value.delta == 90 * DAY
    assert Condition(field="d", operator="in_future", value="1 year").value.delta == 365 * DAY
    assert Condition(field="d", operator="in_past_before", value="12 hours").value.delta == dt.timedelta(hours=12)
    assert Condition(field="d", operator="in_past", value=30).value == Duration(30, "day")


def test_anchors_and_time_frames():
    assert Condition(field="d", operator="before", value="as_of").value == Anchor()
    assert Condition(field="d", operator="gte", value="30 days before as_of").value == Anchor(Duration(30, "day"), -1)
    frame = Condition(field="d", operator="in_time_frame", value="last_month", timezone="Europe/Berlin").value
    assert frame == TimeFrame("last_month", "Europe/Berlin")


def test_qualification_and_removal_durations_become_days():
    assert QualificationRule.model_validate("every 2 weeks").days == 14
    assert QualificationRule.model_validate({"every": "1 month"}).rule == "every_n_days"
    assert RemovalPolicy.model_validate("after 3 months").days == 90
    assert RemovalPolicy.model_validate({"policy": "after_days", "days": 5}).period == "5 days"


@pytest.mark.parametrize(("name", "as_of", "start", "end"), [
    # the week before the spring change in Berlin is 167 hours: CET midnight to CEST midnight
    ("last_week", dt.datetime(2026, 4, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 22, 23, tzinfo=dt.UTC),
     dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)),
    ("this_month", END, dt.datetime(2026, 5, 31, 22, tzinfo=dt.UTC), dt.datetime(2026, 6, 30, 22, tzinfo=dt.UTC)),
    ("last_quarter", END, dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC), dt.datetime(2026, 3, 31, 22, tzinfo=dt.UTC)),
    ("yesterday", dt.datetime(2026, 10, 26, 12, tzinfo=dt.UTC), dt.datetime(2026, 10, 24, 22, tzinfo=dt.UTC),
     dt.datetime(2026, 10, 25, 23, tzinfo=dt.UTC)),  # the autumn change: a 25-hour day
])
def test_time_frames_are_local_calendar_periods(name, as_of, start, end):
    assert frame_bounds(TimeFrame(name, "Europe/Berlin"), as_of) == (start, end)


# -- errors name the file and the field ------------------------------------------------------------------------

SPEC = """key: relative
title: Relative
owner: a@example.com
campaign: {{name: X}}
schedule: {{cron: "0 6 * * *", start_date: 2026-01-01}}
rules:
  filters:
    - {filter}
{extra}"""


@pytest.mark.parametrize(("flt", "extra", "expected"), [
    ("{type: demographic, field: renewal_date, operator: in_future, value: 3 fortnights}", "",
     "rules.filters[1].value: in_future needs a positive whole number of days or '<N> <unit>'"),
    ("{type: demographic, field: renewal_date, operator: in_time_frame, value: last_decade}", "",
     "rules.filters[1].value: 'last_decade' is not one of today, yesterday"),
    ("{type: demographic, field: renewal_date, operator: after, value: 30 days ago}", "",
     "rules.filters[1].value: after needs a date (or an as-of anchor: as_of, '30 days before as_of')"),
    ("{type: demographic, field: renewal_date, operator: in_time_frame, value: today, timezone: Mars/Base}", "",
     "rules.filters[1].timezone: 'Mars/Base' is not a known IANA timezone"),
    ("{type: demographic, field: renewal_date, operator: in_future, value: 3, empty_dates: match}", "",
     "rules.filters[1].empty_dates: empty_dates: match goes only with before, on_or_before, in_past_before"),
    ("{type: demographic, field: renewal_date, operator: before, value: as_of, empty_dates: yes}", "",
     "rules.filters[1].empty_dates: Input should be 'no_match' or 'match' (got True)"),
    ("{type: behaviour, activity: web_visit, window: {in_past: 2 weeks, before: as_of}}", "",
     "rules.filters[1].window: give exactly one of in_past_days, between, in_interval, in_past"),
    ("{type: behaviour, activity: web_visit, window: {after: 5}}", "",
     "rules.filters[1].window.after: after needs a date"),
    ("{type: behaviour, activity: web_visit, window: {in_past: 1 week, timezone: Europe/Berlin}}", "",
     "rules.filters[1].window: timezone goes only with in_time_frame"),
    ("{type: demographic, field: country, operator: is, value: x}", "qualification: every 12 hours\n",
     "qualification: every needs whole days, got '12 hours'"),
    ("{type: demographic, field: country, operator: is, value: x}", "removal: {after: 2 weeks, days: 3}\n",
     "removal: give days or after, not both"),
])
def test_bad_relative_forms_name_file_and_field(tmp_path, flt, extra, expected):
    path = tmp_path / "relative.yaml"
    path.write_text(SPEC.format(filter=flt, extra=extra))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert f"{path}: {expected}" in str(raised.value)


# -- sentences (the dashboard's "why" texts and the DAG docs) ----------------------------------------------------

def test_descriptions_in_plain_words():
    spec = make_spec([
        {"type": "demographic", "field": "renewal_date", "operator": "in_future", "value": 30},
        {"type": "demographic", "field": "renewal_date", "operator": "in_past_before", "value": "1 year",
         "empty_dates": "match"},
        {"type": "demographic", "field": "created_at", "operator": "on_or_after", "value": "2 weeks before as_of"},
        {"type": "behaviour", "activity": "web_visit",
         "window": {"in_time_frame": "last_month", "timezone": "Europe/Berlin"}},
        {"type": "inactivity", "activity": "email_open", "window": {"in_past": "3 months"}},
    ], qualification="every 2 weeks", removal="after 3 months")
    texts = [describe_filter(flt) for flt in spec.rules.filters]
    assert texts == [
        "renewal_date in the next 30 days",
        "renewal_date more than 1 year ago (or empty)",
        "created_at on or after 2 weeks before the run's as-of",
        "Visited web page at least 1 time in last month (Europe/Berlin)",
        "Not: Opened email in the past 3 months",
    ]
    doc = render_doc_md(spec)
    assert "each person can qualify once every 2 weeks" in doc
    assert "removed after 3 months without qualifying" in doc


def test_window_forms_clip_at_the_interval_end():
    assert Window(in_past_days=30).bounds(END - DAY, END) == Window(in_past="30 days").bounds(END - DAY, END)
    assert Window(on_or_after="2 weeks before as_of").bounds(END - DAY, END) == (END - 14 * DAY, END)
    assert Window(in_time_frame="this_year").bounds(END - DAY, END) == (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), END)


# -- the same answers everywhere, to the microsecond ---------------------------------------------------------

#: renewal_date edges around as-of END (2026-06-01T00:00Z): each form's boundary and 1 µs either side.
EDGE_ROWS = {
    "past_edge": iso(END - 14 * DAY), "past_out": iso(END - 14 * DAY - MICRO), "last_in": iso(END - MICRO),
    "now": iso(END), "future_last": iso(END + 30 * DAY - MICRO), "future_out": iso(END + 30 * DAY),
    "berlin_june": "2026-05-31T22:00:00Z", "berlin_may": "2026-05-31T21:59:59.999999Z",
    "empty": None, "blank": " ", "old_day": "2026-05-17",
}
CASES = [
    ("in_past", "2 weeks", {}, {"past_edge", "last_in", "berlin_june", "berlin_may"}),
    ("in_past_before", "2 weeks", {}, {"past_out", "old_day"}),
    ("in_past_before", "2 weeks", {"empty_dates": "match"}, {"past_out", "old_day", "empty", "blank"}),
    ("in_future", 30, {}, {"now", "future_last"}),
    ("in_future_after", "30 days", {}, {"future_out"}),
    ("in_time_frame", "this_month", {"timezone": "Europe/Berlin"}, {"now", "last_in", "berlin_june"}),
    ("in_time_frame", "last_month", {}, {"past_edge", "past_out", "last_in", "berlin_june", "berlin_may",
                                         "old_day"}),
    ("before", "2 weeks before as_of", {}, {"past_out", "old_day"}),
    ("on_or_before", "2 weeks before as_of", {"empty_dates": "match"}, {"past_out", "past_edge", "old_day",
                                                                         "empty", "blank"}),
    ("after", "as_of", {}, {"future_last", "future_out"}),
    ("on_or_after", "as_of", {}, {"now", "future_last", "future_out"}),
    ("before", dt.date(2026, 5, 18), {}, {"past_out", "old_day"}),
    ("on_or_before", dt.date(2026, 5, 17), {}, {"past_out", "old_day"}),
]


def _people():
    return people_frame([{"person_id": key, "renewal_date": value} for key, value in EDGE_ROWS.items()])


def _spec(operator, value, extra):
    return make_spec([{"type": "demographic", "field": "renewal_date", "operator": operator, "value": value,
                       **extra}])


def _qualified(result):
    return set(result.qualified["person_id"])


@pytest.mark.parametrize(("operator", "value", "extra", "expected"), CASES)
def test_evaluator_boundaries(operator, value, extra, expected):
    for source in sources(_people(), activities_frame([])):
        assert _qualified(evaluate(_spec(operator, value, extra), source, END - DAY, END)) == expected


@pytest.fixture(scope="module", params=DIALECTS)
def engine(request):
    yield from source_engine(request.param)


def test_compiled_boundaries_on_each_dialect(engine):
    write_source(engine, _people(), activities_frame([]))
    for operator, value, extra, expected in CASES:
        result = evaluate_compiled(_spec(operator, value, extra), SqlSource(engine), END - DAY, END)
        assert _qualified(result) == expected, (operator, value, extra)


def test_activity_windows_across_the_spring_dst_change(engine):
    """``last_week`` in Berlin, seen on 2026-04-01: Monday 23 March 00:00 CET to Monday 30 March 00:00 CEST."""
    as_of = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    moments = {"A": dt.datetime(2026, 3, 22, 23, tzinfo=dt.UTC), "B": dt.datetime(2026, 3, 22, 22, 59, 59, 999999,
               tzinfo=dt.UTC), "C": dt.datetime(2026, 3, 29, 21, 59, 59, 999999, tzinfo=dt.UTC),
               "D": dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)}  # fmt: skip
    people = people_frame([{"person_id": key} for key in moments])
    activities = activities_frame([{"person_id": key, "activity_type": "web_visit", "occurred_at": moment}
                                   for key, moment in moments.items()])
    spec = make_spec([{"type": "behaviour", "activity": "web_visit",
                       "window": {"in_time_frame": "last_week", "timezone": "Europe/Berlin"}}])
    write_source(engine, people, activities)
    compiled = evaluate_compiled(spec, SqlSource(engine), as_of - DAY, as_of)
    assert _qualified(compiled) == {"A", "C"}
    for source in sources(people, activities):
        result = evaluate(spec, source, as_of - DAY, as_of)
        assert _qualified(result) == {"A", "C"}
        assert json.loads(result.qualified["reasons"].iloc[0])["counts"] == {"1": 1}


def test_odata_filter_keeps_empty_dates_when_they_match():
    condition = Condition(field="createdon", operator="before", value="as_of", empty_dates="match")
    text, exact = odata_clause(condition, "DateTime", END)
    assert text == "(createdon eq null or ((createdon lt 2026-06-01T00:00:00Z)))" and not exact
