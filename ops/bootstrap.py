"""`python -m ops.bootstrap`: configure a ledger for the platform (idempotent).

Reads the platform's configuration the way a Lambda does, from the environment; for the local
platform that comes from the state file `python -m local.aws` writes. The work itself is in
ops/platform_bootstrap.py; lambdas modules are imported only after the environment is set.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from xrpl.utils import xrp_to_drops

from ops.local_state import use_local_platform


class FundingFailed(RuntimeError):
    """The seed could not pay the funding account."""


def wait_strategy(ledger_url: str, close_ledgers: bool) -> Callable[[], None]:
    if not close_ledgers:
        return lambda: time.sleep(1.0)
    from xrpl.clients import JsonRpcClient
    from xrpl.models.requests import GenericRequest

    client = JsonRpcClient(ledger_url)
    return lambda: client.request(GenericRequest(method="ledger_accept"))  # type: ignore[return-value]


def _until_validated(ledger_url: str, address: str, wait: Callable[[], None]) -> None:
    """The ledger closes at its own pace: wait until the account is in a validated ledger."""
    from lambdas.ledger_adapter.client import LedgerClient

    client = LedgerClient(ledger_url)
    for _ in range(120):
        if client.account_root(address) is not None:
            return
        wait()
    raise FundingFailed(f"{address} was funded but no validated ledger holds it")


def _fund_from_seed(ledger_url: str, seed: str, address: str, xrp: Decimal) -> bool:
    """Give the funding account its XRP from a seed (local genesis or a Testnet faucet wallet)."""
    from lambdas.ledger_adapter.client import LedgerClient

    client = LedgerClient(ledger_url)
    if client.account_root(address) is not None:
        return False
    from xrpl.clients import JsonRpcClient
    from xrpl.models.transactions import Payment
    from xrpl.transaction import autofill_and_sign, submit
    from xrpl.wallet import Wallet

    rpc = JsonRpcClient(ledger_url)
    source = Wallet.from_seed(seed)
    payment = Payment(account=source.address, destination=address, amount=xrp_to_drops(xrp))
    result = submit(autofill_and_sign(payment, rpc, source), rpc).result["engine_result"]
    if result != "tesSUCCESS":
        raise FundingFailed(f"funding the funding account: {result}")
    return True


def main(argv: list[str] | None = None) -> int:
    """`python -m ops.bootstrap`: configure the ledger for the platform (idempotent)."""
    parser = argparse.ArgumentParser(prog="python -m ops.bootstrap", description=main.__doc__)
    parser.add_argument(
        "--state-file",
        type=Path,
        default=Path(".local/aws.json"),
        help="the local platform's state file (python -m local.aws writes it); without it, "
        "the configuration comes from the environment (AWS)",
    )
    parser.add_argument("--ledger-url", required=True, help="rippled JSON-RPC URL")
    parser.add_argument("--fund-from-seed", help="seed that pays the funding account first")
    parser.add_argument("--funding-xrp", type=Decimal, default=Decimal(1000))
    parser.add_argument(
        "--close-ledgers",
        action="store_true",
        help="call ledger_accept while waiting (a standalone local ledger)",
    )
    parser.add_argument("--catalogue", type=Path, default=Path("catalogue/instruments.json"))
    args = parser.parse_args(argv)
    if args.state_file.exists():
        use_local_platform(args.state_file, args.ledger_url)
    else:  # in AWS: the stack's variables are in the environment, as the Lambdas get them
        os.environ["XRPL_URLS"] = args.ledger_url
    steps = _bootstrap(args)
    print("\n".join(steps) if steps else "nothing to do: the ledger is already configured")
    return 0


def _bootstrap(args: argparse.Namespace) -> list[str]:
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from ops.platform_bootstrap import PlatformBootstrap

    accounts = platform_accounts()
    wait = wait_strategy(args.ledger_url, args.close_ledgers)
    funded = args.fund_from_seed and _fund_from_seed(
        args.ledger_url, args.fund_from_seed, accounts.funding, args.funding_xrp
    )
    if funded:
        _until_validated(args.ledger_url, accounts.funding, wait)
    submitter = LedgerSubmitter.for_ledger(args.ledger_url)
    # Through the signing service: no one else, an administrator included, may use the keys.
    signing = {role: signers.platform_signer(role) for role in accounts.roles()}
    catalogue = load_catalogue(args.catalogue.read_text())
    steps = PlatformBootstrap(submitter, accounts, signing, wait).run(catalogue)
    return ([f"funded {accounts.funding}"] if funded else []) + steps


if __name__ == "__main__":
    raise SystemExit(main())
