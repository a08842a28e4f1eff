"""Base for triggers that poll Dataverse until a condition holds (they run in the triggerer process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class DataversePollingTrigger(BaseTrigger):
    """Calls :meth:`check` every ``poll_interval`` seconds until it returns an event.

    The Dataverse client is synchronous; each check runs in a worker thread so the triggerer's event
    loop stays free. A Dataverse error ends the wait with ``{"outcome": "error", "message": ...}``.
    """

    def __init__(self, *, dynamics_conn_id: str, poll_interval: float = 60.0) -> None:
        super().__init__()
        self.dynamics_conn_id = dynamics_conn_id
        self.poll_interval = poll_interval

    def serialize_kwargs(self) -> dict[str, Any]:
        """Constructor arguments besides the connection id and poll interval."""
        raise NotImplementedError

    def check(self, client: Any) -> dict[str, Any] | None:
        """The event payload when the wait is over, else None (runs in a thread)."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"dynamics_conn_id": self.dynamics_conn_id, "poll_interval": self.poll_interval,
             **self.serialize_kwargs()},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from dynamics_campaign_sync.dataverse import DataverseError
        from dynamics_campaign_sync.hooks.dynamics import DynamicsHook, client_from_connection

        client = client_from_connection(await DynamicsHook.aget_connection(self.dynamics_conn_id))
        try:
            while True:
                try:
                    payload = await asyncio.to_thread(self.check, client)
                except DataverseError as exc:
                    yield TriggerEvent({"outcome": "error", "message": str(exc)})
                    return
                if payload is not None:
                    yield TriggerEvent(payload)
                    return
                await asyncio.sleep(self.poll_interval)
        finally:
            client.close()
