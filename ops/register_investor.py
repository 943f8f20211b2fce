"""`python -m ops.register_investor`: register investors directly, as onboarding would after KYC:
a custodial wallet (seed sealed by KMS), activation XRP from the funding account, ACTIVE.

For the local platform and tests, until KYC webhooks drive the onboarding workflow. Idempotent:
the activation payment has a fixed business key, the wallet is created once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ops.bootstrap import wait_strategy
from ops.local_state import use_local_platform


class ActivationFailed(RuntimeError):
    """The activation payment failed on the validated ledger."""


def register_investor(investor_id: str, wait: Callable[[], None]) -> str:
    """The investor ACTIVE with a funded wallet; returns its address."""
    from xrpl.utils import xrp_to_drops

    from domain import business_keys
    from domain.investor import InvestorStatus
    from lambdas.config import settings
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.custody.wallet_generator import create_investor_wallet
    from lambdas.ledger_adapter.submission import LedgerSubmitter, Status
    from lambdas.records import investors as investor_records

    wallet = create_investor_wallet(investor_id)
    submitter = LedgerSubmitter.for_ledger(settings().xrpl_urls)
    key = business_keys.activation(investor_id)
    activation = {
        "TransactionType": "Payment",
        "Account": platform_accounts().funding,
        "Destination": wallet.address,
        "Amount": xrp_to_drops(settings().activation_xrp),
    }
    sign = signers.platform_signer("funding")
    record = submitter.submit_when_a_ticket_is_free(key, activation, sign, wait)
    if record is None:
        raise ActivationFailed(f"{key}: no Ticket of the funding account came free")
    while record.status == Status.SUBMITTED:
        wait()
        record = submitter.check(key, sign)
    if record.status != Status.SUCCEEDED:
        raise ActivationFailed(f"{key}: {record.result}")
    investor_records.set_status(investor_id, InvestorStatus.ACTIVE, "registered by an operator")
    return wallet.address


def main(argv: list[str] | None = None) -> int:
    """Register investors as ACTIVE with a funded custodial wallet (idempotent)."""
    parser = argparse.ArgumentParser(
        prog="python -m ops.register_investor", description=main.__doc__
    )
    parser.add_argument("investor_ids", nargs="+", metavar="INVESTOR_ID")
    parser.add_argument("--state-file", type=Path, default=Path(".local/aws.json"))
    parser.add_argument("--ledger-url", required=True, help="rippled JSON-RPC URL")
    parser.add_argument("--close-ledgers", action="store_true", help="call ledger_accept to wait")
    args = parser.parse_args(argv)
    use_local_platform(args.state_file, args.ledger_url)
    wait = wait_strategy(args.ledger_url, args.close_ledgers)
    for investor_id in args.investor_ids:
        print(f"{investor_id}: ACTIVE, wallet {register_investor(investor_id, wait)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
