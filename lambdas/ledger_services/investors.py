"""An investor's holdings on the ledger: activation, the stablecoin line, and AML freezes.

Each call reads the validated ledger for what is still missing and drives it one check further
under fixed business keys (lambdas/ledger_services/runner.py); the workflow waits between calls.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from xrpl.models.requests import AccountObjectType
from xrpl.utils import xrp_to_drops

from domain import business_keys
from domain.compliance import freeze_transactions
from domain.platform import STABLECOIN_CURRENCY, SignerRole
from domain.settlement import LedgerStepFailed, LedgerTransaction, StepState, holdings_transactions
from lambdas.config import settings
from lambdas.custody.signers import Signer
from lambdas.ledger_services.runner import LedgerStepRunner, StepCheck, ledger_step_runner
from lambdas.records import wallets


@dataclass(frozen=True)
class HoldingsProgress:
    """What a holdings step answers its workflow."""

    investor_id: str
    wallet_address: str | None
    check: StepCheck

    @property
    def state(self) -> StepState:
        return self.check.state

    def as_output(self) -> dict[str, Any]:
        return {
            "investor_id": self.investor_id,
            "wallet_address": self.wallet_address,
            **self.check.as_output(),
        }


class InvestorHoldings:
    def __init__(self, runner: LedgerStepRunner) -> None:
        self.runner = runner
        self.ledger = runner.ledger
        self.accounts = runner.accounts

    def fund_wallet(self, investor_id: str, checks: int) -> HoldingsProgress:
        """Activation XRP from the funding account, once: an account on the ledger is funded."""
        address = self._address(investor_id)
        wanted = []
        if self.ledger.account_root(address) is None:
            payment = {
                "TransactionType": "Payment",
                "Account": self.accounts.funding,
                "Destination": address,
                "Amount": xrp_to_drops(settings().activation_xrp),
            }
            activation = business_keys.activation(investor_id)
            wanted.append(LedgerTransaction(activation, SignerRole.FUNDING, payment))
        return self._drive(investor_id, address, wanted, checks)

    def authorize_stablecoin_line(self, investor_id: str, checks: int) -> HoldingsProgress:
        address = self._address(investor_id)
        wanted = holdings_transactions(
            investor_id, address, None, self.accounts, self._line(address), None
        )
        return self._drive(investor_id, address, wanted, checks)

    def set_freeze(
        self, investor_id: str, decision: str, freeze: bool, checks: int
    ) -> HoldingsProgress:
        """Freeze (or lift) the investor's stablecoin line and lock (or unlock) their MPTokens,
        under the decision's business keys (domain.business_keys.aml_decision)."""
        wallet = wallets.find(investor_id)
        if wallet is None:
            return HoldingsProgress(investor_id, None, StepCheck(StepState.DONE, checks))
        tokens = self.ledger.objects(wallet.address, AccountObjectType.MPTOKEN)
        line = self._line(wallet.address)
        wanted = freeze_transactions(
            decision, wallet.address, self.accounts, line, tokens, freeze=freeze
        )
        progress = self._drive(investor_id, wallet.address, wanted, checks)
        if progress.state == StepState.DONE:
            self.runner.settle_under(decision)  # its records, as the audit will read them
        return progress

    def _drive(
        self, investor_id: str, address: str, wanted: list[LedgerTransaction], checks: int
    ) -> HoldingsProgress:
        def sign_for(role: SignerRole) -> Signer:
            return self.runner.signer(role, investor_id)  # no purchase: it pays nothing

        what = wanted[0].key if wanted else investor_id
        check = self.runner.drive_all(wanted, sign_for, checks, what)
        return HoldingsProgress(investor_id, address, check)

    def _address(self, investor_id: str) -> str:
        wallet = wallets.find(investor_id)
        if wallet is None:
            raise LedgerStepFailed(f"investor {investor_id} has no wallet")
        return wallet.address

    def _line(self, address: str) -> dict[str, Any] | None:
        return self.ledger.trust_line(address, self.accounts.issuer, STABLECOIN_CURRENCY)


@functools.cache
def investor_holdings() -> InvestorHoldings:
    return InvestorHoldings(ledger_step_runner())
