"""An investor as the purchase rules see them: KYC/AML standing and custodial wallet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.bank_account import BankAccount


class InvestorStatus(StrEnum):
    PENDING = "PENDING"  # signed up, KYC not passed yet
    KYC_APPROVED = "KYC_APPROVED"  # KYC passed: wallet being created and funded
    ACTIVE = "ACTIVE"  # KYC passed, wallet funded, stablecoin line authorized: may buy
    BLOCKED = "BLOCKED"  # flagged by AML screening: may neither buy nor move assets
    REJECTED = "REJECTED"  # failed KYC


@dataclass(frozen=True)
class InvestorStanding:
    investor_id: str
    status: InvestorStatus
    wallet_address: str | None

    @property
    def may_buy(self) -> bool:
        return self.status == InvestorStatus.ACTIVE and self.wallet_address is not None


def reason_shown_to_investor(reason: str | None, screened_by_aml: bool) -> str | None:
    """Why the standing last changed, as the frontend may show it. Once an AML decision has
    applied, the reason may be AML's (a flag's grounds, a clearance's), and telling the investor
    would tip them off, which AML law forbids: operators read it in our records instead."""
    return None if screened_by_aml else reason


AML_NOTIFICATIONS = frozenset({"InvestorBlocked", "InvestorCleared"})


def notification_reason(kind: str, reason: str | None) -> str | None:
    """The reason a frontend notification may carry: none for an AML block or clearance, whose
    reason is AML's (tipping-off); a KYC outcome's or a wallet's, as it is."""
    return reason_shown_to_investor(reason, screened_by_aml=kind in AML_NOTIFICATIONS)


ONCE_PER_INVESTOR = frozenset({"WalletReady"})  # a wallet is ready once, whichever case asked
SHARED_FIELDS = ("status", "wallet_address")


def notification_id(kind: str, investor_id: str, case_id: str, occurrence: str | None) -> str:
    """What makes a notification one: once per decision (a case flagged again after its
    clearance is told again), or once per investor for what happens once."""
    if kind in ONCE_PER_INVESTOR:
        return f"{kind}#{investor_id}"
    return f"{kind}#{investor_id}#{occurrence or case_id}"


def notification_payload(
    kind: str, investor_id: str, case_id: str, detail: Mapping[str, Any]
) -> dict[str, Any]:
    """What the frontend is told: who, which case, the standing, and the reason it may show."""
    payload = {
        "investor_id": investor_id,
        "case_id": case_id,
        **{k: detail[k] for k in SHARED_FIELDS if detail.get(k) is not None},
    }
    reason = notification_reason(kind, detail.get("reason"))
    if reason is not None:
        payload["reason"] = reason
    return payload


@dataclass(frozen=True)
class KycDecision:
    """An approval or a rejection, as the KYC provider dated it."""

    case_id: str
    decided_at: datetime
    approved: bool

    @property
    def order(self) -> tuple[datetime, bool, str]:
        # The provider's time orders decisions, never their arrival; at one instant a
        # rejection outranks an approval.
        return (self.decided_at, not self.approved, self.case_id)


@dataclass(frozen=True)
class KycVerdict:
    """What one KYC decision does: the status it leaves (None: unchanged), whether it becomes
    the KYC decision on record, whether onboarding goes on (an approval: the wallet; a
    rejection: the investor is told), and the audit record's action."""

    status: InvestorStatus | None
    recorded: bool
    proceeds: bool
    note: str


def kyc_verdict(
    status: InvestorStatus | None, last: KycDecision | None, decision: KycDecision
) -> KycVerdict:
    """KYC decisions apply in the provider's order: one older than the decision on record (a
    late or replayed event) changes nothing, so a stale approval never undoes a rejection
    and never gets a wallet made. The decision on record again (a duplicate, a replay)
    changes nothing either, and lets onboarding finish what it started."""
    if last is not None and decision.order < last.order:
        return KycVerdict(None, False, False, "KYC decision superseded")
    if decision == last:
        if decision.approved:
            proceeds = status in (InvestorStatus.KYC_APPROVED, InvestorStatus.ACTIVE)
        else:
            proceeds = status == InvestorStatus.REJECTED
        return KycVerdict(None, False, proceeds, "KYC decision again: nothing new")
    if status == InvestorStatus.BLOCKED:
        # Kept in order for when the block is lifted; no wallet while blocked, and a rejection
        # is not told (the investor is blocked anyway).
        return KycVerdict(
            None,
            True,
            False,
            f"KYC {'approval' if decision.approved else 'rejection'} recorded while BLOCKED",
        )
    if decision.approved:
        if status in (InvestorStatus.KYC_APPROVED, InvestorStatus.ACTIVE):
            return KycVerdict(None, True, True, "KYC approved again")
        return KycVerdict(InvestorStatus.KYC_APPROVED, True, True, "KYC approved")
    if status == InvestorStatus.ACTIVE:
        # Onboarded: a later rejection goes to compliance, who may block; it does not unmake
        # a funded wallet by itself.
        return KycVerdict(None, False, False, "KYC rejection ignored")
    return KycVerdict(InvestorStatus.REJECTED, True, True, "KYC rejected")


def status_when_cleared(kyc_approved: bool | None, has_wallet: bool) -> InvestorStatus:
    """The status an AML block gives way to. REJECTED if KYC's decision on record is a
    rejection. Without a wallet, where onboarding stood: KYC_APPROVED (a wallet request resumes
    it) or, with no KYC decision at all, PENDING: an investor first known through an AML flag
    gets nothing from its clearance. With a wallet, ACTIVE (investors an operator registered
    before KYC decisions were recorded have a wallet and no decision)."""
    if kyc_approved is False:
        return InvestorStatus.REJECTED
    if not has_wallet:
        return InvestorStatus.KYC_APPROVED if kyc_approved else InvestorStatus.PENDING
    return InvestorStatus.ACTIVE


@dataclass(frozen=True)
class Investor:
    """An investor as the platform keeps them (lambdas/records/investors.py)."""

    investor_id: str
    status: InvestorStatus
    reason: str | None = None
    kyc_approved: bool | None = None  # KYC's decision on record; None: none recorded
    screened_by_aml: bool = False  # an AML decision is on record
    payout_account: BankAccount | None = None  # verified at KYC: where withdrawals go


def wallet_refusal(investor_id: str, status: InvestorStatus | None) -> str | None:
    """Why the frontend's own wallet request cannot start onboarding; None if it can (only on
    a KYC approval on record)."""
    if status == InvestorStatus.BLOCKED:
        return f"investor {investor_id} is BLOCKED: no wallet"
    if status not in (InvestorStatus.KYC_APPROVED, InvestorStatus.ACTIVE):
        return f"investor {investor_id} has no KYC approval on record"
    return None


def kyc_approval_stands(status: InvestorStatus | None, kyc_approved: bool | None) -> bool:
    """Before a wallet is made or funded: a later rejection may have been recorded since
    onboarding began, or the investor may be unknown."""
    withdrawn = (None, InvestorStatus.PENDING, InvestorStatus.REJECTED)
    return kyc_approved is not False and status not in withdrawn


def activates(status: InvestorStatus) -> bool:
    """ACTIVE once the wallet is ready, only from KYC_APPROVED: an AML flag or a rejection
    that arrived meanwhile stands."""
    return status == InvestorStatus.KYC_APPROVED
