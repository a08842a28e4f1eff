"""Campaign sync logic over the Dataverse client, the ledger and the qualification engine (no Airflow)."""
