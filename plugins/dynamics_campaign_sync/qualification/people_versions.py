"""Choosing, for each person, the row that describes them as of an interval end.

A people table may be a snapshot (one row per person) or a history (one row
per version, ``updated_at`` being the time the version became valid). For each
person we keep the latest version valid before the as-of time; a person whose
every version is newer (a snapshot row updated since) keeps their earliest
version. That is the documented limitation: a snapshot can only tell today's
demographics, so backfills over a snapshot see today's job title or country.

Two rows of one person with the same ``updated_at`` make the version ambiguous:
the caller is told which ids, and leaves them out (see ``invalid_rows``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.contract import PERSON_ID, UPDATED_AT

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


def utc_timestamps(values: pd.Series) -> pd.Series:
    """Timestamps from text or datetimes, as UTC (NaT where missing or not a time)."""
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def versions_as_of(people: pd.DataFrame, as_of: dt.datetime) -> tuple[pd.DataFrame, pd.Index]:
    """One row per person: the version valid at ``as_of`` (see the module docstring); and the ids whose
    version is ambiguous: two rows with the same ``updated_at`` (or, without that column, the same id)."""
    duplicated = people[PERSON_ID].duplicated()
    if not duplicated.any():
        return people, pd.Index([], dtype="str")
    if UPDATED_AT not in people.columns:  # a snapshot: every row of an id is the same version
        tied = pd.Index(people.loc[duplicated, PERSON_ID].unique())
        return people.drop_duplicates(PERSON_ID, keep="last"), tied
    updated = utc_timestamps(people[UPDATED_AT])
    valid = (updated < as_of) | updated.isna()  # a version without a time has always been valid
    ticks = np.array(updated.array.asi8, dtype="int64")  # NaT is the smallest int64
    ticks[updated.isna().to_numpy()] = np.iinfo(np.int64).min + 1  # keep it negatable
    # within a person: invalid versions first, earliest last; valid versions after them, latest last
    order_key = np.where(valid.to_numpy(), ticks, -ticks)
    ordered = people.assign(_valid=valid.to_numpy(), _order=order_key).sort_values(
        [PERSON_ID, "_valid", "_order"], kind="stable"
    )
    chosen = ~ordered[PERSON_ID].duplicated(keep="last")
    same_version = ordered.duplicated([PERSON_ID, "_valid", "_order"], keep=False)
    tied = pd.Index(ordered.loc[chosen & same_version, PERSON_ID])
    latest = ordered.loc[chosen]
    return latest.drop(columns=["_valid", "_order"]).sort_index(), tied
