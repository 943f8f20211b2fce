"""Fixtures: one local ledger per test session (per xdist worker), driven by xrpl-py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from xrpl.clients import JsonRpcClient
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.core.binarycodec import encode, encode_for_signing
from xrpl.models import (
    AccountInfo,
    AccountLines,
    AccountObjects,
    Ledger,
    Payment,
    Request,
    SubmitOnly,
    Transaction,
    Tx,
)
from xrpl.transaction import autofill, sign
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_SEED, LocalLedger

XRP = 1_000_000


class Env:
    """A thin test harness around a running LocalLedger and xrpl-py's JSON-RPC client."""

    def __init__(self, ledger: LocalLedger) -> None:
        self.ledger = ledger
        self.client = JsonRpcClient(ledger.rpc_url)
        self.genesis = Wallet.from_seed(GENESIS_SEED, algorithm=CryptoAlgorithm.SECP256K1)
        self.blobs: list[tuple[str, str]] = []

    def request(self, req: Request) -> dict[str, Any]:
        return dict(self.client.request(req).result)

    def close(self) -> int:
        return self.ledger.close_ledger().seq

    def sign(self, tx: Transaction, wallet: Wallet, fill: bool = True) -> Transaction:
        if fill:
            tx = autofill(tx, self.client)
        return sign(tx, wallet)

    def submit_signed(self, signed: Transaction) -> dict[str, Any]:
        blob = signed.blob()
        result = self.request(SubmitOnly(tx_blob=blob))
        if "tx_json" in result:
            self.blobs.append((blob, result["tx_json"]["hash"]))
        return result

    def submit(
        self, tx: Transaction, wallet: Wallet, expect: str | None = None, fill: bool = True
    ) -> dict[str, Any]:
        result = self.submit_signed(self.sign(tx, wallet, fill))
        if expect is not None:
            assert result.get("engine_result") == expect, result
        return result

    def submit_raw(
        self, tx_json: dict[str, Any], wallet: Wallet, expect: str | None = None
    ) -> dict[str, Any]:
        """Sign a raw JSON transaction, bypassing xrpl-py's model validation (for tem tests)."""
        account = self.account(wallet.address)
        tx_json = {"Fee": "10", "Sequence": account["Sequence"], "Flags": 0, **tx_json}
        tx_json["SigningPubKey"] = wallet.public_key
        tx_json["TxnSignature"] = keypairs.sign(
            bytes.fromhex(encode_for_signing(tx_json)), wallet.private_key
        )
        result = self.request(SubmitOnly(tx_blob=encode(tx_json)))
        if expect is not None:
            assert result.get("engine_result") == expect, result
        return result

    def wallet(
        self, xrp: float = 100, algorithm: CryptoAlgorithm = CryptoAlgorithm.ED25519
    ) -> Wallet:
        wallet = Wallet.create(algorithm)
        self.fund(wallet.address, int(xrp * XRP))
        self.close()
        return wallet

    def fund(self, address: str, drops: int) -> None:
        self.submit(
            Payment(account=self.genesis.address, destination=address, amount=str(drops)),
            self.genesis,
            "tesSUCCESS",
        )

    def account(self, address: str, ledger_index: str = "current") -> dict[str, Any]:
        return self.request(AccountInfo(account=address, ledger_index=ledger_index))["account_data"]

    def balance(self, address: str) -> int:
        return int(self.account(address)["Balance"])

    def lines(self, address: str) -> list[dict[str, Any]]:
        return list(self.request(AccountLines(account=address))["lines"])

    def objects(self, address: str, type_: str | None = None) -> list[dict[str, Any]]:
        req = (
            AccountObjects(account=address, type=type_)
            if type_
            else AccountObjects(account=address)
        )
        return list(self.request(req)["account_objects"])

    def tx(self, tx_hash: str) -> dict[str, Any]:
        return self.request(Tx(transaction=tx_hash))

    def validated_seq(self) -> int:
        return int(self.request(Ledger(ledger_index="validated"))["ledger_index"])

    def final(self, tx: Transaction, wallet: Wallet, expect: str) -> dict[str, Any]:
        """Submit, close, and return the validated tx result (asserting its result)."""
        signed = self.sign(tx, wallet)
        self.submit_signed(signed)
        self.close()
        result = self.tx(signed.get_hash())
        assert result.get("validated") is True, result
        assert result["meta"]["TransactionResult"] == expect, result["meta"]
        return result


@pytest.fixture(scope="session")
def ledger() -> Iterator[LocalLedger]:
    with LocalLedger() as running:
        yield running


@pytest.fixture(scope="session")
def env(ledger: LocalLedger) -> Env:
    return Env(ledger)
