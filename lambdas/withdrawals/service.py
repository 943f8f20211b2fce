"""A withdrawal's ledger effects: the investor's stablecoin redeemed to the issuer, and (if the
payout fails, comes back, or is stopped) the same amount issued to the investor again.

Each is one transaction under the withdrawal's business key, kept before its first submit
(lambdas/ledger_services/runner.py): a retry, a replay or a redrive drives the same one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from domain.settlement import LedgerStepFailed, StepState
from domain.signing_policy import SigningRefused
from domain.withdrawal import (
    STOPPED,
    Withdrawal,
    WithdrawalRefused,
    WithdrawalStatus,
    check_may_redeem,
    redemption,
    reissue,
    status_after_reissue,
)
from lambdas.custody.signers import investor_signer, platform_signer
from lambdas.ledger_services.runner import LedgerStepRunner, StepCheck, ledger_step_runner
from lambdas.records import investors, wallets, withdrawals
from lambdas.records.submissions import Status


class UnknownWithdrawal(LookupError):
    """No withdrawal under that id, or its investor has no wallet."""


@dataclass(frozen=True)
class Refused:
    """The redemption did not happen and never will: the withdrawal is REFUSED, and why."""

    reason: str

    def as_output(self) -> dict[str, Any]:
        return {"state": "REFUSED", "reason": self.reason}


class WithdrawalService:
    def __init__(self, runner: LedgerStepRunner) -> None:
        self.runner = runner
        self.accounts = runner.accounts

    def redeem(self, withdrawal_id: str, checks: int) -> StepCheck | Refused:
        """The stablecoin back to the issuer, once; refused (and nothing moved) if the
        investor may no longer withdraw or the ledger does not let it go."""
        withdrawal = _found(withdrawal_id)
        if withdrawal.status is not WithdrawalStatus.REQUESTED:
            return self._already(withdrawal, checks)
        wanted = redemption(withdrawal, _address(withdrawal), self.accounts)
        sign = investor_signer(withdrawal.investor_id, withdrawal=withdrawal_id)

        def still_allowed() -> None:
            check_may_redeem(withdrawal, investors.status_of(withdrawal.investor_id))

        try:
            submission = self.runner.drive(wanted, sign, before_submit=still_allowed)
        except WithdrawalRefused as refused:
            return self._refuse(withdrawal_id, str(refused))
        except SigningRefused as refused:  # the wallet's standing changed since: a stop
            return self._refuse(withdrawal_id, f"{STOPPED}{refused}")
        if submission is not None and submission.status == Status.SUCCEEDED:
            withdrawals.mark_redeemed(withdrawal_id, str(submission.tx_hash))
            return StepCheck(StepState.DONE, checks)
        if submission is not None and submission.status == Status.FAILED:
            return self._refuse(withdrawal_id, f"the ledger refused it ({submission.result})")
        return self.runner.pending(wanted.key, checks)

    def put_back(self, withdrawal_id: str, reason: str, checks: int) -> StepCheck:
        """The redeemed amount issued to the investor again, once; then RETURNED (the payout
        failed or came back) or REFUSED (stopped before the provider was asked)."""
        withdrawal = _found(withdrawal_id)
        if withdrawal.status in (WithdrawalStatus.RETURNED, WithdrawalStatus.REFUSED):
            return StepCheck(StepState.DONE, checks)
        wanted = reissue(withdrawal, _address(withdrawal), self.accounts)
        submission = self.runner.drive(wanted, platform_signer(wanted.role))
        if submission is not None and submission.status == Status.SUCCEEDED:
            tx_hash = str(submission.tx_hash)
            if status_after_reissue(withdrawal) is WithdrawalStatus.RETURNED:
                withdrawals.mark_returned(withdrawal_id, tx_hash, reason)
            else:
                withdrawals.refuse(withdrawal_id, reason, tx_hash)
            return StepCheck(StepState.DONE, checks)
        if submission is not None and submission.status == Status.FAILED:
            raise LedgerStepFailed(f"{wanted.key}: {submission.result}")
        return self.runner.pending(wanted.key, checks)

    def _already(self, withdrawal: Withdrawal, checks: int) -> StepCheck | Refused:
        """A second run (a replay, a retry after a crash) finds it decided already."""
        if withdrawal.status is WithdrawalStatus.REFUSED:
            return Refused(withdrawal.reason or "refused")
        return StepCheck(StepState.DONE, checks)

    def _refuse(self, withdrawal_id: str, reason: str) -> Refused:
        refused = withdrawals.refuse(withdrawal_id, reason)
        return Refused(refused.reason or reason)


def _found(withdrawal_id: str) -> Withdrawal:
    withdrawal = withdrawals.find(withdrawal_id)
    if withdrawal is None:
        raise UnknownWithdrawal(f"no withdrawal {withdrawal_id}")
    return withdrawal


def _address(withdrawal: Withdrawal) -> str:
    wallet = wallets.find(withdrawal.investor_id)
    if wallet is None:
        raise UnknownWithdrawal(f"investor {withdrawal.investor_id} has no wallet")
    return wallet.address


@functools.cache
def withdrawal_service() -> WithdrawalService:
    return WithdrawalService(ledger_step_runner())
