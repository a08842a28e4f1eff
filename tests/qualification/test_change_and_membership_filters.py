"""Change filters ("Data Value Changed", "Score was Changed") and membership filters ("member of list",
"member of campaign sync"): how they are written and validated (file and field named), described, and
evaluated — the compiled query on every dialect and the frame evaluator, against the reference."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from qualification_helpers import END, START, activities_frame, make_spec, people_frame
from qualification_reference import reference
from source_databases import DIALECTS, source_engine, write_source
from test_spec import ONE_FILTER, VALID, problems, write

from dynamics_campaign_sync.qualification import DataFrameSource, SqlSource
from dynamics_campaign_sync.qualification.compiler import membership
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
from dynamics_campaign_sync.qualification.memberships import MembershipFacts
from dynamics_campaign_sync.spec import collect_specs
from dynamics_campaign_sync.spec.describe import filter_texts

DAY = dt.timedelta(days=1)
LIST_ID = "11111111-0000-4000-8000-000000000000"


def change(kind: str, days_ago: float, **attributes) -> dict:
    return {"activity_type": kind, "occurred_at": END - days_ago * DAY, "attributes": json.dumps(attributes)}


PEOPLE = [{"member_type": "lead", "job_title": "Director", "dynamics_id": f"AAAAAAAA-0000-4000-8000-00000000000{n}"} for n in range(1, 6)]
ACTIVITIES = [
    {"person_id": "P001", **change("data_value_changed", 3, attribute="job_title", old_value="Manager",
                                   new_value="Director of IT")},
    {"person_id": "P002", **change("data_value_changed", 3, attribute="Job_Title", old_value="Engineer",
                                   new_value="Director")},
    {"person_id": "P003", **change("data_value_changed", 45, attribute="job_title", old_value="Manager",
                                   new_value="Director")},  # outside the window
    {"person_id": "P003", **change("score_changed", 2, score="lead_score", change=12, new_score=52)},
    {"person_id": "P004", **change("score_changed", 2, score="lead_score", change=-3, new_score="40")},
    {"person_id": "P004", **change("score_changed", 1, score="lead_score", change=4, new_score=44)},
    {"person_id": "P005", **change("score_changed", 2, score="fit_score", change=20, new_score=80)},
    {"person_id": "P005", "activity_type": "web_visit", "occurred_at": END - DAY,
     "attributes": json.dumps({"attribute": "job_title"})},  # not a change activity
]
FILTERS = {
    "promoted": ({"type": "data_value_changed", "attribute": "job_title", "previous_value": "manager",
                  "new_value": {"operator": "contains", "value": "director"}, "window": {"in_past_days": 30}},
                 {"P001"}),
    "any title change": ({"type": "data_value_changed", "attribute": "job_title"}, {"P001", "P002", "P003"}),
    "score up 10": ({"type": "score_changed", "score": "lead_score", "change": "at least 10"}, {"P003"}),
    "small moves twice": ({"type": "score_changed", "score": "lead_score", "change": "between -5 and 5",
                           "min_times": 2}, {"P004"}),
    "new score": ({"type": "score_changed", "score": "lead_score", "new_score": {"operator": "gte", "value": 44}},
                  {"P003", "P004"}),
    "in the list": ({"type": "member_of_list", "id": LIST_ID}, {"P001", "P004"}),
    "in webinar": ({"type": "member_of_campaign_sync", "spec": "webinar"}, {"P002"}),
}
FACTS = {f"list:{LIST_ID}": {"aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000004"},
         "campaign-sync:webinar": {"aaaaaaaa-0000-4000-8000-000000000002"}}


@pytest.fixture(scope="module", params=DIALECTS)
def engine(request):
    yield from source_engine(request.param)


def _qualified(spec, source, facts) -> dict:
    result = evaluate(spec, source, START, END, MembershipFacts.of(facts))
    return {pid: json.loads(text) for pid, text in zip(result.qualified["person_id"], result.qualified["reasons"],
                                                        strict=True)}


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_on_every_dialect_and_in_memory_agrees_with_the_reference(engine, name):
    written, expected = FILTERS[name]
    spec = make_spec([written])
    people, activities = people_frame(PEOPLE), activities_frame(ACTIVITIES)
    write_source(engine, people, activities)
    plain = [{"person_id": f"P{i:03d}", **row} for i, row in enumerate(PEOPLE, start=1)]
    wanted = reference(spec, 1, plain, activities_frame(ACTIVITIES).to_dict("records"), START, END,
                       FACTS)
    assert set(wanted) == expected
    assert _qualified(spec, SqlSource(engine), FACTS) == wanted
    assert _qualified(spec, DataFrameSource(people, activities), FACTS) == wanted


def test_a_large_list_travels_as_a_values_table_with_the_same_answer(engine, monkeypatch):
    spec = make_spec([FILTERS["in the list"][0], FILTERS["any title change"][0]], "1 and not 2")
    write_source(engine, people_frame(PEOPLE), activities_frame(ACTIVITIES))
    many = {f"list:{LIST_ID}": FACTS[f"list:{LIST_ID}"] | {f"{n:08x}-0000-4000-8000-000000000000"
                                                           for n in range(membership.BOUND_IDS * 3)}}
    assert set(_qualified(spec, SqlSource(engine), many)) == {"P004"}
    monkeypatch.setattr(membership, "BOUND_IDS", 10_000)  # the same facts as bound parameters
    assert set(_qualified(spec, SqlSource(engine), many)) == {"P004"}


def test_evaluating_without_the_facts_a_membership_filter_needs_names_it():
    spec = make_spec([FILTERS["in webinar"][0]])
    with pytest.raises(ValueError, match=r"rules.filters\[1\] \(member_of_campaign_sync\) needs membership facts"):
        evaluate(spec, DataFrameSource(people_frame(PEOPLE)), START, END)


def test_the_written_forms_mean_the_conditions_they_stand_for():
    spec = make_spec([
        {"type": "score_changed", "score": "lead_score", "change": "at most -1", "new_score": "less than 10"},
        {"type": "score_changed", "score": "lead_score", "change": 5, "new_score": "more than 2.5"},
        {"type": "data_value_changed", "attribute": "country", "previous_value": ["France", "Spain"],
         "new_value": {"operator": "is_empty"}},
    ])
    tests = [[(c.field, c.operator.value, c.value) for c in flt.where[1:]] for _, flt in spec.rules.numbered()]
    assert tests == [[("change", "lte", -1), ("new_score", "lt", 10)],
                     [("change", "is", (5,)), ("new_score", "gt", 2.5)],
                     [("old_value", "in", ("France", "Spain")), ("new_value", "is_empty", None)]]
    assert [flt.activity for _, flt in spec.rules.numbered()] == ["score_changed"] * 2 + ["data_value_changed"]


def test_filters_are_described_in_plain_words():
    spec = make_spec([FILTERS["promoted"][0], FILTERS["small moves twice"][0], FILTERS["in the list"][0],
                      {"type": "member_of_list", "name": "VIP accounts"}, FILTERS["in webinar"][0]],
                     "1 and 2 and 3 and 4 and not 5")
    assert list(filter_texts(spec).values()) == [
        "Data value changed: job_title from a value is 'manager' to a value contains 'director' at least 1 time "
        "in the past 30 days",
        "Score was changed: lead_score by a change between -5 and 5 at least 2 times ever",
        f"Member of Dynamics list {LIST_ID}",
        "Member of Dynamics list 'VIP accounts'",
        "Member of the campaign synced by spec 'webinar'",
    ]


@pytest.mark.parametrize(("written", "line"), [
    ("{type: score_changed, score: lead_score, change: lots}",
     "rules.filters[2].change: 'lots' is no amount: write 'at least N', 'at most N', 'more than N', 'less than N', "
     "'between A and B' or a number, or operator and value"),
    ("{type: score_changed, score: lead_score, change: 'between 5 and -5'}",
     "rules.filters[2].change.value: between needs low <= high, got [5, -5]"),
    ("{type: data_value_changed, attribute: job_title, new_value: {field: x, operator: is, value: y}}",
     "rules.filters[2].new_value: the filter sets the field: give operator and value only"),
    ("{type: data_value_changed, attribute: job_title, previous_value: {operator: startswith, value: M}}",
     "rules.filters[2].previous_value.operator: 'startswith' is not one of"),
    ("{type: data_value_changed, attribute: job title}", "rules.filters[2].attribute: String should match"),
    ("{type: data_value_changed, attribute: job_title, min_times: 3, max_times: 2}",
     "rules.filters[2]: max_times (2) is below min_times (3)"),
    ("{type: member_of_list, id: 'not-a-guid'}", "rules.filters[2].id: 'not-a-guid' is not a GUID"),
    ("{type: member_of_list}", "rules.filters[2]: give exactly one of id, name"),
    ("{type: member_of_campaign_sync, spec: Webinar}", "rules.filters[2].spec: String should match pattern"),
])
def test_invalid_filters_name_the_file_and_the_field(tmp_path, written, line):
    path = write(tmp_path, VALID.format(filters=f"{ONE_FILTER}\n    - {written}", logic="all"))
    lines = problems(path)
    assert len(lines) == 1 and lines[0].startswith(f"{path}: {line}"), lines


def test_a_campaign_sync_reference_must_name_another_valid_spec_of_the_folder(tmp_path):
    def spec_file(key: str, other: str) -> None:
        filters = f"{ONE_FILTER}\n    - {{type: member_of_campaign_sync, spec: {other}}}"
        text = VALID.format(filters=filters, logic="1 and not 2").replace("key: demo", f"key: {key}")
        write(tmp_path, text.replace("{name: Demo}", f"{{name: {key}}}"), f"{key}.yaml")

    spec_file("nurture", "webinar")  # fine: webinar is in the folder
    spec_file("webinar", "webinr")  # a typo
    spec_file("solo", "solo")  # itself
    collection = collect_specs(tmp_path)
    assert [spec.key for spec in collection.specs] == ["nurture"]
    assert sorted(str(p) for p in collection.problems) == [
        f"{tmp_path / 'solo.yaml'}: rules.filters[2].spec: 'solo' is this spec itself: name another campaign sync",
        f"{tmp_path / 'webinar.yaml'}: rules.filters[2].spec: no valid spec with key 'webinr' in this folder "
        "(did you mean 'webinar'?)",
    ]
