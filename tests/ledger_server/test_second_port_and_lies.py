"""The same chain on a second JSON-RPC port, and that port told to lie: every lie changes what
it names against the honest port's answer, and nothing else."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from xrpl.models import Payment, TrustSet
from xrpl.models.amounts import IssuedCurrencyAmount
from xrpl.wallet import Wallet

from local.ledger_server import LocalLedger
from local.ledger_server.lies import EXTRA_BALANCE, FALSE_FAILURE, FALSE_SUCCESS, LIES
from tests.ledger_server.conftest import XRP, Env

ROOT = Path(__file__).resolve().parents[2]


def rpc(url: str, method: str, **params: Any) -> dict[str, Any]:
    body = {"method": method, "params": [params]}
    return dict(httpx.post(url, json=body, timeout=10).json()["result"])


@pytest.fixture
def honest(env: Env) -> Iterator[str]:
    """The first port; the second tells the truth again after each test."""
    yield env.ledger.rpc_url
    env.ledger.lie(env.ledger.second_rpc_url, None)


@pytest.fixture(scope="module")
def payments(env: Env) -> dict[str, Any]:
    """A validated XRP payment, one that failed (tec) and a stablecoin line with a balance."""
    issuer, holder = env.wallet(100), env.wallet(100)

    def usd(value: str) -> IssuedCurrencyAmount:
        return IssuedCurrencyAmount(currency="USD", issuer=issuer.address, value=value)

    env.final(TrustSet(account=holder.address, limit_amount=usd("1000")), holder, "tesSUCCESS")
    paid = env.final(
        Payment(account=issuer.address, destination=holder.address, amount=usd("25")),
        issuer,
        "tesSUCCESS",
    )
    short = Payment(account=holder.address, destination=Wallet.create().address, amount="500000")
    failed = env.final(short, holder, "tecNO_DST_INSUF_XRP")  # below the reserve: tec
    return {"issuer": issuer, "holder": holder, "paid": paid, "failed": failed}


def test_the_second_port_serves_the_same_chain(env: Env, honest: str) -> None:
    second = env.ledger.second_rpc_url
    assert env.ledger.rpc_urls == (honest, second) and honest != second
    sender = env.wallet(50)
    receiver = Wallet.create().address
    signed = env.sign(
        Payment(account=sender.address, destination=receiver, amount=str(20 * XRP)), sender
    )
    sent = rpc(second, "submit", tx_blob=signed.blob())  # submitted on one port ...
    assert sent["engine_result"] == "tesSUCCESS"
    env.close()
    tx_hash = signed.get_hash()
    for method, params in (
        ("server_state", {}),
        ("tx", {"transaction": tx_hash}),
        ("account_info", {"account": receiver, "ledger_index": "validated"}),
        ("ledger", {"ledger_index": "validated", "transactions": True}),
    ):  # ... it is in the ledgers both ports serve
        assert rpc(honest, method, **params) == rpc(second, method, **params), method
    assert rpc(honest, "tx", transaction=tx_hash)["validated"] is True


@pytest.mark.parametrize("about", sorted(set(LIES) - {"down"}))
def test_each_lie_changes_only_what_it_names(
    env: Env, honest: str, payments: dict[str, Any], about: str
) -> None:
    second = env.ledger.second_rpc_url
    holder = payments["holder"].address
    reads: list[tuple[str, dict[str, Any]]] = [
        ("tx", {"transaction": payments["paid"]["hash"]}),
        ("tx", {"transaction": payments["failed"]["hash"], "min_ledger": 1, "max_ledger": 10}),
        ("account_lines", {"account": holder, "ledger_index": "validated"}),
        ("account_info", {"account": holder, "ledger_index": "validated"}),
        ("server_state", {}),
    ]
    truth = [rpc(honest, method, **params) for method, params in reads]
    env.ledger.lie(second, about)
    told = [rpc(second, method, **params) for method, params in reads]
    assert [rpc(honest, method, **params) for method, params in reads] == truth, "port one"

    (paid, failed, lines, info, state) = zip(truth, told, strict=True)
    assert state[0] == state[1], "no lie names the validated ledger itself"
    if about == "result":
        assert paid[1]["meta"]["TransactionResult"] == FALSE_FAILURE
        assert failed[1]["meta"]["TransactionResult"] == FALSE_SUCCESS
        assert {**paid[1], "meta": paid[0]["meta"]} == paid[0]
    elif about == "ledger":
        assert paid[1]["ledger_index"] == paid[0]["ledger_index"] + 1
        assert paid[1]["ledger_hash"] != paid[0]["ledger_hash"]
        assert paid[1]["meta"] == paid[0]["meta"] and paid[1]["hash"] == paid[0]["hash"]
    elif about == "missing":
        assert paid[0]["validated"] is True and failed[0]["validated"] is True
        assert paid[1]["error"] == failed[1]["error"] == "txnNotFound"
        assert failed[1]["searched_all"] is True, "as if the range were held and searched"
    if about == "balance":
        (line,) = lines[0]["lines"]
        assert Decimal(lines[1]["lines"][0]["balance"]) == Decimal(line["balance"]) + EXTRA_BALANCE
        more = int(info[1]["account_data"]["Balance"]) - int(info[0]["account_data"]["Balance"])
        assert more == EXTRA_BALANCE * XRP
        assert paid[0] == paid[1] and failed[0] == failed[1], "transactions are told as they are"
    else:
        assert lines[0] == lines[1] and info[0] == info[1], "balances are not what it lies about"


def test_the_lie_method_sets_and_ends_a_lie_at_run_time(env: Env, honest: str) -> None:
    ledger = env.ledger
    second = ledger.second_rpc_url
    second_port = int(second.rsplit(":", 1)[1])
    answer = rpc(honest, "lie", port=second_port, about="down")  # ordered through either port
    assert answer["lies"] == {honest.rsplit(":", 1)[1]: "nothing", str(second_port): "down"}
    with pytest.raises(httpx.HTTPError):  # a server that is down does not answer
        rpc(second, "server_state")
    assert rpc(second, "lie", port=second_port, about="result")["status"] == "success"
    assert rpc(second, "server_state")["status"] == "success"
    refused = rpc(honest, "lie", port=second_port, about="everything")
    assert (
        refused["error"] == "invalidParams"
        and "no lie about 'everything'" in refused["error_message"]
    )
    assert rpc(honest, "lie", port=1, about="result")["error"] == "invalidParams"
    assert rpc(honest, "lie", port=second_port, about="nothing")["lies"][str(second_port)] == (
        "nothing"
    )
    assert ledger.server.lies == {}


def test_the_cli_serves_two_ports_and_names_both(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "local.ledger_server", "--port", "0", "--ws-port", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r" rpc=(\S+) ws=\S+ rpcs=(\S+),(\S+)$", line)
        assert match, line
        first, listed, second = match.groups()
        assert listed == first != second
        rpc(first, "ledger_accept")
        assert rpc(first, "server_state") == rpc(second, "server_state")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_ledger_can_serve_one_port_only() -> None:
    with LocalLedger(second_rpc_port=None) as ledger:
        assert ledger.rpc_urls == (ledger.rpc_url,)
        with pytest.raises(RuntimeError, match="no second JSON-RPC port"):
            _ = ledger.second_rpc_url
