"""The only task of a placeholder DAG that stands in for a campaign spec that does not validate."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException


class InvalidSpecOperator(BaseOperator):
    """Fails, without retries, with the spec's problems (``<file>: <field>: <message>`` lines): a run of the
    placeholder DAG shows the author what to fix, in the task log where users look."""

    ui_color = "#fce8e6"

    def __init__(self, *, problems: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = list(problems)

    def execute(self, context: Any) -> None:
        for problem in self.problems:
            self.log.error("%s", problem)
        raise AirflowFailException("This campaign's spec does not validate; nothing was synced:\n"
                                   + "\n".join(self.problems))
