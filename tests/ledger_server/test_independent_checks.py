"""Cross-checks against independent implementations: xrpl.js and xrpl-py helpers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from xrpl.constants import CryptoAlgorithm
from xrpl.models import AccountSet, MPTokenIssuanceCreate, Payment, TicketCreate

from local.ledger_server import GENESIS_ADDRESS
from tests.ledger_server.conftest import Env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_xrpljs_agrees_on_hashes_and_signatures(env: Env, tmp_path: Path) -> None:
    for algorithm in (CryptoAlgorithm.ED25519, CryptoAlgorithm.SECP256K1):
        wallet = env.wallet(algorithm=algorithm)
        env.submit(
            Payment(account=wallet.address, destination=GENESIS_ADDRESS, amount="123"),
            wallet,
            "tesSUCCESS",
        )
        env.submit(
            AccountSet(account=wallet.address, domain="6578616d706c652e636f6d"),
            wallet,
            "tesSUCCESS",
        )
        env.submit(TicketCreate(account=wallet.address, ticket_count=2), wallet, "tesSUCCESS")
        env.submit(
            MPTokenIssuanceCreate(account=wallet.address, maximum_amount="9223372036854775807"),
            wallet,
            "tesSUCCESS",
        )
    env.close()
    blobs = list(env.blobs)
    blob_file = tmp_path / "blobs.json"
    blob_file.write_text(json.dumps([blob for blob, _ in blobs]))
    script = Path(__file__).with_name("xrpljs_check.cjs")
    completed = subprocess.run(
        ["node", str(script), str(blob_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results = json.loads(completed.stdout)
    assert len(results) == len(blobs) >= 8
    for (blob, server_hash), checked in zip(blobs, results, strict=True):
        assert checked["hash"] == server_hash, blob
        assert checked["verified"] is True, checked
    for _, server_hash in blobs[-8:]:
        assert env.tx(server_hash)["validated"] is True


def test_keylets_match_xrpl_py_hashes(env: Env) -> None:
    from xrpl.core.addresscodec import decode_classic_address

    from local.ledger_server import keylets

    account = decode_classic_address(GENESIS_ADDRESS)
    # Known index of the genesis AccountRoot on every rippled network.
    assert (
        keylets.account(account).hex().upper()
        == "2B6AC232AA4C4BE41BF49D2459FA4A0347E1B543A4C92FCEE0821C0201E2E9A8"
    )
