"""Why a campaign sync task failed, kept where the dashboard can show it beside the log link.

Airflow 3 keeps no exception text on a task instance; the reason is only in the log. A task's failure callback
therefore pushes the exception's message (secrets redacted by Airflow's own masker, emails masked, shortened) as
an XCom of the failed try, and the dashboard reads it from Airflow's metadata with the task's state.
"""

from __future__ import annotations

from typing import Any

from dynamics_campaign_sync.log_privacy import mask_emails

#: The XCom key of a failed task's reason.
FAILURE_REASON_KEY = "failure_reason"
MAX_REASON_CHARACTERS = 2000


def failure_reason(error: BaseException) -> str:
    """The message users read: exception type and text, secrets and emails masked, at most a couple of lines."""
    from airflow.sdk._shared.secrets_masker import redact

    text = mask_emails(str(redact(f"{type(error).__name__}: {error}")))
    return text if len(text) <= MAX_REASON_CHARACTERS else f"{text[:MAX_REASON_CHARACTERS]}…"


def keep_failure_reason(context: Any) -> None:
    """Task failure callback: remember why the task failed (for the dashboard)."""
    error = context.get("exception")
    if error is not None:
        context["ti"].xcom_push(key=FAILURE_REASON_KEY, value=failure_reason(error))
