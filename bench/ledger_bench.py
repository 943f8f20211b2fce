"""Throughput of the local XRPL ledger: submit + close, XRP and IOU payments.

Blobs are signed before timing starts. Two paths are timed:
  engine  - Chain.submit(parse(blob)) for every blob, then one close (decode,
            signature check, open-ledger apply, canonical re-apply, metadata);
  ws      - the same blobs sent as `submit` over WebSocket with 64 requests in
            flight, then `ledger_accept` (adds JSON and socket cost).

Usage: .venv/bin/python bench/ledger_bench.py [--count 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import connect
from xrpl.constants import CryptoAlgorithm
from xrpl.core.addresscodec import decode_classic_address
from xrpl.models import (
    AccountSet,
    AccountSetAsfFlag,
    IssuedCurrencyAmount,
    Payment,
    Transaction,
    TrustSet,
)
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_SEED, LocalLedger
from local.ledger_server.chain import Chain
from local.ledger_server.tx import check_signature, parse

SENDERS = 20
LLS_MARGIN = 1000


def _seq(chain: Chain, address: str) -> int:
    from local.ledger_server import keylets

    sle = chain.read_open(keylets.account(bytes(decode_classic_address(address))))
    assert sle is not None
    return int(sle["Sequence"])


def _submit_now(chain: Chain, tx: Transaction, wallet: Wallet) -> None:
    tx = tx.__class__.from_dict(
        {**tx.to_dict(), "sequence": _seq(chain, wallet.address), "fee": "10"}
    )
    result = chain.submit(parse(bytes.fromhex(sign(tx, wallet).blob())))
    assert result.result == "tesSUCCESS", result


def _setup(chain: Chain, algorithm: CryptoAlgorithm, iou: bool) -> tuple[list[Wallet], Wallet]:
    genesis = Wallet.from_seed(GENESIS_SEED, algorithm=CryptoAlgorithm.SECP256K1)
    issuer = Wallet.create(algorithm)
    senders = [Wallet.create(algorithm) for _ in range(SENDERS)]
    for wallet in [issuer, *senders]:
        pay = Payment(account=genesis.address, destination=wallet.address, amount="1000000000")
        _submit_now(chain, pay, genesis)
    chain.close()
    if iou:
        flag = AccountSetAsfFlag.ASF_DEFAULT_RIPPLE
        _submit_now(chain, AccountSet(account=issuer.address, set_flag=flag), issuer)
        limit = IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value="1e15")
        for wallet in senders:
            _submit_now(chain, TrustSet(account=wallet.address, limit_amount=limit), wallet)
        chain.close()
        for wallet in senders:
            usd = IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value="1000000")
            pay = Payment(account=issuer.address, destination=wallet.address, amount=usd)
            _submit_now(chain, pay, issuer)
        chain.close()
    return senders, issuer


def _presign(
    chain: Chain, senders: list[Wallet], issuer: Wallet, iou: bool, count: int
) -> list[bytes]:
    blobs = []
    seqs = {w.address: _seq(chain, w.address) for w in senders}
    lls = chain.current_index + LLS_MARGIN
    for i in range(count):
        wallet = senders[i % len(senders)]
        amount: str | IssuedCurrencyAmount = "1000"
        if iou:
            amount = IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value="1.5")
        tx = Payment(
            account=wallet.address,
            destination=issuer.address,
            amount=amount,
            fee="10",
            sequence=seqs[wallet.address],
            last_ledger_sequence=lls,
        )
        seqs[wallet.address] += 1
        blobs.append(bytes.fromhex(sign(tx, wallet).blob()))
    return blobs


def bench_engine(algorithm: CryptoAlgorithm, iou: bool, count: int) -> float:
    ledger = LocalLedger()
    chain = ledger.chain
    senders, issuer = _setup(chain, algorithm, iou)
    blobs = _presign(chain, senders, issuer, iou, count)
    start = time.perf_counter()
    for blob in blobs:
        tx = parse(blob)
        if check_signature(tx) is not None:
            raise SystemExit("bad signature")
        result = chain.submit(tx)
        if result.result != "tesSUCCESS":
            raise SystemExit(f"unexpected {result.result}")
    header = chain.close()
    elapsed = time.perf_counter() - start
    assert len(header.tx_hashes) == count, len(header.tx_hashes)
    return count / elapsed


async def _ws_run(url: str, blobs: list[bytes]) -> None:
    async with connect(url, max_size=None) as ws:
        window = 64
        sent = 0
        received = 0
        while received < len(blobs):
            while sent < len(blobs) and sent - received < window:
                request = {"id": sent, "command": "submit", "tx_blob": blobs[sent].hex()}
                await ws.send(json.dumps(request))
                sent += 1
            reply = json.loads(await ws.recv())
            if reply["result"]["engine_result"] != "tesSUCCESS":
                raise SystemExit(f"unexpected {reply['result']['engine_result']}")
            received += 1
        await ws.send(json.dumps({"id": "close", "command": "ledger_accept"}))
        await ws.recv()


def bench_ws(algorithm: CryptoAlgorithm, iou: bool, count: int) -> float:
    with LocalLedger() as ledger:
        senders, issuer = _setup(ledger.chain, algorithm, iou)
        blobs = _presign(ledger.chain, senders, issuer, iou, count)
        start = time.perf_counter()
        asyncio.run(_ws_run(ledger.ws_url, blobs))
        elapsed = time.perf_counter() - start
        assert len(ledger.chain.last_closed.tx_hashes) == count
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'scenario':<28}{'engine tx/s':>14}{'websocket tx/s':>16}")
    for iou in (False, True):
        for algorithm in (CryptoAlgorithm.ED25519, CryptoAlgorithm.SECP256K1):
            name = f"{'IOU' if iou else 'XRP'} payment {algorithm.value}"
            engine = bench_engine(algorithm, iou, args.count)
            ws = bench_ws(algorithm, iou, args.count)
            print(f"{name:<28}{engine:>14,.0f}{ws:>16,.0f}", flush=True)


if __name__ == "__main__":
    main()
