"""The tasks of a campaign sync DAG, each a few lines: Airflow context → one :mod:`~dynamics_campaign_sync.sync`
call → XCom. :mod:`.base` holds what they share (hooks built lazily, the run's interval, permanent failures
failing at once), :mod:`.campaign_sync` the stages of a sync DAG, :mod:`.triggered` those of a trigger
campaign's DAG, :mod:`.invalid_spec` the one task of a broken spec's placeholder DAG."""
