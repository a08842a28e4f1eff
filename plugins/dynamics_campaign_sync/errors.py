"""Which failures a retry cannot cure, in words every layer shares and none of them needs Airflow for.

A task retried after a permanent failure meets the same failure again (a locked owned list, a campaign another
spec owns, a plan over the guard's limits, a refused credential, a 403) and only delays the red task the user
has to act on. Such errors say so with ``is_permanent``; the Airflow adapters turn them into a failure without
retries in one place (``operators/base.py``).
"""

from __future__ import annotations


class PermanentError(Exception):
    """A condition that stays until a person changes something: retrying the task cannot help."""

    is_permanent: bool = True


def is_permanent(error: BaseException) -> bool:
    """Whether ``error`` says a retry would fail the same way: a :class:`PermanentError`, or any error whose own
    ``is_permanent`` says so (Dataverse errors decide per answer). Unknown errors are not: they keep retrying."""
    return getattr(error, "is_permanent", False) is True
