"""Deployment environments (`cdk synth -c env=NAME`): what differs between dev, test and prod."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

XRPL_NETWORKS = ("local", "testnet", "mainnet")


@dataclass(frozen=True)
class DeploymentEnvironment:
    name: str
    # JSON-RPC servers of independent operators: a money decision needs two to agree
    xrpl_urls: tuple[str, ...]
    retain_data: bool  # keep tables and keys when the stack is deleted
    log_retention_days: int
    frontend_endpoint: str = "https://drexfy.bubbleapps.io/version-test/api/1.1/wf/drexfy-events"
    # The payment provider's API (its sandbox outside prod): `/payouts` and `/refunds` under it.
    payment_provider_endpoint: str = "https://sandbox.payments.drexfy.eu/v1"
    explorer_url: str = "https://testnet.xrpl.org"  # links to transactions in the frontend
    alarm_email: str = "operations@drexfy.eu"
    activation_xrp: Decimal = Decimal(15)  # the seed's figure; covers base + 2 owner reserves
    ledger_close_seconds: int = 4  # XRPL Testnet/Mainnet close every 3-5 s; paces Wait states
    # The HTTP API's throttling of each route (its stage's default route settings): a bucket of
    # `api_burst` requests refilled at `api_rate_per_second`; past it API Gateway answers 429
    # before any function runs, and the providers retry (a 429 is a non-2xx to them). The
    # providers send a few requests a minute; after an outage of theirs they redeliver a
    # backlog, and 50 a second drains 10,000 in under 4 minutes. The frontend's pages make a
    # few calls each: 50 a second a route is hundreds of investors at the same moment. Every
    # environment has production's numbers, so a test or local run is throttled as prod is.
    api_rate_per_second: int = 50
    api_burst: int = 100
    # Step Functions execution logs with every state's input and output: investor ids,
    # payments, KYC and AML reasons. Only where the data is made up (local, dev); elsewhere the
    # logs keep the states, errors and timings, and an execution's data stays in its history.
    log_execution_data: bool = False
    # The bus archive, the replay source: events carry payments and AML reasons, so they are
    # not kept forever. Replays reprocess after an outage or a fix (days, weeks); production
    # keeps 400 days so the year-end reconciliation with the payment gateway and the auditors
    # can still replay any day of the year closed, with a month's margin. What must be kept
    # longer is in the tables (Payments, Audit) and on the ledger, not in the archive.
    archive_retention_days: int = 90
    # What the ledger is, for the set-up after a deploy (`ops.bootstrap --stack`): Testnet's
    # faucet may fund the funding account; on Mainnet an operator sends real XRP.
    xrpl_network: str = "testnet"

    def __post_init__(self) -> None:
        if self.xrpl_network not in XRPL_NETWORKS:
            raise ValueError(f"xrpl_network {self.xrpl_network!r}: one of {XRPL_NETWORKS}")
        # One server's word alone would decide whether money moved: only on this machine.
        if self.name != "local" and len(set(self.xrpl_urls)) < 2:
            raise ValueError(f"env {self.name!r} needs two or more XRPL servers")

    @property
    def stack_name(self) -> str:
        return f"Drexfy-{self.name}"


# xrpl.org/public-servers: each pair is two operators (Ripple and XRPL Labs; the XRPL
# Foundation's cluster and Ripple's full-history one).
TESTNET = ("https://s.altnet.rippletest.net:51234", "https://testnet.xrpl-labs.com")
MAINNET = ("https://xrplcluster.com", "https://s2.ripple.com:51234")
ENVIRONMENTS = {
    # Locally the frontend is the notification receiver the local platform runs, and the ledger
    # `make up`'s on its fixed port (tests and the demo give the two ports of theirs).
    "local": DeploymentEnvironment(
        "local",
        ("http://127.0.0.1:5005",),
        False,
        7,
        frontend_endpoint="http://127.0.0.1:8790/notifications",
        payment_provider_endpoint="http://127.0.0.1:8791",  # local/payment_provider.py
        explorer_url="http://127.0.0.1:5005/explorer",
        ledger_close_seconds=2,  # `make up`'s ledger; the demo and benchmarks override it
        log_execution_data=True,
        xrpl_network="local",
    ),
    "dev": DeploymentEnvironment("dev", TESTNET, False, 14, log_execution_data=True),
    "test": DeploymentEnvironment("test", TESTNET, False, 30),
    "prod": DeploymentEnvironment(
        "prod",
        MAINNET,
        True,
        365,
        frontend_endpoint="https://drexfy.bubbleapps.io/api/1.1/wf/drexfy-events",
        payment_provider_endpoint="https://payments.drexfy.eu/v1",
        explorer_url="https://livenet.xrpl.org",
        archive_retention_days=400,
        xrpl_network="mainnet",
    ),
}


def environment_named(name: str) -> DeploymentEnvironment:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(f"unknown env {name!r}; use one of {sorted(ENVIRONMENTS)}") from None
