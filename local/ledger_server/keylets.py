"""Ledger entry keys, computed as rippled's Indexes.cpp does.

Each key is SHA-512Half of a 16-bit namespace code followed by the identifying
fields, so indexes match a real ledger byte for byte.
"""

from __future__ import annotations

from local.ledger_server.crypto import sha512half

_ACCOUNT = b"\x00a"
_OWNER_DIR = b"\x00O"
_DIR_NODE = b"\x00d"
_TRUST_LINE = b"\x00r"
_TICKET = b"\x00T"
_MPT_ISSUANCE = b"\x00~"
_MPTOKEN = b"\x00t"


def account(account_id: bytes) -> bytes:
    return sha512half(_ACCOUNT + account_id)


def owner_dir(account_id: bytes) -> bytes:
    return sha512half(_OWNER_DIR + account_id)


def dir_page(root: bytes, page: int) -> bytes:
    if page == 0:
        return root
    return sha512half(_DIR_NODE + root + page.to_bytes(8, "big"))


def line(a: bytes, b: bytes, currency: bytes) -> bytes:
    low, high = (a, b) if a < b else (b, a)
    return sha512half(_TRUST_LINE + low + high + currency)


def ticket(account_id: bytes, seq: int) -> bytes:
    return sha512half(_TICKET + account_id + seq.to_bytes(4, "big"))


def mpt_id(sequence: int, issuer: bytes) -> bytes:
    """MPTokenIssuanceID: 4-byte big-endian Sequence then the issuer AccountID."""
    return sequence.to_bytes(4, "big") + issuer


def mpt_issuance(issuance_id: bytes) -> bytes:
    return sha512half(_MPT_ISSUANCE + issuance_id)


def mptoken(issuance_id: bytes, holder: bytes) -> bytes:
    return sha512half(_MPTOKEN + mpt_issuance(issuance_id) + holder)
