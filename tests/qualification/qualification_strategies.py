"""Random specs and source rows for the property tests (hypothesis strategies): every operator, NULLs,
blanks, Unicode, windows at their microsecond boundaries, relative dates (durations in every unit, as-of
anchors, calendar time frames in zones with DST) with ``empty_dates``, logic trees, member types."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st
from qualification_helpers import END, START, make_spec
from qualification_reference import render

DAY = dt.timedelta(days=1)
MICRO = dt.timedelta(microseconds=1)

TEXT_VALUES = ["VP Sales", "vp sales", "Engineer", "Director of IT", "", "  ", None, "Ärztin", "ÄRZTIN", "Germany",
               "germany", "France", "Côte d'Ivoire"]  # fmt: skip
NEEDLES = ["vp", "VP Sales", "engineer", "director", "ärztin", "germany", "fr", "ivoire", "Sales", "of"]
NUMBERS = [None, 0, 1, 30, 31, 999, 1000, 5000]
CREATED = [None, END - 10 * DAY, END - MICRO, END, END + DAY]
def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


#: Instants on the edges of the relative forms drawn below (as-of END): durations back and ahead, and the
#: local midnights of Berlin (CEST, +2) and New York (EDT, -4) periods, with their neighbours 1 µs before.
EDGES = [END - 14 * DAY, END - 30 * DAY, END - 12 * dt.timedelta(hours=1), END + 30 * DAY, END + 7 * DAY,
         dt.datetime(2026, 5, 31, 22, tzinfo=dt.UTC), dt.datetime(2026, 5, 1, 4, tzinfo=dt.UTC),
         dt.datetime(2026, 3, 31, 22, tzinfo=dt.UTC), dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC),
         dt.datetime(2026, 5, 25, tzinfo=dt.UTC)]  # fmt: skip
RENEWALS = [
    None,
    "2026-05-31",
    "2026-06-01",
    "2026-04-15",
    "2026-05-31 23:59:59",
    "2026-05-30T12:00:00Z",
    "garbage",
    " ",
    *(iso(edge - shift) for edge in EDGES for shift in (dt.timedelta(0), MICRO)),
]
MOMENTS = [END - 7 * DAY, END - 7 * DAY - MICRO, END - MICRO, END, START, START - MICRO, END + DAY,
           dt.datetime(2026, 5, 10, tzinfo=dt.UTC), dt.datetime(2026, 5, 10, 23, 59, 59, 999999, tzinfo=dt.UTC),
           dt.datetime(2026, 5, 11, tzinfo=dt.UTC), END - 40 * DAY, END - 14 * DAY, END - 14 * DAY - MICRO,
           dt.datetime(2026, 5, 31, 22, tzinfo=dt.UTC), dt.datetime(2026, 5, 31, 21, 59, 59, 999999, tzinfo=dt.UTC),
           dt.datetime(2026, 5, 25, tzinfo=dt.UTC), dt.datetime(2026, 5, 24, 23, 59, 59, 999999, tzinfo=dt.UTC),
           END - 400 * DAY]  # fmt: skip
PAGES = ["https://x/pricing", "https://x/PRICING/plans", "https://x/blog", None, ""]
FORMS = ["Demo Request", "demo request", "Contact Us", None]
PAYLOADS = [
    None,
    '{"due": "2026-05-31T21:59:59.999999Z"}',
    '{"due": "2026-06-15"}',
    '{"due": ""}',
    '{"minutes": 25}',
    '{"minutes": "40"}',
    '{"minutes": 10, "webinar": "Keynote"}',
    "not json",
    "{}",
    # change activities (the source contract's shape), with a few a change filter must not count
    '{"attribute": "job_title", "old_value": "Manager", "new_value": "VP Sales"}',
    '{"attribute": "JOB_TITLE", "old_value": null, "new_value": "Director of IT"}',
    '{"attribute": "country", "old_value": "France", "new_value": "Germany"}',
    '{"score": "lead_score", "change": 10, "new_score": 40}',
    '{"score": "Lead_Score", "change": "-5", "new_score": 25}',
    '{"score": "lead_score", "change": 30, "new_score": "n/a"}',
    '{"score": "fit_score", "change": 1, "new_score": 1000}',
]
ACTIVITY_TYPES = ["web_visit", "form_fill", "email_open", "webinar_attended", "data_value_changed",
                  "score_changed"]
#: Dynamics ids of people (two spellings of one GUID) and the membership facts' keys of the filters drawn.
DYNAMICS_IDS = [None, "AAAAAAAA-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000001",
                "bbbbbbbb-0000-4000-8000-000000000002", "cccccccc-0000-4000-8000-000000000003"]
LIST_ID = "11111111-0000-4000-8000-000000000000"
FACT_KEYS = [f"list:{LIST_ID}", "campaign-sync:webinar"]
DATES = [dt.date(2026, 5, 31), dt.date(2026, 4, 15), dt.date(2026, 6, 1)]
INSTANTS = [dt.datetime(2026, 5, 31, 23, 59, 59, tzinfo=dt.UTC), END - 10 * DAY]
ANCHORS = ["as_of", "14 days before as_of", "2 weeks after as_of", "1 month after as_of", "12 hours before as_of"]
DURATIONS = [1, 2, 30, "12 hours", "2 weeks", "1 month", "1 year"]
TIME_FRAMES = ["today", "yesterday", "this_week", "last_week", "this_month", "last_month", "next_month",
               "this_quarter", "last_quarter", "this_year"]  # fmt: skip
ZONES = [None, "Europe/Berlin", "America/New_York"]
BEFORE_LIKE = ["before", "on_or_before", "lt", "lte", "in_past_before"]


@st.composite
def relative_date(draw: st.DrawFn, field: str) -> dict[str, Any]:
    """A date condition in one of Marketo's relative forms, or a date word on a date or an as-of anchor."""
    operator = draw(st.sampled_from(["in_past", "in_past_before", "in_future", "in_future_after",
                                     "in_time_frame", "after", "before", "on_or_after", "on_or_before"]))
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if operator == "in_time_frame":
        condition["value"] = draw(st.sampled_from(TIME_FRAMES))
        zone = draw(st.sampled_from(ZONES))
        if zone:
            condition["timezone"] = zone
    elif operator.startswith("in_"):
        condition["value"] = draw(st.sampled_from(DURATIONS))
    else:
        condition["value"] = draw(st.sampled_from([*ANCHORS, *DATES, *INSTANTS]))
    if operator in BEFORE_LIKE and draw(st.booleans()):
        condition["empty_dates"] = "match"
    return condition


@st.composite
def person(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "member_type": draw(st.sampled_from(["lead", "contact"])),
        "job_title": draw(st.sampled_from(TEXT_VALUES)),
        "country": draw(st.sampled_from(TEXT_VALUES)),
        "company_size": draw(st.sampled_from(NUMBERS)),
        "lead_score": draw(st.sampled_from(NUMBERS)),
        "renewal_date": draw(st.sampled_from(RENEWALS)),
        "created_at": draw(st.sampled_from(CREATED)),
        "dynamics_id": draw(st.sampled_from(DYNAMICS_IDS)),
        "in": draw(st.sets(st.sampled_from(FACT_KEYS))),  # the lists / campaign syncs the person is in
    }


def memberships_of(people: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The membership facts the people rows say (their ``in``), one id of nobody's added to each."""
    facts = {key: {"dddddddd-0000-4000-8000-000000000004"} for key in FACT_KEYS}
    for row in people:
        for key in row["in"]:
            if row["dynamics_id"] is not None:
                facts[key].add(row["dynamics_id"].lower())
    return facts


@st.composite
def activity(draw: st.DrawFn, people: int) -> dict[str, Any]:
    return {
        "person_id": draw(st.sampled_from([f"P{i:03d}" for i in range(1, people + 1)] + ["PX"])),
        "activity_type": draw(st.sampled_from(ACTIVITY_TYPES)),
        "occurred_at": draw(st.sampled_from(MOMENTS)),
        "page_url": draw(st.sampled_from(PAGES)),
        "form_name": draw(st.sampled_from(FORMS)),
        "attributes": draw(st.sampled_from(PAYLOADS)),
    }


def text_values(draw: st.DrawFn, single: bool) -> Any:
    if single or draw(st.booleans()):
        return draw(st.sampled_from(NEEDLES))
    return draw(st.lists(st.sampled_from(NEEDLES), min_size=1, max_size=3))


@st.composite
def condition(draw: st.DrawFn, field: str, kind: str) -> dict[str, Any]:
    if draw(st.integers(0, 9)) == 0:
        return {"field": field, "operator": draw(st.sampled_from(["is_empty", "is_not_empty"]))}
    if kind == "text":
        operator = draw(st.sampled_from(["is", "is_not", "in", "not_in", "contains", "not_contains",
                                         "starts_with", "ends_with"]))  # fmt: skip
        return {"field": field, "operator": operator, "value": text_values(draw, single=False)}
    if kind == "number":
        operator = draw(
            st.sampled_from(["is", "is_not", "in", "not_in", "gt", "gte", "lt", "lte", "between"])
        )
        if operator == "between":
            low, high = sorted(
                draw(st.lists(st.sampled_from([0, 1, 25, 30, 40, 1000]), min_size=2, max_size=2))
            )
            return {"field": field, "operator": operator, "value": [low, high]}
        if operator in ("in", "not_in"):
            return {
                "field": field,
                "operator": operator,
                "value": draw(st.lists(st.sampled_from([1, 25, 30, 1000]), min_size=1, max_size=3)),
            }
        return {
            "field": field,
            "operator": operator,
            "value": draw(st.sampled_from([0, 1, 25, 30, 40, 1000])),
        }
    if draw(st.booleans()):
        return draw(relative_date(field))
    operator = draw(st.sampled_from(["is", "is_not", "gt", "gte", "lt", "lte", "between", "in_past"]))
    if operator in ("gt", "lt", "lte") and draw(st.booleans()):
        return {"field": field, "operator": operator, "value": draw(st.sampled_from(ANCHORS)),
                **({"empty_dates": "match"} if operator != "gt" and draw(st.booleans()) else {})}
    if operator == "in_past":
        return {"field": field, "operator": operator, "value": draw(st.sampled_from([1, 2, 30]))}
    values = draw(st.sampled_from([DATES, INSTANTS]))
    if operator == "between":
        return {
            "field": field,
            "operator": operator,
            "value": sorted(draw(st.lists(st.sampled_from(values), min_size=2, max_size=2))),
        }
    return {"field": field, "operator": operator, "value": draw(st.sampled_from(values))}


DEMOGRAPHIC_FIELDS = [("job_title", "text"), ("country", "text"), ("company_size", "number"),
                      ("lead_score", "number"), ("renewal_date", "date"), ("created_at", "date")]  # fmt: skip
ACTIVITY_FIELDS = [("page_url", "text"), ("form_name", "text"), ("minutes", "number"), ("due", "date")]


@st.composite
def relative_window(draw: st.DrawFn) -> dict[str, Any]:
    """A window in one of the date-operator forms."""
    condition = draw(relative_date("occurred_at").filter(
        lambda c: c["operator"] not in ("in_future", "in_future_after") and "empty_dates" not in c))
    window = {condition["operator"]: condition["value"]}
    return {**window, "timezone": condition["timezone"]} if "timezone" in condition else window


@st.composite
def window(draw: st.DrawFn) -> dict[str, Any] | None:
    choice = draw(st.integers(0, 4))
    if choice == 4:
        return draw(relative_window())
    if choice == 0:
        return None
    if choice == 1:
        return {"in_past_days": draw(st.sampled_from([1, 7, 30]))}
    if choice == 2:
        return {"in_interval": True}
    return {"between": draw(st.sampled_from([["2026-05-10", "2026-05-10"], ["2026-05-01", "2026-06-30"]]))}


def _test(draw: st.DrawFn, kind: str) -> Any:
    """A change filter's value test: absent, bare, or operator and value (no field)."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return None
    if choice == 1 and kind == "number":
        return draw(st.sampled_from(["at least 10", "at most -1", "between -5 and 10", "more than 9", 10]))
    if choice == 1:
        return draw(st.sampled_from(["Manager", "vp sales", ["France", "Director of IT"]]))
    drawn = draw(condition("_", kind))
    del drawn["field"]
    return drawn


@st.composite
def change_filter(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        flt = {"type": "data_value_changed", "attribute": draw(st.sampled_from(["job_title", "country"])),
               "previous_value": _test(draw, "text"), "new_value": _test(draw, "text")}
    else:
        flt = {"type": "score_changed", "score": draw(st.sampled_from(["lead_score", "fit_score"])),
               "change": _test(draw, "number"), "new_score": _test(draw, "number")}
    return {**flt, "window": draw(window()), "min_times": draw(st.integers(1, 2))}


@st.composite
def a_filter(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["demographic", "behaviour", "inactivity", "change", "membership"]))
    if kind == "demographic":
        field, field_kind = draw(st.sampled_from(DEMOGRAPHIC_FIELDS))
        return {"type": "demographic", **draw(condition(field, field_kind))}
    if kind == "change":
        return draw(change_filter())
    if kind == "membership":
        return draw(st.sampled_from([{"type": "member_of_list", "id": LIST_ID},
                                     {"type": "member_of_campaign_sync", "spec": "webinar"}]))
    where = draw(st.lists(st.sampled_from(ACTIVITY_FIELDS), max_size=2))
    flt: dict[str, Any] = {
        "type": kind,
        "activity": draw(st.sampled_from(ACTIVITY_TYPES)),
        "where": [draw(condition(field, field_kind)) for field, field_kind in where],
        "window": draw(window()),
    }
    if kind == "behaviour":
        flt["min_times"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            flt["max_times"] = flt["min_times"] + draw(st.integers(0, 2))
    return flt


@st.composite
def logic_tree(draw: st.DrawFn, numbers: list[int]) -> Any:
    """A random and/or/not tree that uses each filter number exactly once."""
    if len(numbers) == 1:
        tree: Any = numbers[0]
    else:
        cut = draw(st.integers(1, len(numbers) - 1))
        operator = draw(st.sampled_from(["and", "or"]))
        tree = (operator, draw(logic_tree(numbers[:cut])), draw(logic_tree(numbers[cut:])))
    return ("not", tree) if draw(st.integers(0, 3)) == 0 else tree


@st.composite
def scenario(draw: st.DrawFn) -> tuple[Any, Any, list[dict], list[dict]]:
    people = draw(st.lists(person(), max_size=10))
    activities = draw(st.lists(activity(len(people)), max_size=25))
    filters = draw(st.lists(a_filter(), min_size=1, max_size=4))
    numbers = draw(st.permutations(list(range(1, len(filters) + 1))))
    tree = draw(logic_tree(list(numbers)))
    member_types = draw(st.sampled_from([["lead"], ["contact"], ["lead", "contact"]]))
    spec = make_spec(filters, render(tree), member_types=member_types)
    return spec, tree, people, activities
