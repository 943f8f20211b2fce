"""The platform's own ledger accounts and the assets they issue."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

STABLECOIN_CURRENCY = "EUR"


class SignerRole(StrEnum):
    """Who signs a ledger transaction: one of the platform's accounts (each with its own KMS key
    and signer function, cdk/signing.py), or an investor's custodial wallet."""

    ISSUER = "issuer"
    COMPANY = "company"
    FUNDING = "funding"
    INVESTOR = "investor"

    @property
    def signs_from_tickets(self) -> bool:
        """Platform accounts are hot (hundreds of purchases at once): they sign on Tickets, so
        no transaction queues behind another's Sequence. An investor's wallet signs a few
        transactions, in order, on its Sequence."""
        return self is not SignerRole.INVESTOR


PLATFORM_ROLES = (SignerRole.ISSUER, SignerRole.COMPANY, SignerRole.FUNDING)


@dataclass(frozen=True)
class PlatformAccounts:
    """Addresses of the accounts the platform keys in KMS.

    issuer: issues the EUR stablecoin (RequireAuth, clawback).
    company: the securitization company; issues the instruments (MPTs), receives stablecoin.
    funding: activates investor wallets with XRP.
    """

    issuer: str
    company: str
    funding: str

    def roles(self) -> dict[SignerRole, str]:
        return {
            SignerRole.ISSUER: self.issuer,
            SignerRole.COMPANY: self.company,
            SignerRole.FUNDING: self.funding,
        }

    def role_of(self, address: str) -> SignerRole | None:
        """Which platform account the address is; None for any other account."""
        return next((role for role, known in self.roles().items() if known == address), None)
