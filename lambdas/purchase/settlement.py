"""The purchase's ledger steps: each call advances one step by one check, never waits.

Step Functions calls a step, gets PENDING or DONE, and waits between calls (Wait states), so a
Lambda never sleeps. A step's transaction is signed and persisted under its business key before
its first submit (see lambdas.ledger.submission), which makes every call idempotent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xrpl.models.requests import AccountObjectType

from domain.errors import BusinessRuleViolation
from domain.investor import InvestorStatus
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts
from domain.settlement import (
    REVERSAL_DEPENDS_ON,
    LedgerStepFailed,
    Settlement,
    Step,
    StepState,
    accepted_into_open_ledger,
    check_still_validating,
    holdings_transactions,
    reversal_needed,
    transfer_covered,
)
from domain.signing_policy import PurchaseLimit, check_investor_transaction
from lambdas import investor_records, purchase_records
from lambdas.config import settings
from lambdas.custody import signers
from lambdas.custody.platform_signer import platform_accounts
from lambdas.ledger.reservation import PoolEmpty
from lambdas.ledger.submission import LedgerSubmitter, Signer, Status
from lambdas.tables import PurchaseRecord, SubmissionRecord

PENDING, ACCEPTED, DONE = StepState.PENDING, StepState.ACCEPTED, StepState.DONE


class InvestorBlocked(BusinessRuleViolation):
    """The investor may no longer trade (AML): the purchase is undone instead of continued."""


@dataclass(frozen=True)
class Progress:
    """A step's answer to Step Functions: wait and ask again, or go on."""

    purchase_id: str
    step: str
    state: str
    checks: int
    transaction: dict[str, Any] = field(default_factory=dict)
    check_after: int = 0  # PENDING: seconds the Wait state sleeps before the next check

    def as_output(self) -> dict[str, Any]:
        return {
            "purchase_id": self.purchase_id,
            "step": self.step,
            "state": self.state,
            "checks": self.checks,
            "transaction": self.transaction,
            "check_after": self.check_after,
        }


class PurchaseLedger:
    def __init__(
        self,
        submitter: LedgerSubmitter,
        accounts: PlatformAccounts,
        platform_signer: Callable[[str], Signer],
    ) -> None:
        self.submitter = submitter
        self.ledger = submitter.ledger
        self.accounts = accounts
        self.platform_signer = platform_signer

    def settlement(self, record: PurchaseRecord) -> Settlement:
        return Settlement(
            purchase_id=record.purchase_id,
            investor_id=record.investor_id,
            investor_address=str(record.investor_address),
            issuance_id=str(record.issuance_id),
            units=int(record.units),
            amount=Decimal(record.amount),
            accounts=self.accounts,
        )

    # --- forward -----------------------------------------------------------------------------

    def ready_holdings(self, purchase_id: str, checks: int) -> Progress:
        """The investor's stablecoin line and instrument MPToken, both authorized."""
        record = purchase_records.get(purchase_id)
        deal = self.settlement(record)
        needed = holdings_transactions(
            deal.investor_id,
            deal.investor_address,
            deal.issuance_id,
            self.accounts,
            self._stablecoin_line(deal.investor_address),
            self._mptoken(deal.investor_address, deal.issuance_id),
        )
        for item in needed:
            key, submission = self._holdings_submission(item.key, purchase_id)
            sign = self._signer(item.role, deal)
            if submission is None:
                self._ensure_may_go_forward(record)
                self._vet(item.role, item.tx, deal)
                try:
                    submission = self.submitter.submit(
                        key, item.tx, sign, use_ticket=item.role != "investor"
                    )
                except PoolEmpty:  # as in advance: the refill lands with the next ledger
                    return self._pending(purchase_id, "holdings", checks)
            elif submission.status in (Status.SUBMITTED, Status.PREPARING):
                submission = self.submitter.check(key, sign)
            self._note_holding(record, item.role, submission)
            # SUCCEEDED but not yet seen in the ledger read above: the next check will see it
        if needed:
            return self._pending(purchase_id, "holdings", checks)
        self._finalise_holdings(purchase_records.get(purchase_id), deal)
        return Progress(purchase_id, "holdings", DONE, checks)

    def _note_holding(
        self, record: PurchaseRecord, role: str, submission: SubmissionRecord
    ) -> None:
        """Holdings transactions this purchase submitted, on its record like its other steps."""
        key = submission.business_key
        owner = f"investor#{record.investor_id}#" if key.startswith("investor#") else ""
        name = key.removeprefix(owner).removeprefix(f"{record.purchase_id}#").split("#")[0]
        details = {**self._details(submission), "key": submission.business_key, "role": role}
        if purchase_records.transactions_of(record).get(name) != details:
            purchase_records.record_transaction(record.purchase_id, name, details)

    def _finalise_holdings(self, record: PurchaseRecord, deal: Settlement) -> None:
        """The ledger shows the holdings in place; settle the records of what got them there."""
        for details in purchase_records.transactions_of(record).values():
            if "key" in details and details.get("ledger_index") is None:
                sign = self._signer(str(details["role"]), deal)
                self._note_holding(
                    record, str(details["role"]), self.submitter.check(details["key"], sign)
                )

    def _holdings_submission(
        self, investor_key: str, purchase_id: str
    ) -> tuple[str, SubmissionRecord | None]:
        """The investor's holdings transactions are shared by their purchases. If the shared one
        failed (say the wallet lacked the XRP reserve then), this purchase tries once more under
        its own key; if that failed too, the purchase fails with the ledger's reason."""
        submission = self.submitter.find(investor_key)
        if submission is None or submission.status != Status.FAILED:
            return investor_key, submission
        own_key = f"{purchase_id}#{investor_key.split('#', 2)[2]}"
        own = self.submitter.find(own_key)
        if own is not None and own.status == Status.FAILED:
            raise LedgerStepFailed(f"{own_key}: {own.result} (before: {submission.result})")
        return own_key, own

    def advance(self, purchase_id: str, step: Step, checks: int) -> Progress:
        record = purchase_records.get(purchase_id)
        deal = self.settlement(record)
        key = deal.business_key(step)
        sign = self._signer(deal.signer_role(step), deal)
        submission = self.submitter.find(key)
        if submission is None:
            self._ensure_may_go_forward(record)
            if step == Step.TRANSFER and not self._stablecoin_in_hand(deal):
                return self._pending(purchase_id, step.value, checks)  # the mint is not in yet
            tx = deal.transaction(step)
            self._vet(deal.signer_role(step), tx, deal)
            try:
                submission = self.submitter.submit(
                    key, tx, sign, use_ticket=deal.signer_role(step) != "investor"
                )
            except PoolEmpty:  # a burst emptied the pool; its refill lands with the next ledger
                return self._pending(purchase_id, step.value, checks)
        elif submission.status in (Status.SUBMITTED, Status.PREPARING):
            submission = self.submitter.check(key, sign)
        if accepted_into_open_ledger(step, submission.preliminary_result) and (
            submission.status in (Status.SUBMITTED, Status.PREPARING)
        ):
            return Progress(purchase_id, step.value, ACCEPTED, checks)
        return self._progress(record, step, submission, checks)

    def confirm(self, purchase_id: str, step: Step, checks: int) -> Progress:
        """A step its successors already followed: DONE once validated; never submits."""
        record = purchase_records.get(purchase_id)
        deal = self.settlement(record)
        key = deal.business_key(step)
        submission = self.submitter.find(key)
        if submission is None:
            raise LedgerStepFailed(f"{step.value}: confirmed before it was submitted")
        if submission.status in (Status.SUBMITTED, Status.PREPARING):
            submission = self.submitter.check(key, self._signer(deal.signer_role(step), deal))
        return self._progress(record, step, submission, checks)

    def _stablecoin_in_hand(self, deal: Settlement) -> bool:
        line = self.ledger.trust_line(
            deal.investor_address, self.accounts.issuer, STABLECOIN_CURRENCY, ledger="current"
        )
        return line is not None and transfer_covered(Decimal(line["balance"]), deal.amount)

    def _ensure_may_go_forward(self, record: PurchaseRecord) -> None:
        if record.compensating:
            raise purchase_records.PurchaseUndoing(f"{record.purchase_id} is being undone")
        investor = investor_records.find(record.investor_id)  # status only: one read
        status = investor.status if investor else "unknown"
        if status != InvestorStatus.ACTIVE:
            raise InvestorBlocked(f"investor {record.investor_id} is {status}")

    # --- backward ----------------------------------------------------------------------------

    def reverse(self, purchase_id: str, step: Step, checks: int) -> Progress:
        """Undo what a forward step did, once that step can no longer change."""
        record = purchase_records.get(purchase_id)
        deal = self.settlement(record)
        succeeded: dict[Step, bool] = {}
        for forward in REVERSAL_DEPENDS_ON[step]:
            final = self._settle_forward(deal, forward)
            if final is None:
                return self._pending(purchase_id, step.value, checks)
            succeeded[forward] = final
        if not reversal_needed(step, succeeded):
            return Progress(purchase_id, step.value, DONE, checks, {"needed": False})
        return self.advance_reversal(record, deal, step, checks)

    def advance_reversal(
        self, record: PurchaseRecord, deal: Settlement, step: Step, checks: int
    ) -> Progress:
        """Each redrive of the undoing is a round with its own key, so a compensation that
        failed on the ledger (say the company lacked the stablecoin then) can be tried again
        once the operator fixed the cause; an earlier round that validated ends the step."""
        sign = self._signer(deal.signer_role(step), deal)
        base = deal.business_key(step)
        rounds = [base] + [f"{base}#r{n}" for n in range(1, int(record.compensation_round) + 1)]
        for key in rounds:
            submission = self.submitter.find(key)
            if submission is not None and submission.status in (Status.SUBMITTED, Status.PREPARING):
                submission = self.submitter.check(key, sign)
            if submission is not None and submission.status != Status.FAILED:
                return self._progress(record, step, submission, checks)
        current = self.submitter.find(rounds[-1])
        if current is None:
            try:
                current = self.submitter.submit(
                    rounds[-1], deal.transaction(step), sign, use_ticket=True
                )
            except PoolEmpty:
                return self._pending(record.purchase_id, step.value, checks)
        return self._progress(record, step, current, checks)

    def _settle_forward(self, deal: Settlement, step: Step) -> bool | None:
        """Whether the forward step validated; None while it still may. A step never started is
        cancelled first, so it can never start later."""
        key = deal.business_key(step)
        submission = self.submitter.find(key) or self.submitter.cancel_unsubmitted(
            key, "the purchase was being undone"
        )
        if submission.status in (Status.SUBMITTED, Status.PREPARING):
            sign = self._signer(deal.signer_role(step), deal)
            submission = self.submitter.check(key, sign, undoing=True)
        if submission.status in (Status.SUBMITTED, Status.PREPARING):
            return None
        return submission.status == Status.SUCCEEDED

    # --- shared ------------------------------------------------------------------------------

    def _pending(self, purchase_id: str, step: str, checks: int) -> Progress:
        check_still_validating(step, checks)
        wait = self.submitter.seconds_until_next_check()
        return Progress(purchase_id, step, PENDING, checks + 1, check_after=wait)

    def _progress(
        self, record: PurchaseRecord, step: Step, submission: SubmissionRecord, checks: int
    ) -> Progress:
        if submission.status in (Status.SUBMITTED, Status.PREPARING):
            return self._pending(record.purchase_id, step.value, checks)
        details = self._details(submission)
        if purchase_records.transactions_of(record).get(step.value) != details:
            purchase_records.record_transaction(record.purchase_id, step.value, details)
        if submission.status == Status.FAILED:
            raise LedgerStepFailed(f"{step.value}: {submission.result}")
        return Progress(record.purchase_id, step.value, DONE, checks, details)

    @staticmethod
    def _details(submission: SubmissionRecord) -> dict[str, Any]:
        return {
            "hash": submission.tx_hash,
            "ledger_index": int(submission.ledger_index) if submission.ledger_index else None,
            "result": submission.result,
        }

    def _vet(self, role: str, tx: dict[str, Any], deal: Settlement) -> None:
        """Apply the investor signer's policy before a Sequence is reserved: a refusal after it
        would leave a Sequence no transaction uses, and the investor's account would stall."""
        if role == "investor":
            limit = PurchaseLimit(deal.purchase_id, deal.amount, deal.units, deal.issuance_id)
            check_investor_transaction(tx, deal.investor_address, self.accounts, limit, draft=True)

    def _signer(self, role: str, deal: Settlement) -> Signer:
        if role != "investor":
            return self.platform_signer(role)
        return signers.investor_signer(deal.investor_id, deal.purchase_id)

    def _stablecoin_line(self, address: str) -> dict[str, Any] | None:
        return self.ledger.trust_line(address, self.accounts.issuer, STABLECOIN_CURRENCY)

    def _mptoken(self, address: str, issuance_id: str) -> dict[str, Any] | None:
        tokens = self.ledger.objects(address, AccountObjectType.MPTOKEN)
        return next((t for t in tokens if t.get("MPTokenIssuanceID") == issuance_id), None)


@functools.cache
def purchase_ledger() -> PurchaseLedger:
    """One per Lambda container: the ledger connection and platform keys are reused."""
    submitter = LedgerSubmitter.for_ledger(settings().xrpl_urls)
    return PurchaseLedger(submitter, platform_accounts(), signers.platform_signer)
