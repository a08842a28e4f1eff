"""Fixtures of the qualification tests."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.fixture
def memory_engine() -> sa.Engine:
    """An in-memory SQLite database shared by every connection of the engine."""
    return sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
