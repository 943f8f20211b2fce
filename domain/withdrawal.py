"""A withdrawal: EUR an investor holds as stablecoin, sent to the bank account verified at KYC.

The stablecoin goes back to the issuer first (redeemed: it no longer exists), then the payment
provider pays the investor's bank. If the payout fails or the bank returns it, the issuer issues
the same amount to the investor again, so the investor's money is always either on the ledger or
on its way to their bank, never both and never neither. Every refusal is decided before anything
moves, with the reason the investor is shown.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain import business_keys
from domain.bank_account import BankAccount
from domain.errors import BusinessRuleViolation
from domain.investor import InvestorStatus
from domain.money import CENT, parse_amount
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


# The frontend is told of each status, once per withdrawal.
WITHDRAWAL_NOTIFICATIONS = {
    WithdrawalStatus.REQUESTED: "WithdrawalAccepted",
    WithdrawalStatus.REDEEMED: "WithdrawalRedeemed",
    WithdrawalStatus.PAID_OUT: "WithdrawalPaidOut",
    WithdrawalStatus.RETURNED: "WithdrawalReturned",
    WithdrawalStatus.REFUSED: "WithdrawalRefused",
}


class WithdrawalRefused(BusinessRuleViolation):
    """The withdrawal cannot be made: the message is the reason the investor is shown."""


class PayoutOutcome(StrEnum):
    """What the payment provider's payout webhook says."""

    PAID = "PAID"
    FAILED = "FAILED"  # never reached the bank
    RETURNED = "RETURNED"  # reached it, and came back (a closed account, say)


class PayoutAction(StrEnum):
    """What the workflow does with the provider's answer about a payout."""

    MARK_PAID_OUT = "MARK_PAID_OUT"
    REISSUE = "REISSUE"  # failed or returned: the stablecoin goes back to the wallet
    ALREADY = "ALREADY"  # acted on already: nothing recorded or moved; telling is once anyway
    CONFLICT = "CONFLICT"  # an answer that contradicts the withdrawal: for an operator


# The payment provider's webhooks as the bus names them (domain.webhooks.PAYMENT_EVENTS).
PAYOUT_OUTCOMES = {
    "PayoutPaid": PayoutOutcome.PAID,
    "PayoutFailed": PayoutOutcome.FAILED,
    "PayoutReturned": PayoutOutcome.RETURNED,
}
_SAID_WHEN_SILENT = {
    PayoutOutcome.FAILED: "the payout failed",
    PayoutOutcome.RETURNED: "the bank returned the payout",
}


def return_reason(outcome: PayoutOutcome, said: str | None) -> str:
    """Why the money is back in the wallet, in the provider's words when it gave any."""
    default = _SAID_WHEN_SILENT.get(outcome, "the payout did not complete")
    return f"{default}: {said}" if said else default


@dataclass(frozen=True)
class Withdrawal:
    withdrawal_id: str
    investor_id: str
    amount: Decimal
    requested_at: datetime
    status: WithdrawalStatus = WithdrawalStatus.REQUESTED
    reason: str | None = None
    account: BankAccount | None = None  # the payout account on record when it was asked
    payout_outcome: PayoutOutcome | None = None  # the provider's latest answer
    payout_requested: bool = False
    redemption_hash: str | None = None
    reissue_hash: str | None = None
    paid_out_at: datetime | None = None  # the provider's time of the payment to the bank
    returned_at: datetime | None = None  # and of its return, if the bank sent it back

    @property
    def day(self) -> date:
        return self.requested_at.date()

    def summary(self) -> dict[str, Any]:
        """What the frontend, operators and the workflow's output show: never the whole IBAN."""
        return {
            "withdrawal_id": self.withdrawal_id,
            "investor_id": self.investor_id,
            "amount": str(self.amount),
            "currency": STABLECOIN_CURRENCY,
            "status": self.status.value,
            "reason": self.reason,
            "requested_at": self.requested_at.isoformat(),
            "payout_account": self.account.masked if self.account else None,
            "payout_outcome": self.payout_outcome.value if self.payout_outcome else None,
            "redemption_hash": self.redemption_hash,
            "reissue_hash": self.reissue_hash,
        }


def withdrawal_id_for(investor_id: str, request_key: str | None) -> str:
    """The withdrawal's id: the same for a request sent again under the frontend's idempotency
    key (one withdrawal, however often the frontend retries), a new one without a key."""
    if request_key is None:
        return f"wd-{uuid.uuid4().hex[:24]}"
    digest = hashlib.sha256(f"{investor_id}\n{request_key}".encode()).hexdigest()
    return f"wd-{digest[:24]}"


def cents(amount: Decimal) -> int:
    """An amount as whole cents: how the day's total is counted, exactly."""
    return int(amount / CENT)


def requested_amount(raw: object) -> Decimal:
    """The amount asked for: positive, in cents; WithdrawalRefused saying why not."""
    try:
        return parse_amount(raw)
    except ValueError as error:
        raise WithdrawalRefused(str(error)) from None


def check_may_withdraw(
    status: InvestorStatus | None,
    account: BankAccount | None,
    amount: Decimal,
    balance: Decimal,
    withdrawn_today: Decimal,
    limit: Decimal = DAILY_LIMIT,
) -> None:
    """WithdrawalRefused unless an ACTIVE investor with a verified payout account asks for no
    more than their stablecoin (less what is being withdrawn) and what remains of the day's
    limit (withdrawals not refused count against it)."""
    if status is not InvestorStatus.ACTIVE:
        raise WithdrawalRefused(f"the investor is {status or 'unknown'}: no withdrawal")
    if account is None:
        raise WithdrawalRefused("no payout account was verified at KYC: no withdrawal")
    if amount > balance:
        raise WithdrawalRefused(f"{amount} EUR is more than the {balance} EUR in the wallet")
    left = max(limit - withdrawn_today, Decimal(0))
    if amount > left:
        raise WithdrawalRefused(
            f"{amount} EUR is more than the {left} EUR left of today's {limit} EUR limit"
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


def payout_action(withdrawal: Withdrawal, outcome: PayoutOutcome) -> PayoutAction:
    """What the provider's answer means for the withdrawal as recorded. A bank may return a
    payout after it was paid (days later); an answer for a payout never asked for, or a
    "paid" after the money was put back, is a contradiction an operator must see."""
    status, said = withdrawal.status, withdrawal.payout_outcome
    returned = outcome is not PayoutOutcome.PAID
    if status is WithdrawalStatus.REDEEMED and withdrawal.payout_requested:
        if said is not None and said is not PayoutOutcome.PAID:
            return PayoutAction.REISSUE  # answered before: its re-issue is finished now
        return PayoutAction.REISSUE if returned else PayoutAction.MARK_PAID_OUT
    if status is WithdrawalStatus.PAID_OUT:
        if outcome is PayoutOutcome.RETURNED:
            return PayoutAction.REISSUE
        return PayoutAction.ALREADY if outcome is PayoutOutcome.PAID else PayoutAction.CONFLICT
    if status is WithdrawalStatus.RETURNED and (returned or withdrawal.paid_out_at is not None):
        return PayoutAction.ALREADY  # the return, or the payment it came back from, again
    return PayoutAction.CONFLICT


STOPPED = "stopped: "  # how an operator's reason for a withdrawal stopped by a flag begins
SHOWN_WHEN_STOPPED = "the withdrawal could not be completed: the amount is in your wallet"


def stopped_before_payout(investor_status: InvestorStatus | None) -> str | None:
    """Why the redeemed amount must not be paid out (an AML flag arrived while it was being
    redeemed): it goes back to the wallet, where the freeze holds it. None: pay it out."""
    if investor_status is InvestorStatus.ACTIVE:
        return None
    return f"{STOPPED}the investor became {investor_status or 'unknown'} during the withdrawal"


def status_after_reissue(withdrawal: Withdrawal) -> WithdrawalStatus:
    """Back in the wallet: RETURNED if the provider was asked to pay it (and failed, or the
    bank sent it back); REFUSED if it was stopped before it was asked."""
    return WithdrawalStatus.RETURNED if withdrawal.payout_requested else WithdrawalStatus.REFUSED


def reason_shown_to_investor(reason: str | None) -> str | None:
    """A stop's reason is AML's: telling the investor would tip them off (domain.investor)."""
    if reason is not None and reason.startswith(STOPPED):
        return SHOWN_WHEN_STOPPED
    return reason


def notification(withdrawal: Withdrawal) -> tuple[str, str, dict[str, Any]]:
    """(kind, notification id, payload) telling the frontend the withdrawal's status: once per
    withdrawal and status."""
    kind = WITHDRAWAL_NOTIFICATIONS[withdrawal.status]
    summary = withdrawal.summary()
    payload = {
        key: summary[key]
        for key in ("withdrawal_id", "investor_id", "amount", "currency", "status")
    }
    payload["reason"] = reason_shown_to_investor(withdrawal.reason)
    return kind, f"{kind}#{withdrawal.investor_id}#{withdrawal.withdrawal_id}", payload


def payout_request(withdrawal: Withdrawal) -> dict[str, Any]:
    """What the provider is asked to pay: the withdrawal's amount to the account on record,
    under an idempotency key it deduplicates on (a re-sent request pays nothing twice)."""
    if withdrawal.account is None:
        raise WithdrawalRefused(f"withdrawal {withdrawal.withdrawal_id} has no payout account")
    return {
        "idempotency_key": f"payout-{withdrawal.withdrawal_id}",
        "withdrawal_id": withdrawal.withdrawal_id,
        "investor_id": withdrawal.investor_id,
        "amount": str(withdrawal.amount),
        "currency": STABLECOIN_CURRENCY,
        "beneficiary": {
            "iban": withdrawal.account.iban,
            "name": withdrawal.account.holder_name,
        },
    }


def check_may_redeem(withdrawal: Withdrawal, investor_status: InvestorStatus | None) -> None:
    """Before the redemption is sent: still REQUESTED, and the investor not flagged since (an
    AML flag before the redemption validates stops the withdrawal)."""
    if withdrawal.status is not WithdrawalStatus.REQUESTED:
        raise WithdrawalRefused(f"withdrawal {withdrawal.withdrawal_id} is {withdrawal.status}")
    if investor_status is not InvestorStatus.ACTIVE:
        raise WithdrawalRefused(f"{STOPPED}the investor is {investor_status or 'unknown'}")


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


class IncomePayout(StrEnum):
    """Where an investor's coupons and repaid principal go: kept in the wallet (the default),
    or paid out to the bank account KYC verified as soon as they are paid."""

    WALLET = "WALLET"
    BANK = "BANK"


def income_withdrawal_id(investor_id: str, kind: str, instrument_id: str, payment_date: str) -> str:
    """One income payout per flow paid: a replay or a re-run finds the same withdrawal."""
    return withdrawal_id_for(investor_id, f"income:{kind}:{instrument_id}:{payment_date}")


def income_withdrawal(
    paid: Mapping[str, Any],
    kind: str,
    status: InvestorStatus | None,
    account: BankAccount | None,
    choice: IncomePayout,
    now: datetime,
) -> Withdrawal | None:
    """The withdrawal paying out a coupon or principal the investor was just paid (the
    frontend's CouponPaid or PrincipalRepaid), if they chose their bank for it and may
    withdraw; None keeps it in the wallet. Not counted against the day's limit: the platform,
    not a session, asks for it."""
    if choice is not IncomePayout.BANK or status is not InvestorStatus.ACTIVE or account is None:
        return None
    investor_id = str(paid["investor_id"])
    withdrawal_id = income_withdrawal_id(
        investor_id, kind, str(paid["instrument_id"]), str(paid["payment_date"])
    )
    return Withdrawal(
        withdrawal_id, investor_id, parse_amount(paid["amount"]), now, account=account
    )
