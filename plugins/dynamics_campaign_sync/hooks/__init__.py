"""Airflow hooks: a connection in, a ready object out — :mod:`.dynamics` a Dataverse client (the Test button
and the triggers build theirs the same way), :mod:`.database` the ledger's and the qualification source's
SQLAlchemy URLs."""
