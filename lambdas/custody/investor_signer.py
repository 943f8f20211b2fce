"""Signer: the only code that decrypts an investor's seed, and only to sign what policy allows."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.wallet import Wallet

from domain.errors import BusinessRuleViolation
from domain.investor import InvestorStatus
from domain.platform import PlatformAccounts
from domain.signing_policy import SigningRefused, check_investor_transaction
from lambdas.aws_clients import kms, transient_faults
from lambdas.custody.signed_transaction import SignedTransaction, sign_with
from lambdas.custody.wallet_generator import encryption_context, find_wallet
from lambdas.tables import InvestorRecord


class NoWallet(BusinessRuleViolation):
    """The investor has no custodial wallet yet."""


def _refuse_if_barred(investor_id: str) -> None:
    """A BLOCKED (AML) or REJECTED investor's wallet signs nothing: defence in depth beside the
    ledger freeze, so no flow can move their assets."""
    try:
        standing = InvestorRecord.get(investor_id, consistent_read=True).status
    except InvestorRecord.DoesNotExist:
        return
    if standing in (InvestorStatus.BLOCKED, InvestorStatus.REJECTED):
        raise SigningRefused(f"investor {investor_id} is {standing}: their wallet signs nothing")


class CustodyIntegrityError(RuntimeError):
    """A decrypted seed does not give the stored address: never sign, page a human."""


def sign_for_investor(
    investor_id: str,
    tx: Mapping[str, Any],
    accounts: PlatformAccounts,
    instrument_issuances: Collection[str],
) -> SignedTransaction:
    record = find_wallet(investor_id)
    if record is None:
        raise NoWallet(f"investor {investor_id} has no wallet")
    _refuse_if_barred(investor_id)
    check_investor_transaction(tx, record.address, accounts, instrument_issuances)
    with transient_faults("KMS Decrypt of an investor seed"):
        seed = kms().decrypt(
            CiphertextBlob=record.encrypted_seed,
            KeyId=record.key_id,
            EncryptionContext=encryption_context(investor_id, record.address),
        )["Plaintext"]
    wallet = Wallet.from_seed(seed.decode(), algorithm=CryptoAlgorithm(record.key_algorithm))
    if wallet.address != record.address:
        raise CustodyIntegrityError(f"seed of investor {investor_id} does not match its address")
    return sign_with(tx, wallet.public_key, lambda data: keypairs.sign(data, wallet.private_key))
