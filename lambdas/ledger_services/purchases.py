"""A purchase's ledger steps: each call drives one step one check further, never waits.

Step Functions calls a step, gets PENDING, ACCEPTED or DONE, and waits between calls (Wait
states), so a Lambda never sleeps. The runner (lambdas/ledger_services/runner.py) signs and
keeps each transaction under its business key before its first submit, which makes every call
idempotent; this module says which transactions a purchase wants, when, and what they mean.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from xrpl.models.requests import AccountObjectType

from domain import business_keys
from domain.errors import BusinessRuleViolation
from domain.investor import InvestorStatus
from domain.platform import STABLECOIN_CURRENCY, SignerRole
from domain.purchase import Purchase
from domain.settlement import (
    REVERSAL_DEPENDS_ON,
    LedgerStepFailed,
    LedgerTransaction,
    Settlement,
    Step,
    StepState,
    accepted_into_open_ledger,
    holdings_transactions,
    reversal_needed,
    transfer_covered,
)
from domain.signing_policy import PurchaseLimit, check_investor_transaction
from lambdas.custody.signers import Signer
from lambdas.ledger_services.runner import LedgerStepRunner, StepCheck, ledger_step_runner
from lambdas.records import investors, purchases
from lambdas.records.submissions import Status, Submission

HOLDINGS = "holdings"


class InvestorBlocked(BusinessRuleViolation):
    """The investor may no longer trade (AML): the purchase is undone instead of continued."""


class _NotYet(Exception):
    """A step's transaction may not be sent yet (what it spends is not in hand): check again."""


@dataclass(frozen=True)
class Progress:
    """A purchase step's answer to Step Functions: wait and ask again, or go on."""

    purchase_id: str
    step: str
    check: StepCheck
    transaction: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> StepState:
        return self.check.state

    def as_output(self) -> dict[str, Any]:
        return {
            "purchase_id": self.purchase_id,
            "step": self.step,
            **self.check.as_output(),
            "transaction": self.transaction,
        }


class PurchaseSettlement:
    def __init__(self, runner: LedgerStepRunner) -> None:
        self.runner = runner
        self.ledger = runner.ledger
        self.accounts = runner.accounts

    def settlement(self, purchase: Purchase) -> Settlement:
        return Settlement(
            purchase_id=purchase.purchase_id,
            investor_id=purchase.investor_id,
            investor_address=str(purchase.investor_address),
            issuance_id=str(purchase.issuance_id),
            units=purchase.units,
            amount=Decimal(purchase.amount),
            accounts=self.accounts,
        )

    # --- forward -----------------------------------------------------------------------------

    def ready_holdings(self, purchase_id: str, checks: int) -> Progress:
        """The investor's stablecoin line and instrument MPToken, both authorized."""
        purchase = purchases.get(purchase_id)
        deal = self.settlement(purchase)
        wanted = holdings_transactions(
            deal.investor_id,
            deal.investor_address,
            deal.issuance_id,
            self.accounts,
            self._stablecoin_line(deal.investor_address),
            self._mptoken(deal.investor_address, deal.issuance_id),
        )
        for shared in wanted:
            item, found = self._this_purchases_try(shared, purchase_id)
            vetted = functools.partial(self._may_submit, purchase, item, deal)
            sign = self._signer(item.role, deal)
            submission = self.runner.drive_found(item, found, sign, vetted)
            if submission is None:  # as in advance: the Ticket refill lands with the next ledger
                return self._pending(purchase_id, HOLDINGS, checks)
            self._note_holding(purchase, item.role, submission)
            # SUCCEEDED but not yet seen in the ledger read above: the next check will see it
        if wanted:
            return self._pending(purchase_id, HOLDINGS, checks)
        self._finalise_holdings(purchases.get(purchase_id), deal)
        return Progress(purchase_id, HOLDINGS, StepCheck(StepState.DONE, checks))

    def _this_purchases_try(
        self, shared: LedgerTransaction, purchase_id: str
    ) -> tuple[LedgerTransaction, Submission | None]:
        """The investor's holdings transactions are shared by their purchases. If the shared one
        failed (say the wallet lacked the XRP reserve then), this purchase tries once more under
        its own key; if that failed too, the purchase fails with the ledger's reason. With the
        transaction, what is kept under its key (read once)."""
        submission = self.runner.submitter.find(shared.key)
        if submission is None or submission.status != Status.FAILED:
            return shared, submission
        own = replace(shared, key=business_keys.purchase_retry_of(purchase_id, shared.key))
        own_try = self.runner.submitter.find(own.key)
        if own_try is not None and own_try.status == Status.FAILED:
            raise LedgerStepFailed(f"{own.key}: {own_try.result} (before: {submission.result})")
        return own, own_try

    def _note_holding(self, purchase: Purchase, role: SignerRole, submission: Submission) -> None:
        """Holdings transactions this purchase submitted, on its record like its other steps."""
        key = submission.business_key
        details = {**submission.details(), "key": key, "role": role.value}
        name = business_keys.holding_name(key)
        if purchase.transactions.get(name) != details:
            purchases.record_transaction(purchase.purchase_id, name, details)

    def _finalise_holdings(self, purchase: Purchase, deal: Settlement) -> None:
        """The ledger shows the holdings in place; settle the records of what got them there."""
        for details in purchase.transactions.values():
            if "key" in details and details.get("ledger_index") is None:
                role = SignerRole(str(details["role"]))
                settled = self.runner.settle(str(details["key"]), self._signer(role, deal))
                self._note_holding(purchase, role, settled)

    def advance(self, purchase_id: str, step: Step, checks: int) -> Progress:
        purchase = purchases.get(purchase_id)
        deal = self.settlement(purchase)
        item = deal.ledger_transaction(step)
        vetted = functools.partial(self._may_submit, purchase, item, deal)
        try:
            submission = self.runner.drive(item, self._signer(item.role, deal), vetted)
        except _NotYet:
            submission = None
        if submission is None:
            return self._pending(purchase_id, step.value, checks)
        if submission.in_flight and accepted_into_open_ledger(step, submission.preliminary_result):
            return Progress(purchase_id, step.value, StepCheck(StepState.ACCEPTED, checks))
        return self._progress(purchase, step, submission, checks)

    def confirm(self, purchase_id: str, step: Step, checks: int) -> Progress:
        """A step its successors already followed: DONE once validated; never submits."""
        purchase = purchases.get(purchase_id)
        deal = self.settlement(purchase)
        key = deal.business_key(step)
        if self.runner.submitter.find(key) is None:
            raise LedgerStepFailed(f"{step.value}: confirmed before it was submitted")
        submission = self.runner.settle(key, self._signer(deal.signer_role(step), deal))
        return self._progress(purchase, step, submission, checks)

    def _may_submit(self, purchase: Purchase, item: LedgerTransaction, deal: Settlement) -> None:
        """Before a transaction goes forward: the purchase is not being undone, the investor
        may still trade, what it spends is in hand, and the investor signer would sign it."""
        purchase.check_may_go_forward()
        status = investors.status_of(purchase.investor_id)
        if status != InvestorStatus.ACTIVE:
            raise InvestorBlocked(f"investor {purchase.investor_id} is {status or 'unknown'}")
        if item.key == deal.business_key(Step.TRANSFER) and not self._stablecoin_in_hand(deal):
            raise _NotYet  # the mint is not in the open ledger yet
        self._vet(item, deal)

    def _stablecoin_in_hand(self, deal: Settlement) -> bool:
        line = self.ledger.trust_line(
            deal.investor_address, self.accounts.issuer, STABLECOIN_CURRENCY, ledger="current"
        )
        return line is not None and transfer_covered(Decimal(line["balance"]), deal.amount)

    # --- backward ----------------------------------------------------------------------------

    def reverse(self, purchase_id: str, step: Step, checks: int) -> Progress:
        """Undo what a forward step did, once that step can no longer change."""
        purchase = purchases.get(purchase_id)
        deal = self.settlement(purchase)
        succeeded: dict[Step, bool] = {}
        for forward in REVERSAL_DEPENDS_ON[step]:
            final = self._settle_forward(purchase, deal, forward)
            if final is None:
                return self._pending(purchase_id, step.value, checks)
            succeeded[forward] = final
        if not reversal_needed(step, succeeded):
            done = StepCheck(StepState.DONE, checks)
            return Progress(purchase_id, step.value, done, {"needed": False})
        return self.advance_reversal(purchase, deal, step, checks)

    def advance_reversal(
        self, purchase: Purchase, deal: Settlement, step: Step, checks: int
    ) -> Progress:
        """Each redrive of the undoing is a round with its own key, so a compensation that
        failed on the ledger (say the company lacked the stablecoin then) can be tried again
        once the operator fixed the cause; an earlier round that validated ends the step."""
        sign = self._signer(deal.signer_role(step), deal)
        rounds = [deal.ledger_transaction(step, n) for n in range(purchase.compensation_round + 1)]
        for earlier in rounds[:-1]:
            submission = self.runner.submitter.find(earlier.key)
            if submission is not None and submission.in_flight:
                submission = self.runner.settle(earlier.key, sign)
            if submission is not None and submission.status != Status.FAILED:
                return self._progress(purchase, step, submission, checks)
        current = self.runner.drive(rounds[-1], sign)
        if current is None:
            return self._pending(purchase.purchase_id, step.value, checks)
        return self._progress(purchase, step, current, checks)

    def _settle_forward(self, purchase: Purchase, deal: Settlement, step: Step) -> bool | None:
        """Whether the forward step validated; None while it still may. A step never started is
        cancelled first, so it can never start later. A step the forward run never saw settle
        (it crashed or was stopped meanwhile) is recorded on the purchase now: its undoing is
        booked against it, and the books must hold both."""
        key = deal.business_key(step)
        submitter = self.runner.submitter
        submission = submitter.find(key) or submitter.cancel_unsubmitted(
            key, "the purchase was being undone"
        )
        if submission.in_flight:
            sign = self._signer(deal.signer_role(step), deal)
            submission = self.runner.settle(key, sign, undoing=True)
        if submission.in_flight:
            return None
        if submission.tx_hash and purchase.transactions.get(step.value) != submission.details():
            purchases.record_transaction(purchase.purchase_id, step.value, submission.details())
        return submission.status == Status.SUCCEEDED

    # --- shared ------------------------------------------------------------------------------

    def _pending(self, purchase_id: str, step: str, checks: int) -> Progress:
        return Progress(purchase_id, step, self.runner.pending(step, checks))

    def _progress(
        self, purchase: Purchase, step: Step, submission: Submission, checks: int
    ) -> Progress:
        if submission.in_flight:
            return self._pending(purchase.purchase_id, step.value, checks)
        details = submission.details()
        if purchase.transactions.get(step.value) != details:
            purchases.record_transaction(purchase.purchase_id, step.value, details)
        if submission.status == Status.FAILED:
            raise LedgerStepFailed(f"{step.value}: {submission.result}")
        done = StepCheck(StepState.DONE, checks)
        return Progress(purchase.purchase_id, step.value, done, details)

    def _vet(self, item: LedgerTransaction, deal: Settlement) -> None:
        """Apply the investor signer's policy before a Sequence is reserved: a refusal after it
        would leave a Sequence no transaction uses, and the investor's account would stall."""
        if item.role is SignerRole.INVESTOR:
            limit = PurchaseLimit(deal.purchase_id, deal.amount, deal.units, deal.issuance_id)
            check_investor_transaction(
                item.tx, deal.investor_address, self.accounts, limit, draft=True
            )

    def _signer(self, role: SignerRole, deal: Settlement) -> Signer:
        return self.runner.signer(role, deal.investor_id, deal.purchase_id)

    def _stablecoin_line(self, address: str) -> dict[str, Any] | None:
        return self.ledger.trust_line(address, self.accounts.issuer, STABLECOIN_CURRENCY)

    def _mptoken(self, address: str, issuance_id: str) -> dict[str, Any] | None:
        tokens = self.ledger.objects(address, AccountObjectType.MPTOKEN)
        return next((t for t in tokens if t.get("MPTokenIssuanceID") == issuance_id), None)


@functools.cache
def purchase_settlement() -> PurchaseSettlement:
    """One per Lambda container: the ledger connection and platform keys are reused."""
    return PurchaseSettlement(ledger_step_runner())
