"""One campaign sync DAG per spec in dags/campaigns/*.yaml.

``CAMPAIGN_SYNC_SPECS_DIR`` points the loader at another folder of specs (it must be visible to every
Airflow component, like the DAGs themselves). A spec that does not validate makes this file fail to
import, with the spec's path and the field in the error shown in the Airflow UI, rather than silently
dropping that campaign.
"""

from __future__ import annotations

import os
from pathlib import Path

from dynamics_campaign_sync.dag_factory import build_campaign_sync_dag
from dynamics_campaign_sync.qualification import load_specs

SPECS_DIR = Path(os.environ.get("CAMPAIGN_SYNC_SPECS_DIR") or Path(__file__).parent / "campaigns")

for _spec in load_specs(SPECS_DIR):
    globals()[f"dag_{_spec.key}"] = build_campaign_sync_dag(_spec)
