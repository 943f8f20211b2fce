"""Investors for tests: what onboarding (issue 6) will do, done directly: a custodial wallet,
activation XRP from genesis, and ACTIVE standing."""

from __future__ import annotations

from local.ledger_server import LocalLedger
from local.ledger_server.genesis import fund


def onboard(ledger: LocalLedger, investor_id: str, xrp: int = 40) -> str:
    from domain.investor import InvestorStatus
    from lambdas.custody.wallet_generator import create_investor_wallet
    from lambdas.records import investors as investor_records

    wallet = create_investor_wallet(investor_id)
    fund(ledger.rpc_url, wallet.address, xrp)
    investor_records.set_status(investor_id, InvestorStatus.ACTIVE, "KYC passed (test)")
    return wallet.address
