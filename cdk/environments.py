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
    frontend_endpoint: str = "https://drexfy.bubbleapps.io/version-test/api/1.1/wf/drexfy-events"
    explorer_url: str = "https://testnet.xrpl.org"  # links to transactions in the frontend
    alarm_email: str = "operations@drexfy.eu"
    activation_xrp: Decimal = Decimal(15)  # the seed's figure; covers base + 2 owner reserves
    ledger_close_seconds: int = 4  # XRPL Testnet/Mainnet close every 3-5 s; paces Wait states

    @property
    def stack_name(self) -> str:
        return f"Drexfy-{self.name}"


TESTNET = "https://s.altnet.rippletest.net:51234"
ENVIRONMENTS = {
    # Locally the frontend is the notification receiver the local platform runs.
    "local": DeploymentEnvironment(
        "local",
        "http://127.0.0.1:5005",
        False,
        7,
        frontend_endpoint="http://127.0.0.1:8790/notifications",
        explorer_url="http://127.0.0.1:5005/explorer",
        ledger_close_seconds=2,  # `make up`'s ledger; the demo and benchmarks override it
    ),
    "dev": DeploymentEnvironment("dev", TESTNET, False, 14),
    "test": DeploymentEnvironment("test", TESTNET, False, 30),
    "prod": DeploymentEnvironment(
        "prod",
        "https://xrplcluster.com",
        True,
        365,
        frontend_endpoint="https://drexfy.bubbleapps.io/api/1.1/wf/drexfy-events",
        explorer_url="https://livenet.xrpl.org",
    ),
}


def environment_named(name: str) -> DeploymentEnvironment:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(f"unknown env {name!r}; use one of {sorted(ENVIRONMENTS)}") from None
