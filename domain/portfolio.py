"""What an investor sees of their account: the portfolio valued at catalogue prices, whether a
wallet may be requested, links to the public ledger, and the shape of a refusal.

The holdings come from the validated ledger (the stablecoin line to the issuer, the MPTokens the
wallet holds); prices from the catalogue. All amounts are Decimal, shown as plain decimal text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from typing import Any

from domain.errors import BusinessRuleViolation
from domain.investor import InvestorStanding, InvestorStatus
from domain.money import CENT
from domain.platform import STABLECOIN_CURRENCY

# The ids the platform accepts from outside (as domain.purchase.identifier): 1-64 of letters,
# digits and _.:-, starting with a letter or digit. The pattern is also published in the OpenAPI
# document, where `$` is the end of the text; Python's `$` would also accept a final newline,
# so Python matches with \Z.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN.removesuffix("$") + r"\Z")
IDENTIFIER_RULE = "1-64 letters, digits or _.:-, starting with a letter or digit"
# A decimal amount as the API shows it: plain digits, no exponent.
AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
WALLET_REQUEST_CASE_PREFIX = "frontend-"


class PortfolioError(ValueError):
    """What the ledger or the catalogue said cannot be valued (a defect in our data)."""


class WalletRequestRefused(BusinessRuleViolation):
    """The investor's standing does not allow a wallet to be requested now."""


# --- the portfolio --------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedInstrument:
    """An instrument of the catalogue with the price its units are valued at."""

    instrument_id: str
    name: str
    issuance_id: str
    unit_price: Decimal
    currency: str


@dataclass(frozen=True)
class Holding:
    instrument: PricedInstrument
    units: int

    @property
    def value(self) -> Decimal:
        return self.instrument.unit_price * self.units


@dataclass(frozen=True)
class Portfolio:
    """The stablecoin on the investor's line and the units of every catalogue instrument."""

    currency: str
    stablecoin_balance: Decimal
    holdings: tuple[Holding, ...]

    @property
    def instruments_value(self) -> Decimal:
        return sum((holding.value for holding in self.holdings), Decimal(0))

    @property
    def total_value(self) -> Decimal:
        return self.stablecoin_balance + self.instruments_value


def value_portfolio(
    stablecoin_balance: Decimal,
    instruments: Iterable[PricedInstrument],
    units_by_issuance: Mapping[str, int],
    currency: str = STABLECOIN_CURRENCY,
) -> Portfolio:
    """Every instrument of the catalogue with the units held of it (0 if none), sorted by id.

    Values are only added up in one currency: an instrument priced in another is a defect."""
    holdings = []
    for instrument in sorted(instruments, key=lambda i: i.instrument_id):
        if instrument.currency != currency:
            raise PortfolioError(
                f"{instrument.instrument_id} is priced in {instrument.currency}, the portfolio "
                f"is valued in {currency}"
            )
        units = units_by_issuance.get(instrument.issuance_id.upper(), 0)
        holdings.append(Holding(instrument, units))
    return Portfolio(currency, stablecoin_balance, tuple(holdings))


def stablecoin_balance(
    lines: Iterable[Mapping[str, Any]], issuer: str, currency: str = STABLECOIN_CURRENCY
) -> Decimal:
    """The holder's balance on its line to the issuer, from `account_lines` of the holder (no
    line yet: 0). Balances there are from the holder's side: what the issuer owes it."""
    for line in lines:
        if line.get("account") == issuer and line.get("currency") == currency:
            return decimal_from_text(line.get("balance"), f"{currency} balance")
    return Decimal(0)


def units_by_issuance(mptokens: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Units held per MPT issuance, from the holder's MPToken objects (`MPTAmount` is left out
    by the ledger when it is zero)."""
    units: dict[str, int] = {}
    for token in mptokens:
        issuance = str(token.get("MPTokenIssuanceID", "")).upper()
        raw = str(token.get("MPTAmount", "0"))
        if not issuance or not raw.isdigit():
            raise PortfolioError(f"MPToken {issuance or '?'} has no whole amount ({raw!r})")
        units[issuance] = units.get(issuance, 0) + int(raw)
    return units


def decimal_from_text(raw: object, what: str) -> Decimal:
    """A decimal written as text, by the ledger (which may use an exponent: "1e-5") or in our
    records."""
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise PortfolioError(f"{what} {raw!r} is not a number") from None
    if not value.is_finite():
        raise PortfolioError(f"{what} {raw!r} is not a finite number")
    return value


def amount_text(amount: Decimal) -> str:
    """An amount as plain decimal text: to the cent when that is exact ("200" -> "200.00"),
    otherwise every digit it has; never an exponent ("1E+3" -> "1000.00")."""
    if amount.is_zero():
        amount = Decimal(0)  # never "-0.00"
    with localcontext() as context:
        context.prec = 200  # ledger amounts span 10^-96 to 10^96: nothing is rounded away
        cents = amount.quantize(CENT)
        shown = cents if cents == amount else amount.normalize()
        return format(shown, "f")


# --- requesting a wallet ---------------------------------------------------------------------


class WalletRequestOutcome(StrEnum):
    WALLET_REQUESTED = "WALLET_REQUESTED"  # onboarding asked to make (or finish) the wallet
    ACTIVE = "ACTIVE"  # nothing to do: the investor has a wallet and may buy


def wallet_request_outcome(standing: InvestorStanding) -> WalletRequestOutcome:
    """A wallet may be requested once KYC is approved; an active investor already has one.

    Onboarding is idempotent per investor, so asking again while it runs is harmless."""
    if standing.status == InvestorStatus.ACTIVE and standing.wallet_address is not None:
        return WalletRequestOutcome.ACTIVE
    if standing.status in (InvestorStatus.KYC_APPROVED, InvestorStatus.ACTIVE):
        return WalletRequestOutcome.WALLET_REQUESTED
    why = {
        InvestorStatus.PENDING: "KYC is not approved yet",
        InvestorStatus.REJECTED: "KYC was rejected",
        InvestorStatus.BLOCKED: "the investor is blocked by AML screening",
    }.get(standing.status, f"the investor is {standing.status.value}")
    raise WalletRequestRefused(f"no wallet for investor {standing.investor_id}: {why}")


def wallet_request_case(investor_id: str) -> str:
    """The case id of the frontend's wallet request: one per investor, so a repeated request is
    the same case to onboarding (and its notification is sent once). Within the 64 characters
    of an id: a long investor id is replaced by a digest of it."""
    case = f"{WALLET_REQUEST_CASE_PREFIX}{investor_id}"
    if is_identifier(case):
        return case
    return f"{WALLET_REQUEST_CASE_PREFIX}{hashlib.sha256(investor_id.encode()).hexdigest()[:32]}"


def is_identifier(value: object) -> bool:
    return isinstance(value, str) and _IDENTIFIER.match(value) is not None


# --- the ledger, publicly -------------------------------------------------------------------


def explorer_link(explorer_url: str, transaction_hash: str) -> str:
    """Where anyone can see a transaction on the public ledger explorer."""
    return f"{explorer_url.rstrip('/')}/transactions/{transaction_hash}"


def with_explorer_links(
    transactions: Mapping[str, Mapping[str, Any]], explorer_url: str
) -> dict[str, dict[str, Any]]:
    """Each step's transaction, with a link to the explorer for those that have a hash."""
    linked: dict[str, dict[str, Any]] = {}
    for step, details in transactions.items():
        entry = dict(details)
        tx_hash = entry.get("hash")
        entry["explorer_url"] = explorer_link(explorer_url, tx_hash) if tx_hash else None
        linked[step] = entry
    return linked


# --- refusals -------------------------------------------------------------------------------


def problem(code: str, reason: str) -> dict[str, str]:
    """Every refusal the frontend gets: a stable code to branch on and a sentence to show."""
    return {"error": code, "reason": reason}


def validation_reason(errors: Sequence[Mapping[str, Any]]) -> str:
    """What was wrong with a request, in one sentence, from pydantic-style errors."""
    problems = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        where, name = (location[0], ".".join(location[1:])) if location else ("request", "")
        if error.get("type") == "string_pattern_mismatch" and where == "path":
            shown = repr(error.get("input"))
            shown = shown if len(shown) <= 70 else f"{shown[:67]}..."
            problems.append(f"{name} must be {IDENTIFIER_RULE} (got {shown})")
        else:
            message = str(error.get("msg") or error.get("type") or "invalid")
            problems.append(f"{where} {name}: {message}".replace("  ", " ").strip())
    return "; ".join(problems) or "the request is not valid"
