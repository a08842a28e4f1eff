"""Choosing, for each person, the row that describes them as of an interval end.

A people table may be a snapshot (one row per person) or a history (one row
per version, ``updated_at`` being the time the version became valid). For each
person we keep the latest version valid before the as-of time; a person whose
every version is newer (a snapshot row updated since) keeps their earliest
version. That is the documented limitation: a snapshot can only tell today's
demographics, so backfills over a snapshot see today's job title or country.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dynamics_campaign_sync.qualification.contract import PERSON_ID, UPDATED_AT


def utc_timestamps(values: pd.Series) -> pd.Series:
    """Timestamps from text or datetimes, as UTC (NaT where missing or not a time)."""
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def versions_as_of(people: pd.DataFrame, as_of: dt.datetime) -> pd.DataFrame:
    """One row per person: the version valid at ``as_of`` (see the module docstring)."""
    if UPDATED_AT not in people.columns or not people[PERSON_ID].duplicated().any():
        return people
    updated = utc_timestamps(people[UPDATED_AT])
    valid = (updated < as_of) | updated.isna()  # a version without a time has always been valid
    ticks = np.array(updated.array.asi8, dtype="int64")  # NaT is the smallest int64
    ticks[updated.isna().to_numpy()] = np.iinfo(np.int64).min + 1  # keep it negatable
    # within a person: invalid versions first, earliest last; valid versions after them, latest last
    order_key = np.where(valid.to_numpy(), ticks, -ticks)
    ordered = people.assign(_valid=valid.to_numpy(), _order=order_key).sort_values(
        [PERSON_ID, "_valid", "_order"], kind="stable"
    )
    latest = ordered.drop_duplicates(PERSON_ID, keep="last")
    return latest.drop(columns=["_valid", "_order"]).sort_index()
