"""Canonical ordering at close, persistence across restarts, and the CLI process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from xrpl.models import (
    AccountInfo,
    AccountSet,
    AccountSetAsfFlag,
    Clawback,
    IssuedCurrencyAmount,
    Payment,
    ServerInfo,
    Transaction,
    TrustSet,
)
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_ADDRESS, LocalLedger
from local.ledger_server.crypto import decode_address, sha512half
from tests.ledger_server.conftest import XRP, Env

ROOT = Path(__file__).resolve().parents[2]


def _set_hash(hashes: list[bytes]) -> bytes:
    """Transaction-set SHAMap root, written here from the SHAMap spec (leaf = tx id)."""

    def inner(ids: list[bytes], depth: int) -> bytes:
        children = []
        for nibble in range(16):
            branch = [
                h
                for h in ids
                if ((h[depth // 2] >> 4) if depth % 2 == 0 else (h[depth // 2] & 15)) == nibble
            ]
            if not branch:
                children.append(b"\x00" * 32)
            elif len(branch) == 1:
                children.append(branch[0])
            else:
                children.append(inner(branch, depth + 1))
        return sha512half(b"MIN\x00" + b"".join(children))

    return inner(sorted(hashes), 0)


def _canonical(signed: list[Transaction]) -> list[Transaction]:
    salt = int.from_bytes(_set_hash([bytes.fromhex(t.get_hash()) for t in signed]), "big")

    def key(t: Transaction) -> tuple[int, int, int, str]:
        account = int.from_bytes(decode_address(t.account).ljust(32, b"\x00"), "big")
        ticket = t.ticket_sequence if t.sequence == 0 else None
        return (account ^ salt, 1 if ticket else 0, ticket or t.sequence or 0, t.get_hash())

    return sorted(signed, key=key)


def test_close_applies_in_canonical_order_not_submission_order(env: Env) -> None:
    wallets = [env.wallet(10) for _ in range(6)]
    signed = [
        env.sign(Payment(account=w.address, destination=GENESIS_ADDRESS, amount="1"), w)
        for w in wallets
    ]
    for tx in signed:
        assert env.submit_signed(tx)["engine_result"] == "tesSUCCESS"
    env.close()
    index_of = {t.get_hash(): env.tx(t.get_hash())["meta"]["TransactionIndex"] for t in signed}
    observed = sorted(signed, key=lambda t: index_of[t.get_hash()])
    assert [t.get_hash() for t in observed] == [t.get_hash() for t in _canonical(signed)]


def test_cross_account_dependency_is_decided_by_canonical_order(env: Env) -> None:
    """Clawback and a holder's payment race in one ledger; the close order decides."""
    issuer = env.wallet(1000)
    for flag in (
        AccountSetAsfFlag.ASF_DEFAULT_RIPPLE,
        AccountSetAsfFlag.ASF_ALLOW_TRUSTLINE_CLAWBACK,
    ):
        env.submit(AccountSet(account=issuer.address, set_flag=flag), issuer, "tesSUCCESS")
    alice, bob = env.wallet(), env.wallet()
    usd = IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value="1000")
    for holder in (alice, bob):
        env.submit(TrustSet(account=holder.address, limit_amount=usd), holder, "tesSUCCESS")
    env.close()
    env.final(
        Payment(
            account=issuer.address,
            destination=alice.address,
            amount=usd.to_dict() | {"value": "100"},
        ),
        issuer,
        "tesSUCCESS",
    )  # type: ignore[arg-type]
    fee = 10
    while True:  # vary the fee until the clawback sorts first (the salt depends on the tx ids)
        pay = env.sign(
            Payment(
                account=alice.address,
                destination=bob.address,
                fee=str(fee),
                amount=IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value="80"),
            ),
            alice,
        )
        claw = env.sign(
            Clawback(
                account=issuer.address,
                amount=IssuedCurrencyAmount(currency="USD", issuer=alice.address, value="50"),
            ),
            issuer,
        )
        if _canonical([pay, claw])[0] is claw:
            break
        fee += 1
    assert env.submit_signed(pay)["engine_result"] == "tesSUCCESS"  # open ledger: payment first
    assert env.submit_signed(claw)["engine_result"] == "tesSUCCESS"
    env.close()
    assert env.tx(claw.get_hash())["meta"]["TransactionResult"] == "tesSUCCESS"
    assert env.tx(pay.get_hash())["meta"]["TransactionResult"] == "tecPATH_PARTIAL"


def test_same_ledger_funding_then_spending_survives_close(env: Env) -> None:
    new = Wallet.create()
    env.submit(
        Payment(account=env.genesis.address, destination=new.address, amount=str(50 * XRP)),
        env.genesis,
        "tesSUCCESS",
    )
    spend = env.sign(Payment(account=new.address, destination=GENESIS_ADDRESS, amount="5"), new)
    assert env.submit_signed(spend)["engine_result"] == "tesSUCCESS"
    env.close()
    assert env.tx(spend.get_hash())["meta"]["TransactionResult"] == "tesSUCCESS"


def test_restart_with_data_dir_keeps_state(tmp_path: Path) -> None:
    with LocalLedger(data_dir=tmp_path) as first:
        env = Env(first)
        wallet = env.wallet(42)
        signed = env.sign(
            Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="7"), wallet
        )
        env.submit_signed(signed)
        closed = env.close()
        balance = env.balance(wallet.address)
    with LocalLedger(data_dir=tmp_path) as second:
        env = Env(second)
        assert env.validated_seq() == closed
        assert env.balance(wallet.address) == balance
        assert env.tx(signed.get_hash())["meta"]["TransactionResult"] == "tesSUCCESS"
        env.final(
            Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1"),
            wallet,
            "tesSUCCESS",
        )
        assert env.validated_seq() == closed + 1


def test_cli_ready_line_interval_close_and_sigterm(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "local.ledger_server",
        "--port",
        "0",
        "--ws-port",
        "0",
        "--close-interval-ms",
        "200",
        "--data-dir",
        str(tmp_path),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(
            r"local ledger ready rpc=(http://127\.0\.0\.1:\d+) ws=(ws://127\.0\.0\.1:\d+)", line
        )
        assert match, line
        rpc = match.group(1)

        def closed_index() -> int:
            body = {"method": "ledger_closed", "params": [{}]}
            return int(httpx.post(rpc, json=body).json()["result"]["ledger_index"])

        start = closed_index()
        time.sleep(0.7)
        assert closed_index() >= start + 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_stop_ends_kept_alive_connections() -> None:
    """A client's idle keep-alive connection is closed by stop, not left to a closed loop."""
    ledger = LocalLedger(close_interval_ms=0).start()
    with httpx.Client() as client:
        reply = client.post(ledger.rpc_url, json={"method": "server_info", "params": [{}]})
        assert reply.status_code == 200
        assert len(ledger.server._http_clients) == 1  # kept alive after answering

        ledger.stop()

        assert ledger.server._http_clients == {}
        with pytest.raises(httpx.TransportError):  # the connection and the port are gone
            client.post(ledger.rpc_url, json={"method": "server_info", "params": [{}]}, timeout=5)


def _balances_through_history(
    ledger: LocalLedger, payments: int
) -> tuple[Env, str, dict[int, int]]:
    env = Env(ledger)
    wallet = env.wallet(42)
    seen = {}
    for _ in range(payments):
        env.final(
            Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1000"),
            wallet,
            "tesSUCCESS",
        )
        seen[env.validated_seq()] = env.balance(wallet.address)
    return env, wallet.address, seen


def _balance_at(env: Env, address: str, index: int) -> dict[str, Any]:
    return env.request(AccountInfo(account=address, ledger_index=index))


def test_a_full_history_server_answers_for_every_ledger_it_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Old states are rebuilt from checkpoints and each ledger's changes: what a ledger held
    reads back the same long after it closed."""
    from local.ledger_server import chain

    monkeypatch.setattr(chain, "STATE_CACHE", 3)
    monkeypatch.setattr(chain, "CHECKPOINT", 4)
    with LocalLedger() as ledger:
        env, address, seen = _balances_through_history(ledger, 14)
        info = env.request(ServerInfo())["info"]
        assert info["complete_ledgers"] == f"1-{env.validated_seq()}"
        for index, balance in seen.items():
            assert _balance_at(env, address, index)["account_data"]["Balance"] == str(balance)


def test_a_server_keeping_recent_history_refuses_older_ledgers() -> None:
    with LocalLedger(history=5) as ledger:
        env, address, seen = _balances_through_history(ledger, 8)
        last = env.validated_seq()
        assert env.request(ServerInfo())["info"]["complete_ledgers"] == f"{last - 4}-{last}"
        assert _balance_at(env, address, last - 4)["account_data"]["Balance"] == str(seen[last - 4])
        refused = env.client.request(AccountInfo(account=address, ledger_index=last - 5)).result
        assert refused["error"] == "lgrNotFound"


def test_history_begins_again_at_the_ledger_a_restart_reloads(tmp_path: Path) -> None:
    with LocalLedger(data_dir=tmp_path) as first:
        env, address, _ = _balances_through_history(first, 2)
        closed = env.validated_seq()
    with LocalLedger(data_dir=tmp_path) as second:
        env = Env(second)
        assert env.request(ServerInfo())["info"]["complete_ledgers"] == f"{closed}-{closed}"
        refused = env.client.request(AccountInfo(account=address, ledger_index=closed - 1))
        assert refused.result["error"] == "lgrNotFound"
