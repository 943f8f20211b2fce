"""The platform's own ledger accounts and the assets they issue."""

from __future__ import annotations

from dataclasses import dataclass

STABLECOIN_CURRENCY = "EUR"


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

    def roles(self) -> dict[str, str]:
        return {"issuer": self.issuer, "company": self.company, "funding": self.funding}
