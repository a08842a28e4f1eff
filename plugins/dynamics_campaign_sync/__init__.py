"""Campaign Sync for Microsoft Dynamics 365: who qualifies for a campaign, by a YAML spec over a source database,
kept in step with the campaign's marketing lists in Dynamics, on Apache Airflow 3.

Floors, top down; a module imports from its own floor and those above it only:

1. The shared vocabulary, one home each: :mod:`.naming` (DAG ids, assets), :mod:`.campaign_status`,
   :mod:`.member_types`, :mod:`.utc`, :mod:`.chunking`, :mod:`.plan_counts`, :mod:`.errors` (what a retry cannot
   cure), :mod:`.log_privacy`, :mod:`.lazy_exports`.
2. :mod:`.dataverse`, the Web API client, and :mod:`.spec`, the spec language (light enough to load at parse time).
3. :mod:`.ledger`, our record of what we did in Dynamics and why.
4. :mod:`.qualification`, who qualifies: the spec compiler and the pandas reference.
5. :mod:`.sync`, the sync stages over floors 2 to 4, behind the ``CampaignSync`` facade (no Airflow).
6. :mod:`.hooks`: Airflow connections in, clients and URLs out.
7. :mod:`.triggers`, :mod:`.operators`, :mod:`.sensors`: thin adapters, Airflow context → one service call → XCom.
8. What Airflow loads: :mod:`.dag_factory`, :mod:`.dashboard`, :mod:`.run_notes`, :mod:`.failure_reasons`,
   :mod:`.downstream` (for DAGs on the sync's assets), :mod:`.provider_info`.

Two imports look up, both deferred to the moment they run: the ``make lint-specs`` command asks a hook for the
source's connection, and the hooks build the ledger and name the source files of floors 3 and 4.
"""
