"""Trigger campaigns' view of the activities table: the activities past a watermark that wake a campaign.

The watermark is a column of the activities table that orders arrivals (the spec's ``trigger.watermark``): a
monotonic id, or an ingestion timestamp. Both the event trigger (is anything new?) and the triggered run (who has
new activity, up to where?) read through :class:`NewActivityReader`, so they agree on what "new" means. The
trigger's ``where`` conditions are applied with the evaluator's own condition code (:func:`conditions_mask`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
import sqlalchemy as sa

from dynamics_campaign_sync.qualification.contract import ACTIVITY_TYPE, OCCURRED_AT, PERSON_ID
from dynamics_campaign_sync.qualification.people_versions import utc_timestamps
from dynamics_campaign_sync.qualification.pushdown import comparable_timestamp, timestamp_literal
from dynamics_campaign_sync.qualification.sources import SourceError, conditions_mask
from dynamics_campaign_sync.spec.models import SourceConfig, Trigger

Position = int | dt.datetime
#: A campaign's first triggered read starts with the activities of this last stretch; older ones are the batch's.
FIRST_RUN_LOOKBACK = dt.timedelta(hours=1)


@dataclass(frozen=True)
class NewActivity:
    """What lies past a watermark: how far the read went (``until``), the people whose activity matches the
    trigger, and when the newest of those activities happened (``event_time``; None without a match)."""

    since: Position | None
    until: Position | None
    rows_read: int = 0
    people: frozenset[str] = field(default_factory=frozenset)
    matching_rows: int = 0
    event_time: dt.datetime | None = None
    #: The oldest matching activity's time (for latency: from activity to membership).
    first_event_time: dt.datetime | None = None

    @property
    def anything(self) -> bool:
        return self.until is not None and self.until != self.since


class NewActivityReader:
    def __init__(self, engine: sa.Engine | str, source: SourceConfig, trigger: Trigger) -> None:
        self._engine = sa.create_engine(engine) if isinstance(engine, str) else engine
        self._dialect = self._engine.dialect.name
        self.source = source
        self.trigger = trigger

    @cached_property
    def _table(self) -> sa.Table:
        try:
            table = sa.Table(self.source.activities_table, sa.MetaData(), autoload_with=self._engine,
                             schema=self.source.schema_name)
        except sa.exc.NoSuchTableError:
            raise SourceError(f"table {self.source.activities_table!r} not found") from None
        if self.trigger.watermark not in table.columns:
            raise SourceError(f"table {table.name!r} has no watermark column {self.trigger.watermark!r} "
                              "(trigger.watermark)")
        return table

    @property
    def _column(self) -> sa.Column[Any]:
        return self._table.c[self.trigger.watermark]

    def _past(self, position: Position | None) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = [self._table.c[ACTIVITY_TYPE].in_(list(self.trigger.activity_types))]
        if position is None:
            return where
        where.append(self._after(position))
        return where

    def _after(self, position: Position) -> sa.ColumnElement[bool]:
        if not isinstance(position, dt.datetime):  # a monotonic id
            return self._column > position
        if self._dialect == "sqlite":  # with the full fraction, neither "…:01" nor "…:01.000000" is after :01
            text = position.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return sa.type_coerce(self._column, sa.Text) > sa.literal(text, sa.Text)
        return self._column > timestamp_literal(self._column, position, self._dialect)

    def _position(self, value: Any) -> Position:
        if self.trigger.watermark_kind == "timestamp":
            return utc_timestamps(pd.Series([value])).iloc[0].to_pydatetime()
        return int(value)

    def since(self, watermark: Position | None, now: dt.datetime) -> Position | None:
        """Where a read starts: past the ledger's watermark; for a campaign without one, past the activities that
        happened before the last :data:`FIRST_RUN_LOOKBACK` (those are the batch schedule's)."""
        return watermark if watermark is not None else self._start_position(now - FIRST_RUN_LOOKBACK)

    def _start_position(self, cutoff: dt.datetime) -> Position | None:
        table = self._table
        happened = comparable_timestamp(table.c[OCCURRED_AT], self._dialect)
        older = happened < timestamp_literal(table.c[OCCURRED_AT], cutoff, self._dialect)
        with self._engine.connect() as connection:
            value = connection.scalar(sa.select(sa.func.max(self._column)).where(older))
        return None if value is None else self._position(value)

    def read(self, since: Position | None, limit: int | None = None) -> NewActivity:
        """The trigger's activities past ``since`` (at most ``limit`` rows, in watermark order; rows sharing the
        last timestamp are all read, so the next read can start strictly after it)."""
        limit = limit or self.trigger.max_activities_per_run
        query = sa.select(self._table).where(*self._past(since)).order_by(self._column).limit(limit)
        with self._engine.connect() as connection:
            rows = pd.DataFrame(connection.execute(query).mappings().all())
            if len(rows) == limit and self.trigger.watermark_kind == "timestamp":
                last = self._position(rows[self.trigger.watermark].iloc[-1])
                ties = sa.select(self._table).where(*self._past(since), sa.not_(self._after(last)))
                rows = pd.concat([rows, pd.DataFrame(connection.execute(ties).mappings().all())]) \
                    .drop_duplicates(subset=[self.trigger.watermark, PERSON_ID, ACTIVITY_TYPE, OCCURRED_AT]) \
                    .reset_index(drop=True)
        if rows.empty:
            return NewActivity(since=since, until=since)
        until = self._position(rows[self.trigger.watermark].max())
        matching = self._matching(rows)
        if matching.empty:
            return NewActivity(since=since, until=until, rows_read=len(rows))
        happened = utc_timestamps(matching[OCCURRED_AT])
        return NewActivity(
            since=since, until=until, rows_read=len(rows),
            people=frozenset(str(p) for p in matching[PERSON_ID].dropna() if str(p).strip()),
            matching_rows=len(matching),
            event_time=happened.max().to_pydatetime(), first_event_time=happened.min().to_pydatetime(),
        )

    def _matching(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows one of the trigger's activities matches (type and every condition, as of the activity)."""
        keep = pd.Series(False, index=rows.index)
        now = dt.datetime.now(dt.UTC)
        for activity in self.trigger.activities:
            of_type = rows[rows[ACTIVITY_TYPE] == activity.activity]
            if of_type.empty:
                continue
            mask = conditions_mask(of_type.reset_index(drop=True), activity.where, now)
            keep.loc[of_type.index[mask]] = True
        return rows[keep.to_numpy()]
