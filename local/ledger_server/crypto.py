"""Hashing, addresses and signature verification (native OpenSSL via cryptography)."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from xrpl.core import addresscodec

PREFIX_TX_ID = b"TXN\x00"
PREFIX_TX_SIGN = b"STX\x00"
PREFIX_INNER_NODE = b"MIN\x00"
PREFIX_LEDGER = b"LWR\x00"

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_SECP_HALF_ORDER = SECP256K1_ORDER >> 1
_PREHASHED = ec.ECDSA(utils.Prehashed(hashes.SHA256()))


def sha512half(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()[:32]


def tx_hash(blob: bytes) -> bytes:
    return sha512half(PREFIX_TX_ID + blob)


@lru_cache(maxsize=65536)
def account_id_from_pubkey(pubkey: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(pubkey).digest()).digest()


@lru_cache(maxsize=65536)
def encode_address(account_id: bytes) -> str:
    return str(addresscodec.encode_classic_address(account_id))


@lru_cache(maxsize=65536)
def decode_address(address: str) -> bytes:
    """Raises ValueError for a malformed classic address."""
    try:
        return bytes(addresscodec.decode_classic_address(address))
    except Exception as exc:  # the codec raises several exception types
        raise ValueError(address) from exc


def is_valid_pubkey(pubkey: bytes) -> bool:
    if len(pubkey) != 33:
        return False
    return pubkey[0] in (0x02, 0x03, 0xED)


@lru_cache(maxsize=65536)
def _ed25519_key(pubkey: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(pubkey[1:])


@lru_cache(maxsize=65536)
def _secp_key(pubkey: bytes) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), pubkey)


def _secp_fully_canonical(sig: bytes) -> bool:
    """Strict DER with low S, as rippled's RequireFullyCanonicalSig demands."""
    if len(sig) < 8 or len(sig) > 72 or sig[0] != 0x30 or sig[1] != len(sig) - 2:
        return False
    try:
        r, s = utils.decode_dss_signature(sig)
    except ValueError:
        return False
    if utils.encode_dss_signature(r, s) != sig:
        return False
    return 0 < r < SECP256K1_ORDER and 0 < s <= _SECP_HALF_ORDER


def verify(pubkey: bytes, payload: bytes, signature: bytes) -> bool:
    """Verify a single signature over STX-prefixed signing data."""
    message = PREFIX_TX_SIGN + payload
    try:
        if pubkey[:1] == b"\xed":
            if len(signature) != 64:
                return False
            _ed25519_key(pubkey).verify(signature, message)
            return True
        if not _secp_fully_canonical(signature):
            return False
        _secp_key(pubkey).verify(signature, sha512half(message), _PREHASHED)
        return True
    except (InvalidSignature, ValueError):
        return False
