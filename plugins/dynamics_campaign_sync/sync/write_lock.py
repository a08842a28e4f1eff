"""One writer per campaign: the sync's side of the ledger's per-campaign lease lock.

Two runs of one campaign that overlap (a zombie's retry, a manual ``dag.test`` beside the scheduled run, two
schedulers) would otherwise send adds and removes from two plans at once. The later writer waits for the lock,
then skips what the first already did; if the lock stays taken it fails with a message saying who holds it, and
Airflow's next attempt tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

log = logging.getLogger(__name__)

#: How long a write task waits for another run of the same campaign before it gives up (and is retried).
DEFAULT_LOCK_WAIT = dt.timedelta(minutes=5)
#: The lease: renewed after every chunk, so only a holder that died keeps others waiting, at most this long.
LEASE = dt.timedelta(minutes=10)
POLL_SECONDS = 1.0


class CampaignBusyError(Exception):
    """Another run holds the campaign's write lock (or took it over from this one); nothing more was written."""


class CampaignWriteLock:
    def __init__(self, ledger: Ledger, campaign_key: str, *, wait: dt.timedelta = DEFAULT_LOCK_WAIT,
                 lease: dt.timedelta = LEASE) -> None:
        self.ledger = ledger
        self.campaign_key = campaign_key
        self.wait = wait
        self.lease = lease

    @contextmanager
    def held(self, run_id: str) -> Iterator[Callable[[], None]]:
        """Hold the lock for ``run_id`` while the block runs; yields the function that renews it."""
        self._acquire(run_id)

        def keep_alive() -> None:
            if not self.ledger.renew_campaign_lock(self.campaign_key, run_id, self.lease):
                raise CampaignBusyError(
                    f"campaign {self.campaign_key}: run {run_id} lost its write lock (its lease of "
                    f"{self.lease} ran out and another run took it); stopped writing, the next attempt re-checks")

        try:
            yield keep_alive
        finally:
            self.ledger.release_campaign_lock(self.campaign_key, run_id)

    def _acquire(self, run_id: str) -> None:
        deadline = time.monotonic() + self.wait.total_seconds()
        announced = False
        while True:
            holder = self.ledger.acquire_campaign_lock(self.campaign_key, run_id, self.lease)
            if holder is None:
                return
            if not announced:
                log.warning("Campaign %s is being written by run %s (since %s); waiting up to %s for it",
                            self.campaign_key, holder.holder, holder.acquired_at.isoformat(), self.wait)
                announced = True
            if time.monotonic() >= deadline:
                raise CampaignBusyError(
                    f"campaign {self.campaign_key} is being written by run {holder.holder} since "
                    f"{holder.acquired_at.isoformat()} (lease until {holder.expires_at.isoformat()}); run {run_id} "
                    f"waited {self.wait} and wrote nothing. The next attempt waits again and then skips what "
                    "that run already did")
            time.sleep(POLL_SECONDS)
