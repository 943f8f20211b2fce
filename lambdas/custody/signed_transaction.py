"""Turning an unsigned XRPL transaction into a signed blob and its hash, for any key type."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xrpl.core.binarycodec import encode, encode_for_signing
from xrpl.models.transactions.transaction import Transaction

from domain.errors import BusinessRuleViolation

TRANSACTION_ID_PREFIX = bytes.fromhex("54584E00")  # "TXN\0"


class MalformedTransaction(BusinessRuleViolation):
    """The unsigned transaction does not pass xrpl-py's model validation."""


@dataclass(frozen=True)
class SignedTransaction:
    """What leaves the signing code: the blob to submit and its hash. Never a key."""

    tx_blob: str
    tx_hash: str
    account: str
    sequence: int
    ticket_sequence: int | None
    last_ledger_sequence: int | None


def sha512_half(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()[:32]


def transaction_hash(tx_blob: str) -> str:
    return sha512_half(TRANSACTION_ID_PREFIX + bytes.fromhex(tx_blob)).hex().upper()


def validated(tx: Mapping[str, Any]) -> dict[str, Any]:
    """Check the transaction with xrpl-py's typed models; return a copy to sign."""
    try:
        Transaction.from_xrpl(dict(tx))
    except Exception as error:  # noqa: BLE001 - xrpl-py raises several types for bad input
        raise MalformedTransaction(f"{tx.get('TransactionType')}: {error}") from None
    return dict(tx)


def sign_with(
    tx: Mapping[str, Any], public_key_hex: str, signature_over: Callable[[bytes], str]
) -> SignedTransaction:
    """Set SigningPubKey, sign the canonical signing bytes, and encode the signed blob."""
    tx_json = validated(tx)
    tx_json["SigningPubKey"] = public_key_hex
    tx_json["TxnSignature"] = signature_over(bytes.fromhex(encode_for_signing(tx_json)))
    blob = encode(tx_json)
    return SignedTransaction(
        tx_blob=blob,
        tx_hash=transaction_hash(blob),
        account=str(tx_json["Account"]),
        sequence=int(tx_json.get("Sequence", 0)),
        ticket_sequence=tx_json.get("TicketSequence"),
        last_ledger_sequence=tx_json.get("LastLedgerSequence"),
    )
