"""People known only by email become leads before they are added: matched by email first, created otherwise
(Marketo's "synced over automatically")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.dataverse.models import NewLead
from dynamics_campaign_sync.ledger.checks import Action
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.sync.membership_writer import WriteOutcome
from dynamics_campaign_sync.sync.planner import NEW_PERSON_PREFIX

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

log = private_logger(__name__)  # people's emails are masked in task logs


def create_missing_leads(client: DataverseClient, ledger: Ledger, campaign_key: str,
                         people: dict[str, dict[str, Any]], run_id: str,
                         outcome: WriteOutcome) -> dict[str, dict[str, Any]]:
    """Replace ``new:<source id>`` entries by real leads: matched by email first (so a retry after a
    crash finds the lead it created), created otherwise.

    Emails are compared case-insensitively, so people who share one resolve to one lead (it keeps the
    first one's reason). Missing leads are created by one ``create_leads`` call (``$batch`` requests of
    up to 1,000; created with ids derived from the emails, so resending never duplicates a lead). A lead
    Dynamics refuses is recorded in ``outcome.failed`` and the ledger's failures under each of its people's
    plan ids (``new:<source id>``), and everyone else goes on."""
    new = {p: r for p, r in people.items() if p.startswith(NEW_PERSON_PREFIX)}
    if not new:
        return people
    resolved = {p: r for p, r in people.items() if p not in new}
    by_email: dict[str, list[str]] = {}  # lower-cased email -> plan ids of the people who have it
    for plan_id, reason in new.items():
        by_email.setdefault(reason["email"].strip().lower(), []).append(plan_id)
    emails = {key: new[plan_ids[0]]["email"].strip() for key, plan_ids in by_email.items()}
    existing = client.find_people_by_email(MemberType.LEAD, emails.values())
    lead_ids = {key: existing[key].id for key in by_email if key in existing}
    missing = [key for key in by_email if key not in lead_ids]
    requests_before = client.stats.requests
    created = client.create_leads([NewLead(email=emails[key]) for key in missing]) if missing else []
    requests = client.stats.requests - requests_before
    refused = 0
    for key, result in zip(missing, created, strict=True):
        if isinstance(result, str):
            lead_ids[key] = result
            continue
        refused += 1
        error = " ".join(filter(None, ["lead not created: HTTP", str(result.status), result.code]))
        for plan_id in by_email[key]:
            outcome.failed[plan_id] = f"{error}: {result.message}"
    for key, plan_ids in by_email.items():
        if key in lead_ids:
            resolved.setdefault(lead_ids[key], new[plan_ids[0]])
    ledger.record_failures(
        campaign_key, run_id, Action.ADD, {p: e for p, e in outcome.failed.items() if p in new},
        succeeded=[p for key, plan_ids in by_email.items() if key in lead_ids for p in plan_ids])
    log.info("%d people known only by email (%d distinct emails): %d matched existing leads, %d leads created "
             "in %d requests, %d refused by Dynamics", len(new), len(by_email), len(by_email) - len(missing),
             len(missing) - refused, requests, refused)
    return resolved
