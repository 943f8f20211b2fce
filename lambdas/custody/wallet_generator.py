"""Wallet Generator: one custodial ed25519 wallet per investor, its seed sealed by KMS.

The seed exists in plaintext only inside `create_investor_wallet`, long enough to be encrypted.
"""

from __future__ import annotations

from lambdas.aws_clients import kms, transient_faults
from lambdas.config import settings
from lambdas.records import wallets

SEED_PURPOSE = "drexfy-investor-seed"


def encryption_context(investor_id: str, address: str) -> dict[str, str]:
    """Binds a ciphertext to one investor and address: decrypting it needs the same context."""
    return {"purpose": SEED_PURPOSE, "investor_id": investor_id, "address": address}


def create_investor_wallet(investor_id: str) -> wallets.Wallet:
    """Return the investor's wallet, creating it the first time (idempotent, race-safe)."""
    # xrpl-py takes ~200 ms to import; the many readers of wallets never need it.
    from xrpl.constants import CryptoAlgorithm
    from xrpl.wallet import Wallet

    existing = wallets.find(investor_id)
    if existing is not None:
        return existing
    wallet = Wallet.create(algorithm=CryptoAlgorithm.ED25519)
    key_id = settings().investor_seed_key_id
    with transient_faults("KMS Encrypt of a new investor seed"):
        ciphertext = kms().encrypt(
            KeyId=key_id,
            Plaintext=str(wallet.seed).encode(),
            EncryptionContext=encryption_context(investor_id, wallet.address),
        )["CiphertextBlob"]
    algorithm = CryptoAlgorithm.ED25519.value
    kept = wallets.Wallet(investor_id, wallet.address, ciphertext, key_id, algorithm)
    return wallets.keep_first(kept)
