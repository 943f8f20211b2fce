"""Investors' custodial wallets: the address, and the seed only as KMS ciphertext."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import PutError, ScanError

from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import WalletRecord


@dataclass(frozen=True)
class Wallet:
    investor_id: str
    address: str
    encrypted_seed: bytes  # KMS ciphertext, under the investor's encryption context
    key_id: str
    key_algorithm: str


def find(investor_id: str) -> Wallet | None:
    try:
        return _wallet(WalletRecord.get(investor_id, consistent_read=True))
    except WalletRecord.DoesNotExist:
        return None


def keep_first(wallet: Wallet) -> Wallet:
    """Keep the wallet unless the investor has one already: the one kept is theirs (a
    concurrent request may have won, and ours was then never used)."""
    try:
        WalletRecord(
            wallet.investor_id,
            address=wallet.address,
            encrypted_seed=wallet.encrypted_seed,
            key_id=wallet.key_id,
            key_algorithm=wallet.key_algorithm,
        ).save(condition=WalletRecord.investor_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"wallet of {wallet.investor_id}", error) from error
        kept = find(wallet.investor_id)
        assert kept is not None  # wallets are never deleted (cdk/data.py)
        return kept
    return wallet


def investors_with_wallets(after: str | None, limit: int) -> tuple[list[str], str | None]:
    """A page of the investors who have a wallet (their ids only: never the ciphertext), and
    where the next page starts (None: this was the last)."""
    start = {"investor_id": {"S": after}} if after else None
    try:
        scan = WalletRecord.scan(
            limit=limit, last_evaluated_key=start, attributes_to_get=["investor_id"],
            consistent_read=True,
        )  # fmt: skip
        investor_ids = [record.investor_id for record in scan]
    except ScanError as error:
        raise dynamodb_fault("wallets", error) from error
    following = scan.last_evaluated_key
    return investor_ids, (str(following["investor_id"]["S"]) if following else None)


def _wallet(record: WalletRecord) -> Wallet:
    return Wallet(
        record.investor_id,
        record.address,
        bytes(record.encrypted_seed),
        record.key_id,
        record.key_algorithm,
    )
