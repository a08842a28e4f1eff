"""Dynamics campaign status codes, names and labels: the one vocabulary of the Dataverse client, the spec
language and the dashboard.

No Airflow, no HTTP: a spec's ``blocked_statuses`` is validated with it at DAG-parse time, where loading the
Dataverse client (MSAL, requests) would only cost time.
"""

from __future__ import annotations

#: campaign.statuscode → name. 0–5 belong to statecode 0 (Active), 6 to statecode 1 (Inactive).
CAMPAIGN_STATUSES: dict[int, str] = {
    0: "proposed",
    1: "ready_to_launch",
    2: "launched",
    3: "completed",
    4: "canceled",
    5: "suspended",
    6: "inactive",
}
CAMPAIGN_STATUS_CODES: dict[str, int] = {name: code for code, name in CAMPAIGN_STATUSES.items()}
_STATUS_ALIASES = {"cancelled": "canceled"}


def campaign_status_label(code: int) -> str | None:
    """How Dynamics shows a status (``Ready To Launch``); None for a status reason of the organisation's own."""
    name = CAMPAIGN_STATUSES.get(code)
    return name.replace("_", " ").title() if name else None


def campaign_status_code(raw: int | str) -> int:
    """A campaign ``statuscode`` from its number or its name (``inactive``, ``Ready To Launch`` …).

    Any non-negative number is accepted: organisations may add their own status reasons (100000000+).
    """
    if isinstance(raw, bool) or (isinstance(raw, int) and raw < 0):
        raise ValueError(f"{raw!r} is not a campaign status")
    if isinstance(raw, int) or raw.strip().isdigit():
        return int(raw)
    name = raw.strip().lower().replace(" ", "_").replace("-", "_")
    name = _STATUS_ALIASES.get(name, name)
    if name not in CAMPAIGN_STATUS_CODES:
        from dynamics_campaign_sync.spec.messages import did_you_mean  # here: spec imports this module

        hint = did_you_mean(name, CAMPAIGN_STATUS_CODES)
        raise ValueError(f"{raw!r} is not one of {', '.join(CAMPAIGN_STATUS_CODES)} or a statuscode number{hint}")
    return CAMPAIGN_STATUS_CODES[name]
