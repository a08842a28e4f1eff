"""One campaign sync DAG per spec in dags/campaigns/*.yaml.

``CAMPAIGN_SYNC_SPECS_DIR`` points the loader at another folder of specs (it must be visible to every
Airflow component, like the DAGs themselves). A spec that does not validate costs only its own campaign:
the valid specs' DAGs load as usual, and the broken file gets a placeholder DAG ("Invalid spec: <file>")
whose documentation lists each problem as ``<file>: <field>: <message>`` and whose only task fails with them.
"""

from __future__ import annotations

from pathlib import Path

from dynamics_campaign_sync.dag_factory import build_dags
from dynamics_campaign_sync.spec import collect_specs
from dynamics_campaign_sync.spec.folder import specs_folder

SPECS_DIR = specs_folder(Path(__file__).parent)

for _dag_id, _dag in build_dags(collect_specs(SPECS_DIR)).items():
    globals()[f"dag_{_dag_id}"] = _dag
