"""The synced world the dashboard tests share: where its ledger and specs live, and its campaign keys."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DAY = [dt.datetime(2026, 3, d, 6, tzinfo=dt.UTC) for d in range(1, 4)]
KEY = "e2e_germany"
RETIRED_KEY = "e2e_retired"


@dataclass(frozen=True)
class SyncedLedger:
    ledger_path: Path
    specs_dir: Path

    @property
    def env(self) -> dict[str, str]:
        """What an Airflow process needs to read this ledger and these specs."""
        return {
            "AIRFLOW_CONN_CAMPAIGN_SYNC_LEDGER": json.dumps({"conn_type": "sqlite", "host": str(self.ledger_path)}),
            "CAMPAIGN_SYNC_SPECS_DIR": str(self.specs_dir),
        }

    def ledger(self):
        from dynamics_campaign_sync.ledger import Ledger

        return Ledger.from_url(f"sqlite:///{self.ledger_path}")
