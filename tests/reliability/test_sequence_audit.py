"""The sequence-error rule, as the benchmark applies it to what the local ledger answered:
a re-send of a blob that validated is not an error; a different blob for a spent Sequence
(a collision) and a blob ahead of its turn are."""

from __future__ import annotations

from decimal import Decimal

import pytest
from xrpl.account import get_next_valid_seq_number
from xrpl.clients import JsonRpcClient
from xrpl.core.binarycodec import encode
from xrpl.models.requests import SubmitOnly
from xrpl.models.transactions import Payment
from xrpl.transaction import autofill_and_sign
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_SEED, LocalLedger
from local.ledger_server.audit import SubmissionTally
from local.ledger_server.genesis import accept, fund


def _signed(client: JsonRpcClient, wallet: Wallet, sequence: int, drops: int) -> str:
    payment = Payment(
        account=wallet.address,
        destination=Wallet.from_seed(GENESIS_SEED).address,
        amount=str(drops),
        sequence=sequence,
    )
    return encode(autofill_and_sign(payment, client, wallet).to_xrpl())


def _submit(client: JsonRpcClient, blob: str) -> str:
    return str(client.request(SubmitOnly(tx_blob=blob)).result["engine_result"])


def test_tally_tells_resends_from_collisions(
    ledger: LocalLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger.chain, "submit", ledger.chain.submit)  # undone after the test
    wallet = Wallet.create()
    fund(ledger.rpc_url, wallet.address, Decimal(50))
    client = JsonRpcClient(ledger.rpc_url)
    tally = SubmissionTally(ledger.chain)
    sequence = get_next_valid_seq_number(wallet.address, client)
    applied = _signed(client, wallet, sequence, 1000)
    assert _submit(client, applied) == "tesSUCCESS"
    accept(ledger.rpc_url)

    outcomes = [
        _submit(client, applied),  # the same blob again: a harmless re-send
        _submit(client, _signed(client, wallet, sequence, 2000)),  # same Sequence: collision
        _submit(client, _signed(client, wallet, sequence + 5, 3000)),  # ahead of its turn
    ]

    assert outcomes == ["tefPAST_SEQ", "tefPAST_SEQ", "terPRE_SEQ"]
    assert tally.sequence_errors({wallet.address}, ledger.rpc_url) == (2, 1)
    assert tally.unsuccessful({wallet.address}) == {"tefPAST_SEQ": 2, "terPRE_SEQ": 1}
    assert tally.sequence_errors({"rSomeoneElse"}, ledger.rpc_url) == (0, 0)
