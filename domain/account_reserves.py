"""How much XRP each platform account needs on a network where nobody gives it away (Mainnet):
the reserves the ledger holds back for the account and every object it owns, the Tickets its
pool keeps ready, and, for the funding account, what it hands on (each investor's activation and
the issuer's and company's first XRP). An operator sends it; the bootstrap never does there.

Reserves are the ledger's (`server_info`'s validated_ledger: reserve_base_xrp, reserve_inc_xrp);
Mainnet's since December 2024 are 1 XRP per account and 0.2 XRP per owned object.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MAINNET_RESERVES = (Decimal(1), Decimal("0.2"))  # base, per owned object
FEES_XRP = Decimal(5)  # 0.5 million transactions at the 10-drop base fee: fees for months


@dataclass(frozen=True)
class Reserves:
    base: Decimal  # per account
    owner: Decimal  # per object the account owns (a trust line, a Ticket, an issuance)

    def holding(self, objects: int) -> Decimal:
        return self.base + self.owner * objects


@dataclass(frozen=True)
class PlatformScale:
    instruments: int  # one MPT issuance each, owned by the company
    investors: int  # each activated by the funding account
    activation_xrp: Decimal  # per investor (the ActivationXrp output)
    tickets_ready: int  # the most Tickets one pool holds (refill batch + low water)
    platform_xrp: Decimal  # what the funding account gives the issuer and the company each


@dataclass(frozen=True)
class AccountNeed:
    role: str
    xrp: Decimal
    why: str


def needs(reserves: Reserves, scale: PlatformScale) -> list[AccountNeed]:
    """What each account must hold before the platform runs, and why."""
    tickets = scale.tickets_ready
    issuer = reserves.holding(tickets) + FEES_XRP
    company = reserves.holding(1 + scale.instruments + tickets) + FEES_XRP
    handed_on = scale.activation_xrp * scale.investors + scale.platform_xrp * 2
    funding = reserves.holding(tickets) + handed_on + FEES_XRP
    return [
        AccountNeed(
            "issuer", issuer,
            f"reserve {reserves.base} + {tickets} Tickets x {reserves.owner} + fees {FEES_XRP}",
        ),
        AccountNeed(
            "company", company,
            f"reserve {reserves.base} + (the EUR line, {scale.instruments} issuances, {tickets} "
            f"Tickets) x {reserves.owner} + fees {FEES_XRP}",
        ),
        AccountNeed(
            "funding", funding,
            f"reserve {reserves.base} + {tickets} Tickets x {reserves.owner} + {scale.investors} "
            f"investors x {scale.activation_xrp} activation + issuer and company "
            f"{scale.platform_xrp} each + fees {FEES_XRP}",
        ),
    ]  # fmt: skip
