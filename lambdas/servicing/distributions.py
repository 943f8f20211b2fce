"""A distribution's steps: take the holders of record, check the company can pay them, pay each
one once (or hold it in suspense), take the units back at maturity, report.

Every step may run again (a Retry, a replayed schedule, an operator's re-run): the holders and
amounts are fixed when the distribution is first taken, and each ledger effect is kept under
its business key before its first submit (lambdas/ledger_services/runner.py).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.cash_flows import InstrumentTerms
from domain.distribution import (
    DistributionState,
    DistributionStatus,
    EntitlementStatus,
    HolderPayment,
    collection_mint,
    distribution_for,
    distribution_id,
    holder_payment,
    is_final,
    period_paid_on,
    retire_issuance,
    shortfall,
    status_after_run,
    status_on_taking,
    still_owed,
    take_back_units,
    total_of,
)
from domain.investor import InvestorStatus
from domain.platform import STABLECOIN_CURRENCY
from domain.settlement import LedgerStepFailed, LedgerTransaction, StepState
from lambdas.aws_clients import s3, transient_faults
from lambdas.config import settings
from lambdas.custody.signers import company_signer_paying, platform_signer
from lambdas.ledger_adapter.quorum import LedgerQuorum
from lambdas.ledger_services.runner import LedgerStepRunner, StepCheck, ledger_step_runner
from lambdas.records import distributions, instruments, investors
from lambdas.records.instruments import ListedInstrument
from lambdas.records.submissions import Status, Submission
from lambdas.servicing.holders import UnknownInstrument, holders_at


@dataclass(frozen=True)
class NotNow:
    """A step that does not act now, and why: HELD (a holder's amount waits in suspense) or
    KEPT (the issuance stays: units remain with held holders)."""

    state: str
    why: str

    def as_output(self) -> dict[str, Any]:
        return {"state": self.state, "why": self.why}


class UnknownDistribution(LookupError):
    """No distribution, or no entitlement, under that id."""


@dataclass(frozen=True)
class FundsCheck:
    owed: Decimal  # what is still to be paid, held amounts included
    balance: Decimal  # the company's stablecoin in the validated ledger

    @property
    def shortfall(self) -> Decimal:
        return shortfall(self.owed, self.balance)

    def as_output(self) -> dict[str, Any]:
        return {
            "covered": self.shortfall == 0,
            "owed": str(self.owed),
            "balance": str(self.balance),
            "shortfall": str(self.shortfall),
        }


def take(instrument_id: str, payment_date: date, ledger: LedgerQuorum) -> DistributionState:
    """The holders of record and what each is owed, kept once; HoldersDiffer if the ledger and
    the records disagree (nothing is kept or paid then). A second taker (a re-run, a retry
    after a crash) reads the holders from the ledger the first one recorded."""
    listed = _listed(instrument_id)
    terms = _terms(listed)
    period = period_paid_on(terms, payment_date, listed.write_downs)
    taken = distributions.find(distribution_id(instrument_id, payment_date))
    if taken is not None and taken.status is not DistributionStatus.TAKING:
        return taken
    index = taken.ledger_index if taken else ledger.validated_ledger_index()
    holders = holders_at(instrument_id, ledger, index)
    distribution = distribution_for(holders, period, is_final(terms, period))
    items_key = f"distributions/{instrument_id}/{payment_date.isoformat()}/holders.json"
    distributions.begin(distribution, items_key)
    distributions.keep_entitlements(distribution)
    items = [
        {"distribution_id": distribution.distribution_id, "investor_id": p.investor_id}
        for p in distribution.payments
    ]
    _put(items_key, items)
    return distributions.taken(
        distribution.distribution_id, status_on_taking(listed.pays_automatically)
    )


def report(distribution_id: str) -> dict[str, Any]:
    """Holders paid (amounts, hashes), held in suspense, and still due (a run that did not
    finish); the distribution's status after the run."""
    state = _state(distribution_id)
    payments = distributions.entitlements(distribution_id)
    paid, held, due = (
        [p for p in payments if p.status is status]
        for status in (EntitlementStatus.PAID, EntitlementStatus.HELD, EntitlementStatus.DUE)
    )
    report = {
        **state.summary(),
        "paid": [_line(p) for p in paid],
        "held": [_line(p) for p in held],
        "due": [_line(p) for p in due],
    }
    report_key = state.items_key.replace("holders.json", "report.json")
    _put(report_key, report)
    finished = distributions.finish(distribution_id, status_after_run(payments), report_key)
    return {
        **finished.summary(),
        "report_key": report_key,
        "paid_holders": len(paid),
        "paid_total": str(total_of(paid)),
        "held_holders": len(held),
        "held_total": str(total_of(held)),
        "due_holders": len(due),
        "due_total": str(total_of(due)),
    }


class DistributionService:
    def __init__(self, runner: LedgerStepRunner) -> None:
        self.runner = runner
        self.ledger = runner.ledger
        self.accounts = runner.accounts

    # --- the distribution as a whole -----------------------------------------------------

    def check_funds(self, distribution_id: str) -> FundsCheck:
        """Whether the company's stablecoin covers what is still owed, before the first
        payment of this run."""
        owed = still_owed(distributions.entitlements(distribution_id))
        line = self.ledger.trust_line(
            self.accounts.company, self.accounts.issuer, STABLECOIN_CURRENCY
        )
        balance = Decimal(line["balance"]) if line else Decimal(0)
        return FundsCheck(owed, balance)

    def retire(self, distribution_id: str, checks: int) -> StepCheck | NotNow:
        """At maturity, once no unit remains: the issuance destroyed. Units a held holder
        still has keep it alive (an answer saying so, not a failure)."""
        state = _state(distribution_id)
        listed = _listed(state.instrument_id)
        wanted = retire_issuance(listed.instrument_id, listed.issuance_id, self.accounts)
        found = self.runner.submitter.find(wanted.key)
        if found is None:
            index = self.ledger.validated_ledger_index()
            remaining = self.ledger.mpt_outstanding_at(listed.issuance_id, index)
            if remaining:
                return NotNow(
                    "KEPT", f"{remaining} units remain with holders whose payment is held"
                )
        return self._drive(wanted, found, checks, f"retire {listed.issuance_id}")

    def mint_collection(self, collection_id: str, amount: Decimal, checks: int) -> StepCheck:
        """A collection minted to the company, once under its id."""
        wanted = collection_mint(collection_id, amount, self.accounts)
        return self._drive(wanted, self.runner.submitter.find(wanted.key), checks, wanted.key)

    # --- each holder -----------------------------------------------------------------------

    def pay(self, distribution_id: str, investor_id: str, checks: int) -> StepCheck | NotNow:
        """One holder's payment one check further; HELD while they may not receive."""
        payment = _entitlement(distribution_id, investor_id)
        if payment.status is EntitlementStatus.PAID:
            return StepCheck(StepState.DONE, checks)
        wanted = holder_payment(distribution_id, payment, self.accounts)
        found = self.runner.submitter.find(wanted.key)
        if found is None:
            standing = investors.status_of(investor_id)
            if standing != InvestorStatus.ACTIVE:
                if payment.status is not EntitlementStatus.HELD:
                    distributions.mark(
                        distribution_id, replace(payment, status=EntitlementStatus.HELD)
                    )
                return NotNow("HELD", f"{investor_id} may not receive now ({standing})")
            if payment.status is EntitlementStatus.HELD:  # reinstated: released from suspense
                distributions.mark(distribution_id, replace(payment, status=EntitlementStatus.DUE))
        sign = company_signer_paying(distribution_id, investor_id)
        submission = self.runner.drive_found(wanted, found, sign)
        if submission is not None and submission.status == Status.SUCCEEDED:
            paid = payment.paid(str(submission.tx_hash), submission.ledger_index)
            distributions.mark(distribution_id, paid)
            return StepCheck(StepState.DONE, checks)
        return self._outcome(wanted, submission, checks)

    def take_back(self, distribution_id: str, investor_id: str, checks: int) -> StepCheck:
        """At maturity, once repaid: the holder's units clawed back (none left: done)."""
        payment = _entitlement(distribution_id, investor_id)
        if payment.status is not EntitlementStatus.PAID:
            return StepCheck(StepState.DONE, checks)  # held: the units stay, locked
        listed = _listed(_state(distribution_id).instrument_id)
        wanted = take_back_units(distribution_id, payment, listed.issuance_id, self.accounts)
        found = self.runner.submitter.find(wanted.key)
        if found is None:
            index = self.ledger.validated_ledger_index()
            units, _ = self.ledger.mpt_holding_at(listed.issuance_id, payment.address, index)
            if units == 0:
                return StepCheck(StepState.DONE, checks)
            wanted = take_back_units(
                distribution_id, replace(payment, units=units), listed.issuance_id, self.accounts
            )
        step = self._drive(wanted, found, checks, f"take back {investor_id}'s units")
        if step.state is StepState.DONE:
            taken = int(wanted.tx["Amount"]["value"])
            distributions.record_take_back(
                distribution_id, investor_id, listed.instrument_id, taken
            )
        return step

    def _drive(
        self, wanted: LedgerTransaction, found: Submission | None, checks: int, what: str
    ) -> StepCheck:
        submission = self.runner.drive_found(wanted, found, platform_signer(wanted.role))
        if submission is not None and submission.status == Status.SUCCEEDED:
            return StepCheck(StepState.DONE, checks)
        return self._outcome(wanted, submission, checks, what)

    def _outcome(
        self,
        wanted: LedgerTransaction,
        submission: Submission | None,
        checks: int,
        what: str = "",
    ) -> StepCheck:
        if submission is not None and submission.status == Status.FAILED:
            raise LedgerStepFailed(f"{wanted.key}: {submission.result}")
        return self.runner.pending(what or wanted.key, checks)


def _line(payment: HolderPayment) -> dict[str, Any]:
    return {
        "investor_id": payment.investor_id,
        "units": payment.units,
        "coupon": str(payment.coupon),
        "principal": str(payment.principal),
        "amount": str(payment.amount),
        "status": payment.status.value,
        "tx_hash": payment.tx_hash,
        "ledger_index": payment.ledger_index,
    }


def _listed(instrument_id: str) -> ListedInstrument:
    listed = instruments.find(instrument_id)
    if listed is None:
        raise UnknownInstrument(f"no instrument {instrument_id}")
    return listed


def _terms(listed: ListedInstrument) -> InstrumentTerms:
    if listed.terms is None:
        raise UnknownInstrument(f"{listed.instrument_id} was listed without its terms")
    return listed.terms


def _state(distribution_id: str) -> DistributionState:
    state = distributions.find(distribution_id)
    if state is None:
        raise UnknownDistribution(f"no distribution {distribution_id}")
    return state


def _entitlement(distribution_id: str, investor_id: str) -> HolderPayment:
    payment = distributions.entitlement(distribution_id, investor_id)
    if payment is None:
        raise UnknownDistribution(f"{investor_id} has no entitlement in {distribution_id}")
    return payment


def _put(key: str, document: Any) -> None:
    with transient_faults(f"S3 PutObject {key}"):
        s3().put_object(
            Bucket=settings().servicing_bucket,
            Key=key,
            Body=json.dumps(document).encode(),
            ContentType="application/json",
        )


@functools.cache
def distribution_service() -> DistributionService:
    return DistributionService(ledger_step_runner())


@functools.cache
def ledger_quorum() -> LedgerQuorum:
    """The ledger servers, for steps that read it and sign nothing."""
    return LedgerQuorum(settings().xrpl_urls)
