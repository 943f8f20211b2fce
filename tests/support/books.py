"""Reading the books from the validated ledger, never from our records."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xrpl.models.requests import AccountObjectType


def stablecoin_outstanding(client: Any, issuer: str) -> Decimal:
    """Stablecoin the issuer owes: the sum of every holder's balance."""
    return sum((-Decimal(line["balance"]) for line in client.trust_lines(issuer)), Decimal(0))


def stablecoin_balance(client: Any, holder: str, issuer: str) -> Decimal:
    lines = [x for x in client.trust_lines(holder, issuer) if x["currency"] == "EUR"]
    return Decimal(lines[0]["balance"]) if lines else Decimal(0)


def stablecoin_line(client: Any, holder: str, issuer: str) -> dict[str, Any] | None:
    lines = [x for x in client.trust_lines(holder, issuer) if x["currency"] == "EUR"]
    return lines[0] if lines else None


def units_held(client: Any, holder: str, issuance_id: str) -> int:
    for token in client.objects(holder, AccountObjectType.MPTOKEN):
        if token["MPTokenIssuanceID"] == issuance_id:
            return int(token.get("MPTAmount", "0"))
    return 0


def units_outstanding(client: Any, company: str, issuance_id: str) -> int:
    for issuance in client.objects(company, AccountObjectType.MPT_ISSUANCE):
        if issuance["mpt_issuance_id"] == issuance_id:
            return int(issuance.get("OutstandingAmount", "0"))
    raise KeyError(issuance_id)
