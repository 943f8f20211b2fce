"""An investor's wallet on the ledger: activation, the stablecoin line, and AML freezes.

Each call looks at the validated ledger, submits (or checks) what is still missing under fixed
business keys, and answers PENDING or DONE; the workflow waits between calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from xrpl.models.requests import AccountObjectType
from xrpl.utils import xrp_to_drops

from domain.compliance import freeze_transactions
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts
from domain.settlement import (
    HoldingsTransaction,
    LedgerStepFailed,
    StepState,
    check_still_validating,
    holdings_transactions,
    key_subject,
)
from lambdas.config import settings
from lambdas.custody import signers
from lambdas.custody.platform_signer import platform_accounts
from lambdas.custody.wallet_generator import find_wallet
from lambdas.ledger.submission import LedgerSubmitter, Signer, Status
from lambdas.tables import SubmissionRecord

PENDING, DONE = StepState.PENDING, StepState.DONE


class InvestorLedger:
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

    def fund_wallet(self, investor_id: str, checks: int) -> dict[str, Any]:
        """Activation XRP from the funding account, once: an account on the ledger is funded."""
        address = self._address(investor_id)
        needed = []
        if self.ledger.account_root(address) is None:
            payment = {
                "TransactionType": "Payment",
                "Account": self.accounts.funding,
                "Destination": address,
                "Amount": xrp_to_drops(settings().activation_xrp),
            }
            needed.append(
                HoldingsTransaction(f"investor#{investor_id}#activation", "funding", payment)
            )
        return self._ensure(investor_id, address, needed, checks)

    def authorize_stablecoin_line(self, investor_id: str, checks: int) -> dict[str, Any]:
        address = self._address(investor_id)
        needed = holdings_transactions(
            investor_id, address, None, self.accounts, self._line(address), None
        )
        return self._ensure(investor_id, address, needed, checks)

    def set_freeze(
        self, investor_id: str, decision: str, freeze: bool, checks: int
    ) -> dict[str, Any]:
        """Freeze (or lift) the investor's stablecoin line and lock (or unlock) their MPTokens,
        under the decision's business keys (domain.compliance.decision_keys)."""
        wallet = find_wallet(investor_id)
        if wallet is None:
            return {"investor_id": investor_id, "state": DONE, "checks": checks, "transactions": {}}
        tokens = self.ledger.objects(wallet.address, AccountObjectType.MPTOKEN)
        needed = freeze_transactions(
            decision,
            wallet.address,
            self.accounts,
            self._line(wallet.address),
            tokens,
            freeze=freeze,
        )
        return self._ensure(investor_id, wallet.address, needed, checks)

    def transactions_of(self, keys_prefix: str) -> dict[str, Any]:
        """The validated transactions under a business-key prefix, for the audit record, each
        named by the rest of its key."""
        found = [
            self._settled(r)
            for r in SubmissionRecord.by_subject.query(
                key_subject(keys_prefix), SubmissionRecord.business_key.startswith(keys_prefix)
            )
        ]
        return {
            r.business_key.removeprefix(keys_prefix).lstrip("#"): {
                "hash": r.tx_hash,
                "ledger_index": int(r.ledger_index) if r.ledger_index else None,
                "result": r.result,
            }
            for r in found
            if r.status == Status.SUCCEEDED
        }

    def _settled(self, record: SubmissionRecord) -> SubmissionRecord:
        """The ledger already shows its effect; bring the record up to the validated ledger."""
        if record.status not in (Status.SUBMITTED, Status.PREPARING):
            return record
        roles = {address: role for role, address in self.accounts.roles().items()}
        role = roles.get(record.account)
        if role is None:
            return record
        return self.submitter.check(record.business_key, self.platform_signer(role))

    def _ensure(
        self, investor_id: str, address: str, needed: list[HoldingsTransaction], checks: int
    ) -> dict[str, Any]:
        for item in needed:
            sign = self._signer(item.role, investor_id)
            submission = self.submitter.find(item.key)
            if submission is None:
                self.submitter.submit(item.key, item.tx, sign, use_ticket=item.role != "investor")
            elif submission.status in (Status.SUBMITTED, Status.PREPARING):
                self.submitter.check(item.key, sign)
            elif submission.status == Status.FAILED:
                raise LedgerStepFailed(f"{item.key}: {submission.result}")
        if needed:
            check_still_validating(needed[0].key, checks)
        return {
            "investor_id": investor_id,
            "wallet_address": address,
            "state": PENDING if needed else DONE,
            "checks": checks + 1 if needed else checks,
            "check_after": self.submitter.seconds_until_next_check() if needed else 0,
        }

    def _signer(self, role: str, investor_id: str) -> Signer:
        if role != "investor":
            return self.platform_signer(role)
        return signers.investor_signer(investor_id, None)  # no purchase: it pays nothing

    def _address(self, investor_id: str) -> str:
        wallet = find_wallet(investor_id)
        if wallet is None:
            raise LedgerStepFailed(f"investor {investor_id} has no wallet")
        return wallet.address

    def _line(self, address: str) -> dict[str, Any] | None:
        return self.ledger.trust_line(address, self.accounts.issuer, STABLECOIN_CURRENCY)


@functools.cache
def investor_ledger() -> InvestorLedger:
    submitter = LedgerSubmitter.for_ledger(settings().xrpl_urls)
    return InvestorLedger(submitter, platform_accounts(), signers.platform_signer)
