"""Ledger databases for any test: a real SQLite file, and the same test on PostgreSQL when it is reachable.

Registered for the whole suite by the root conftest, so ledger, sync and end-to-end tests share one parametrized
fixture. Each PostgreSQL test gets its own schema (named in the URL's ``options``, so the URL alone — as an
Airflow connection would carry it — reaches it) and drops it after; concurrent runs on one server never meet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from dynamics_campaign_sync.ledger import Ledger

#: The server the PostgreSQL variant runs against (trust auth on the loopback in development and CI).
POSTGRES_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@cache
def postgres_unavailable() -> str | None:
    """Why the PostgreSQL variant cannot run here, or None when it can."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed"
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        return f"PostgreSQL not reachable at {where} ({type(error).__name__})"
    finally:
        engine.dispose()
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty ledger database: SQLite, then PostgreSQL (skipped with the reason if absent)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def ledger_factory(ledger_url: str) -> Iterator[Callable[[], Ledger]]:
    """Builds ledgers on one fresh, unmigrated database (call it more than once for concurrent users)."""
    made: list[Ledger] = []

    def factory() -> Ledger:
        ledger = Ledger.from_url(ledger_url)
        made.append(ledger)
        return ledger

    yield factory
    for ledger in made:
        ledger.close()
