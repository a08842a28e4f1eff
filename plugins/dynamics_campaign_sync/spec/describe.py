"""Plain-language rendering of a campaign sync spec, for the Airflow UI and for reviews.

A marketer reading a DAG's documentation should see the smart list as
sentences ("Visited web page where page_url contains '/pricing' at least 3
times in the past 30 days"), not YAML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.campaign_status import campaign_status_label
from dynamics_campaign_sync.spec.logic import render
from dynamics_campaign_sync.spec.operators import ORDERING
from dynamics_campaign_sync.spec.relative_dates import Anchor

if TYPE_CHECKING:
    from dynamics_campaign_sync.spec.models import CampaignSpec, Condition, Window

_ACTIVITY_NAMES = {
    "web_visit": "Visited web page",
    "form_fill": "Filled out form",
    "email_open": "Opened email",
    "email_click": "Clicked link in email",
}


#: How each date operator reads in a sentence, before its value.
_DATE_PHRASES = {
    "in_past": "in the past",
    "in_past_before": "more than",
    "in_future": "in the next",
    "in_future_after": "more than",
    "in_time_frame": "in",
}
_DATE_TAILS = {"in_past_before": " ago", "in_future_after": " ahead"}
_EMPTY_DATES = " (or empty)"


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Anchor):
        return _anchor_text(value)
    return str(value)


def _anchor_text(anchor: Anchor) -> str:
    if anchor.duration is None:
        return "the run's as-of"
    return f"{anchor.duration} {'before' if anchor.sign < 0 else 'after'} the run's as-of"


def _date_text(operator: str, value: Any) -> str:
    """An ordering operator and its value: ``in the past 2 weeks``, ``more than 1 year ago``, ``in last month (Europe/Berlin)``, ``after …``."""
    if operator in _DATE_PHRASES:
        return f"{_DATE_PHRASES[operator]} {value}{_DATE_TAILS.get(operator, '')}"
    if operator == "between":
        low, high = value
        return f"between {_literal(low)} and {_literal(high)}"
    return f"{operator.replace('_', ' ')} {_literal(value)}"


def describe_condition(condition: Condition) -> str:
    """``job_title contains 'VP' or 'Director'``; ``renewal_date in the next 30 days``."""
    operator = condition.operator.value
    if operator in ("is_empty", "is_not_empty"):
        return f"{condition.field} {operator.replace('_', ' ')}"
    if condition.operator in ORDERING:
        text = f"{condition.field} {_date_text(operator, condition.value)}"
    else:
        text = f"{condition.field} {operator.replace('_', ' ')} " + " or ".join(
            _literal(v) for v in condition.values)
    return text + (_EMPTY_DATES if condition.matches_empty else "")


def describe_window(window: Window | None) -> str:
    if window is None:
        return "ever"
    if window.in_interval:
        return "during the run's data interval"
    chosen = window.operator
    assert chosen is not None
    return _date_text(*chosen)


def _times(min_times: int, max_times: int | None) -> str:
    if max_times is not None:
        return f"{min_times} to {max_times} times"
    return f"at least {min_times} time{'s' if min_times != 1 else ''}"


def _value_test(label: str, condition: Condition | None) -> str:
    """``new value contains 'Director'`` for a change filter's test on one attribute of the change."""
    if condition is None:
        return ""
    return f" {label}{describe_condition(condition)[len(condition.field):]}"


def _describe_change(flt: Any) -> str:
    if flt.type == "data_value_changed":
        what = f"Data value changed: {flt.attribute}" + _value_test("from a value", flt.previous_value)
        what += _value_test("to a value", flt.new_value)
    else:
        what = f"Score was changed: {flt.score}" + _value_test("by a change", flt.change)
        what += _value_test("to a new score", flt.new_score)
    return f"{what} {_times(flt.min_times, flt.max_times)} {describe_window(flt.window)}"


def _describe_membership(flt: Any) -> str:
    if flt.type == "member_of_list":
        return f"Member of Dynamics {flt.describe()}"
    return f"Member of the campaign synced by spec '{flt.spec}'"


def describe_filter(flt: Any) -> str:
    """One sentence for a filter as written."""
    if flt.type == "demographic":
        return describe_condition(flt)
    if flt.type in ("data_value_changed", "score_changed"):
        return _describe_change(flt)
    if flt.type in ("member_of_list", "member_of_campaign_sync"):
        return _describe_membership(flt)
    action = _ACTIVITY_NAMES.get(flt.activity, f"Had activity '{flt.activity}'")
    where = ""
    if flt.where:
        where = " where " + " and ".join(describe_condition(c) for c in flt.where)
    window = describe_window(flt.window)
    if flt.type == "inactivity":
        return f"Not: {action}{where} {window}"
    return f"{action}{where} {_times(flt.min_times, flt.max_times)} {window}"


def filter_texts(spec: CampaignSpec) -> dict[int, str]:
    """Each filter's sentence by its number (from 1), as :func:`describe_reason` takes them."""
    return {number: describe_filter(flt) for number, flt in spec.rules.written()}


def describe_reason(reason: Mapping[str, Any] | None, texts: Mapping[int, str]) -> str:
    """A plan or event reason in words: the filters a person matched, each with the activities it counted
    ("1. Visited web page where page_url contains '/pricing' at least 3 times in the past 30 days (4 counted)"),
    or the removal rule. ``texts`` are the filter sentences by number (see :func:`filter_texts`)."""
    if not reason:
        return ""
    if reason.get("rule"):
        return str(reason["rule"])
    counts = reason.get("counts") or {}
    parts = []
    for number in reason.get("matched") or []:
        part = f"{number}. {texts.get(number, 'filter no longer in the spec')}"
        if str(number) in counts:
            part += f" ({counts[str(number)]} counted)"
        parts.append(part)
    return "; ".join(parts)


#: How often a person may qualify, and when members who stop qualifying leave: "{period}" as the spec wrote it.
_QUALIFICATION_TEXTS = {
    "once": "each person can qualify once",
    "every_time": "each person can qualify every time",
    "every_n_days": "each person can qualify once every {period}",
}
_REMOVAL_TEXTS = {
    "mirror": "removed as soon as they stop qualifying",
    "never": "never removed",
    "after_days": "removed after {period} without qualifying",
}


def _qualification_text(spec: CampaignSpec) -> str:
    return _QUALIFICATION_TEXTS[spec.qualification.rule].format(period=spec.qualification.period)


def _removal_text(spec: CampaignSpec) -> str:
    return _REMOVAL_TEXTS[spec.removal.policy].format(period=spec.removal.period)


def _drift_text(spec: CampaignSpec) -> str:
    if spec.drift.removed_in_dynamics == "restore":
        return "re-added while they qualify"
    return "left out until they stop qualifying and qualify again"


def _schedule_text(spec: CampaignSpec) -> str:
    if spec.schedule is None:
        return "- **Schedule:** none (trigger-only: batch runs only when asked)"
    return (f"- **Schedule:** `{spec.schedule.cron}` ({spec.schedule.timezone}) "
            f"from {spec.schedule.start_date.isoformat()}")


def _trigger_text(spec: CampaignSpec) -> str:
    trigger = spec.trigger
    assert trigger is not None
    woken_by = "; ".join(
        " ".join([f"`{a.activity}`", *(f"where {describe_condition(c)}" for c in a.where)])
        for a in trigger.activities)
    arrival = (f"queue `{trigger.queue.scheme}`" if trigger.queue is not None
               else f"the activities table polled every {trigger.poll_seconds:g} s")
    return (f"- **Trigger:** woken by {woken_by}; events from {arrival}, past the watermark "
            f"`{trigger.watermark}` ({trigger.watermark_kind})")


def render_doc_md(spec: CampaignSpec) -> str:
    """The Markdown shown as the DAG's documentation."""
    campaign = (
        f"`{spec.campaign.id}`"
        if spec.campaign.id
        else f"named **{spec.campaign.name}** (resolved at run time)"
    )
    lines = [f"# {spec.title}", ""]
    if spec.description:
        lines += [spec.description.strip(), ""]
    lines += [
        f"- **Dynamics campaign:** {campaign}",
        f"- **Members:** {', '.join(spec.member_types)}",
        f"- **Owner:** {spec.owner}",
        _schedule_text(spec),
        f"- **Source:** {_describe_source(spec.source)}",
    ]
    if spec.trigger is not None:
        lines.append(_trigger_text(spec))
    if spec.tags:
        lines.append(f"- **Tags:** {', '.join(spec.tags)}")
    if spec.path:
        lines.append(f"- **Spec file:** `{spec.path}`")
    lines += ["", "## Smart list", ""]
    lines += [f"{number}. {describe_filter(flt)}" for number, flt in spec.rules.written()]
    lines += ["", f"**Logic:** `{render(spec.rules.tree)}`", "", "## Flow", ""]
    guard = spec.guard
    blocked = ", ".join(campaign_status_label(code) or str(code) for code in spec.blocked_statuses)
    lines += [
        f"- **Qualification:** {_qualification_text(spec)}",
        f"- **Removal:** members are {_removal_text(spec)}",
        f"- **Guard:** max adds {guard.max_adds if guard.max_adds is not None else 'unlimited'}, "
        f"max removes {guard.max_removes if guard.max_removes is not None else 'unlimited'}, "
        f"max invalid source rows {guard.max_invalid_rows if guard.max_invalid_rows is not None else 'unlimited'}, "
        f"empty source {'allowed' if guard.allow_empty_source else 'stops the run'}",
        f"- **Writes blocked when the campaign is:** {blocked or 'never'}",
        f"- **Drift:** members someone takes out of our list in Dynamics are {_drift_text(spec)}; members "
        "whose lead or contact is deleted are recorded and never written to again",
        "",
        "Windows start inclusive and end exclusive at the run's data interval end; "
        "activities after the interval end are not seen, so backfills give the same answer at any time.",
    ]
    return "\n".join(lines) + "\n"


def _describe_source(source: Any) -> str:
    tables = f"connection `{source.conn_id}`, tables `{source.people_table}` and `{source.activities_table}`"
    if not source.from_dataverse:
        return tables
    tracking = "change tracking" if source.change_tracking else "full reads with $filter"
    tables_read = source.entity or "leads and contacts as the member types say"
    return (f"people from Dynamics ({tables_read}, {tracking}); "
            f"activities, if any filter needs them, from {tables}, joined by {source.join_on}")
