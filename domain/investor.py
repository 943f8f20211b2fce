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
