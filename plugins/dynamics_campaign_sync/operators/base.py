"""Shared plumbing of the campaign sync operators: hooks built lazily, the run's interval, the service, and the
one place where a failure no retry can cure fails the task at once."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, wraps
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from dynamics_campaign_sync.errors import is_permanent
from dynamics_campaign_sync.hooks.database import LedgerHook, SourceHook
from dynamics_campaign_sync.hooks.dynamics import DynamicsHook
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync.interval import run_interval

if TYPE_CHECKING:
    # The service loads the ledger, the evaluation engine (pandas) and the client: imported when a task runs.
    from airflow.sdk import Context

    from dynamics_campaign_sync.ledger import Ledger
    from dynamics_campaign_sync.sync.service import CampaignSync, RunContext

#: Where the gate task leaves the campaign it checked (id resolved from a name if need be).
CAMPAIGN_ID_FROM_GATE = "{{ ti.xcom_pull(task_ids='gate')['campaign_id'] }}"
#: The methods Airflow's task runner calls: ``execute``, and ``execute_complete`` after a deferral.
TASK_ENTRY_POINTS = ("execute", "execute_complete")


def fail_fast(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, with a permanent error (see ``errors.is_permanent``) raised as :class:`AirflowFailException`,
    which Airflow fails without using the task's retries; any other error is raised as it is, and retried."""

    @wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:
            if not is_permanent(error):
                raise
            raise AirflowFailException(str(error)) from error  # the cause keeps its type and traceback in the log

    return run


class FailsFastOnPermanentErrors:
    """Mixin for operators and sensors: each subclass's task entry points fail fast on permanent errors, so no
    operator repeats a try/except for them (Airflow's own ``execute`` stays the method subclasses write)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in TASK_ENTRY_POINTS:
            if name in vars(cls):
                setattr(cls, name, fail_fast(vars(cls)[name]))


class CampaignSyncBaseOperator(FailsFastOnPermanentErrors, BaseOperator):
    """Base of the operators of one campaign sync. Nothing connects until ``execute``; a permanent error fails the
    task without retries."""

    template_fields = ("campaign_id",)

    def __init__(
        self,
        *,
        spec: CampaignSpec,
        campaign_id: str = CAMPAIGN_ID_FROM_GATE,
        dynamics_conn_id: str = DynamicsHook.default_conn_name,
        ledger_conn_id: str = LedgerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.campaign_id = campaign_id
        self.dynamics_conn_id = dynamics_conn_id
        self.ledger_conn_id = ledger_conn_id

    @cached_property
    def dynamics(self) -> DynamicsHook:
        return DynamicsHook(self.dynamics_conn_id)

    @cached_property
    def ledger(self) -> Ledger:
        return LedgerHook(self.ledger_conn_id).ledger

    @cached_property
    def sync(self) -> CampaignSync:
        from dynamics_campaign_sync.sync.service import CampaignSync

        def source() -> Any:
            from dynamics_campaign_sync.qualification import SqlSource
            from dynamics_campaign_sync.qualification.source_factory import build_source

            return build_source(
                self.spec,
                sql=lambda: SqlSource.from_config(self.spec.source, SourceHook(self.spec.source.conn_id).engine),
                client=lambda: self.dynamics.client, snapshots=lambda: self.ledger)

        return CampaignSync(self.spec, client=self.dynamics.client, ledger=self.ledger, source_factory=source)

    def run_context(self, context: Context) -> RunContext:
        from dynamics_campaign_sync.sync.service import RunContext

        start, end = run_interval(context, *self.spec.period)
        return RunContext(run_id=context["run_id"], interval_start=start, interval_end=end,
                          take_over=self.param(context, "take_over_campaign"),
                          dry_run=self.param(context, "dry_run"))

    @staticmethod
    def param(context: Context, name: str) -> bool:
        return bool((context.get("params") or {}).get(name, False))

    def requests_made(self) -> dict[str, Any]:
        """Dataverse requests this task made (only if it built a client)."""
        if "dynamics" not in self.__dict__ or "client" not in self.dynamics.__dict__:
            return {"requests": 0}
        return self.dynamics.client.stats.as_dict()
