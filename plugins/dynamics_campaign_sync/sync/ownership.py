"""One spec per campaign: claiming a campaign before anything is written, and refusing another spec's."""

from __future__ import annotations

from dynamics_campaign_sync.ledger import CampaignClaimedError
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.sync.run import CampaignPart, RunContext

log = private_logger(__name__)


class CampaignOwnership(CampaignPart):
    """The spec's claim on its campaign."""

    def claim(self, campaign_id: str, run: RunContext) -> None:
        """Make this spec the campaign's owner before anything is written (refused if another spec owns it)."""
        owner = self.ledger.claim_campaign(campaign_id, self.key, run.run_id, take_over=run.take_over)
        if owner.previous_key and owner.claimed_by_run == run.run_id:
            log.warning("Spec %r took campaign %s over from spec %r: the people that spec added are now this "
                        "spec's, and are removed if they do not qualify here", self.key, campaign_id,
                        owner.previous_key)

    def check(self, campaign_id: str, *, preview_take_over: bool = False) -> None:
        """Refuse to plan or write for a campaign another spec owns; a dry run may preview a take-over."""
        try:
            self.ledger.check_campaign_owner(campaign_id, self.key)
        except CampaignClaimedError as error:
            if not preview_take_over:
                raise
            log.warning("Campaign %s is synced by spec %r; this run previews taking it over", campaign_id,
                        error.owner.campaign_key)
