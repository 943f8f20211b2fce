"""A submitted transaction: the raw blob plus the fields the engine reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from local.ledger_server import codec, crypto
from local.ledger_server.amounts import IOU, MPT


@dataclass(slots=True)
class Tx:
    blob: bytes
    hash: bytes
    fields: dict[str, Any]
    spans: dict[str, tuple[int, int]]
    sig_checked: bool = False
    sig_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def account(self) -> bytes:
        value: bytes = self.fields.get("Account", b"")
        return value

    @property
    def tx_type(self) -> str:
        return codec.TX_TYPE_NAMES.get(self.fields.get("TransactionType", -1), "Unknown")

    @property
    def sequence(self) -> int:
        value: int = self.fields.get("Sequence", 0)
        return value

    @property
    def ticket(self) -> int | None:
        return self.fields.get("TicketSequence")

    @property
    def uses_ticket(self) -> bool:
        return self.sequence == 0 and "TicketSequence" in self.fields

    @property
    def seq_proxy(self) -> tuple[int, int]:
        """rippled SeqProxy ordering: sequences sort before tickets."""
        if self.uses_ticket:
            return (1, self.ticket or 0)
        return (0, self.sequence)

    @property
    def flags(self) -> int:
        value: int = self.fields.get("Flags", 0)
        return value

    @property
    def fee(self) -> int | IOU | MPT:
        value: int | IOU | MPT = self.fields.get("Fee", 0)
        return value

    @property
    def last_ledger(self) -> int | None:
        return self.fields.get("LastLedgerSequence")

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.fields


def parse(blob: bytes) -> Tx:
    """Raises codec.CodecError when the blob is not a well-formed transaction."""
    fields, spans = codec.decode(blob)
    for required in ("TransactionType", "Account", "Fee", "SigningPubKey"):
        if required not in fields:
            raise codec.CodecError(f"Field '{required}' is required but missing.")
    if "Sequence" not in fields:
        raise codec.CodecError("Field 'Sequence' is required but missing.")
    return Tx(blob, crypto.tx_hash(blob), fields, spans)


def check_signature(tx: Tx) -> str | None:
    """rippled's checkValidity: None when valid, else the reason text. Cached per tx."""
    if tx.sig_checked:
        return tx.sig_error
    tx.sig_checked = True
    pubkey: bytes = tx.fields["SigningPubKey"]
    if not pubkey:
        if "Signers" not in tx.fields:
            tx.sig_error = "Empty SigningPubKey."
        return tx.sig_error  # multi-signed: judged by the engine (no signer lists here)
    if "Signers" in tx.fields:
        tx.sig_error = "Cannot both single- and multi-sign."
    elif not crypto.is_valid_pubkey(pubkey) or not crypto.verify(
        pubkey, codec.signing_payload(tx.blob, tx.spans), tx.get("TxnSignature", b"")
    ):
        tx.sig_error = "Invalid signature."
    return tx.sig_error
