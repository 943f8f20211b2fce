"""A purchase while one of the platform's two ledger servers lies: it waits, and delivers on
what the honest server says once the liar tells the truth again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.purchase import PurchaseStatus
from local.aws import patches
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.support.investors import onboard
from tests.workflows.conftest import new_investor_id, payment, run_payment, state_names

LYING_WAITS = 6  # Wait states the purchase goes through while the server lies


def test_a_purchase_waits_out_a_lying_server_and_delivers_on_the_truth(
    aws: LocalAws,
    ledger: LocalLedger,
    platform: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    investor_id = new_investor_id()
    onboard(ledger, investor_id)
    liar = ledger.rpc_url  # the first server: the one a single-server platform would ask
    waits: list[int] = []

    def wait() -> None:  # a ledger closes during each Wait, as the network would meanwhile
        ledger.close_ledger()
        waits.append(ledger.chain.last_closed.seq)
        if len(waits) == LYING_WAITS:
            ledger.lie(liar, None)

    monkeypatch.setattr(patches.WorkflowClock, "on_wait", wait)
    ledger.lie(liar, "result")  # every validated transaction: the opposite result
    try:
        execution = run_payment(aws, payment(investor_id, units=1, amount="100.00"), timeout=120)
    finally:
        ledger.lie(liar, None)

    output = json.loads(execution["output"])
    assert (execution["status"], output["status"]) == ("SUCCEEDED", PurchaseStatus.DELIVERED)
    results = {step: tx["result"] for step, tx in output["transactions"].items()}
    assert {results[step] for step in ("mint", "transfer", "deliver")} == {"tesSUCCESS"}
    # The holdings were seen in place by both servers (lines and MPTokens are not lied about);
    # a holding transaction checked while the lie lasted is recorded without a result.
    assert set(results.values()) <= {"tesSUCCESS", None}, results
    # The workflow was still waiting when the lie ended (it ends inside the last lying Wait):
    # it outlasted the lie. Under load the parallel branches may all be in that Wait, and then
    # none needs another once the truth is back.
    assert len(waits) >= LYING_WAITS, "the lie was outlasted, not believed"
    assert "Undo" not in " ".join(state_names(aws, execution["executionArn"]))
