"""Typed views of the Dataverse records the product reads and writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from dynamics_campaign_sync.campaign_status import CAMPAIGN_STATUSES
from dynamics_campaign_sync.member_types import MemberType

__all__ = ["MemberType"]  # the client's vocabulary, defined where the spec language can use it without HTTP


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    statecode: int
    statuscode: int
    istemplate: bool = False

    @property
    def status_name(self) -> str:
        return CAMPAIGN_STATUSES.get(self.statuscode, f"status {self.statuscode}")

    @property
    def is_active(self) -> bool:
        return self.statecode == 0

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Campaign:
        return cls(
            id=record["campaignid"],
            name=record.get("name") or "",
            statecode=int(record.get("statecode") or 0),
            statuscode=int(record.get("statuscode") or 0),
            istemplate=bool(record.get("istemplate")),
        )


@dataclass(frozen=True)
class MarketingList:
    id: str
    name: str
    is_static: bool
    member_type: MemberType | None
    locked: bool
    statecode: int
    member_count: int | None = None

    @property
    def is_active(self) -> bool:
        return self.statecode == 0

    def write_blockers(self) -> list[str]:
        """Why members cannot be added to or removed from this list (empty when they can)."""
        reasons = []
        if not self.is_static:
            reasons.append("it is a dynamic list")
        if not self.is_active:
            reasons.append("it is inactive")
        if self.locked:
            reasons.append("it is locked")
        return reasons

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> MarketingList:
        return cls(
            id=record["listid"],
            name=record.get("listname") or "",
            is_static=not bool(record.get("type")),
            member_type=MemberType.from_createdfromcode(record.get("createdfromcode")),
            locked=bool(record.get("lockstatus")),
            statecode=int(record.get("statecode") or 0),
            member_count=record.get("membercount"),
        )


LIST_COLUMNS = "listid,listname,type,createdfromcode,lockstatus,statecode,membercount"
CAMPAIGN_COLUMNS = "campaignid,name,statecode,statuscode,istemplate"


@dataclass(frozen=True)
class Person:
    """A lead or contact as far as membership cares: its id, kind and email."""

    id: str
    member_type: MemberType
    email: str | None = None
    full_name: str | None = None

    @classmethod
    def from_record(cls, member_type: MemberType, record: dict[str, Any]) -> Person:
        return cls(
            id=record[member_type.key],
            member_type=member_type,
            email=record.get("emailaddress1"),
            full_name=record.get("fullname"),
        )


#: Namespace of the ids we give the leads we create: one email maps to one id, whoever creates it, however often.
LEAD_ID_NAMESPACE = uuid.UUID("6f1c2b8e-93a4-4d0e-9b7c-2f5e8a1d4c37")
#: Namespace of the ids of our owned marketing lists: one per campaign and member type.
OWNED_LIST_ID_NAMESPACE = uuid.UUID("0b8f4c1e-5d27-4a96-8e3b-7c2a9f61d5e4")


def derived_id(namespace: uuid.UUID, key: str) -> str:
    """The record id ``key`` determines (uuid5 in ``namespace``). Records we create get such ids and are created
    with create-only upserts, so a resent request or a re-run task finds the record instead of making a second."""
    return str(uuid.uuid5(namespace, key))


@dataclass(frozen=True)
class NewLead:
    """A lead to create for someone known only by email. Without a last name (Dataverse's lead form
    requires one) the local part of the email stands in, so the lead reads sensibly in Dynamics."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    job_title: str | None = None

    @property
    def lead_id(self) -> str:
        """The id this lead is created with, derived from the email (case-insensitive): sending the creation
        again — after a lost response or a crashed task — finds the lead instead of making a second one."""
        return derived_id(LEAD_ID_NAMESPACE, self.email.strip().lower())

    def to_record(self) -> dict[str, Any]:
        """The Web API body that creates the lead (columns without a value are left out)."""
        record = {
            "emailaddress1": self.email,
            "firstname": self.first_name,
            "lastname": self.last_name or self.email.split("@")[0],
            "companyname": self.company_name,
            "jobtitle": self.job_title,
        }
        return {k: v for k, v in record.items() if v is not None}


@dataclass
class MemberChangeResult:
    """Outcome of adding or removing many people: who went through, who failed and why."""

    succeeded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0
