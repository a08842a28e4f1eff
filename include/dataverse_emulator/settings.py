"""Start-up settings (fixed for the life of the process) and the runtime configuration the admin API can change."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .faults import FaultRule
from .limits import LimitSettings


@dataclass
class Settings:
    host: str
    port: int
    public_host: str
    tenant_id: str
    client_id: str
    client_secret: str
    data_dir: Path
    admin_anywhere: bool = False

    @property
    def org_url(self) -> str:
        return f"https://{self.public_host}:{self.port}"

    @property
    def org_aliases(self) -> set[str]:
        """Every origin a client may use for this org (the certificate covers them all)."""
        hosts = {self.public_host, "127.0.0.1", "localhost"}
        if self.host not in ("0.0.0.0", "::", ""):
            hosts.add(self.host)
        return {f"https://{h}:{self.port}" for h in hosts}

    @property
    def authority(self) -> str:
        return f"{self.org_url}/{self.tenant_id}"


@dataclass
class RuntimeConfig:
    limits: LimitSettings = field(default_factory=LimitSettings)
    faults: list[FaultRule] = field(default_factory=list)
    fault_seed: int = 0
    token_lifetime_seconds: int = 3600

    def to_dict(self) -> dict[str, Any]:
        return {"limits": self.limits.to_dict(), "faults": [r.to_dict() for r in self.faults],
                "fault_seed": self.fault_seed, "token_lifetime_seconds": self.token_lifetime_seconds}

    def patched(self, patch: dict[str, Any], defaults: RuntimeConfig | None = None) -> RuntimeConfig:
        """A new config with ``patch`` applied: ``limits`` merges (``null`` restores ``defaults``), ``faults``
        replaces the rule list. Raises ``ValueError`` naming the bad field."""
        if not isinstance(patch, dict):
            raise ValueError("the configuration must be a JSON object")
        unknown = set(patch) - {"limits", "faults", "fault_seed", "token_lifetime_seconds"}
        if unknown:
            raise ValueError(f"unknown configuration field(s): {', '.join(sorted(unknown))}")
        new = copy.deepcopy(self)
        if "limits" in patch:
            limits = patch["limits"]
            if limits is None:
                new.limits = copy.deepcopy((defaults or RuntimeConfig()).limits)
            else:
                if not isinstance(limits, dict):
                    raise ValueError("limits must be an object")
                unknown = set(limits) - set(LimitSettings.__dataclass_fields__)
                if unknown:
                    raise ValueError(f"unknown limits field(s): {', '.join(sorted(unknown))}")
                for name, value in limits.items():
                    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                        raise ValueError(f"limits.{name} must be a positive number")
                    cast = int if name in ("requests_per_window", "max_concurrent") else float
                    setattr(new.limits, name, cast(value))
        if "faults" in patch:
            if not isinstance(patch["faults"], list):
                raise ValueError("faults must be a list of rules")
            new.faults = [FaultRule.from_dict(r) for r in patch["faults"]]
        if "fault_seed" in patch:
            if not isinstance(patch["fault_seed"], int):
                raise ValueError("fault_seed must be an integer")
            new.fault_seed = patch["fault_seed"]
        if "token_lifetime_seconds" in patch:
            value = patch["token_lifetime_seconds"]
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError("token_lifetime_seconds must be a positive integer")
            new.token_lifetime_seconds = value
        return new
