"""The emulator seed file: the sample people as Dataverse leads and contacts, plus the campaigns.

The local Dataverse emulator loads ``{"campaigns": [...], "leads": [...],
"contacts": [...]}`` with Web API records. Leads and contacts get the same
GUIDs as ``people.dynamics_id``, so qualification results map one-to-one onto
emulator records; people known only by email are not in Dynamics and are left out.
Records are streamed to the file chunk by chunk.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import numpy as np

from sample_data.campaigns import CAMPAIGNS


def _person(row: dict[str, object], key: str) -> dict[str, object]:
    """What leads and contacts share, under the entity's key column."""
    return {
        key: row["dynamics_id"],
        "firstname": row["first_name"],
        "lastname": row["last_name"],
        "fullname": f"{row['first_name']} {row['last_name']}",
        "emailaddress1": row["email"],
        "jobtitle": row["job_title"],
    }


def _lead(row: dict[str, object]) -> dict[str, object]:
    return {
        **_person(row, "leadid"),
        "companyname": row["company_name"],
        "address1_country": row["country"],
        "numberofemployees": row["company_size"],
    }


def _contact(row: dict[str, object]) -> dict[str, object]:
    return _person(row, "contactid")


def _append(out: TextIO, records: list[dict[str, object]], first: bool) -> bool:
    for record in records:
        out.write(("\n    " if first else ",\n    ") + json.dumps(record, ensure_ascii=False))
        first = False
    return first


def write_seed(path: Path, chunks: Iterable[dict[str, np.ndarray]]) -> tuple[int, int]:
    """Write the seed file from people chunks; returns ``(leads, contacts)`` written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = {"lead": 0, "contact": 0}
    with tempfile.TemporaryDirectory() as scratch:
        parts = {kind: (Path(scratch) / f"{kind}.json").open("w", encoding="utf-8") for kind in counts}
        empty = dict.fromkeys(counts, True)
        for columns in chunks:
            in_dynamics = np.not_equal(columns["dynamics_id"], None)
            for kind, shape in (("lead", _lead), ("contact", _contact)):
                chosen = in_dynamics & (columns["member_type"] == kind)
                names = list(columns)
                rows = [
                    dict(zip(names, values, strict=True))
                    for values in zip(*(columns[name][chosen].tolist() for name in names), strict=True)
                ]
                empty[kind] = _append(parts[kind], [shape(row) for row in rows], empty[kind])
                counts[kind] += len(rows)
        for handle in parts.values():
            handle.close()
        with path.open("w", encoding="utf-8") as out:
            campaigns = ",\n    ".join(json.dumps(c.record()) for c in CAMPAIGNS)
            out.write('{\n  "campaigns": [\n    ' + campaigns + "\n  ],\n")
            for kind, key in (("lead", "leads"), ("contact", "contacts")):
                out.write(f'  "{key}": [')
                with (Path(scratch) / f"{kind}.json").open(encoding="utf-8") as part:
                    shutil.copyfileobj(part, out)
                out.write("\n  ]" + (",\n" if kind == "lead" else "\n"))
            out.write("}\n")
    return counts["lead"], counts["contact"]
