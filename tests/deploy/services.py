"""The machine's PostgreSQL and Redis, as deployment tests use them: reachability and throwaway databases."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
#: Server-level statements (CREATE/DROP DATABASE) go through the maintenance database.
POSTGRES_ADMIN_URL = f"postgresql+psycopg2://postgres@{POSTGRES[0]}:{POSTGRES[1]}/postgres"


def unreachable(name: str, address: tuple[str, int]) -> str | None:
    """Why ``name`` cannot be used (a skip reason), or None when something listens on ``address``."""
    try:
        with socket.create_connection(address, timeout=2):
            return None
    except OSError:
        return f"{name} on {address[0]}:{address[1]} is not reachable"


def database_url(name: str, driver: str = "postgresql+psycopg2") -> str:
    return f"{driver}://postgres@{POSTGRES[0]}:{POSTGRES[1]}/{name}"


@contextmanager
def fresh_databases(*purposes: str) -> Iterator[dict[str, str]]:
    """One new, uniquely named database per purpose (name → database name); all dropped afterwards."""
    token = uuid.uuid4().hex[:10]
    names = {purpose: f"campaign_sync_{purpose}_{token}" for purpose in purposes}
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []
    try:
        with engine.connect() as connection:
            for name in names.values():
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                created.append(name)
        yield names
    finally:
        with engine.connect() as connection:
            for name in created:  # FORCE: a component that is still shutting down may hold a connection
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
