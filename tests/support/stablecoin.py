"""Stablecoin for tests: EUR the issuer mints straight to a holder (as a coupon or a refund
would leave it), through the issuer's signer and decided by the validated ledger."""

from __future__ import annotations

import uuid
from typing import Any

from local.ledger_server import LocalLedger
from local.ledger_server.genesis import accept


def mint_stablecoin(platform: dict[str, Any], ledger: LocalLedger, to: str, value: str) -> None:
    from lambdas.custody import signers
    from lambdas.ledger_adapter.submission import LedgerSubmitter

    client, issuer = platform["client"], platform["accounts"].issuer
    submitter = LedgerSubmitter.for_ledger(client.url)
    key, sign = f"test-mint-{uuid.uuid4().hex[:8]}", signers.platform_signer("issuer")
    amount = {"currency": "EUR", "issuer": issuer, "value": value}
    tx = {"TransactionType": "Payment", "Account": issuer, "Destination": to, "Amount": amount}
    submitter.submit(key, tx, sign, use_ticket=True)
    accept(ledger.rpc_url)
    assert submitter.check(key, sign).result == "tesSUCCESS"
