"""Stablecoin for tests: EUR the issuer mints straight to a holder (as a coupon or a refund
would leave it), through the issuer's signer and decided by the validated ledger."""

from __future__ import annotations

import uuid
from typing import Any

from local.ledger_server import LocalLedger
from local.ledger_server.genesis import accept


def mint_stablecoin(platform: dict[str, Any], ledger: LocalLedger, to: str, value: str) -> None:
    amount = {"currency": "EUR", "issuer": platform["accounts"].issuer, "value": value}
    _issuer_submits(platform, ledger, "test-mint", {"Destination": to, "Amount": amount})


def take_back_stablecoin(
    platform: dict[str, Any], ledger: LocalLedger, holder: str, value: str
) -> None:
    """The issuer claws back what a test minted outside every record, so the books it leaves
    reconcile (an IOU's Clawback names the holder as the amount's issuer)."""
    amount = {"currency": "EUR", "issuer": holder, "value": value}
    _issuer_submits(platform, ledger, "test-clawback", {"Amount": amount}, "Clawback")


def _issuer_submits(
    platform: dict[str, Any],
    ledger: LocalLedger,
    prefix: str,
    fields: dict[str, Any],
    kind: str = "Payment",
) -> None:
    from lambdas.custody import signers
    from lambdas.ledger_adapter.submission import LedgerSubmitter

    client, issuer = platform["client"], platform["accounts"].issuer
    submitter = LedgerSubmitter.for_ledger(client.url)
    key, sign = f"{prefix}-{uuid.uuid4().hex[:8]}", signers.platform_signer("issuer")
    tx = {"TransactionType": kind, "Account": issuer, **fields}
    submitter.submit(key, tx, sign, use_ticket=True)
    accept(ledger.rpc_url)
    assert submitter.check(key, sign).result == "tesSUCCESS"
