"""Many threads at once, closes from other threads, the timed-close mode, and restarts."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from xrpl.clients import JsonRpcClient
from xrpl.models import (
    AccountObjects,
    Ledger,
    MPTAmount,
    MPTokenAuthorize,
    MPTokenIssuanceCreate,
    MPTokenIssuanceCreateFlag,
    Payment,
    ServerInfo,
    SubmitOnly,
    TicketCreate,
    Transaction,
    TrustSet,
    Tx,
)
from xrpl.models.requests import GenericRequest
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_ADDRESS, LocalLedger
from local.ledger_server.chain import TxRecord
from tests.ledger_server.conftest import XRP, Env
from tests.ledger_server.test_iou import make_issuer, usd

pytestmark = pytest.mark.filterwarnings("ignore:MPTokenMetadata is not properly formatted")


def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_a_validated_ledger_never_hides_its_transactions() -> None:
    """A close on another thread must publish a validated ledger atomically: a client that
    sees it validated must find its transactions (else searched_all=true lies)."""
    with LocalLedger() as ledger:
        env = Env(ledger)
        wallet = env.wallet()
        signed = env.sign(
            Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="3"), wallet
        )
        env.submit_signed(signed)
        before = env.validated_seq()
        index_record = ledger.chain.index_record

        def slow_index(record: TxRecord) -> None:
            time.sleep(0.3)  # widen the window between "ledger validated" and "tx indexed"
            index_record(record)

        ledger.chain.index_record = slow_index  # type: ignore[method-assign]
        closer = threading.Thread(target=ledger.close_ledger)
        closer.start()
        _wait_for(lambda: env.validated_seq() > before)
        found = env.request(
            Tx(transaction=signed.get_hash(), min_ledger=before, max_ledger=before + 1)
        )
        closer.join()
        assert found.get("validated") is True, found


def _signed_payments(
    source: Wallet, first_seq: int, destinations: list[str], drops: int, lls: int
) -> list[Transaction]:
    return [
        sign(
            Payment(
                account=source.address,
                destination=destination,
                amount=str(drops),
                sequence=first_seq + i,
                fee="10",
                last_ledger_sequence=lls,
            ),
            source,
        )
        for i, destination in enumerate(destinations)
    ]


def _validated_results(env: Env, first: int, last: int) -> dict[str, str]:
    """tx hash -> TransactionResult for every transaction in validated ledgers first..last."""
    results: dict[str, str] = {}
    for index in range(first, last + 1):
        ledger = env.request(Ledger(ledger_index=index, transactions=True, expand=True))
        for entry in ledger["ledger"]["transactions"]:
            results[entry["hash"]] = entry["meta"]["TransactionResult"]
    return results


def test_hundred_threads_submit_while_ledgers_close(env: Env) -> None:
    """100 HTTP submits from 100 threads - 70 from one hot account whose pre-signed sequences
    arrive in any order, 30 from their own accounts - while ledger_accept, closes from another
    thread and readers run at the same time. Every transaction validates exactly once."""
    genesis_seq = env.account(env.genesis.address)["Sequence"]
    lls = env.ledger.chain.current_index + 40
    owners = [Wallet.create() for _ in range(30)]
    client = JsonRpcClient(env.ledger.rpc_url)
    for tx in _signed_payments(
        env.genesis, genesis_seq, [w.address for w in owners], 20 * XRP, lls
    ):
        assert client.request(SubmitOnly(tx_blob=tx.blob())).result["engine_result"] == "tesSUCCESS"
    created = env.close()
    own = [_signed_payments(w, created, [GENESIS_ADDRESS], 1000, lls)[0] for w in owners]
    hot = _signed_payments(
        env.genesis, genesis_seq + 30, [Wallet.create().address for _ in range(70)], 2 * XRP, lls
    )
    blobs = [t.blob() for t in own + hot]
    random.Random(3).shuffle(blobs)
    errors: list[Any] = []
    stop = threading.Event()

    def read() -> None:
        reader = JsonRpcClient(env.ledger.rpc_url)
        while not stop.is_set():
            header = reader.request(Ledger(ledger_index="validated")).result
            by_hash = reader.request(Ledger(ledger_hash=header["ledger_hash"])).result
            info = reader.request(ServerInfo()).result
            errors.extend(reply for reply in (header, by_hash, info) if "error" in reply)

    def close() -> None:
        closer = JsonRpcClient(env.ledger.rpc_url)
        for i in range(4):
            time.sleep(0.05)
            if i % 2:
                env.ledger.close_ledger()
            else:
                closer.request(GenericRequest(method="ledger_accept"))

    def submit(blob: str) -> str:
        reply = JsonRpcClient(env.ledger.rpc_url).request(SubmitOnly(tx_blob=blob)).result
        return str(reply.get("engine_result", reply))

    helpers = [threading.Thread(target=read) for _ in range(2)] + [threading.Thread(target=close)]
    for helper in helpers:
        helper.start()
    with ThreadPoolExecutor(100) as pool:
        preliminary = list(pool.map(submit, blobs))
    stop.set()
    for helper in helpers:
        helper.join()
    assert set(preliminary) <= {"tesSUCCESS", "terPRE_SEQ"}, preliminary
    assert errors == []
    last = env.close()
    results = _validated_results(env, created + 1, last)
    assert all(results.get(t.get_hash()) == "tesSUCCESS" for t in own + hot), results
    assert env.account(env.genesis.address)["Sequence"] == genesis_seq + 100


def test_timed_close_survives_a_failing_close() -> None:
    with LocalLedger(close_interval_ms=30) as ledger:
        real_close = ledger.chain.close
        calls = {"n": 0}

        def flaky_close() -> Any:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("injected close failure")
            return real_close()

        ledger.chain.close = flaky_close  # type: ignore[method-assign]
        env = Env(ledger)
        _wait_for(lambda: calls["n"] >= 2)
        after_failure = env.validated_seq()
        _wait_for(lambda: env.validated_seq() >= after_failure + 3, seconds=5)
        wallet = Wallet.create()
        signed = env.sign(
            Payment(account=env.genesis.address, destination=wallet.address, amount=str(5 * XRP)),
            env.genesis,
        )
        assert env.submit_signed(signed)["engine_result"] == "tesSUCCESS"
        _wait_for(lambda: env.tx(signed.get_hash()).get("validated") is True, seconds=5)


def test_restart_keeps_tickets_mpts_and_trust_lines(tmp_path: Path) -> None:
    with LocalLedger(data_dir=tmp_path) as first:
        env = Env(first)
        issuer = make_issuer(env)
        holder = env.wallet(100)
        seq = env.account(holder.address)["Sequence"]
        env.final(TicketCreate(account=holder.address, ticket_count=2), holder, "tesSUCCESS")
        env.final(
            TrustSet(account=holder.address, limit_amount=usd(issuer, "100")),
            holder,
            "tesSUCCESS",
        )
        env.final(
            Payment(account=issuer.address, destination=holder.address, amount=usd(issuer, "9")),
            issuer,
            "tesSUCCESS",
        )
        created = env.final(
            MPTokenIssuanceCreate(
                account=issuer.address, flags=MPTokenIssuanceCreateFlag.TF_MPT_CAN_TRANSFER
            ),
            issuer,
            "tesSUCCESS",
        )
        mpt_id = created["meta"]["mpt_issuance_id"]
        env.final(
            MPTokenAuthorize(account=holder.address, mptoken_issuance_id=mpt_id),
            holder,
            "tesSUCCESS",
        )
        amount = MPTAmount(mpt_issuance_id=mpt_id, value="40")
        env.final(
            Payment(account=issuer.address, destination=holder.address, amount=amount),
            issuer,
            "tesSUCCESS",
        )
        before = {
            who: env.request(AccountObjects(account=who))["account_objects"]
            for who in (issuer.address, holder.address)
        }
    with LocalLedger(data_dir=tmp_path) as second:
        env = Env(second)
        after = {who: env.request(AccountObjects(account=who))["account_objects"] for who in before}
        assert after == before
        use = Payment(
            account=holder.address,
            destination=issuer.address,
            amount=MPTAmount(mpt_issuance_id=mpt_id, value="15"),
            sequence=0,
            ticket_sequence=seq + 2,
        )
        env.final(use, holder, "tesSUCCESS")
        env.final(
            Payment(account=holder.address, destination=issuer.address, amount=usd(issuer, "4")),
            holder,
            "tesSUCCESS",
        )
        tokens = env.objects(holder.address, "mptoken")
        assert tokens[0]["MPTAmount"] == "25"
        assert env.account(holder.address)["TicketCount"] == 1
