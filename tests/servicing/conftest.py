"""Servicing tests: instruments of their own (no other test's purchases in their books), bought
through the purchase workflow, and the company funded as collections would fund it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.investors.conftest import drexfy_ops  # noqa: F401 (the operators' tool, a fixture)
from tests.support.investors import onboard
from tests.support.waiting import wait_for
from tests.workflows.conftest import new_investor_id, payment, run_payment


def new_instrument(platform: dict[str, Any], ledger: LocalLedger, prefix: str, **terms: Any) -> str:
    """A fresh instrument in the catalogue and on the ledger, bootstrapped as any other."""
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from local.ledger_server.genesis import accept
    from ops.platform_bootstrap import BootstrapPlan, PlatformBootstrap

    instrument_id = f"{prefix}-{uuid.uuid4().hex[:6].upper()}"
    entry = {
        "instrument_id": instrument_id,
        "name": f"{prefix} test note",
        "sme_pool": "TEST-POOL",
        "coupon_rate": "0.05",
        "day_count": "ACT/360",
        "payments_per_year": 4,
        "issue_date": "2026-01-01",
        "maturity": "2027-01-01",
        "business_day_convention": "MODIFIED_FOLLOWING",
        "unit_price": "100.00",
        "currency": "EUR",
        "tranche_units": 1000,
        **terms,
    }
    catalogue = load_catalogue(json.dumps({"instruments": [entry]}))
    signing = {role: signers.platform_signer(role) for role in ("issuer", "company", "funding")}
    submitter = LedgerSubmitter.for_ledger(ledger.rpc_url)
    bootstrap = PlatformBootstrap(
        submitter, platform["accounts"], signing, lambda: accept(ledger.rpc_url)
    )
    bootstrap.run(catalogue, BootstrapPlan(ticket_pools=False))
    return instrument_id


def buy(aws: LocalAws, ledger: LocalLedger, instrument: str, units: int, price: int = 100) -> str:
    investor_id = new_investor_id()
    onboard(ledger, investor_id)
    detail = payment(
        investor_id, instrument_id=instrument, units=units, amount=f"{units * price}.00"
    )
    execution = run_payment(aws, detail)
    assert json.loads(execution["output"])["status"] == "DELIVERED", execution.get("output")
    return investor_id


def fund_company(aws: LocalAws, amount: Decimal) -> None:
    """A collection from the SME pool, sent as the servicer's signed webhook and minted to the
    company (tests/servicing/test_collections.py)."""
    from tests.servicing.test_collections import collection, send

    body = collection(amount=str(amount))
    assert send(aws, body)[0] == 202
    collection_id = json.loads(body)["collection_id"]
    (done,) = finished_for(aws, "Collection", "collection", "collection_id", collection_id)
    assert done["status"] == "SUCCEEDED", done


def on(day: str) -> datetime:
    """The daily schedule's time on that day."""
    return datetime.fromisoformat(f"{day}T06:00:00").replace(tzinfo=UTC)


def execution(aws: LocalAws, name: str) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    arn = aws.stack.output("DistributionStateMachineArn").replace(":stateMachine:", ":execution:")
    return sfn.describe_execution(executionArn=f"{arn}:{name}")  # type: ignore[no-any-return]


def finished(aws: LocalAws, name: str, timeout: float = 120) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found = execution(aws, name)
        return found if found["status"] != "RUNNING" else None

    return wait_for(done, timeout)  # type: ignore[no-any-return]


def finished_for(
    aws: LocalAws, workflow: str, key: str, field: str, value: str, count: int = 1
) -> list[dict[str, Any]]:
    """The finished executions of a workflow whose input's `key` object has `field` = value,
    once there are `count` of them."""
    sfn = aws.client("stepfunctions")
    arn = aws.stack.output(f"{workflow}StateMachineArn")

    def done() -> list[dict[str, Any]]:
        found = [
            sfn.describe_execution(executionArn=e["executionArn"])
            for e in sfn.list_executions(stateMachineArn=arn)["executions"]
        ]
        ours = [
            e for e in found
            if json.loads(e["input"])[key].get(field) == value and e["status"] != "RUNNING"
        ]  # fmt: skip
        return ours if len(ours) >= count else []

    return wait_for(done, timeout=60)  # type: ignore[no-any-return]


def awaiting_approval(distribution_id: str, timeout: float = 60) -> str:
    """The workflow's task token, once it waits for an operator."""
    from lambdas.records import distributions

    def token() -> str | None:
        state = distributions.find(distribution_id)
        return state.awaiting_token if state else None

    return wait_for(token, timeout)  # type: ignore[no-any-return]


@contextmanager
def ledger_closing_on_waits(ledger: LocalLedger) -> Iterator[None]:
    """For a module's set-up: each Wait of a workflow closes a ledger (tests/conftest.py does
    this for each test, after module fixtures are made)."""
    from local.aws import patches

    before = patches.WorkflowClock.on_wait  # a test's own clock, when made inside a test
    patches.WorkflowClock.on_wait = lambda: ledger.close_ledger() and None
    try:
        yield
    finally:
        patches.WorkflowClock.on_wait = before
