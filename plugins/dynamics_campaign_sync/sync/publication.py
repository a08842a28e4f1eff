"""Publication: which event batches a run's publish task emits as one asset event, so that each change reaches
downstream DAGs exactly once however often a run is re-executed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.ledger.checks import Action
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.sync.run import CampaignPart

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import EventBatch

log = private_logger(__name__)


class Publication(CampaignPart):
    """The campaign's event batches on their way to Airflow as asset events."""

    def batches_to_publish(self, action: Action, run_id: str, *,
                           delivered_since: Callable[[dt.datetime], set[str]],
                           republish: bool = False) -> list[EventBatch]:
        """The event batches to emit now, marked as handed over: every batch of the campaign whose asset event
        is not known to be in Airflow (this run's and any an earlier run left).

        A batch an earlier attempt handed over but never confirmed (a crash after the event, before the ledger
        heard of it) is looked up in Airflow's own asset events — ``delivered_since(t)`` returns the batch ids
        named by the events since ``t`` — and confirmed instead of emitted again. ``republish`` (the DAG param
        ``republish_events``) emits this run's batches again on purpose."""
        batches = self.ledger.event_batches(campaign_key=self.key, action=action, unconfirmed_only=True)
        handed_over = [b for b in batches if b.published_at is not None]
        if handed_over:
            in_airflow = delivered_since(min(b.published_at for b in handed_over if b.published_at))
            delivered = [b.batch_id for b in handed_over if b.batch_id in in_airflow]
            if delivered:
                log.info("Asset events for batches %s are already in Airflow: confirmed, not emitted again",
                         delivered)
                self.ledger.confirm_published(delivered, dt.datetime.now(dt.UTC))
            batches = [b for b in batches if b.batch_id not in delivered]
        if republish:
            pending = {b.batch_id for b in batches}
            again = [b for b in self.ledger.event_batches(campaign_key=self.key, run_id=run_id, action=action)
                     if b.batch_id not in pending]
            if again:
                log.warning("republish_events: emitting batches %s again; downstream DAGs will see them twice",
                            [b.batch_id for b in again])
            batches += again
        if batches:
            self.ledger.mark_published([b.batch_id for b in batches], dt.datetime.now(dt.UTC))
        return batches

    def event_extra(self, action: Action, run_id: str, batches: list[EventBatch]) -> dict[str, Any]:
        """The asset event's extra: small, JSON, pointing at the ledger's event batches."""
        extra = {
            "campaign_key": self.key,
            "campaign_id": batches[-1].campaign_id,
            "action": action.value,
            "count": sum(b.count for b in batches),
            "run_id": run_id,
            "batch_ids": [b.batch_id for b in batches],
        }
        log.info("Asset event for %d %sed people (batches %s)", extra["count"], action.value, extra["batch_ids"])
        return extra

    def confirm_published(self, batch_ids: list[str]) -> None:
        """The publish task that emitted these batches succeeded, so Airflow holds their asset events."""
        self.ledger.confirm_published(batch_ids, dt.datetime.now(dt.UTC))
