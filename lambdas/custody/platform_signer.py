"""Platform accounts keyed by KMS secp256k1 keys that never leave KMS, and their signers.

Every ledger function learns the accounts' addresses from the public keys (`platform_accounts`);
only the signer of an account (a function of its own, cdk/signing.py) signs as it, and only what
the platform policy allows that account (domain/signing_policy.py).

KMS signs the 32-byte XRPL signing digest (MessageType=DIGEST); about half its signatures have a
high S, which rippled rejects (RequireFullyCanonicalSig), so S is normalised to n - S.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from xrpl.core.keypairs import derive_classic_address

from domain.distribution import EntitlementStatus
from domain.platform import PlatformAccounts
from domain.signing_policy import HolderPaymentLimit, SigningRefused, check_platform_transaction
from lambdas.aws_clients import kms, transient_faults
from lambdas.config import settings
from lambdas.custody.signed_transaction import SignedTransaction, sha512_half, sign_with
from lambdas.custody.signers import signed_as_answer

logger = Logger(service="custody")

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def low_s(der_signature: bytes) -> bytes:
    """The same signature with S in the lower half of the curve order (canonical for XRPL)."""
    r, s = decode_dss_signature(der_signature)
    if s > SECP256K1_ORDER // 2:
        s = SECP256K1_ORDER - s
    return encode_dss_signature(r, s)


class PlatformKey:
    """One platform account: its address comes from the KMS public key, derived once."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    @functools.cached_property
    def public_key_hex(self) -> str:
        with transient_faults("KMS GetPublicKey"):
            der = kms().get_public_key(KeyId=self.key_id)["PublicKey"]
        public_key = serialization.load_der_public_key(der)
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256K1
        ):
            raise ValueError(f"KMS key {self.key_id} is not a secp256k1 key")
        compressed = public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        return compressed.hex().upper()

    @functools.cached_property
    def address(self) -> str:
        return str(derive_classic_address(self.public_key_hex))

    def sign(self, tx: Mapping[str, Any]) -> SignedTransaction:
        return sign_with(tx, self.public_key_hex, self._signature)

    def _signature(self, signing_bytes: bytes) -> str:
        with transient_faults("KMS Sign for a platform account"):
            der = kms().sign(
                KeyId=self.key_id,
                Message=sha512_half(signing_bytes),
                MessageType="DIGEST",
                SigningAlgorithm="ECDSA_SHA_256",
            )["Signature"]
        return low_s(der).hex().upper()


@functools.cache
def platform_key(role: str) -> PlatformKey:
    """The key of 'issuer', 'company' or 'funding', cached for the life of the process."""
    key_ids = {
        "issuer": settings().issuer_key_id,
        "company": settings().company_key_id,
        "funding": settings().funding_key_id,
    }
    return PlatformKey(key_ids[role])


def platform_accounts() -> PlatformAccounts:
    return PlatformAccounts(
        issuer=platform_key("issuer").address,
        company=platform_key("company").address,
        funding=platform_key("funding").address,
    )


def sign_as(
    role: str, tx: Mapping[str, Any], entitlement: Mapping[str, Any] | None = None
) -> SignedTransaction:
    """The platform account's signature, if its policy allows the transaction; a holder's
    payment is bounded by the `entitlement` it names, as the records keep it."""
    check_platform_transaction(
        role,
        tx,
        platform_accounts(),
        _issuances(role, tx),
        holder_payment=_holder_payment(role, entitlement),
    )
    return platform_key(role).sign(tx)


def _holder_payment(role: str, named: Mapping[str, Any] | None) -> HolderPaymentLimit | None:
    if named is None:
        return None
    if role != "company" or not isinstance(named, Mapping):
        raise SigningRefused("only the company pays entitlements")
    from lambdas.records import distributions

    distribution_id, investor_id = named.get("distribution_id"), named.get("investor_id")
    if not isinstance(distribution_id, str) or not isinstance(investor_id, str):
        raise SigningRefused("an entitlement is named by distribution_id and investor_id")
    payment = distributions.entitlement(distribution_id, investor_id)
    if payment is None:
        raise SigningRefused(f"no entitlement of {investor_id} in {distribution_id}")
    owed = payment.status is EntitlementStatus.DUE
    return HolderPaymentLimit(payment.address, payment.amount, owed)


def _issuances(role: str, tx: Mapping[str, Any]) -> frozenset[str]:
    """The instruments' issuances (the company's to manage), read again when tx names one not
    yet known: issuances are only ever added."""
    if role != "company":
        return frozenset()
    named = {tx.get("MPTokenIssuanceID"), _mpt_of(tx.get("Amount"))} - {None}
    if not named <= _known_issuances():
        _known_issuances.cache_clear()
    return _known_issuances()


def _mpt_of(amount: Any) -> Any:
    return amount.get("mpt_issuance_id") if isinstance(amount, Mapping) else None


@functools.cache
def _known_issuances() -> frozenset[str]:
    from lambdas.records import instruments

    return frozenset(i.issuance_id for i in instruments.catalogue() if i.issuance_id)


def _handler_for(role: str) -> Any:
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        transaction = event.get("transaction")
        if not isinstance(transaction, Mapping):
            raise SigningRefused("a signing request carries a transaction")
        signed = sign_as(role, transaction, event.get("entitlement"))
        kind = transaction.get("TransactionType")
        logger.info("signed", extra={"tx_hash": signed.tx_hash, "transaction_type": kind})
        return signed_as_answer(signed)

    return handler


issuer_handler = _handler_for("issuer")
company_handler = _handler_for("company")
funding_handler = _handler_for("funding")
