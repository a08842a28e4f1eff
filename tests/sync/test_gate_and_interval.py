"""Campaign gate rules and the run interval of runs with and without a logical date."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from dynamics_campaign_sync.dataverse import Campaign
from dynamics_campaign_sync.sync.gate import blocked_reason, parse_blocked_statuses
from dynamics_campaign_sync.sync.interval import run_interval


def campaign(statecode: int, statuscode: int) -> Campaign:
    return Campaign(id="c1", name="Launch", statecode=statecode, statuscode=statuscode)


def test_inactive_always_blocks_and_listed_statuses_block_too():
    blocked = parse_blocked_statuses(["completed", "Canceled"])
    assert blocked == {6, 3, 4}
    assert "inactive" in blocked_reason(campaign(1, 6), parse_blocked_statuses([]))
    assert "completed" in blocked_reason(campaign(0, 3), blocked)
    assert blocked_reason(campaign(0, 2), blocked) is None
    assert blocked_reason(campaign(0, 3), parse_blocked_statuses(["inactive"])) is None


def test_unknown_status_names_the_value():
    with pytest.raises(ValueError, match="'finished'"):
        parse_blocked_statuses(["finished"])
    assert 100000001 in parse_blocked_statuses([100000001])  # an organisation's own status reason


def test_scheduled_runs_use_their_data_interval():
    start, end = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)
    context = {"logical_date": end, "data_interval_start": start, "data_interval_end": end}
    assert run_interval(context, "0 6 * * *", "UTC") == (start, end)


def test_runs_without_a_logical_date_evaluate_the_cron_period_ending_at_run_after():
    run_after = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)
    context = {"logical_date": None, "dag_run": SimpleNamespace(run_after=run_after)}
    assert run_interval(context, "0 6 * * *", "UTC") == (run_after - dt.timedelta(days=1), run_after)
    # Weekdays only: a Monday run covers the weekend too (2026-03-02 is a Monday).
    weekdays = run_interval(context, "30 5 * * 1-5", "Europe/Berlin")
    assert weekdays == (run_after - dt.timedelta(days=3), run_after)


def test_airflow_pendulum_intervals_become_plain_utc_datetimes():
    import pendulum

    start, end = pendulum.datetime(2026, 3, 1, 6, tz="Europe/London"), pendulum.datetime(2026, 3, 2, 6, tz="Europe/London")
    got = run_interval({"logical_date": end, "data_interval_start": start, "data_interval_end": end}, "0 6 * * *", "UTC")
    assert all(type(v) is dt.datetime and v.tzinfo is dt.UTC for v in got)
    # Arithmetic keeps the zone (pendulum's loses a standard-library one), so comparisons never mix naive and aware.
    assert (got[0] + (got[1] - got[0]) / 2).tzinfo is dt.UTC
