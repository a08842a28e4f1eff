"""Fixtures for the sync tests: ledgers on SQLite and PostgreSQL, as the ledger tests have them."""

from __future__ import annotations

from ledger_databases import ledger_factory  # noqa: F401 - a fixture, offered to this folder's tests
