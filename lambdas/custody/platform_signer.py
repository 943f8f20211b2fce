"""Platform accounts keyed by KMS secp256k1 keys that never leave KMS.

KMS signs the 32-byte XRPL signing digest (MessageType=DIGEST); about half its signatures have a
high S, which rippled rejects (RequireFullyCanonicalSig), so S is normalised to n - S.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from xrpl.core.keypairs import derive_classic_address

from domain.platform import PlatformAccounts
from lambdas.aws_clients import kms, transient_faults
from lambdas.config import settings
from lambdas.custody.signed_transaction import SignedTransaction, sha512_half, sign_with

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
