"""The frontend API against the embedded AWS (its deployed stack, secret and bus) and the local
ledger the platform is bootstrapped on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.purchase import purchase_id_for
from local.aws import patches
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Frontend
from tests.support.bus import SeenEvents, watching_bus
from tests.support.investors import onboard
from tests.support.stablecoin import mint_stablecoin, take_back_stablecoin
from tests.workflows.conftest import new_investor_id, payment, run_payment


@pytest.fixture(autouse=True)
def ledger_closes_on_waits(ledger: LocalLedger) -> Iterator[None]:
    """Workflows started by a request (the wallet request) see ledgers close as they wait."""
    patches.WorkflowClock.on_wait = lambda: ledger.close_ledger() and None
    yield
    patches.WorkflowClock.on_wait = None


@pytest.fixture(scope="session")
def frontend_token(aws: LocalAws) -> str:
    """The bearer token as deployed: the stack's frontend API secret."""
    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )
    return str(secret["SecretString"])


@pytest.fixture(scope="session")
def frontend(frontend_token: str) -> Frontend:
    return Frontend(frontend_token)


@pytest.fixture(scope="session")
def openapi(frontend: Frontend) -> dict[str, Any]:
    answer = frontend.get("/openapi.json", token=None)
    assert answer.status == 200, answer
    return answer.body  # type: ignore[no-any-return]


@pytest.fixture
def active_investor(ledger: LocalLedger, platform: dict[str, Any]) -> dict[str, str]:
    """ACTIVE with a custodial wallet funded with XRP (no stablecoin line until a purchase)."""
    investor_id = new_investor_id()
    return {"investor_id": investor_id, "address": onboard(ledger, investor_id)}


def registered_investor(status: str, reason: str = "set by a test") -> str:
    """An investor in our records with this status and no wallet."""
    from domain.investor import InvestorStatus
    from lambdas.records import investors as investor_records

    investor_id = new_investor_id()
    investor_records.set_status(investor_id, InvestorStatus(status), reason)
    return investor_id


@pytest.fixture(scope="module")
def frontend_events(aws: LocalAws) -> Iterator[SeenEvents]:
    """Every event the frontend API puts on the bus, as a queue subscribed to it sees them."""
    with watching_bus(aws, "drexfy.frontend") as seen:
        yield seen


@pytest.fixture(scope="session")
def bought(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """An ACTIVE investor who bought 3 units of the senior note, then got 12.34 EUR more
    stablecoin from the issuer (so the portfolio has both kinds of holding)."""
    investor_id = new_investor_id()
    address = onboard(ledger, investor_id)
    detail = payment(investor_id, units=3, amount="300.00")
    patches.WorkflowClock.on_wait = lambda: ledger.close_ledger() and None  # while it settles
    try:
        execution = run_payment(aws, detail)
    finally:
        patches.WorkflowClock.on_wait = None
    assert execution["status"] == "SUCCEEDED", execution
    mint_stablecoin(platform, ledger, address, "12.34")
    yield {
        "investor_id": investor_id,
        "address": address,
        "purchase_id": purchase_id_for(detail["payment_id"]),
    }
    # Outside every record: taken back, so the platform's books reconcile after the session
    # (tests/reliability/conftest.py reconciles them at the full scale).
    take_back_stablecoin(platform, ledger, address, "12.34")
