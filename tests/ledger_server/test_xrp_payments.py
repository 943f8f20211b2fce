"""XRP payments, account creation, fees, reserves, sequences, expiry, signatures."""

from __future__ import annotations

from dataclasses import replace

from xrpl.constants import CryptoAlgorithm
from xrpl.core.binarycodec import encode_for_signing
from xrpl.core.keypairs import sign as raw_sign
from xrpl.models import AccountSet, Ledger, Payment, SubmitOnly
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_ADDRESS
from tests.ledger_server.conftest import XRP, Env


def test_payment_creates_account_with_ledger_sequence(env: Env) -> None:
    dest = Wallet.create()
    open_index = env.ledger.chain.current_index
    result = env.final(
        Payment(account=env.genesis.address, destination=dest.address, amount=str(20 * XRP)),
        env.genesis,
        "tesSUCCESS",
    )
    created = [n["CreatedNode"] for n in result["meta"]["AffectedNodes"] if "CreatedNode" in n]
    assert created[0]["NewFields"] == {
        "Account": dest.address,
        "Balance": str(20 * XRP),
        "Sequence": open_index,
    }
    assert result["meta"]["delivered_amount"] == str(20 * XRP)
    assert env.account(dest.address)["Sequence"] == open_index


def test_secp256k1_and_ed25519_signers(env: Env) -> None:
    for algorithm in (CryptoAlgorithm.SECP256K1, CryptoAlgorithm.ED25519):
        wallet = env.wallet(algorithm=algorithm)
        env.final(
            Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1000"),
            wallet,
            "tesSUCCESS",
        )


def test_tec_no_dst_insuf_xrp(env: Env) -> None:
    dest = Wallet.create()
    before = env.balance(env.genesis.address)
    result = env.final(
        Payment(account=env.genesis.address, destination=dest.address, amount=str(XRP - 1)),
        env.genesis,
        "tecNO_DST_INSUF_XRP",
    )
    assert "delivered_amount" not in result["meta"]
    assert env.balance(env.genesis.address) == before - 10  # fee burned, sequence used


def test_fee_is_burned_from_total_coins(env: Env) -> None:
    wallet = env.wallet(50)
    before = int(env.request(Ledger(ledger_index="validated"))["ledger"]["total_coins"])
    env.final(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1", fee="25"),
        wallet,
        "tesSUCCESS",
    )
    after = int(env.request(Ledger(ledger_index="validated"))["ledger"]["total_coins"])
    assert before - after == 25


def test_tec_unfunded_payment_respects_reserve(env: Env) -> None:
    wallet = env.wallet(10)
    seq = env.account(wallet.address)["Sequence"]
    env.final(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount=str(9 * XRP + 1)),
        wallet,
        "tecUNFUNDED_PAYMENT",
    )
    data = env.account(wallet.address)
    assert data["Sequence"] == seq + 1 and int(data["Balance"]) == 10 * XRP - 10
    # The reserve is checked against the balance before the fee: balance - reserve is allowed.
    env.final(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount=str(9 * XRP - 10)),
        wallet,
        "tesSUCCESS",
    )
    assert env.balance(wallet.address) == XRP - 10  # the fee may dip into the reserve


def test_ter_no_account(env: Env) -> None:
    ghost = Wallet.create()
    tx = Payment(
        account=ghost.address,
        destination=GENESIS_ADDRESS,
        amount="100",
        sequence=1,
        fee="10",
        last_ledger_sequence=env.ledger.chain.current_index + 3,
    )
    result = env.submit(tx, ghost, "terNO_ACCOUNT", fill=False)
    assert result["applied"] is False


def test_sequences_past_and_future(env: Env) -> None:
    wallet = env.wallet()
    seq = env.account(wallet.address)["Sequence"]
    first = env.sign(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1"), wallet
    )
    assert env.submit_signed(first)["engine_result"] == "tesSUCCESS"
    env.close()
    assert env.submit_signed(first)["engine_result"] == "tefPAST_SEQ"
    future = env.sign(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1", sequence=seq + 2),
        wallet,
    )
    pre = env.submit_signed(future)
    assert pre["engine_result"] == "terPRE_SEQ" and pre["applied"] is False and pre["kept"] is True
    # Filling the gap lets the held transaction apply after the next close.
    env.submit(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1", sequence=seq + 1),
        wallet,
        "tesSUCCESS",
    )
    env.close()
    env.close()
    assert env.tx(future.get_hash())["meta"]["TransactionResult"] == "tesSUCCESS"
    assert env.account(wallet.address)["Sequence"] == seq + 3


def test_tef_already_shadowed_by_past_seq_like_rippled(env: Env) -> None:
    """rippled checks the sequence before txExists, so a resubmitted blob reads tefPAST_SEQ."""
    wallet = env.wallet()
    signed = env.sign(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1"), wallet
    )
    assert env.submit_signed(signed)["engine_result"] == "tesSUCCESS"
    assert env.submit_signed(signed)["engine_result"] == "tefPAST_SEQ"


def test_tef_already_engine_level(env: Env) -> None:
    """The engine answers tefALREADY when the sequence still fits but the id is in the ledger."""
    from local.ledger_server.engine import HANDLERS, apply_transaction
    from local.ledger_server.tx import parse
    from local.ledger_server.view import OpenView

    wallet = env.wallet()
    signed = env.sign(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1"), wallet
    )
    tx = parse(bytes.fromhex(signed.blob()))
    chain = env.ledger.chain
    view = OpenView(
        chain.states[chain.last_closed.seq], chain.last_closed.seq + 1, chain.fees, is_open=True
    )
    view.tx_ids.add(tx.hash)
    assert (
        apply_transaction(view, tx, HANDLERS["Payment"], retry_assured=False).result == "tefALREADY"
    )


def test_tef_max_ledger(env: Env) -> None:
    wallet = env.wallet()
    current = env.ledger.chain.current_index
    tx = env.sign(
        Payment(
            account=wallet.address,
            destination=GENESIS_ADDRESS,
            amount="1",
            last_ledger_sequence=current - 1,
        ),
        wallet,
    )
    result = env.submit_signed(tx)
    assert result["engine_result"] == "tefMAX_LEDGER"


def test_tel_insuf_fee_p(env: Env) -> None:
    wallet = env.wallet()
    result = env.submit(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1", fee="9"), wallet
    )
    assert result["engine_result"] == "telINSUF_FEE_P"
    assert result["applied"] is False


def test_high_s_secp256k1_signature_rejected(env: Env) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    from local.ledger_server.crypto import SECP256K1_ORDER

    wallet = env.wallet(algorithm=CryptoAlgorithm.SECP256K1)
    tx = env.sign(Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="1"), wallet)
    unsigned = replace(tx, txn_signature=None)
    signature = bytes.fromhex(
        raw_sign(bytes.fromhex(encode_for_signing(unsigned.to_xrpl())), wallet.private_key)
    )
    r, s = decode_dss_signature(signature)
    high = encode_dss_signature(r, SECP256K1_ORDER - s if s <= SECP256K1_ORDER // 2 else s)
    forged = replace(unsigned, txn_signature=high.hex().upper())
    result = env.request(SubmitOnly(tx_blob=forged.blob()))
    assert result["error"] == "invalidTransaction"
    low = encode_dss_signature(r, min(s, SECP256K1_ORDER - s))
    ok = env.request(SubmitOnly(tx_blob=replace(unsigned, txn_signature=low.hex().upper()).blob()))
    assert ok["engine_result"] == "tesSUCCESS"


def test_wrong_key_is_tef_bad_auth(env: Env) -> None:
    wallet = env.wallet()
    other = Wallet.create()
    tx = env.sign(AccountSet(account=wallet.address), wallet)
    forged = sign(replace(tx, signing_pub_key="", txn_signature=None), other)
    assert env.submit_signed(forged)["engine_result"] == "tefBAD_AUTH"


def test_submit_response_shape(env: Env) -> None:
    wallet = env.wallet()
    result = env.submit(
        Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="5"), wallet
    )
    for key in (
        "engine_result",
        "engine_result_code",
        "engine_result_message",
        "tx_blob",
        "tx_json",
        "accepted",
        "applied",
        "broadcast",
        "kept",
        "queued",
        "open_ledger_cost",
        "validated_ledger_index",
        "account_sequence_next",
        "account_sequence_available",
    ):
        assert key in result, key
    assert (
        result["engine_result_message"]
        == "The transaction was applied. Only final in a validated ledger."
    )
    assert len(result["tx_json"]["hash"]) == 64
    pending = env.tx(result["tx_json"]["hash"])
    assert pending["validated"] is False
    env.close()
    final = env.tx(result["tx_json"]["hash"])
    for key in (
        "tx_json",
        "meta",
        "hash",
        "ledger_index",
        "close_time_iso",
        "validated",
        "ledger_hash",
    ):
        assert key in final, key
    assert final["meta"]["TransactionIndex"] >= 0
