"""Where the campaign specs are: the one lookup the DAG files and the dashboard share, so both show the same syncs."""

from __future__ import annotations

import os
from pathlib import Path

#: Points every component at another folder of specs (it must be visible to all of them, like the DAGs).
SPECS_DIR_ENV = "CAMPAIGN_SYNC_SPECS_DIR"
SPECS_SUBFOLDER = "campaigns"


def specs_folder(dags_folder: str | Path | None = None) -> Path:
    """``$CAMPAIGN_SYNC_SPECS_DIR``, else ``campaigns/`` in ``dags_folder`` (a DAG file passes its own folder;
    elsewhere, Airflow's ``[core] dags_folder``)."""
    configured = os.environ.get(SPECS_DIR_ENV)
    if configured:
        return Path(configured)
    if dags_folder is None:
        from airflow.configuration import conf

        dags_folder = conf.get("core", "dags_folder")
    return Path(dags_folder) / SPECS_SUBFOLDER
