"""Dates relative to the run's as-of (its data interval end), in Marketo's forms.

* :class:`Duration` — ``"3 weeks"``: a count of Marketo's units, each a fixed length (an hour, a day, a week
  of 7 days, a month of 30 days, a year of 365 days), so a duration is the same span whatever the calendar.
  A bare number is days (``in_past: 30``).
* :class:`Anchor` — ``as_of``, ``"30 days before as_of"``, ``"2 weeks after as_of"``: one instant.
* :class:`TimeFrame` — ``last_month``, ``this_quarter`` …: the calendar period containing the as-of instant
  (or the one before / after it) in a time zone (UTC unless the filter names one), from its first local
  midnight to the next period's, so DST days count 23 or 25 hours.

Everything is an instant range ``[low, high)`` in UTC; :func:`anchor_instant` and :func:`frame_bounds` give
them for one as-of.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from dynamics_campaign_sync.spec.messages import not_one_of

#: Marketo's units as fixed lengths (Marketo's natural-language input: "1 hour", "3 weeks", "14 months").
UNITS: dict[str, dt.timedelta] = {
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(days=7),
    "month": dt.timedelta(days=30),
    "year": dt.timedelta(days=365),
}
AS_OF = "as_of"
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$")
_ANCHOR = re.compile(r"^\s*(.+?)\s+(before|after)\s+as_of\s*$")
#: Calendar periods: ``this_``/``last_``/``next_`` with each period, plus the three days.
PERIODS = ("day", "week", "month", "quarter", "year")
_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}
_SHIFTS = {"this": 0, "last": -1, "next": 1}
TIME_FRAMES = (*_DAYS, *(f"{shift}_{period}" for period in PERIODS[1:] for shift in _SHIFTS))


class RelativeDateError(ValueError):
    """A relative date that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Duration:
    """``count`` of ``unit`` (singular: day, week …)."""

    count: int
    unit: str

    @property
    def delta(self) -> dt.timedelta:
        return self.count * UNITS[self.unit]

    @property
    def whole_days(self) -> int | None:
        """The duration in days, None when it is not a whole number of days (hours)."""
        days, rest = divmod(self.delta, dt.timedelta(days=1))
        return None if rest else days

    def __str__(self) -> str:
        return f"{self.count} {self.unit}{'' if self.count == 1 else 's'}"


@dataclass(frozen=True)
class Anchor:
    """The as-of instant moved ``sign`` (-1 before, +1 after) by ``duration`` (None: as-of itself)."""

    duration: Duration | None = None
    sign: int = 0

    def __str__(self) -> str:
        if self.duration is None:
            return AS_OF
        return f"{self.duration} {'before' if self.sign < 0 else 'after'} {AS_OF}"


@dataclass(frozen=True)
class TimeFrame:
    """A calendar period relative to as-of, in ``timezone``."""

    name: str
    timezone: str = "UTC"

    def __str__(self) -> str:
        text = self.name.replace("_", " ")
        return text if self.timezone == "UTC" else f"{text} ({self.timezone})"


def parse_duration(raw: object, what: str) -> Duration:
    """A positive whole number of days, or ``"<N> <unit>"`` text; ``what`` names the field in errors."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw <= 0:
            raise RelativeDateError(f"{what} needs a positive whole number of days, got {raw!r}")
        return Duration(raw, "day")
    match = _DURATION.match(raw.lower()) if isinstance(raw, str) else None
    unit = match.group(2) if match else ""
    if match is None or unit not in UNITS or int(match.group(1)) <= 0:
        units = ", ".join(UNITS)
        raise RelativeDateError(f"{what} needs a positive whole number of days or '<N> <unit>' with a unit of {units} "
                                f"(a month is 30 days, a year 365), got {raw!r}")
    return Duration(int(match.group(1)), unit)


def parse_anchor(raw: str) -> Anchor | None:
    """``as_of`` or ``"<N> <unit> before|after as_of"``; None when the text is neither (maybe a date)."""
    if raw.strip() == AS_OF:
        return Anchor()
    match = _ANCHOR.match(raw)
    if match is None:
        return None
    duration = parse_duration(match.group(1), f"{raw!r}")
    return Anchor(duration, -1 if match.group(2) == "before" else 1)


def parse_time_frame(raw: object, timezone: str | None) -> TimeFrame:
    if not isinstance(raw, str) or raw not in TIME_FRAMES:
        raise RelativeDateError(not_one_of(raw, TIME_FRAMES))
    return TimeFrame(raw, check_timezone(timezone or "UTC"))


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise RelativeDateError(f"{name!r} is not a known IANA timezone") from None
    return name


def anchor_instant(anchor: Anchor, as_of: dt.datetime) -> dt.datetime:
    if anchor.duration is None:
        return as_of
    return as_of + anchor.sign * anchor.duration.delta


def _period_start(local: dt.date, period: str, shift: int) -> dt.date:
    """The first day of the ``period`` holding ``local``, moved ``shift`` periods."""
    if period == "day":
        return local + dt.timedelta(days=shift)
    if period == "week":  # ISO weeks: Monday first
        return local - dt.timedelta(days=local.weekday()) + dt.timedelta(weeks=shift)
    if period == "year":
        return dt.date(local.year + shift, 1, 1)
    months = 3 if period == "quarter" else 1
    index = local.year * 12 + (local.month - 1) // months * months + shift * months
    return dt.date(index // 12, index % 12 + 1, 1)


def frame_bounds(frame: TimeFrame, as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC of the calendar period ``frame`` names for ``as_of``."""
    zone = zoneinfo.ZoneInfo(frame.timezone)
    if frame.name in _DAYS:
        period, shift = "day", _DAYS[frame.name]
    else:
        word, period = frame.name.split("_", 1)
        shift = _SHIFTS[word]
    start = _period_start(as_of.astimezone(zone).date(), period, shift)
    end = _period_start(start, period, 1)

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)

    return midnight(start), midnight(end)
