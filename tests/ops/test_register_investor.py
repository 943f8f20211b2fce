"""`ops.register_investor`: a wallet, its activation XRP from the funding account, ACTIVE; and
when the funding account's Ticket pool is empty, it waits a ledger for the refill."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local.ledger_server import LocalLedger
from ops.register_investor import ActivationFailed, register_investor


def test_an_empty_pool_is_waited_out_a_ledger_at_a_time(
    ledger: LocalLedger, platform: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.ledger_adapter.sequences import TicketPool
    from lambdas.records import investors

    empty_for, real = [2], TicketPool.available

    def refilling(pool: TicketPool, account: str) -> list[int]:
        if empty_for[0]:
            empty_for[0] -= 1
            return []
        return real(pool, account)

    monkeypatch.setattr(TicketPool, "available", refilling)
    waits: list[int] = []
    investor_id = f"inv-reg-{uuid.uuid4().hex[:8]}"

    address = register_investor(investor_id, lambda: waits.append(ledger.close_ledger()))

    assert len(waits) >= 2  # a ledger for each empty look, then those of the activation
    assert platform["client"].account_root(address)["Balance"]
    assert investors.find(investor_id).status == "ACTIVE"  # type: ignore[union-attr]


def test_a_pool_that_never_refills_is_an_error_naming_the_activation(
    platform: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.ledger_adapter.sequences import TicketPool

    monkeypatch.setattr(TicketPool, "available", lambda pool, account: [])
    waits: list[None] = []
    investor_id = f"inv-reg-{uuid.uuid4().hex[:8]}"

    with pytest.raises(ActivationFailed, match=f"{investor_id}.*no Ticket"):
        register_investor(investor_id, lambda: waits.append(None))
    assert len(waits) == 15
