"""Email addresses are masked in the task logs this package writes (``j***@example.com``), unless
``CAMPAIGN_SYNC_SHOW_EMAILS`` is true.

Task logs are read by everyone who may read the DAG, and kept long after the run; the ledger and the dashboard
are where people are looked up. The mask keeps the first character and the domain, enough to tell people apart
while debugging.
"""

from __future__ import annotations

import logging
import os
import re

SHOW_EMAILS_ENV = "CAMPAIGN_SYNC_SHOW_EMAILS"
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")
_TRUE = {"1", "true", "yes", "on"}


def emails_shown() -> bool:
    """Whether the setting asks for email addresses in full (read at each record: it may change per run)."""
    return os.environ.get(SHOW_EMAILS_ENV, "").strip().lower() in _TRUE


def mask_emails(text: str) -> str:
    """``jane.doe@example.com`` → ``j***@example.com``; anything else is left as it is."""
    return text if emails_shown() else _EMAIL.sub(r"\1***@\2", text)


class EmailMaskingFilter(logging.Filter):
    """Rewrites a record's message with email addresses masked (the arguments are merged in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not emails_shown():
            message = record.getMessage()
            masked = mask_emails(message)
            if masked != message:
                record.msg, record.args = masked, ()
        return True


_FILTER = EmailMaskingFilter()


def private_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with email masking (a logger's filters see only its own records, so each
    module that may log a person's email asks for its logger here)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
