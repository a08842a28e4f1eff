"""The one exception type the ledger raises for misuse and for facts it refuses to record."""

from __future__ import annotations


class LedgerError(Exception):
    """A ledger call was asked to do something wrong; the message names the campaign, person or list."""
