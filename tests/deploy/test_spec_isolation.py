"""One misspelt spec under the real dag-processor: the other campaigns and the downstream DAGs stay, the
broken file shows up as its own placeholder DAG, and Airflow records no import error that would hide them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_dag_integrity import TYPO, folder_with_one_typo

from deploy.airflow_processes import AirflowStack, airflow_environment, free_port
from deploy.sync_helpers import prepare_metadata

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

EXPECTED = {
    "campaign_sync__emea_enterprise_leaders": "EMEA enterprise decision makers",
    "campaign_sync__reengage_dormant_evaluators": "Re-engage dormant evaluators",
    "campaign_sync__pricing_page_intent": "Invalid spec: pricing_page_intent.yaml",
    "campaign_member_follow_ups": "campaign_member_follow_ups",
    "campaign_member_offboarding": "campaign_member_offboarding",
}


def cli_json(stack: AirflowStack, *args: str) -> object:
    """A CLI command's ``-o json`` output (warnings Airflow prints on the same stream come before it)."""
    lines = stack.cli(*args, "-o", "json").splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith(("[", "{")))
    return json.loads("\n".join(lines[start:]))


def listed_dags(stack: AirflowStack) -> dict[str, dict] | None:
    """``airflow dags list`` as the CLI prints it, once the dag-processor has stored every expected DAG."""
    listed = {d["dag_id"]: d for d in cli_json(stack, "dags", "list", "--columns", "dag_id,dag_display_name,tags")}
    return listed if set(EXPECTED) <= set(listed) else None


def test_the_dag_processor_keeps_every_valid_campaign_when_one_spec_is_broken(tmp_path: Path):
    specs = folder_with_one_typo(tmp_path / "specs")
    home = tmp_path / "airflow"
    home.mkdir()
    env = airflow_environment(home, executor="LocalExecutor", sql_alchemy_conn=None, api_port=free_port(),
                              extra={"CAMPAIGN_SYNC_SPECS_DIR": str(specs),
                                     "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5"})
    with AirflowStack(home, env) as stack:
        prepare_metadata(stack)
        stack.start("dag-processor", "dag-processor")
        listed = stack.wait_for("the DAGs in `airflow dags list`", lambda: listed_dags(stack), timeout=240,
                                interval=5)

        assert {dag_id: listed[dag_id]["dag_display_name"] for dag_id in EXPECTED} == EXPECTED
        assert "invalid-spec" in str(listed["campaign_sync__pricing_page_intent"]["tags"])
        assert cli_json(stack, "dags", "list-import-errors") == []
        details = cli_json(stack, "dags", "details", "campaign_sync__pricing_page_intent")
        assert f"pricing_page_intent.yaml: rules.filters[1].{TYPO}: unknown field (check the spelling)" \
            in json.dumps(details)
