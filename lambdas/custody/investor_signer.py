"""The investor signer: the only code that decrypts an investor's seed, and only to sign what the
investor policy allows (domain/signing_policy.py). It runs as a function of its own
(cdk/signing.py) and talks to no ledger; the ledger steps ask it through lambdas/custody/signers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.wallet import Wallet

from domain.investor import InvestorStatus
from domain.signing_policy import (
    PurchaseLimit,
    SigningRefused,
    WithdrawalLimit,
    check_investor_transaction,
)
from domain.withdrawal import WithdrawalStatus
from lambdas.aws_clients import kms, transient_faults
from lambdas.custody.platform_signer import platform_accounts
from lambdas.custody.signed_transaction import SignedTransaction, sign_with
from lambdas.custody.signers import CustodyIntegrityError, NoWallet, signed_as_answer
from lambdas.custody.wallet_generator import encryption_context
from lambdas.records import investors, purchases, wallets, withdrawals

logger = Logger(service="custody")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    investor_id = event.get("investor_id")
    transaction = event.get("transaction")
    if not isinstance(investor_id, str) or not isinstance(transaction, Mapping):
        raise SigningRefused("a signing request names an investor and a transaction")
    purchase = _purchase_limit(investor_id, event.get("purchase_id"))
    withdrawal = _withdrawal_limit(investor_id, event.get("withdrawal_id"))
    signed = sign_for_investor(investor_id, transaction, purchase, withdrawal)
    kind = transaction.get("TransactionType")
    logger.info("signed", extra={"tx_hash": signed.tx_hash, "transaction_type": kind})
    return signed_as_answer(signed)


def sign_for_investor(
    investor_id: str,
    tx: Mapping[str, Any],
    purchase: PurchaseLimit | None,
    withdrawal: WithdrawalLimit | None = None,
) -> SignedTransaction:
    record = wallets.find(investor_id)
    if record is None:
        raise NoWallet(f"investor {investor_id} has no wallet")
    _refuse_unless_in_good_standing(investor_id)
    check_investor_transaction(
        tx, record.address, platform_accounts(), purchase, withdrawal=withdrawal
    )
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


def _refuse_unless_in_good_standing(investor_id: str) -> None:
    """No record, or a BLOCKED (AML) or REJECTED investor: the wallet signs nothing. Defence in
    depth beside the ledger freeze, so no flow can move their assets."""
    standing = investors.status_of(investor_id)
    if standing is None:
        raise SigningRefused(f"investor {investor_id} is not on record")
    if standing in (InvestorStatus.BLOCKED, InvestorStatus.REJECTED):
        raise SigningRefused(f"investor {investor_id} is {standing}: their wallet signs nothing")


def _purchase_limit(investor_id: str, purchase_id: object) -> PurchaseLimit | None:
    """The purchase a payment serves, read here, not taken from the request: it bounds the
    payment. None when the request serves no purchase (a trust line of onboarding)."""
    record = _investors_own("purchase", purchase_id, investor_id, purchases.find)
    if record is None:
        return None
    return PurchaseLimit(
        record.purchase_id, Decimal(record.amount), int(record.units), str(record.issuance_id)
    )


def _withdrawal_limit(investor_id: str, withdrawal_id: object) -> WithdrawalLimit | None:
    """The withdrawal a redemption serves, read here: exactly its amount, while it waits."""
    record = _investors_own("withdrawal", withdrawal_id, investor_id, withdrawals.find)
    if record is None:
        return None
    pending = record.status is WithdrawalStatus.REQUESTED
    return WithdrawalLimit(record.withdrawal_id, record.amount, pending)


class _Owned(Protocol):
    @property
    def investor_id(self) -> str: ...


OwnedT = TypeVar("OwnedT", bound=_Owned)


def _investors_own(
    kind: str, named: object, investor_id: str, find: Callable[[str], OwnedT | None]
) -> OwnedT | None:
    """The record a request names (None if it names none), on record and the investor's."""
    if named is None:
        return None
    if not isinstance(named, str) or not named:
        raise SigningRefused(f"{kind} id {named!r} is malformed")
    record = find(named)
    if record is None:
        raise SigningRefused(f"{kind} {named} is not on record")
    if record.investor_id != investor_id:
        raise SigningRefused(f"{kind} {named} is not investor {investor_id}'s")
    return record
