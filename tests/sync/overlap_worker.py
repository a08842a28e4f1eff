"""One write task of a campaign sync in its own process (for the overlapping-runs test): applies a recorded,
approved plan's adds then removes and prints the outcome as JSON."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from dynamics_campaign_sync.ledger import Ledger
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.service import CampaignSync, RunContext
from support import client_for


class Emulator:
    """The emulator as this process knows it: the client settings the test handed over."""

    def __init__(self, settings: dict) -> None:
        self.settings = settings

    def client_settings(self) -> dict:
        return self.settings


def main() -> None:
    job = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    start, end = (dt.datetime.fromisoformat(t) for t in job["interval"])
    ledger = Ledger.from_url(job["ledger_url"])
    with client_for(Emulator(job["emulator"])) as client:
        sync = CampaignSync(CampaignSpec.model_validate(job["spec"]), client=client, ledger=ledger,
                            lock_wait=dt.timedelta(seconds=job["lock_wait_seconds"]))
        run = RunContext(job["run_id"], start, end)
        outcomes = {action: sync.apply(action, job["campaign_id"], run).as_dict() for action in ("add", "remove")}
    ledger.close()
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
