"""Campaign sync logic over the Dataverse client, the ledger and the qualification engine (no Airflow).

:mod:`.service` is the facade (``CampaignSync``, one method per task) over one module per concern; :mod:`.run`
and :mod:`.interval` are what every stage is told. Batch runs: :mod:`.ownership`, :mod:`.owned_lists`,
:mod:`.planning` (with :mod:`.resolve`, :mod:`.email_matching`, :mod:`.drift` and the pure :mod:`.planner`),
:mod:`.guard`, :mod:`.changes` (with :mod:`.new_leads`, :mod:`.membership_writer`, :mod:`.concurrent_chunks` and
:mod:`.write_lock`), :mod:`.publication`, :mod:`.summary` and :mod:`.housekeeping`. Trigger campaigns:
:mod:`.triggered`. The sensors' questions: :mod:`.gate` (may we write to the campaign?) and
:mod:`.membership_check`.
"""
