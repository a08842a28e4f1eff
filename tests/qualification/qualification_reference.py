"""A slow, obviously correct reference for qualification: one person, one filter, one activity at a time.

Written from the documented semantics only (it shares no code with the
evaluator beyond the parsed spec models), so the property test can compare
the vectorized evaluator against it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zoneinfo
from typing import Any

ONE_DAY = dt.timedelta(days=1)
KNOWN_ATTRIBUTES = ("page_url", "form_name", "email_name", "link_url")
NEGATIVE = {"is_not": "is", "not_in": "in", "not_contains": "contains", "is_not_empty": "is_empty"}
ORDERING = {"gt", "gte", "lt", "lte", "between", "in_past", "in_past_before", "in_future", "in_future_after",
            "in_time_frame", "after", "before", "on_or_after", "on_or_before"}
WORDS = {"after": "gt", "before": "lt", "on_or_after": "gte", "on_or_before": "lte"}
UNIT_HOURS = {"hour": 1, "day": 24, "week": 7 * 24, "month": 30 * 24, "year": 365 * 24}


def length(duration: Any) -> dt.timedelta:
    return dt.timedelta(hours=duration.count * UNIT_HOURS[duration.unit])


def anchored(anchor: Any, as_of: dt.datetime) -> dt.datetime:
    """An as-of anchor's instant."""
    return as_of if anchor.duration is None else as_of + anchor.sign * length(anchor.duration)


def frame(value: Any, as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A calendar time frame's [start, end) in UTC: local midnights of the period's first and next days."""
    zone = zoneinfo.ZoneInfo(value.timezone)
    today = as_of.astimezone(zone).date()
    name = {"today": "this_day", "yesterday": "last_day", "tomorrow": "next_day"}.get(value.name, value.name)
    shift = {"this": 0, "last": -1, "next": 1}[name.split("_")[0]]
    period = name.split("_")[1]
    if period == "day":
        first, after = today + dt.timedelta(days=shift), today + dt.timedelta(days=shift + 1)
    elif period == "week":
        monday = today - dt.timedelta(days=today.weekday())
        first, after = monday + dt.timedelta(days=7 * shift), monday + dt.timedelta(days=7 * shift + 7)
    else:
        size = {"month": 1, "quarter": 3, "year": 12}[period]
        months = [(today.year + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(-36, 48)]
        starts = [dt.date(y, m, 1) for y, m in months if (m - 1) % size == 0 and (size != 12 or m == 1)]
        current = max(day for day in starts if day <= today)
        index = starts.index(current) + shift
        first, after = starts[index], starts[index + 1]
    return (dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC),
            dt.datetime.combine(after, dt.time(), zone).astimezone(dt.UTC))


def relative(moment: dt.datetime, operator: str, expected: Any, as_of: dt.datetime) -> bool:
    """The operators relative to as-of, on an instant."""
    if operator == "in_time_frame":
        start, end = frame(expected, as_of)
        return start <= moment < end
    span = length(expected)
    return {"in_past": as_of - span <= moment < as_of, "in_past_before": moment < as_of - span,
            "in_future": as_of <= moment < as_of + span, "in_future_after": moment >= as_of + span}[operator]


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def as_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def as_instant(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _holds_positive(value: Any, operator: str, expected: Any, as_of: dt.datetime) -> bool:
    if operator == "is_empty":
        return is_null(value) or (isinstance(value, str) and value.strip(" ") == "")
    if is_null(value):
        return False
    options = list(expected) if isinstance(expected, tuple) else [expected]
    sample = expected[0] if isinstance(expected, tuple) else expected
    operator = WORDS.get(operator, operator)
    if operator in ("in_past", "in_past_before", "in_future", "in_future_after", "in_time_frame"):
        moment = as_instant(value)
        return moment is not None and relative(moment, operator, expected, as_of)
    if hasattr(sample, "sign"):  # as-of anchors: instants
        options = [anchored(option, as_of) for option in options]
        expected = tuple(options) if isinstance(expected, tuple) else options[0]
        sample = options[0]
    if isinstance(sample, str):
        text = str(value).lower()
        wanted = [option.lower() for option in options]
        if operator in ("is", "in"):
            return text in wanted
        if operator == "contains":
            return any(option in text for option in wanted)
        if operator == "starts_with":
            return any(text.startswith(option) for option in wanted)
        return any(text.endswith(option) for option in wanted)
    if isinstance(sample, int | float) and not isinstance(sample, bool):
        number = as_number(value)
        if number is None:
            return False
        if operator in ("is", "in"):
            return any(number == option for option in options)
        if operator == "between":
            return expected[0] <= number <= expected[1]
        return {
            "gt": number > sample,
            "gte": number >= sample,
            "lt": number < sample,
            "lte": number <= sample,
        }[operator]
    moment = as_instant(value)
    if moment is None:
        return False
    if isinstance(sample, dt.datetime):  # an instant
        if operator in ("is", "in"):
            return any(moment == option for option in options)
        if operator == "between":
            return expected[0] <= moment <= expected[1]
        return {
            "gt": moment > sample,
            "gte": moment >= sample,
            "lt": moment < sample,
            "lte": moment <= sample,
        }[operator]
    day = moment.astimezone(dt.UTC).date()  # a calendar date: compare whole UTC days
    if operator in ("is", "in"):
        return day in options
    if operator == "between":
        return expected[0] <= day <= expected[1]
    return {"gt": day > sample, "gte": day >= sample, "lt": day < sample, "lte": day <= sample}[operator]


def holds(value: Any, operator: str, expected: Any, as_of: dt.datetime, empty_dates: str = "no_match") -> bool:
    if empty_dates == "match" and _holds_positive(value, "is_empty", None, as_of):
        return True
    if operator in NEGATIVE:
        return not _holds_positive(value, NEGATIVE[operator], expected, as_of)
    return _holds_positive(value, operator, expected, as_of)


def unreadable(value: Any, operator: str, expected: Any) -> bool:
    """A value a filter ordering numbers or dates cannot place (neither missing nor blank): the person is
    left out as an invalid row."""
    if operator not in ORDERING or is_null(value) or (isinstance(value, str) and value.strip(" ") == ""):
        return False
    sample = expected[0] if isinstance(expected, tuple) else expected
    if isinstance(sample, int | float) and not isinstance(sample, bool):
        return as_number(value) is None
    return as_instant(value) is None


def attribute(activity: dict[str, Any], name: str) -> Any:
    if name in KNOWN_ATTRIBUTES:
        return activity.get(name)
    try:
        document = json.loads(activity.get("attributes") or "null")
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    value = document.get(name)
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def in_window(moment: dt.datetime, window: Any, start: dt.datetime, end: dt.datetime) -> bool:
    if moment >= end:
        return False
    if window is None:
        return True
    if window.in_past_days is not None:
        return moment >= end - dt.timedelta(days=window.in_past_days)
    if window.in_interval:
        return moment >= start
    if window.between is not None:
        first, last = window.between
        if isinstance(last, dt.datetime):  # an instant ends the window
            return first <= moment < last
        return first <= moment.date() <= last
    for name in ("in_past", "in_past_before", "in_time_frame", "after", "before", "on_or_after", "on_or_before"):
        value = getattr(window, name)
        if value is not None:
            return _holds_positive(moment, name, value, end)
    raise AssertionError(window)


#: Per change filter type: the activity type, the attribute naming what changed and the filter field that
#: gives it, then the attribute each optional value test reads (the source contract's change-activity shape).
CHANGES = {
    "data_value_changed": ("data_value_changed", "attribute", "attribute",
                           {"previous_value": "old_value", "new_value": "new_value"}),
    "score_changed": ("score_changed", "score", "score", {"change": "change", "new_score": "new_score"}),
}


def counts_activity(flt: Any, activity: dict[str, Any], end: dt.datetime) -> bool:
    """Whether an activity counts for a behaviour, inactivity or change filter (window aside)."""
    if flt.type not in CHANGES:
        return activity["activity_type"] == flt.activity and all(
            holds(attribute(activity, c.field), c.operator.value, c.value, end, c.empty_dates) for c in flt.where)
    activity_type, key, field, tests = CHANGES[flt.type]
    if activity["activity_type"] != activity_type:
        return False
    if not holds(attribute(activity, key), "is", (getattr(flt, field),), end):
        return False
    for name, column in tests.items():
        test = getattr(flt, name)
        if test is not None and not holds(attribute(activity, column), test.operator.value, test.value, end):
            return False
    return True


def is_member(person: dict[str, Any], flt: Any, memberships: dict[str, set[str]]) -> bool:
    """Membership filters: the person's Dynamics id (any case) is among the named list's or sync's ids."""
    ids = memberships["list:" + flt.id if flt.type == "member_of_list" else "campaign-sync:" + flt.spec]
    dynamics_id = person.get("dynamics_id")
    return dynamics_id is not None and dynamics_id.lower() in ids


def reference(
    spec: Any, tree: Any, people: list[dict], activities: list[dict], start, end,
    memberships: dict[str, set[str]] | None = None,
) -> dict[str, dict]:
    """``{person_id: {"matched": [...], "counts": {...}}}`` of the people who qualify."""
    result = {}
    for person in people:
        created = person.get("created_at")
        if person["member_type"] not in spec.member_types or (created is not None and created >= end):
            continue
        if any(flt.type == "demographic" and unreadable(person.get(flt.field), flt.operator.value, flt.value)
               for flt in spec.rules.filters):
            continue
        matched, counts = {}, {}
        for number, flt in enumerate(spec.rules.filters, start=1):
            if flt.type == "demographic":
                matched[number] = holds(person.get(flt.field), flt.operator.value, flt.value, end, flt.empty_dates)
                continue
            if flt.type in ("member_of_list", "member_of_campaign_sync"):
                matched[number] = is_member(person, flt, memberships or {})
                continue
            count = sum(
                1
                for activity in activities
                if activity["person_id"] == person["person_id"]
                and in_window(activity["occurred_at"], flt.window, start, end)
                and counts_activity(flt, activity, end)
            )
            counts[str(number)] = count
            if flt.type == "inactivity":
                matched[number] = count == 0
            else:
                matched[number] = count >= flt.min_times and (flt.max_times is None or count <= flt.max_times)
        if decide(tree, matched):
            reasons: dict[str, Any] = {"matched": [n for n, hit in matched.items() if hit]}
            if counts:  # the counts of the activity filters the person matched
                reasons["counts"] = {n: count for n, count in counts.items() if matched[int(n)]}
            result[person["person_id"]] = reasons
    return result


def decide(tree: Any, matched: dict[int, bool]) -> bool:
    """Evaluate a nested ``("and"|"or"|"not", ...)`` / number tree."""
    if isinstance(tree, int):
        return matched[tree]
    if tree[0] == "not":
        return not decide(tree[1], matched)
    parts = [decide(part, matched) for part in tree[1:]]
    return all(parts) if tree[0] == "and" else any(parts)


def render(tree: Any) -> str:
    """Fully parenthesized logic text for a tree."""
    if isinstance(tree, int):
        return str(tree)
    if tree[0] == "not":
        return f"not ({render(tree[1])})"
    return "(" + f" {tree[0]} ".join(render(part) for part in tree[1:]) + ")"
