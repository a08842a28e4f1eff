"""Example downstream DAGs: Marketo's "Added to / Removed from Microsoft Campaign" triggers.

Each runs whenever a campaign sync adds (or removes) people — one asset event per sync run that
changed someone — reads exactly those people from the ledger and does per-person work in mapped
tasks: here, one follow-up row per person in the ``campaign_follow_ups`` table, assigned to the
campaign's owner. Trigger one by hand with ``{"batch_ids": [...]}`` to re-process given batches.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, AssetAny, Param, task

from dynamics_campaign_sync.naming import added_asset, removed_asset
from dynamics_campaign_sync.spec import collect_specs
from dynamics_campaign_sync.spec.folder import specs_folder

SPECS_DIR = specs_folder(Path(__file__).parent)
# Only the specs that validate: a broken spec has its own placeholder DAG and must not hide these.
SPECS = collect_specs(SPECS_DIR).specs
OWNERS = {spec.key: spec.owner for spec in SPECS}
PEOPLE_PER_MAPPED_TASK = 100


def build_follow_up_dag(dag_id: str, action: str, assets: list) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=AssetAny(*assets),
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["campaign-sync", "downstream", "example"],
        default_args={"owner": "marketing-ops", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
        params={"batch_ids": Param([], type="array", description="Event batches to (re-)process by hand")},
        doc_md=__doc__,
    ) as dag:

        @task
        def collect_people(**context) -> list[list[dict]]:
            from dynamics_campaign_sync.downstream import batch_ids_from, chunks, people_of_batches
            from dynamics_campaign_sync.hooks.database import LedgerHook

            batch_ids = batch_ids_from(context.get("triggering_asset_events"), context["params"]["batch_ids"])
            people = people_of_batches(LedgerHook().ledger, batch_ids)
            print(f"{len(people)} people {action}ed in batches {batch_ids}")
            return chunks(people, PEOPLE_PER_MAPPED_TASK)

        @task
        def write_follow_ups(people: list[dict]) -> int:
            import sqlalchemy as sa

            from dynamics_campaign_sync.downstream import record_follow_ups
            from dynamics_campaign_sync.hooks.database import LedgerHook

            engine = sa.create_engine(LedgerHook().url)
            try:
                created = record_follow_ups(engine, people, OWNERS)
            finally:
                engine.dispose()
            for person in people:
                print(f"follow-up for {person['person_id']} ({person['campaign_key']}, rules {person['matched']})")
            return created

        write_follow_ups.expand(people=collect_people())
    return dag


if SPECS:
    member_follow_ups = build_follow_up_dag(
        "campaign_member_follow_ups", "add", [added_asset(spec.key) for spec in SPECS])
    member_offboarding = build_follow_up_dag(
        "campaign_member_offboarding", "remove", [removed_asset(spec.key) for spec in SPECS])
