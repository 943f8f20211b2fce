"""The one runner of ledger steps, for purchases, onboarding and compliance alike.

A workflow's ledger step is called again and again: each call drives the transactions it still
needs one check further (submit what has nothing under its key yet, check what is in flight)
and answers PENDING, with when to ask again, or DONE. The step's Lambda never waits: the
workflow's Wait state does. Every transaction is signed and kept under its business key before
its first submit (lambdas/ledger_adapter/submission.py), so any call may be repeated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.platform import PlatformAccounts, SignerRole
from domain.settlement import LedgerStepFailed, LedgerTransaction, StepState, check_still_validating
from lambdas.config import settings
from lambdas.custody import signers
from lambdas.custody.platform_signer import platform_accounts
from lambdas.ledger_adapter.submission import LedgerSubmitter, PoolEmpty, Signer, Status, Submission
from lambdas.records import submissions


@dataclass(frozen=True)
class StepCheck:
    """One call's answer: its state, the checks so far, and (PENDING) how long to wait."""

    state: StepState
    checks: int
    check_after: int = 0

    def as_output(self) -> dict[str, Any]:
        return {"state": self.state, "checks": self.checks, "check_after": self.check_after}


class LedgerStepRunner:
    def __init__(
        self,
        submitter: LedgerSubmitter,
        accounts: PlatformAccounts,
        platform_signer: Callable[[SignerRole], Signer],
    ) -> None:
        self.submitter = submitter
        self.ledger = submitter.ledger
        self.accounts = accounts
        self._platform_signer = platform_signer

    def signer(
        self, role: SignerRole, investor_id: str = "", purchase_id: str | None = None
    ) -> Signer:
        """Who signs for the role: a platform account's signer, or the investor's wallet (for a
        payment, bounded by the purchase it serves)."""
        if role is SignerRole.INVESTOR:
            return signers.investor_signer(investor_id, purchase_id)
        return self._platform_signer(role)

    def drive(
        self,
        wanted: LedgerTransaction,
        sign: Signer,
        before_submit: Callable[[], None] = lambda: None,
    ) -> Submission | None:
        """One check further: submit if nothing is under its key yet (after `before_submit`,
        which may refuse), check it while in flight, else the outcome as kept. None while the
        account's Ticket pool is empty: a refill is under way and lands with the next ledger."""
        return self.drive_found(wanted, self.submitter.find(wanted.key), sign, before_submit)

    def drive_found(
        self,
        wanted: LedgerTransaction,
        submission: Submission | None,
        sign: Signer,
        before_submit: Callable[[], None] = lambda: None,
    ) -> Submission | None:
        """`drive`, for a caller that has just read the submission under the key."""
        if submission is None:
            before_submit()
            try:
                return self.submitter.submit(
                    wanted.key, wanted.tx, sign, use_ticket=wanted.role.signs_from_tickets
                )
            except PoolEmpty:
                return None
        if submission.in_flight:
            return self.submitter.check(wanted.key, sign)
        return submission

    def settle(self, key: str, sign: Signer, *, undoing: bool = False) -> Submission:
        """The submission under key, checked once more if still in flight (as kept if not)."""
        return self.submitter.check(key, sign, undoing=undoing)

    def drive_all(
        self,
        wanted: list[LedgerTransaction],
        sign_for: Callable[[SignerRole], Signer],
        checks: int,
        what: str,
    ) -> StepCheck:
        """Drive each transaction still wanted (read from the validated ledger by the caller):
        DONE once nothing is; a failure on the ledger fails the step with its reason."""
        for item in wanted:
            submission = self.drive(item, sign_for(item.role))
            if submission is not None and submission.status == Status.FAILED:
                raise LedgerStepFailed(f"{item.key}: {submission.result}")
        return self.pending(what, checks) if wanted else StepCheck(StepState.DONE, checks)

    def pending(self, what: str, checks: int) -> StepCheck:
        """Ask again after the next ledger close; give up once no healthy ledger would still be
        deciding (LedgerNotValidating)."""
        check_still_validating(what, checks)
        wait = self.submitter.seconds_until_next_check()
        return StepCheck(StepState.PENDING, checks + 1, wait)

    def settle_under(self, prefix: str) -> None:
        """Bring the records under a business-key prefix up to the validated ledger: a step
        whose effect the ledger already shows may have transactions still recorded in flight,
        and whoever reads the records next (an audit, a reinstatement) reads them only."""
        for submission in submissions.under(prefix):
            role = self.accounts.role_of(submission.account)
            if submission.in_flight and role is not None:
                self.submitter.check(submission.business_key, self._platform_signer(role))


@functools.cache
def ledger_step_runner() -> LedgerStepRunner:
    """One per Lambda container: the ledger connections and platform accounts are reused."""
    submitter = LedgerSubmitter.for_ledger(settings().xrpl_urls)
    return LedgerStepRunner(submitter, platform_accounts(), signers.platform_signer)
