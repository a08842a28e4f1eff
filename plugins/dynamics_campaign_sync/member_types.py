"""The kinds of people a campaign reaches: one vocabulary for the spec language, the ledger and the Dataverse client.

No Airflow, no HTTP: the spec language uses it at DAG-parse time.
"""

from __future__ import annotations

from enum import StrEnum


class MemberType(StrEnum):
    """The kinds of people a marketing list can hold (one kind per list)."""

    LEAD = "lead"
    CONTACT = "contact"

    @property
    def createdfromcode(self) -> int:
        return {MemberType.LEAD: 4, MemberType.CONTACT: 2}[self]

    @property
    def entity_set(self) -> str:
        return f"{self.value}s"

    @property
    def key(self) -> str:
        return f"{self.value}id"

    @property
    def odata_type(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.value}"

    @property
    def list_navigation(self) -> str:
        """Navigation property from a list to its members of this type."""
        return f"list{self.value}_association"

    @classmethod
    def from_createdfromcode(cls, code: int | None) -> MemberType | None:
        return {4: cls.LEAD, 2: cls.CONTACT}.get(code)  # type: ignore[arg-type]
