"""Holders of record on the platform: delivered purchases as one validated ledger shows them,
checked against the records, for an instrument issued for this module alone (so no other
test's purchases are in its books)."""

from __future__ import annotations

from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.servicing.conftest import buy, new_instrument


@pytest.fixture(scope="module")
def instrument(platform: dict[str, Any], ledger: LocalLedger) -> str:
    return new_instrument(platform, ledger, "HLD")


def test_the_holders_are_the_delivered_purchases_in_one_validated_ledger(
    aws: LocalAws, ledger: LocalLedger, instrument: str
) -> None:
    from lambdas.ledger_adapter.quorum import LedgerQuorum
    from lambdas.servicing.holders import holders_at

    quorum = LedgerQuorum(ledger.rpc_urls)
    ada = buy(aws, ledger, instrument, 3)
    ledger.close_ledger()
    before_bob = quorum.validated_ledger_index()
    bob = buy(aws, ledger, instrument, 2)
    ledger.close_ledger()

    now = holders_at(instrument, quorum)
    assert {h.investor_id: h.units for h in now.holdings} == {ada: 3, bob: 2}
    assert now.units == 5 and not any(h.locked for h in now.holdings)
    earlier = holders_at(instrument, quorum, before_bob)  # the records as of that ledger too
    assert {h.investor_id: h.units for h in earlier.holdings} == {ada: 3}
    assert earlier.ledger_index == before_bob


def test_a_difference_with_the_records_stops_the_snapshot_naming_it(
    aws: LocalAws, ledger: LocalLedger, instrument: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from domain.holders import HoldersDiffer
    from lambdas.ledger_adapter.quorum import LedgerQuorum
    from lambdas.records import purchases, wallets
    from lambdas.servicing.holders import holders_at

    cy = buy(aws, ledger, instrument, 4)
    ledger.close_ledger()
    quorum = LedgerQuorum(ledger.rpc_urls)
    real_purchases, real_wallet = purchases.of_instrument, wallets.find

    def a_record_saying_5(instrument_id: str) -> list[Any]:
        return [
            replace(p, units=5) if p.investor_id == cy else p for p in real_purchases(instrument_id)
        ]

    monkeypatch.setattr(purchases, "of_instrument", a_record_saying_5)
    with pytest.raises(
        HoldersDiffer, match=f"investor {cy}: 4 units on the ledger, the records say 5"
    ):
        holders_at(instrument, quorum)
    monkeypatch.setattr(purchases, "of_instrument", real_purchases)

    monkeypatch.setattr(wallets, "find", lambda i: None if i == cy else real_wallet(i))
    with pytest.raises(HoldersDiffer) as hidden:
        holders_at(instrument, quorum)
    assert f"investor {cy}: no wallet, the records say 4 units" in hidden.value.differences
    assert any("4 held outside the platform" in d for d in hidden.value.differences)
