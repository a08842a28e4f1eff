"""``[core] hostname_callable`` for the Celery worker of a test stack.

Only the worker's environment names this callable, and task instances record the hostname of the process
that ran them, so a task instance whose hostname is the worker's proves that the Celery worker ran it.
"""

from __future__ import annotations

import os

ENV = "CAMPAIGN_SYNC_TEST_WORKER_HOSTNAME"


def hostname() -> str:
    return os.environ[ENV]
