"""Any interleaving of purchases, duplicate deliveries, injected failures and AML blocks keeps
the books: stablecoin outstanding equals confirmed deposits not refunded, units delivered equal
units sold, and every token on the ledger has its record. Read from the validated ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from domain.purchase import PurchaseStatus, purchase_id_for
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.support.books import (
    stablecoin_balance,
    stablecoin_outstanding,
    units_held,
    units_outstanding,
)
from tests.support.investors import onboard
from tests.support.waiting import wait_for
from tests.workflows.conftest import (
    distinct_states,
    executions_for,
    new_investor_id,
    payment,
    put_payment,
    run_payment,
)
from tests.workflows.faults import Faults

# Handlers run in this process: faults are injected into handler code (Faults).
pytestmark = pytest.mark.handlers_in_test_process

PRICES = {"SME-2027-A": Decimal("100.00"), "SME-2028-B": Decimal("250.00")}
FAULTS = st.sampled_from(
    [None, None, ("mint", "after"), ("transfer", "before"), ("deliver", "after"), "aml"]
)


def test_the_books_balance_whatever_happens(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    from domain.investor import InvestorStatus
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import InstrumentRecord, PurchaseRecord

    client, accounts = platform["client"], platform["accounts"]
    issuances = {i: InstrumentRecord.get(i).issuance_id for i in PRICES}

    def instrument_counts() -> dict[str, tuple[int, int]]:
        return {
            i: (
                units_outstanding(client, accounts.company, issuances[i]),
                int(InstrumentRecord.get(i, consistent_read=True).units_sold),
            )
            for i in PRICES
        }

    class PurchaseBooks(RuleBasedStateMachine):
        investors = Bundle("investors")
        payments = Bundle("payments")

        @initialize()
        def snapshot(self) -> None:
            self.outstanding_at_start = stablecoin_outstanding(client, accounts.issuer)
            self.instruments_at_start = instrument_counts()
            self.payment_ids: list[str] = []
            self.addresses: dict[str, str] = {}

        @rule(target=investors)
        def register(self) -> str:
            investor_id = new_investor_id()
            self.addresses[investor_id] = onboard(ledger, investor_id)
            return investor_id

        @rule(
            target=payments,
            investor_id=investors,
            instrument=st.sampled_from(sorted(PRICES)),
            units=st.integers(1, 3),
            fault=FAULTS,
        )
        def buy(self, investor_id: str, instrument: str, units: int, fault: Any) -> dict[str, Any]:
            detail = payment(
                investor_id,
                instrument_id=instrument,
                units=units,
                amount=str(PRICES[instrument] * units),
            )
            with pytest.MonkeyPatch.context() as monkeypatch:
                faults = Faults(monkeypatch)
                if fault == "aml":
                    faults.after_step(
                        "mint",
                        lambda _: investor_records.set_status(
                            investor_id, InvestorStatus.BLOCKED, "AML flag"
                        ),
                    )
                elif fault:
                    faults.ledger_step(*fault)
                execution = run_payment(aws, detail)
            assert execution["status"] == "SUCCEEDED", execution.get("cause")
            self.payment_ids.append(detail["payment_id"])
            return detail

        @rule(detail=payments)
        def deliver_again(self, detail: dict[str, Any]) -> None:
            before = len(executions_for(aws, detail["payment_id"]))
            put_payment(aws, detail)
            executions = wait_for(
                lambda: (e := executions_for(aws, detail["payment_id"])) and len(e) > before and e
            )
            newest = max(executions, key=lambda e: e["startDate"])
            assert distinct_states(aws, newest["executionArn"])[-1] == "Payment already handled"

        @rule(investor_id=investors, blocked=st.booleans())
        def screen(self, investor_id: str, blocked: bool) -> None:
            status = InvestorStatus.BLOCKED if blocked else InvestorStatus.ACTIVE
            investor_records.set_status(investor_id, status, "AML screening")

        def purchases(self) -> list[Any]:
            return [
                PurchaseRecord.get(purchase_id_for(p), consistent_read=True)
                for p in self.payment_ids
            ]

        @invariant()
        def every_purchase_is_finished(self) -> None:
            for record in self.purchases():
                assert record.status in (PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED)

        @invariant()
        def stablecoin_outstanding_equals_confirmed_deposits(self) -> None:
            delivered = sum(
                (Decimal(r.amount) for r in self.purchases() if r.status == "DELIVERED"),
                Decimal(0),
            )
            outstanding = stablecoin_outstanding(client, accounts.issuer)
            assert outstanding - self.outstanding_at_start == delivered
            for address in self.addresses.values():
                assert stablecoin_balance(client, address, accounts.issuer) == 0

        @invariant()
        def units_delivered_equal_units_sold(self) -> None:
            delivered: dict[str, int] = dict.fromkeys(PRICES, 0)
            held: dict[tuple[str, str], int] = {}
            for r in self.purchases():
                if r.status == "DELIVERED":
                    delivered[r.instrument_id] += int(r.units)
                    key = (r.investor_id, r.instrument_id)
                    held[key] = held.get(key, 0) + int(r.units)
            for instrument, (outstanding, sold) in instrument_counts().items():
                start_outstanding, start_sold = self.instruments_at_start[instrument]
                assert outstanding - start_outstanding == delivered[instrument]
                assert sold - start_sold == delivered[instrument]
            for investor_id, address in self.addresses.items():
                for instrument, issuance in issuances.items():
                    on_ledger = units_held(client, address, issuance)
                    assert on_ledger == held.get((investor_id, instrument), 0)

    run_state_machine_as_test(
        PurchaseBooks,
        settings=settings(
            max_examples=5,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
