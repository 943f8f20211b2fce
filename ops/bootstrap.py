"""`python -m ops.bootstrap`: configure a ledger for the platform (idempotent).

Reads the platform's configuration the way a Lambda does, from the environment. After a deploy,
`--stack Drexfy-<env>` puts it there from the stack's outputs (credentials, region and endpoint
are the caller's, as for any AWS tool); for the local platform it comes from the state file
`python -m local.aws` writes. On Testnet `--fund-from-faucet` has the network's faucet fund the
funding account; on Mainnet nothing gives XRP away, so it refuses and says what each account
needs. The work itself is in ops/platform_bootstrap.py; lambdas modules are imported only after
the environment is set.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

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


FAUCET_REQUESTS = 20  # a faucet gives a fixed amount a request (Testnet: 100 XRP)


def _fund_from_faucet(args: argparse.Namespace, address: str, wait: Callable[[], None]) -> bool:
    """The network's faucet pays a new funding account until it holds --funding-xrp; False if
    the account exists already (as with a seed: a rerun funds nothing). The faucet is the one
    xrpl-py knows for the ledger's network_id, unless --faucet-url names another."""
    from lambdas.ledger_adapter.client import LedgerClient

    client = LedgerClient(args.ledger_url)
    if client.account_root(address) is not None:
        return False
    wanted = int(xrp_to_drops(args.funding_xrp))
    url = _faucet_url(args)
    asked = 0
    while (held := _drops(client, address)) < wanted:
        if asked == FAUCET_REQUESTS:
            raise FundingFailed(
                f"{address} holds {_drops(client, address)} drops after {asked} faucet requests"
            )
        _ask_faucet(url, address)
        asked += 1
        _until_paid(client, address, held, wait)
    return True


def _drops(client: Any, address: str) -> int:
    root = client.account_root(address)
    return int(root["Balance"]) if root else 0


def _until_paid(client: Any, address: str, held: int, wait: Callable[[], None]) -> None:
    """A faucet pays after it answers (Testnet's within a few ledgers)."""
    for _ in range(120):
        if _drops(client, address) > held:
            return
        wait()
    raise FundingFailed(f"the faucet answered, but {address} was not paid in a validated ledger")


def _faucet_url(args: argparse.Namespace) -> str:
    from xrpl.asyncio.wallet.wallet_generation import get_faucet_url, process_faucet_host_url
    from xrpl.clients import JsonRpcClient
    from xrpl.models.requests import ServerInfo

    if args.faucet_url:
        return process_faucet_host_url(args.faucet_url)
    info = JsonRpcClient(args.ledger_url).request(ServerInfo()).result["info"]
    return get_faucet_url(int(info.get("network_id", 0)))


def _ask_faucet(url: str, address: str) -> None:
    """The faucet API xrpl-py speaks: POST {"destination"}; any 2xx means it will pay."""
    import httpx

    answer = httpx.post(
        url, json={"destination": address, "userAgent": "drexfy-bootstrap"}, timeout=30
    )
    if answer.status_code // 100 != 2:
        raise FundingFailed(
            f"the faucet at {url} answered {answer.status_code}: {answer.text[:200]}"
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m ops.bootstrap`: configure the ledger for the platform (idempotent)."""
    args = _parser().parse_args(argv)
    from ops.stack import ConfigurationError

    try:
        network = _configure(args)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    if args.fund_from_faucet and network == "mainnet":
        print(_mainnet_refusal(args), file=sys.stderr)
        return 2
    steps = _bootstrap(args)
    print("\n".join(steps) if steps else "nothing to do: the ledger is already configured")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops.bootstrap", description=main.__doc__)
    from ops.stack import add_stack_arguments

    add_stack_arguments(
        parser,
        "a deployed stack (Drexfy-<env>): the configuration from its outputs; credentials, "
        "region and endpoint from the environment (or --profile, --region)",
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        default=Path(".local/aws.json"),
        help="the local platform's state file (python -m local.aws writes it); without it or "
        "--stack, the configuration comes from the environment",
    )
    parser.add_argument("--ledger-url", help="rippled JSON-RPC URL (with --stack: its first)")
    funding = parser.add_mutually_exclusive_group()
    funding.add_argument("--fund-from-seed", help="seed that pays the funding account first")
    funding.add_argument(
        "--fund-from-faucet",
        action="store_true",
        help="Testnet: the network's faucet funds the funding account (refused on Mainnet)",
    )
    parser.add_argument("--faucet-url", help="the faucet (default: the network's own)")
    parser.add_argument("--funding-xrp", type=Decimal, default=Decimal(1000))
    parser.add_argument(
        "--investors",
        type=int,
        default=1000,
        help="investors to activate, for what the funding account needs on Mainnet",
    )
    parser.add_argument(
        "--close-ledgers",
        action="store_true",
        help="call ledger_accept while waiting (a standalone local ledger)",
    )
    parser.add_argument("--catalogue", type=Path, default=Path("catalogue/instruments.json"))
    return parser


# What the bootstrap reads, itself or through the Lambdas' code it runs.
STACK_OUTPUTS = (
    "XrplUrls", "XrplNetwork", "ActivationXrp", "IssuerKeyId", "CompanyKeyId", "FundingKeyId",
    "IssuerSignerFunctionName", "CompanySignerFunctionName", "FundingSignerFunctionName",
    "TicketsTableName", "SequencesTableName", "SubmissionsTableName", "InstrumentsTableName",
)  # fmt: skip


def _configure(args: argparse.Namespace) -> str:
    """The environment the Lambdas' code reads, and the network: from the stack, the local
    state file, or as the caller set it."""
    if args.stack:
        return _from_stack(args)
    if args.ledger_url is None:
        from ops.stack import ConfigurationError

        raise ConfigurationError("give --ledger-url, or --stack to read it from the stack")
    if args.state_file.exists():
        use_local_platform(args.state_file, args.ledger_url)
        return "local"
    os.environ["XRPL_URLS"] = args.ledger_url  # the stack's other variables are set already
    return os.environ.get("XRPL_NETWORK", "unknown")


def _from_stack(args: argparse.Namespace) -> str:
    from ops.stack import MissingOutputs, deployed_platform

    _, outputs = deployed_platform(args.stack, args.profile, args.region)
    missing = [name for name in STACK_OUTPUTS if name not in outputs]
    if missing:
        raise MissingOutputs(args.stack, missing, "ops.bootstrap")
    args.ledger_url = args.ledger_url or outputs["XrplUrls"].split(",")[0]
    return outputs["XrplNetwork"]  # ActivationXrp and the rest are now in the environment


def _mainnet_refusal(args: argparse.Namespace) -> str:
    """No faucet on Mainnet: what to send, to which account, and why."""
    from domain.account_reserves import PlatformScale, needs
    from domain.instruments import load_catalogue
    from lambdas.config import settings
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.submission import TicketPolicy
    from ops.platform_bootstrap import BootstrapPlan

    policy = TicketPolicy()
    scale = PlatformScale(
        instruments=len(load_catalogue(args.catalogue.read_text())),
        investors=args.investors,
        activation_xrp=settings().activation_xrp,
        tickets_ready=policy.batch_size + policy.low_water,
        platform_xrp=BootstrapPlan().platform_xrp,
    )
    accounts = platform_accounts().roles()
    lines = [
        "refused: no faucet funds Mainnet accounts; send real XRP to the funding account, then "
        "run this again without --fund-from-faucet. It funds the issuer and the company itself.",
    ]
    reserves = _reserves(args.ledger_url)
    lines.append(f"reserves: {reserves.base} XRP an account, {reserves.owner} XRP an owned object")
    for need in needs(reserves, scale):
        address = next(a for role, a in accounts.items() if role.value == need.role)
        lines.append(f"  {need.role} {address}: at least {need.xrp} XRP ({need.why})")
    return "\n".join(lines)


def _reserves(ledger_url: str) -> Any:
    """The ledger's reserves (server_info), or Mainnet's documented ones, said so, when it cannot
    be reached or has no validated ledger yet."""
    import httpx
    from xrpl.clients import JsonRpcClient, XRPLRequestFailureException
    from xrpl.models.requests import ServerInfo

    from domain.account_reserves import MAINNET_RESERVES, Reserves

    try:
        ledger = JsonRpcClient(ledger_url).request(ServerInfo()).result["info"]["validated_ledger"]
        return Reserves(
            Decimal(str(ledger["reserve_base_xrp"])), Decimal(str(ledger["reserve_inc_xrp"]))
        )
    except (httpx.HTTPError, XRPLRequestFailureException, KeyError) as unread:
        print(f"{ledger_url} gave no reserves ({unread!r}): using Mainnet's", file=sys.stderr)
        return Reserves(*MAINNET_RESERVES)


def _bootstrap(args: argparse.Namespace) -> list[str]:
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from ops.platform_bootstrap import PlatformBootstrap

    accounts = platform_accounts()
    wait = wait_strategy(args.ledger_url, args.close_ledgers)
    if args.fund_from_faucet:
        funded = _fund_from_faucet(args, accounts.funding, wait)
    else:
        funded = bool(args.fund_from_seed) and _fund_from_seed(
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
