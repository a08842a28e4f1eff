"""The Dynamics campaigns of the sample data, with stable GUIDs the example specs refer to.

Campaign ids are name-based (UUID v5 in a fixed namespace), so they are the
same for every seed and size: ``dags/campaigns/*.yaml`` can name them by id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

#: Namespace of every GUID the sample data derives from a name.
SAMPLE_NAMESPACE = uuid.UUID("6f1f4a52-9c1e-4f0e-8d7a-2b4c1c3f5e11")


@dataclass(frozen=True)
class Campaign:
    name: str
    statecode: int  # 0 Active, 1 Inactive
    statuscode: int  # 0 Proposed .. 5 Suspended (active), 6 Inactive

    @property
    def campaignid(self) -> str:
        return str(uuid.uuid5(SAMPLE_NAMESPACE, f"campaign:{self.name}"))

    def record(self) -> dict[str, object]:
        """The campaign as a Dataverse Web API record for the emulator seed."""
        return {
            "campaignid": self.campaignid,
            "name": self.name,
            "statecode": self.statecode,
            "statuscode": self.statuscode,
            "istemplate": False,
        }


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("Pricing Page Intent - 2026", statecode=0, statuscode=2),
    Campaign("EMEA Enterprise Decision Makers", statecode=0, statuscode=1),
    Campaign("Re-engage Dormant Evaluators", statecode=0, statuscode=2),
    Campaign("Spring Webinar Series 2026", statecode=0, statuscode=3),
    Campaign("Legacy Nurture 2024", statecode=1, statuscode=6),
)
