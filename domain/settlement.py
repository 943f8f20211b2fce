"""The ledger side of a purchase: which transaction each saga step submits, and what undoes it.

Forward: mint (issuer -> investor, stablecoin); as soon as the mint applied to the open ledger,
transfer (investor -> company, stablecoin) and deliver (company -> investor, instrument units),
so all three usually validate in one ledger; the mint is confirmed meanwhile. Reverse, newest
first: take the instrument back (MPT clawback), redeem the transferred stablecoin (company ->
issuer, which burns it), claw back the minted stablecoin still with the investor.

Redemption goes straight from the company to the issuer rather than through the investor: the
books end the same, it costs one ledger round less, and it still works when the investor's line
is frozen for AML, which is exactly when a purchase is most often undone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain import business_keys
from domain.business_keys import BusinessKey
from domain.errors import BusinessRuleViolation
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts, SignerRole

MAX_VALIDATION_CHECKS = 150  # a step not validated after this many checks: the ledger is stuck
TF_SETF_AUTH = 0x00010000
INVESTOR_LINE_LIMIT = "1000000000"
LSF_MPT_AUTHORIZED = 0x00000002


class StepState(StrEnum):
    """What a ledger step answers its workflow (the ASL's Choice states read these values)."""

    PENDING = "PENDING"  # not decided yet: wait, then ask again
    ACCEPTED = "ACCEPTED"  # in the open ledger, not yet validated: successors may follow it
    DONE = "DONE"  # decided by the validated ledger


class Step(StrEnum):
    MINT = "mint"
    TRANSFER = "transfer"
    DELIVER = "deliver"
    TAKE_BACK = "take-back-instrument"
    REDEEM = "redeem-stablecoin"
    CLAW_BACK = "claw-back-stablecoin"


FORWARD_STEPS = (Step.MINT, Step.TRANSFER, Step.DELIVER)
REVERSAL_OF = {Step.TAKE_BACK: Step.DELIVER, Step.REDEEM: Step.TRANSFER, Step.CLAW_BACK: Step.MINT}


# Steps whose successors need not wait for their validation: once the step's transaction applied
# to the open ledger (tesSUCCESS), the successors join it there. rippled applies a ledger's
# transactions in passes until the dependent ones succeed, so a transfer that spends the minted
# stablecoin validates with the mint even when ordered before it. The step is still confirmed
# from the validated ledger, alongside its successors.
FOLLOWED_BEFORE_VALIDATION = frozenset({Step.MINT})


def accepted_into_open_ledger(step: Step, preliminary_result: str | None) -> bool:
    """Whether the step's successors may be sent now, ahead of its validation."""
    return step in FOLLOWED_BEFORE_VALIDATION and preliminary_result == "tesSUCCESS"


def transfer_covered(stablecoin_in_open_ledger: Decimal, amount: Decimal) -> bool:
    """The transfer is sent only once the open ledger shows the investor holding the amount:
    sent earlier it would be claimed as a tec, and the purchase undone for nothing."""
    return stablecoin_in_open_ledger >= amount


class LedgerStepFailed(BusinessRuleViolation):
    """A saga step's transaction failed on the validated ledger (or never applied)."""


class LedgerNotValidating(BusinessRuleViolation):
    """A step's transaction stayed undecided for longer than any healthy ledger takes."""


def check_still_validating(step: str, checks: int) -> None:
    if checks >= MAX_VALIDATION_CHECKS:
        raise LedgerNotValidating(f"{step}: not decided after {checks} checks of the ledger")


@dataclass(frozen=True)
class Settlement:
    """Everything the ledger steps of one purchase need; built from the purchase record."""

    purchase_id: str
    investor_id: str
    investor_address: str
    issuance_id: str
    units: int
    amount: Decimal
    accounts: PlatformAccounts

    def business_key(self, step: Step, round_: int = 0) -> BusinessKey:
        return business_keys.purchase_step(self.purchase_id, step.value, round_)

    def signer_role(self, step: Step) -> SignerRole:
        """Who signs: the investor's wallet (the transfer) or a platform account."""
        return {
            Step.MINT: SignerRole.ISSUER,
            Step.CLAW_BACK: SignerRole.ISSUER,
            Step.TRANSFER: SignerRole.INVESTOR,
        }.get(step, SignerRole.COMPANY)

    def ledger_transaction(self, step: Step, round_: int = 0) -> LedgerTransaction:
        return LedgerTransaction(
            self.business_key(step, round_), self.signer_role(step), self.transaction(step)
        )

    def transaction(self, step: Step) -> dict[str, Any]:
        builders = {
            Step.MINT: self._mint,
            Step.TRANSFER: self._transfer,
            Step.DELIVER: self._deliver,
            Step.TAKE_BACK: self._take_back,
            Step.REDEEM: self._redeem,
            Step.CLAW_BACK: self._claw_back,
        }
        return builders[step]()

    def _stablecoin(self, issuer: str) -> dict[str, str]:
        return {"currency": STABLECOIN_CURRENCY, "issuer": issuer, "value": str(self.amount)}

    def _instrument(self) -> dict[str, str]:
        return {"mpt_issuance_id": self.issuance_id, "value": str(self.units)}

    def _payment(self, source: str, destination: str, amount: dict[str, str]) -> dict[str, Any]:
        return {
            "TransactionType": "Payment",
            "Account": source,
            "Destination": destination,
            "Amount": amount,
        }

    def _mint(self) -> dict[str, Any]:
        issuer = self.accounts.issuer
        return self._payment(issuer, self.investor_address, self._stablecoin(issuer))

    def _transfer(self) -> dict[str, Any]:
        coin = self._stablecoin(self.accounts.issuer)
        return self._payment(self.investor_address, self.accounts.company, coin)

    def _deliver(self) -> dict[str, Any]:
        return self._payment(self.accounts.company, self.investor_address, self._instrument())

    def _redeem(self) -> dict[str, Any]:
        coin = self._stablecoin(self.accounts.issuer)
        return self._payment(self.accounts.company, self.accounts.issuer, coin)

    def _take_back(self) -> dict[str, Any]:
        return {
            "TransactionType": "Clawback",
            "Account": self.accounts.company,
            "Amount": self._instrument(),
            "Holder": self.investor_address,
        }

    def _claw_back(self) -> dict[str, Any]:
        # For a trust line clawback the amount's "issuer" names the holder (XLS-39).
        return {
            "TransactionType": "Clawback",
            "Account": self.accounts.issuer,
            "Amount": self._stablecoin(self.investor_address),
        }


def reversal_needed(step: Step, succeeded: Mapping[Step, bool]) -> bool:
    """Whether a compensation step has anything to undo, given which forward steps validated.

    Minted stablecoin that went on to the company is burnt by the redemption, so the clawback
    is only for stablecoin the investor still holds.
    """
    if step == Step.CLAW_BACK:
        return succeeded.get(Step.MINT, False) and not succeeded.get(Step.TRANSFER, False)
    return succeeded.get(REVERSAL_OF[step], False)


@dataclass(frozen=True)
class LedgerTransaction:
    """One ledger effect a step wants: under its business key, signed by its role."""

    key: BusinessKey
    role: SignerRole
    tx: dict[str, Any]


def holdings_transactions(
    investor_id: str,
    investor_address: str,
    issuance_id: str | None,
    accounts: PlatformAccounts,
    stablecoin_line: Mapping[str, Any] | None,
    mptoken: Mapping[str, Any] | None,
) -> list[LedgerTransaction]:
    """What is still missing for the investor to receive both assets, in ledger-round order.

    The holder's side (trust line, MPToken) must exist before the issuer's side can authorize
    it, so a fresh investor needs two rounds; one already in place needs none. Without an
    issuance (onboarding), only the stablecoin line.
    """
    needed: list[LedgerTransaction] = []
    if stablecoin_line is None:
        needed.append(
            LedgerTransaction(
                business_keys.investor_holding(investor_id, "stablecoin-line"),
                SignerRole.INVESTOR,
                {
                    "TransactionType": "TrustSet",
                    "Account": investor_address,
                    "LimitAmount": {
                        "currency": STABLECOIN_CURRENCY,
                        "issuer": accounts.issuer,
                        "value": INVESTOR_LINE_LIMIT,
                    },
                },
            )
        )
    elif not stablecoin_line.get("peer_authorized"):
        needed.append(
            LedgerTransaction(
                business_keys.investor_holding(investor_id, "stablecoin-line-auth"),
                SignerRole.ISSUER,
                {
                    "TransactionType": "TrustSet",
                    "Account": accounts.issuer,
                    "LimitAmount": {
                        "currency": STABLECOIN_CURRENCY,
                        "issuer": investor_address,
                        "value": "0",
                    },
                    "Flags": TF_SETF_AUTH,
                },
            )
        )
    if issuance_id is None:
        return needed
    if mptoken is None:
        needed.append(
            LedgerTransaction(
                business_keys.investor_holding(investor_id, "mptoken", issuance_id),
                SignerRole.INVESTOR,
                {
                    "TransactionType": "MPTokenAuthorize",
                    "Account": investor_address,
                    "MPTokenIssuanceID": issuance_id,
                },
            )
        )
    elif not int(mptoken.get("Flags", 0)) & LSF_MPT_AUTHORIZED:
        needed.append(
            LedgerTransaction(
                business_keys.investor_holding(investor_id, "mptoken-auth", issuance_id),
                SignerRole.COMPANY,
                {
                    "TransactionType": "MPTokenAuthorize",
                    "Account": accounts.company,
                    "MPTokenIssuanceID": issuance_id,
                    "Holder": investor_address,
                },
            )
        )
    return needed


# What must be final before a compensation can decide whether it has anything to undo.
REVERSAL_DEPENDS_ON = {
    Step.TAKE_BACK: (Step.DELIVER,),
    Step.REDEEM: (Step.TRANSFER,),
    Step.CLAW_BACK: (Step.MINT, Step.TRANSFER),
}
