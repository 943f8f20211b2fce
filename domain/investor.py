"""An investor as the purchase rules see them: KYC/AML standing and custodial wallet."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
