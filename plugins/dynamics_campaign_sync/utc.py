"""UTC instants: every time the product stores, compares or computes with is a plain ``datetime`` in UTC.

Two ways in, on purpose: a spec's values and Airflow's interval bounds may be naive and then mean UTC
(:func:`to_utc`); times handed to the qualification engine and the ledger must say their zone, because guessing
it would shift a window or a history entry silently (:func:`aware_utc`).
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_utc(value: dt.datetime) -> dt.datetime:
    """The same instant as a plain ``datetime`` in UTC; a naive value is taken to be UTC already.

    Plain, because Airflow hands out pendulum datetimes, whose arithmetic with a standard-library timezone loses
    the zone; the qualification layer does such arithmetic.
    """
    aware = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime(*aware.timetuple()[:6], aware.microsecond, tzinfo=dt.UTC)


def aware_utc(value: object, what: str, error: type[Exception] = ValueError) -> dt.datetime:
    """``value`` in UTC; ``error`` naming ``what`` when it is no datetime or a naive one."""
    if not isinstance(value, dt.datetime):
        raise error(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(dt.UTC)
