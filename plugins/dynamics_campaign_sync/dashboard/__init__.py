"""The membership dashboard: a read-only Airflow UI page over the ledger, for analysts.

:mod:`.app` is the FastAPI app the API server mounts (page and JSON API), :mod:`.access` how Airflow's own
login and permissions guard it, :mod:`.sources` where specs and the ledger are read from, and
:mod:`.summaries` what is shown (read through the ledger facade, which owns every query). ``plugins/campaign_sync_dashboard_plugin.py`` registers it.
"""

from __future__ import annotations
