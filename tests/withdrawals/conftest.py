"""Withdrawals against the embedded AWS, the local ledger and the payment provider stand-in:
investors with a verified payout account and EUR in their wallet, and the executions their
withdrawals start."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.bank_account import BankAccount
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.conftest import frontend, frontend_token  # noqa: F401 (fixtures)
from tests.investors.conftest import drexfy_ops  # noqa: F401 (the operators' tool, a fixture)
from tests.support.books import stablecoin_balance, stablecoin_outstanding
from tests.support.investors import onboard
from tests.support.stablecoin import mint_stablecoin
from tests.support.waiting import wait_for
from tests.workflows.conftest import new_investor_id, payment, run_payment

ACCOUNT = BankAccount("DE89370400440532013000", "Ada Lovelace")


def kyc_approved(ledger: LocalLedger) -> tuple[str, str]:
    """A new investor KYC approved with a verified payout account, onboarded: id, address."""
    from lambdas.records import investors

    investor_id = new_investor_id()
    investors.record_kyc_decision(
        investor_id, f"case-{uuid.uuid4().hex[:6]}", datetime.now(UTC), True, "",
        payout_account=ACCOUNT,
    )  # fmt: skip
    return investor_id, onboard(ledger, investor_id)


def eur_holder(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], eur: str = "500.00"
) -> dict[str, str]:
    """An ACTIVE investor whose KYC verified a payout account, with an authorized stablecoin
    line (one unit bought) and `eur` of stablecoin in the wallet."""
    investor_id, address = kyc_approved(ledger)
    bought = run_payment(aws, payment(investor_id, units=1, amount="100.00"))
    assert json.loads(bought["output"])["status"] == "DELIVERED", bought.get("output")
    mint_stablecoin(platform, ledger, address, eur)
    return {"investor_id": investor_id, "address": address}


def balance(platform: dict[str, Any], address: str) -> Decimal:
    return stablecoin_balance(platform["client"], address, platform["accounts"].issuer)


def outstanding(platform: dict[str, Any]) -> Decimal:
    return stablecoin_outstanding(platform["client"], platform["accounts"].issuer)


def executions(
    aws: LocalAws, workflow: str, matches: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    arn = aws.stack.output(f"{workflow}StateMachineArn")
    found = [
        sfn.describe_execution(executionArn=e["executionArn"])
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
        for e in page["executions"]
    ]
    return [e for e in found if matches(json.loads(e["input"]))]


def finished(
    aws: LocalAws, workflow: str, withdrawal_id: str, count: int = 1, timeout: float = 60
) -> list[dict[str, Any]]:
    """The workflow's finished executions for the withdrawal, once there are `count`."""
    key = "withdrawal" if workflow == "Withdrawal" else "outcome"

    def ours(given: dict[str, Any]) -> bool:
        return bool(given.get(key, {}).get("withdrawal_id") == withdrawal_id)

    def done() -> list[dict[str, Any]]:
        ended = [e for e in executions(aws, workflow, ours) if e["status"] != "RUNNING"]
        return ended if len(ended) >= count else []

    return wait_for(done, timeout)  # type: ignore[no-any-return]


@pytest.fixture
def holder(aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]) -> dict[str, str]:
    return eur_holder(aws, ledger, platform)
