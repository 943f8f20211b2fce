"""Any interleaving of purchases, distributions, re-runs, a replayed schedule, blocks and
reinstatements keeps the books, read from the validated ledger: stablecoin outstanding equals
the EUR the platform took in (deposits delivered, collections), and each holder has received
exactly their units x the per-unit amounts of every payment date they were paid on: nobody is
paid twice, nobody is missed once they may receive."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.servicing.conftest import buy, finished, fund_company, new_instrument
from tests.support.books import stablecoin_balance, stablecoin_outstanding

# Quarterly from 2026-05-05: paid 2026-08-05, 2026-11-05, 2027-02-05 and 2027-05-05 (maturity),
# dates no other test's instrument pays on. It pays automatically: no approval to wait for.
TERMS = {
    "issue_date": "2026-05-05", "maturity": "2027-05-05", "payments_per_year": 4,
    "pays_automatically": True,
}  # fmt: skip
COLLECTED = Decimal("5000.00")


def test_the_books_hold_through_distributions_reruns_and_blocks(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    from domain.cash_flows import schedule
    from domain.investor import InvestorStatus
    from lambdas.records import instruments, wallets
    from lambdas.records import investors as investor_records

    client, accounts = platform["client"], platform["accounts"]
    sfn = aws.client("stepfunctions")
    machine = aws.stack.output("DistributionStateMachineArn")

    def run(instrument: str, day: date, name: str) -> dict[str, Any]:
        request = {"instrument_id": instrument, "payment_date": day.isoformat()}
        sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(request))
        return finished(aws, name)

    class DistributionBooks(RuleBasedStateMachine):
        holders = Bundle("holders")

        @initialize(target=holders)
        def issue(self) -> Any:
            self.instrument = new_instrument(platform, ledger, "BKS", **TERMS)
            listed = instruments.find(self.instrument)
            assert listed is not None and listed.terms is not None
            self.periods = schedule(listed.terms)
            self.outstanding_at_start = stablecoin_outstanding(client, accounts.issuer)
            fund_company(aws, COLLECTED)
            self.deposits = Decimal(0)
            self.units: dict[str, int] = {}  # holder -> units
            self.blocked: set[str] = set()
            self.taken: dict[date, dict[str, int]] = {}  # payment date -> units at its take
            self.paid: dict[str, set[date]] = {}  # holder -> payment dates paid
            return multiple(self.buy(2), self.buy(1))

        def matured(self) -> bool:
            return self.periods[-1].payment_date in self.taken

        @precondition(lambda s: not s.matured() and len(s.taken) < 2 and len(s.units) < 4)
        @rule(target=holders, units=st.integers(1, 3))
        def buy(self, units: int) -> str:
            holder = buy(aws, ledger, self.instrument, units)
            self.units[holder] = units
            self.deposits += Decimal(100 * units)
            return holder

        @precondition(lambda self: not self.matured())
        @rule()
        def distribute_the_next_date(self) -> None:
            day = self.periods[len(self.taken)].payment_date
            self.taken[day] = dict(self.units)
            done = run(self.instrument, day, f"{self.instrument}-{day.isoformat()}")
            assert done["status"] == "SUCCEEDED", done
            self._paid_now(day)

        @precondition(lambda self: bool(self.taken))
        @rule(data=st.data())
        def run_a_date_again(self, data: st.DataObject) -> None:
            day = data.draw(st.sampled_from(sorted(self.taken)))
            done = run(self.instrument, day, f"{self.instrument}-{day}-{uuid.uuid4().hex[:6]}")
            assert done["status"] == "SUCCEEDED", done
            self._paid_now(day)

        @precondition(lambda self: bool(self.taken))
        @rule()
        def the_schedule_fires_again(self) -> None:
            day = max(self.taken)
            with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
                run(self.instrument, day, f"{self.instrument}-{day.isoformat()}")

        @rule(holder=holders, blocked=st.booleans())
        def screen(self, holder: str, blocked: bool) -> None:
            status = InvestorStatus.BLOCKED if blocked else InvestorStatus.ACTIVE
            investor_records.set_status(holder, status, "AML screening")
            (self.blocked.add if blocked else self.blocked.discard)(holder)

        def _paid_now(self, day: date) -> None:
            """Who a run of `day` pays: every holder of its take who may receive now."""
            for holder in self.taken[day]:
                if holder not in self.blocked:
                    self.paid.setdefault(holder, set()).add(day)

        @invariant()
        def stablecoin_outstanding_is_what_came_in(self) -> None:
            outstanding = stablecoin_outstanding(client, accounts.issuer)
            assert outstanding - self.outstanding_at_start == self.deposits + COLLECTED

        @invariant()
        def each_holder_received_units_times_the_per_unit_amounts_once(self) -> None:
            per_unit = {
                p.payment_date: p.coupon_per_unit + p.principal_per_unit for p in self.periods
            }
            for holder in self.units:
                expected = sum(
                    (self.taken[d][holder] * per_unit[d] for d in self.paid.get(holder, ())),
                    Decimal(0),
                )
                wallet = wallets.find(holder)
                assert wallet is not None
                assert stablecoin_balance(client, wallet.address, accounts.issuer) == expected

    run_state_machine_as_test(
        DistributionBooks,
        settings=settings(
            max_examples=5,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
