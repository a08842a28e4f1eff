"""The data interval a sync run evaluates, also for runs that have none."""

from __future__ import annotations

import datetime as dt
from typing import Any

from croniter import croniter

from dynamics_campaign_sync.utc import to_utc


def cron_period_ending(cron: str, timezone: str, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The cron interval ``(previous tick, end)``: for ``0 6 * * *`` and an end of 14:00, the 24 h before it."""
    local_end = end.astimezone(_zone(timezone))
    ticks = croniter(cron, local_end)
    last = ticks.get_prev(dt.datetime)
    before = croniter(cron, last).get_prev(dt.datetime)
    return end - (last - before), end


def run_interval(context: Any, cron: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """``(start, end)`` of the run in UTC.

    Scheduled and backfill runs have a real data interval. Manual runs triggered without a date and
    asset-triggered runs have no logical date (Airflow 3) and no interval: they evaluate the cron
    period ending at the moment the run was asked for (``run_after``).
    """
    if context.get("logical_date") is not None:
        try:
            start, end = context["data_interval_start"], context["data_interval_end"]
        except KeyError:
            start = end = None
        if start is not None and end is not None and end > start:
            return to_utc(start), to_utc(end)
    run_after = context["dag_run"].run_after
    return tuple(to_utc(v) for v in cron_period_ending(cron, timezone, to_utc(run_after)))  # type: ignore[return-value]


def _zone(name: str) -> dt.tzinfo:
    import zoneinfo

    return zoneinfo.ZoneInfo(name)
