"""Any interleaving of purchases, refunds, distributions, re-runs, a replayed schedule, blocks
and reinstatements, withdrawals paid out, failed or returned, provider answers sent again and an
archive replay keeps the books, read from the validated ledger and the payment provider stand-in:
stablecoin outstanding equals the EUR the platform took in (deposits delivered, collections)
less what was paid out to banks, which is the EUR it owes investors (their wallets) plus the
company's balance; each holder holds exactly their units x the per-unit amounts of every payment
date they were paid on, less what they withdrew and was not returned; and the provider acted on
each payout and refund once: nobody is paid twice, nobody is missed once they may receive."""

from __future__ import annotations

import json
import time
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
from tests.frontend.gateway import Frontend
from tests.servicing.conftest import buy, finished, fund_company, new_instrument
from tests.support.books import stablecoin_balance, stablecoin_outstanding
from tests.support.bus import replay_archive
from tests.support.waiting import wait_for
from tests.workflows.conftest import new_investor_id, payment, run_payment

# Quarterly from 2026-05-05: paid 2026-08-05, 2026-11-05, 2027-02-05 and 2027-05-05 (maturity),
# dates no other test's instrument pays on. It pays automatically: no approval to wait for.
TERMS = {
    "issue_date": "2026-05-05", "maturity": "2027-05-05", "payments_per_year": 4,
    "pays_automatically": True,
}  # fmt: skip
COLLECTED = Decimal("5000.00")


OUTCOMES = {"paid": ("paid",), "failed": ("failed",), "returned": ("paid", "returned")}
REPLAYED = ("Purchase", "Collection", "Withdrawal", "Settlement")  # what bus events start


def workflow_runs(aws: LocalAws, since: float) -> list[dict[str, Any]]:
    """The executions of the workflows events start, started since then."""
    sfn = aws.client("stepfunctions")
    runs = []
    for workflow in REPLAYED:
        arn = aws.stack.output(f"{workflow}StateMachineArn")
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            runs += [e for e in page["executions"] if e["startDate"].timestamp() >= since]
    return runs


def test_the_books_hold_through_distributions_withdrawals_refunds_reruns_and_blocks(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    from domain.cash_flows import schedule
    from domain.investor import InvestorStatus
    from domain.purchase import purchase_id_for
    from domain.withdrawal import withdrawal_id_for
    from lambdas.records import instruments, wallets
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import InvestorRecord
    from tests.support.investors import onboard
    from tests.withdrawals.conftest import ACCOUNT
    from tests.withdrawals.conftest import finished as finished_for_withdrawal

    provider = aws.provider
    assert provider is not None
    token = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )["SecretString"]
    frontend = Frontend(token)

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
            self.opened = time.time() - 1
            self.replayed = False
            self.outstanding_at_start = stablecoin_outstanding(client, accounts.issuer)
            self.company_at_start = stablecoin_balance(client, accounts.company, accounts.issuer)
            fund_company(aws, COLLECTED)
            self.deposits = Decimal(0)
            self.units: dict[str, int] = {}  # holder -> units
            self.blocked: set[str] = set()
            self.taken: dict[date, dict[str, int]] = {}  # payment date -> units at its take
            self.paid: dict[str, set[date]] = {}  # holder -> payment dates paid
            self.withdrawn: dict[str, Decimal] = {}  # holder -> paid out to their bank, kept
            self.payouts: list[str] = []  # withdrawal ids the provider was asked to pay
            self.refunds: list[str] = []  # purchase ids refunded
            first, second = self.buy(2), self.buy(1)
            self.distribute_the_next_date()  # so holders have EUR to withdraw from the start
            return multiple(first, second)

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

        def _may_withdraw(self) -> list[str]:
            return sorted(
                h for h in self.paid
                if h not in self.blocked and self._expected(h) >= Decimal("0.02")
            )  # fmt: skip

        @precondition(lambda self: bool(self._may_withdraw()))
        @rule(data=st.data(), outcome=st.sampled_from(["paid", "failed", "returned"]))
        def withdraw(self, data: st.DataObject, outcome: str) -> None:
            """Half of what a paid holder holds, to their bank: paid out, failed, or paid and
            then returned by the bank."""
            holder = data.draw(st.sampled_from(self._may_withdraw()))
            amount = (self._expected(holder) / 2).quantize(Decimal("0.01"))
            InvestorRecord(holder).update(
                actions=[
                    InvestorRecord.payout_iban.set(ACCOUNT.iban),
                    InvestorRecord.payout_holder_name.set(ACCOUNT.holder_name),
                ]
            )
            key = uuid.uuid4().hex
            withdrawal_id = withdrawal_id_for(holder, key)
            provider.plan(withdrawal_id, *OUTCOMES[outcome])
            answer = frontend.post(
                f"/investors/{holder}/withdrawals",
                body=json.dumps({"amount": str(amount)}),
                headers={"Idempotency-Key": key},
            )
            assert answer.status == 202, answer
            count = len(OUTCOMES[outcome])
            settled = finished_for_withdrawal(aws, "Settlement", withdrawal_id, count=count)
            assert {e["status"] for e in settled} == {"SUCCEEDED"}, settled
            self.payouts.append(withdrawal_id)
            if outcome == "paid":
                self.withdrawn[holder] = self.withdrawn.get(holder, Decimal(0)) + amount

        @precondition(lambda self: bool(self.payouts))
        @rule(data=st.data())
        def the_provider_answers_again(self, data: st.DataObject) -> None:
            """A payout's last webhook, sent once more: nothing changes (signed again within the
            same second it signs the same, and the door refuses it as a replay)."""
            withdrawal_id = data.draw(st.sampled_from(self.payouts))
            (action,) = [a for a in provider.actions() if a.business_reference == withdrawal_id]
            settled = len(finished_for_withdrawal(aws, "Settlement", withdrawal_id))
            status = provider.send_webhook(action.webhooks[-1])
            assert status in (202, 409), status
            if status == 202:
                finished_for_withdrawal(aws, "Settlement", withdrawal_id, count=settled + 1)

        @precondition(lambda self: bool(self.payouts) and not self.replayed)
        @rule()
        def the_archive_is_replayed(self) -> None:
            """Every event since the books opened, replayed: purchases, collections,
            withdrawals, the provider's answers. The workflows run again; nothing moves twice
            and the provider is asked nothing again (its rules skip replays)."""
            replay_archive(aws, self.opened, time.time() + 1)
            self.replayed = True
            settled = lambda: all(  # noqa: E731
                e["status"] != "RUNNING" for e in workflow_runs(aws, self.opened)
            )
            wait_for(settled, 120)

        @precondition(lambda self: not self.refunds)  # each is the same path: one will do
        @rule()
        def a_payment_that_cannot_buy_is_refunded(self) -> None:
            """A blocked investor's payment: nothing minted, the provider asked to refund once."""
            investor_id = new_investor_id()
            onboard(ledger, investor_id)
            investor_records.set_status(investor_id, InvestorStatus.BLOCKED, "AML screening")
            detail = payment(investor_id, instrument_id=self.instrument, units=1, amount="100.00")
            assert json.loads(run_payment(aws, detail)["output"])["status"] == "REFUNDED"
            self.refunds.append(purchase_id_for(detail["payment_id"]))

        def _expected(self, holder: str) -> Decimal:
            per_unit = {
                p.payment_date: p.coupon_per_unit + p.principal_per_unit for p in self.periods
            }
            received = sum(
                (self.taken[d][holder] * per_unit[d] for d in self.paid.get(holder, ())),
                Decimal(0),
            )
            return received - self.withdrawn.get(holder, Decimal(0))

        def _paid_now(self, day: date) -> None:
            """Who a run of `day` pays: every holder of its take who may receive now."""
            for holder in self.taken[day]:
                if holder not in self.blocked:
                    self.paid.setdefault(holder, set()).add(day)

        @invariant()
        def stablecoin_outstanding_is_what_came_in_less_what_went_out(self) -> None:
            outstanding = stablecoin_outstanding(client, accounts.issuer)
            paid_out = sum(self.withdrawn.values(), Decimal(0))
            came_in = self.deposits + COLLECTED - paid_out
            assert outstanding - self.outstanding_at_start == came_in
            owed = sum((self._held_by(h) for h in self.units), Decimal(0))
            company = stablecoin_balance(client, accounts.company, accounts.issuer)
            assert owed + company - self.company_at_start == came_in

        @invariant()
        def each_holder_holds_what_they_were_paid_less_what_they_withdrew(self) -> None:
            for holder in self.units:
                assert self._held_by(holder) == self._expected(holder), holder

        @invariant()
        def the_provider_acted_on_each_payout_and_refund_once(self) -> None:
            acted = [a.business_reference for a in provider.actions()]
            for reference in (*self.payouts, *self.refunds):
                assert acted.count(reference) == 1, reference

        def _held_by(self, holder: str) -> Decimal:
            wallet = wallets.find(holder)
            assert wallet is not None
            return stablecoin_balance(client, wallet.address, accounts.issuer)

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
