"""What `submit` and `tx` tell a reliable-submission adapter (NetworkOPs::apply, LocalTxs,
CanonicalTXSet::popAcctTransaction, TransactionMaster::fetch, Tx.cpp)."""

from __future__ import annotations

import random
from typing import Any

import httpx
from xrpl.models import AccountInfo, Payment, SubmitOnly, Transaction, Tx
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_ADDRESS
from tests.ledger_server.conftest import Env


def _payments(env: Env, wallet: Wallet, count: int, start: int) -> list[Transaction]:
    lls = env.ledger.chain.current_index + 20
    return [
        sign(
            Payment(
                account=wallet.address,
                destination=GENESIS_ADDRESS,
                amount=str(1 + i),
                sequence=start + i,
                fee="10",
                last_ledger_sequence=lls,
            ),
            wallet,
        )
        for i in range(count)
    ]


def test_every_local_submission_is_kept(env: Env) -> None:
    """NetworkOPs::apply pushes every locally submitted transaction to LocalTxs (kept)."""
    wallet = env.wallet()
    signed = env.sign(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="5"), wallet
    )
    first = env.submit_signed(signed)
    assert (first["engine_result"], first["applied"], first["kept"]) == ("tesSUCCESS", True, True)
    assert first["accepted"] is True and first["broadcast"] is True
    again = env.submit_signed(signed)
    assert again["engine_result"] == "tefPAST_SEQ"
    assert (again["applied"], again["broadcast"], again["queued"]) == (False, False, False)
    assert again["kept"] is True and again["accepted"] is True


def test_fail_hard_keeps_nothing_and_claims_no_fee(env: Env) -> None:
    """tapFAIL_HARD: a tec result is discarded (no fee, no sequence) and not kept."""
    wallet = env.wallet()
    before = env.account(wallet.address)
    signed = env.sign(
        Payment(account=wallet.address, destination=Wallet.create().address, amount="10"), wallet
    )
    result = env.request(SubmitOnly(tx_blob=signed.blob(), fail_hard=True))
    assert result["engine_result"] == "tecNO_DST_INSUF_XRP"
    assert (result["applied"], result["kept"], result["accepted"]) == (False, False, False)
    after = env.account(wallet.address)
    assert (after["Sequence"], after["Balance"]) == (before["Sequence"], before["Balance"])


def test_future_sequences_apply_as_soon_as_the_gap_closes(env: Env) -> None:
    """Held transactions are not capped at 10 per account, and a tesSUCCESS pops the account's
    next held transaction into the same open ledger (popAcctTransaction)."""
    wallet = env.wallet()
    seq = env.account(wallet.address)["Sequence"]
    signed = _payments(env, wallet, 14, seq)
    later = signed[1:]
    random.Random(7).shuffle(later)
    for tx in later:
        result = env.submit_signed(tx)
        assert (result["engine_result"], result["kept"]) == ("terPRE_SEQ", True)
    assert env.submit_signed(signed[0])["engine_result"] == "tesSUCCESS"
    assert env.account(wallet.address)["Sequence"] == seq + 14  # all in the open ledger
    closed = env.close()
    for tx in signed:
        found = env.tx(tx.get_hash())
        assert (found["validated"], found["ledger_index"]) == (True, closed)
        assert found["meta"]["TransactionResult"] == "tesSUCCESS"


def test_tx_finds_a_submitted_but_rejected_transaction_in_the_cache(env: Env) -> None:
    """TransactionMaster::fetch answers from its cache for a transaction the server received
    but never validated: found, validated false, no searched_all."""
    wallet = env.wallet()
    stale = env.sign(
        Payment(
            account=wallet.address,
            destination=GENESIS_ADDRESS,
            amount="1",
            last_ledger_sequence=env.ledger.chain.current_index - 1,
        ),
        wallet,
    )
    assert env.submit_signed(stale)["engine_result"] == "tefMAX_LEDGER"
    env.close()
    seq = env.validated_seq()
    found = env.request(Tx(transaction=stale.get_hash(), min_ledger=seq - 3, max_ledger=seq))
    assert found["validated"] is False and "error" not in found
    assert found["hash"] == stale.get_hash() and "meta" not in found and "ledger_index" not in found
    missing = env.request(Tx(transaction="AB" * 32, min_ledger=seq - 3, max_ledger=seq))
    assert (missing["error"], missing["searched_all"]) == ("txnNotFound", True)


def _raw(env: Env, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"method": method, "params": [params]}
    return dict(httpx.post(env.ledger.rpc_url, json=body).json()["result"])


def test_tx_ledger_range_is_read_as_unsigned(env: Env) -> None:
    """doTxJson reads min/max_ledger with asUInt: negative is invalidLgrRange, digits parse."""
    unknown = "CD" * 32
    negative = _raw(env, "tx", {"transaction": unknown, "min_ledger": -1, "max_ledger": 3})
    assert negative["error"] == "invalidLgrRange"
    text = _raw(env, "tx", {"transaction": unknown, "min_ledger": "1", "max_ledger": "2"})
    assert (text["error"], text["searched_all"]) == ("txnNotFound", True)


def test_account_not_found_names_the_account(env: Env) -> None:
    ghost = Wallet.create().address
    result = env.request(AccountInfo(account=ghost))
    assert (result["error"], result["account"]) == ("actNotFound", ghost)
    assert result["validated"] is False and "ledger_current_index" in result
