"""The event sources of trigger campaigns: what wakes a campaign's triggered DAG (an ``AssetWatcher`` on its asset).

``source_table``: :class:`NewActivityTrigger` polls the activities table past the ledger's watermark — no other
infrastructure. ``queue``: Airflow's common-messaging ``MessageQueueTrigger`` (Redis, Kafka, SQS … by scheme). Either
way an event only wakes the campaign: the triggered run reads who has new activity from the table past the watermark,
so an event lost, duplicated or coalesced with others changes nothing but when the run happens.

Nothing heavy is imported here at module level: DAG files build these on every parse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

if TYPE_CHECKING:
    from dynamics_campaign_sync.spec import CampaignSpec


class NewActivityTrigger(BaseEventTrigger):
    """Fires when the campaign's trigger activities appear past what it last announced (at first: the ledger's
    watermark), at most once per poll: a burst of activities between two polls is one event."""

    def __init__(self, *, campaign_key: str, source: dict[str, Any], trigger: dict[str, Any],
                 ledger_conn_id: str, poll_seconds: float) -> None:
        super().__init__()
        self.campaign_key = campaign_key
        self.source = source
        self.trigger = trigger
        self.ledger_conn_id = ledger_conn_id
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"campaign_key": self.campaign_key, "source": self.source, "trigger": self.trigger,
                 "ledger_conn_id": self.ledger_conn_id, "poll_seconds": self.poll_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from dynamics_campaign_sync.hooks.database import SqlDatabaseHook, url_from_connection

        source = await SqlDatabaseHook.aget_connection(self.source["conn_id"])
        ledger_url = url_from_connection(await SqlDatabaseHook.aget_connection(self.ledger_conn_id))
        # Importing pandas and SQLAlchemy's schema (and a provider's hook) takes a while: not on the event loop.
        ledger, reader = await asyncio.to_thread(self._open, source, ledger_url)
        announced = None
        try:
            while True:
                found = await asyncio.to_thread(self._poll, ledger, reader, announced)
                if found is not None:
                    announced, event = found
                    if event is not None:
                        yield TriggerEvent(event)
                await asyncio.sleep(self.poll_seconds)
        finally:
            ledger.close()

    def _open(self, source: Any, ledger_url: str) -> tuple[Any, Any]:
        from dynamics_campaign_sync.hooks.database import source_engine
        from dynamics_campaign_sync.ledger import Ledger
        from dynamics_campaign_sync.qualification.new_activity import NewActivityReader
        from dynamics_campaign_sync.spec.models import SourceConfig, Trigger

        reader = NewActivityReader(source_engine(source), SourceConfig.model_validate(self.source),
                                   Trigger.model_validate(self.trigger))
        return Ledger.from_url(ledger_url), reader

    def _poll(self, ledger: Any, reader: Any, announced: Any) -> tuple[Any, dict[str, Any] | None] | None:
        """``(new announced position, event or None)`` when activities lie past it, else None (in a thread)."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            watermark = ledger.watermark(self.campaign_key)
        except SQLAlchemyError:  # a ledger no run has migrated yet has no watermark table
            watermark = None
        since = reader.since(watermark.position if watermark else None, dt.datetime.now(dt.UTC))
        if announced is not None and (since is None or announced > since):
            since = announced
        new = reader.read(since)
        if not new.anything:
            return None
        if not new.people:
            return new.until, None  # only activities the trigger's conditions rule out: nothing to wake for
        return new.until, {"campaign_key": self.campaign_key, "until": _jsonable(new.until),
                           "people": len(new.people), "first_event_time": _jsonable(new.first_event_time)}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def event_trigger(spec: CampaignSpec, ledger_conn_id: str) -> BaseEventTrigger:
    """The trigger that wakes ``spec``'s triggered DAG, per its ``trigger.events``."""
    trigger = spec.trigger
    assert trigger is not None
    if trigger.events == "queue":
        assert trigger.queue is not None
        from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

        return MessageQueueTrigger(scheme=trigger.queue.scheme, **trigger.queue.options)
    return NewActivityTrigger(
        # What the spec set, only: re-validated in the triggerer, defaults are given again (and options that go
        # only with some settings, e.g. Dataverse people's, are not suddenly "set").
        campaign_key=spec.key,
        source={**spec.source.model_dump(mode="json", by_alias=True, exclude_unset=True),
                "conn_id": spec.source.conn_id},
        trigger=trigger.model_dump(mode="json", exclude_unset=True), ledger_conn_id=ledger_conn_id, poll_seconds=trigger.poll_seconds)


def activity_asset(spec: CampaignSpec, ledger_conn_id: str) -> Asset:
    """The asset whose events wake ``spec``'s triggered DAG: "new qualifying activity for this campaign"."""
    return Asset(name=f"campaign_activity.{spec.key}", uri=f"campaign-activity://{spec.key}",
                 group="campaign_activity",
                 watchers=[AssetWatcher(name=f"campaign_activity_{spec.key}",
                                        trigger=event_trigger(spec, ledger_conn_id))])
