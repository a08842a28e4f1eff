"""The guard between plan and writes: the spec's safety limits, the interval claim (backfill safety), and the
one check every write makes that its run's plan was approved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dynamics_campaign_sync.errors import PermanentError
from dynamics_campaign_sync.ledger.checks import PlanStatus
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.plan_counts import PlanCounts
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.run import PlanNotApprovedError, RunContext

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

log = private_logger(__name__)


class GuardError(PermanentError):
    """The plan breaks a safety limit of the spec; nothing was written. Permanent: the same plan breaks it again
    (a person re-runs with ``override_guard``)."""


class Guard:
    def __init__(self, spec: CampaignSpec, ledger: Ledger) -> None:
        self.spec = spec
        self.ledger = ledger

    @property
    def key(self) -> str:
        return self.spec.key

    def check(self, run: RunContext, *, override: bool) -> bool:
        """Check the plan against the spec's limits, then claim the interval.

        Returns True when the run may write, False when a newer interval was already applied
        (the plan is kept as superseded). Raises :class:`GuardError` when a limit is broken.
        """
        plan = self.ledger.plan(self.key, run.run_id)
        if plan is None:
            raise GuardError(f"{self.key}: run {run.run_id} has no plan")
        problems = self.problems(PlanCounts.from_dict(plan.counts))
        if problems and not override:
            self.ledger.update_plan_status(self.key, run.run_id, PlanStatus.BLOCKED)
            self.ledger.forget_qualifications(self.key, run.run_id)
            raise GuardError(f"{self.key}: {'; '.join(problems)}. Nothing was written. Re-run with the "
                             "param override_guard=true if this change is intended.")
        for problem in problems:
            log.warning("Guard overridden: %s", problem)
        may_write = self.ledger.claim_interval(self.key, run.run_id)
        if not may_write:
            newest = self.ledger.newest_applied_interval(self.key)
            log.warning("Interval ending %s is older than the newest applied interval (ending %s): plan "
                        "recorded as superseded, nothing will be written", run.interval_end.isoformat(),
                        newest[1].isoformat() if newest else "?")
        return may_write

    def preview(self, run: RunContext) -> list[str]:
        """A dry run's guard: say what would stop the run, change nothing."""
        plan = self.ledger.plan(self.key, run.run_id)
        problems = self.problems(PlanCounts.from_dict(plan.counts)) if plan else []
        for problem in problems:
            log.warning("Dry run: the guard would stop this run: %s", problem)
        return problems

    def check_approved(self, run: RunContext) -> None:
        """Refuse to write unless the run's plan was approved by the guard (status ``applied``)."""
        plan = self.ledger.plan(self.key, run.run_id)
        status = plan.status if plan else "missing"
        if run.dry_run or status != PlanStatus.APPLIED:
            why = "it is a dry run" if run.dry_run else f"its plan is {status!r}, not approved by the guard"
            raise PlanNotApprovedError(f"{self.key}: run {run.run_id} writes nothing: {why}")

    def problems(self, counts: PlanCounts | Mapping[str, int]) -> list[str]:
        """The spec's limits the plan breaks, in words (none: the plan may be written)."""
        if not isinstance(counts, PlanCounts):
            counts = PlanCounts.from_dict(counts)
        guard, members = self.spec.guard, counts.current_members
        problems = []
        if counts.source_empty and not guard.allow_empty_source:
            problems.append("the source returned no people at all (empty-source guard)")
        problems.extend(self._invalid_rows_problems(counts))
        max_adds, max_removes = guard.max_adds_for(members), guard.max_removes_for(members)
        if max_adds is not None and counts.to_add > max_adds:
            problems.append(f"{counts.to_add} adds exceed max_adds {guard.max_adds} (= {max_adds})")
        if max_removes is not None and counts.to_remove > max_removes:
            problems.append(f"{counts.to_remove} removes exceed max_removes {guard.max_removes} "
                            f"(= {max_removes} of {members} current members)")
        return problems

    def _invalid_rows_problems(self, counts: PlanCounts) -> list[str]:
        """``max_invalid_rows`` against the invalid source rows the plan left out, of all rows it read."""
        guard, invalid, rows_read = self.spec.guard, counts.invalid_rows, counts.rows_read
        limit = guard.max_invalid_rows_for(rows_read)
        if limit is None or invalid <= limit:
            return []
        kinds = ", ".join(f"{kind} {n}" for kind, n in counts.invalid_rows_by_kind.items())
        return [f"{invalid} invalid source rows ({kinds}) exceed max_invalid_rows {guard.max_invalid_rows} "
                f"(= {limit} of {rows_read} rows read)"]
