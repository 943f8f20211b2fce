"""Driving the local ledger by hand: funding accounts from genesis, closing ledgers. For tests,
benchmarks and the demo; nothing here works against a real network."""

from __future__ import annotations

from decimal import Decimal

from xrpl.clients import JsonRpcClient
from xrpl.models.requests import GenericRequest
from xrpl.models.transactions import Payment
from xrpl.transaction import autofill_and_sign, submit
from xrpl.utils import xrp_to_drops
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_SEED


def accept(url: str, times: int = 1) -> int:
    """Close (and validate) the open ledger, as rippled's admin ledger_accept does."""
    index = 0
    for _ in range(times):
        result = JsonRpcClient(url).request(GenericRequest(method="ledger_accept")).result
        index = int(result["ledger_current_index"]) - 1
    return index


def fund(url: str, address: str, xrp: Decimal | int = 1000) -> None:
    """Pay XRP from the genesis account and validate it."""
    client = JsonRpcClient(url)
    genesis = Wallet.from_seed(GENESIS_SEED)
    payment = Payment(
        account=genesis.address, destination=address, amount=xrp_to_drops(Decimal(xrp))
    )
    result = submit(autofill_and_sign(payment, client, genesis), client).result
    if result["engine_result"] != "tesSUCCESS":
        raise RuntimeError(f"funding {address} from genesis: {result}")
    accept(url)
