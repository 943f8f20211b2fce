"""A withdrawal: EUR an investor holds as stablecoin, sent to the bank account verified at KYC.

The stablecoin goes back to the issuer first (redeemed: it no longer exists), then the payment
provider pays the investor's bank. If the payout fails or the bank returns it, the issuer issues
the same amount to the investor again, so the investor's money is always either on the ledger or
on its way to their bank, never both and never neither. Every refusal is decided before anything
moves, with the reason the investor is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from domain import business_keys
from domain.errors import BusinessRuleViolation
from domain.investor import InvestorStatus
from domain.money import parse_amount
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts, SignerRole
from domain.settlement import LedgerTransaction

DAILY_LIMIT = Decimal("10000.00")  # EUR an investor may withdraw per UTC day


class WithdrawalStatus(StrEnum):
    REQUESTED = "REQUESTED"  # accepted: the stablecoin is being redeemed
    REDEEMED = "REDEEMED"  # off the ledger: the provider is asked to pay it out
    PAID_OUT = "PAID_OUT"  # the provider says the bank was paid
    RETURNED = "RETURNED"  # the payout failed or came back: the stablecoin was issued again
    REFUSED = "REFUSED"  # refused before anything moved, or stopped by an AML flag

    @property
    def is_final(self) -> bool:
        return self in (
            WithdrawalStatus.PAID_OUT,
            WithdrawalStatus.RETURNED,
            WithdrawalStatus.REFUSED,
        )


class WithdrawalRefused(BusinessRuleViolation):
    """The withdrawal cannot be made: the message is the reason the investor is shown."""


class PayoutOutcome(StrEnum):
    """What the payment provider's payout webhook says."""

    PAID = "PAID"
    FAILED = "FAILED"  # never reached the bank
    RETURNED = "RETURNED"  # reached it, and came back (a closed account, say)


@dataclass(frozen=True)
class Withdrawal:
    withdrawal_id: str
    investor_id: str
    amount: Decimal
    requested_at: datetime
    status: WithdrawalStatus = WithdrawalStatus.REQUESTED
    reason: str | None = None

    @property
    def day(self) -> date:
        return self.requested_at.date()


def requested_amount(raw: object) -> Decimal:
    """The amount asked for: positive, in cents; WithdrawalRefused saying why not."""
    try:
        return parse_amount(raw)
    except ValueError as error:
        raise WithdrawalRefused(str(error)) from None


def check_may_withdraw(
    status: InvestorStatus | None,
    amount: Decimal,
    balance: Decimal,
    withdrawn_today: Decimal,
    limit: Decimal = DAILY_LIMIT,
) -> None:
    """WithdrawalRefused unless an ACTIVE investor asks for no more than their stablecoin and
    what remains of the day's limit (withdrawals not refused count against it)."""
    if status is not InvestorStatus.ACTIVE:
        raise WithdrawalRefused(f"the investor is {status or 'unknown'}: no withdrawal")
    if amount > balance:
        raise WithdrawalRefused(f"{amount} EUR is more than the {balance} EUR in the wallet")
    left = max(limit - withdrawn_today, Decimal(0))
    if amount > left:
        raise WithdrawalRefused(
            f"{amount} EUR is more than the {left} EUR left of today's {limit} EUR limit"
        )


def withdrawn_on(day: date, withdrawals: list[Withdrawal]) -> Decimal:
    """What counts against the day's limit: every withdrawal that day not refused."""
    return sum(
        (
            w.amount
            for w in withdrawals
            if w.day == day and w.status is not WithdrawalStatus.REFUSED
        ),
        Decimal(0),
    )


def redemption(
    withdrawal: Withdrawal, investor_address: str, accounts: PlatformAccounts
) -> LedgerTransaction:
    """The investor's stablecoin back to its issuer: it ceases to exist, once."""
    return _moved(
        withdrawal, "redeem", SignerRole.INVESTOR, investor_address, accounts.issuer, accounts
    )


def reissue(
    withdrawal: Withdrawal, investor_address: str, accounts: PlatformAccounts
) -> LedgerTransaction:
    """A payout that failed or came back: the same amount issued to the investor again, once."""
    return _moved(
        withdrawal, "reissue", SignerRole.ISSUER, accounts.issuer, investor_address, accounts
    )


def status_after_payout(outcome: PayoutOutcome) -> WithdrawalStatus:
    return WithdrawalStatus.PAID_OUT if outcome is PayoutOutcome.PAID else WithdrawalStatus.RETURNED


def check_may_redeem(withdrawal: Withdrawal, investor_status: InvestorStatus | None) -> None:
    """Before the redemption is sent: still REQUESTED, and the investor not flagged since (an
    AML flag before the redemption validates stops the withdrawal)."""
    if withdrawal.status is not WithdrawalStatus.REQUESTED:
        raise WithdrawalRefused(f"withdrawal {withdrawal.withdrawal_id} is {withdrawal.status}")
    if investor_status is not InvestorStatus.ACTIVE:
        raise WithdrawalRefused(f"the investor is {investor_status or 'unknown'}: stopped")


def _moved(
    withdrawal: Withdrawal,
    effect: str,
    role: SignerRole,
    source: str,
    destination: str,
    accounts: PlatformAccounts,
) -> LedgerTransaction:
    """The withdrawal's amount of stablecoin from source to destination, once per effect."""
    amount = {
        "currency": STABLECOIN_CURRENCY,
        "issuer": accounts.issuer,
        "value": str(withdrawal.amount),
    }
    return LedgerTransaction(
        business_keys.under(business_keys.withdrawal(withdrawal.withdrawal_id), effect),
        role,
        {
            "TransactionType": "Payment",
            "Account": source,
            "Destination": destination,
            "Amount": amount,
        },
    )
