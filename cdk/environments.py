"""Deployment environments (`cdk synth -c env=NAME`): what differs between dev, test and prod."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class DeploymentEnvironment:
    name: str
    xrpl_url: str
    retain_data: bool  # keep tables and keys when the stack is deleted
    log_retention_days: int
    activation_xrp: Decimal = Decimal(15)  # the seed's figure; covers base + 2 owner reserves

    @property
    def stack_name(self) -> str:
        return f"Drexfy-{self.name}"


ENVIRONMENTS = {
    "local": DeploymentEnvironment("local", "http://127.0.0.1:5005", False, 7),
    "dev": DeploymentEnvironment("dev", "https://s.altnet.rippletest.net:51234", False, 14),
    "test": DeploymentEnvironment("test", "https://s.altnet.rippletest.net:51234", False, 30),
    "prod": DeploymentEnvironment("prod", "https://xrplcluster.com", True, 365),
}


def environment_named(name: str) -> DeploymentEnvironment:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(f"unknown env {name!r}; use one of {sorted(ENVIRONMENTS)}") from None
