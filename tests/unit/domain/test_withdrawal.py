"""A withdrawal is refused with its reason before anything moves; otherwise the stablecoin is
redeemed once, paid out, and issued again once if the payout fails or comes back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain import business_keys
from domain.investor import InvestorStatus
from domain.platform import PlatformAccounts, SignerRole
from domain.withdrawal import (
    DAILY_LIMIT,
    PayoutOutcome,
    Withdrawal,
    WithdrawalRefused,
    WithdrawalStatus,
    check_may_redeem,
    check_may_withdraw,
    redemption,
    reissue,
    requested_amount,
    status_after_payout,
    withdrawn_on,
)

ACCOUNTS = PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding")
MORNING = datetime(2026, 12, 4, 9, tzinfo=UTC)


def withdrawal(amount: str, status: WithdrawalStatus = WithdrawalStatus.REQUESTED) -> Withdrawal:
    return Withdrawal("wd-1", "inv-ada", Decimal(amount), MORNING, status)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("0", "must be positive"),
        ("-5.00", "must be positive"),
        ("10.001", "more than two decimals"),
        (10.5, "not float"),
        ("ten", "is not a number"),
    ],
)
def test_a_malformed_amount_is_refused_saying_why(raw: object, says: str) -> None:
    with pytest.raises(WithdrawalRefused, match=says):
        requested_amount(raw)


def test_only_an_active_investor_withdraws_no_more_than_they_hold_and_the_days_limit() -> None:
    check_may_withdraw(InvestorStatus.ACTIVE, Decimal("50.00"), Decimal("50.00"), Decimal(0))
    refusals = {
        "the investor is BLOCKED": (InvestorStatus.BLOCKED, "10.00", "100.00", "0"),
        "the investor is unknown": (None, "10.00", "100.00", "0"),
        "more than the 20.00 EUR in the wallet": (InvestorStatus.ACTIVE, "20.01", "20.00", "0"),
        "more than the 500.00 EUR left of today's 10000.00 EUR limit": (
            InvestorStatus.ACTIVE, "500.01", "20000.00", "9500.00",
        ),
        "more than the 0.00 EUR left": (InvestorStatus.ACTIVE, "0.01", "20000.00", "10000.00"),
    }  # fmt: skip
    for says, (status, amount, balance, today) in refusals.items():
        with pytest.raises(WithdrawalRefused, match=says):
            check_may_withdraw(status, Decimal(amount), Decimal(balance), Decimal(today))
    assert Decimal("10000.00") == DAILY_LIMIT


def test_the_days_withdrawals_count_against_the_limit_unless_refused() -> None:
    today = [
        withdrawal("100.00"),
        withdrawal("200.00", WithdrawalStatus.PAID_OUT),
        withdrawal("400.00", WithdrawalStatus.RETURNED),
        withdrawal("800.00", WithdrawalStatus.REFUSED),
    ]
    yesterday = Withdrawal("wd-0", "inv-ada", Decimal("1600.00"), datetime(2026, 12, 3, tzinfo=UTC))
    assert withdrawn_on(date(2026, 12, 4), [*today, yesterday]) == Decimal("700.00")


def test_the_stablecoin_is_redeemed_once_and_issued_again_once() -> None:
    out = redemption(withdrawal("75.50"), "rAda", ACCOUNTS)
    assert out.key == business_keys.under(business_keys.withdrawal("wd-1"), "redeem")
    assert out.key == "withdrawal-wd-1#redeem" and out.role is SignerRole.INVESTOR
    assert out.tx == {
        "TransactionType": "Payment", "Account": "rAda", "Destination": "rIssuer",
        "Amount": {"currency": "EUR", "issuer": "rIssuer", "value": "75.50"},
    }  # fmt: skip
    back = reissue(withdrawal("75.50"), "rAda", ACCOUNTS)
    assert back.key == "withdrawal-wd-1#reissue" and back.role is SignerRole.ISSUER
    assert (back.tx["Account"], back.tx["Destination"]) == ("rIssuer", "rAda")


def test_a_payout_ends_paid_out_or_returned_and_an_aml_flag_stops_the_redemption() -> None:
    assert status_after_payout(PayoutOutcome.PAID) is WithdrawalStatus.PAID_OUT
    assert status_after_payout(PayoutOutcome.FAILED) is WithdrawalStatus.RETURNED
    assert status_after_payout(PayoutOutcome.RETURNED) is WithdrawalStatus.RETURNED
    assert [s.is_final for s in WithdrawalStatus] == [False, False, True, True, True]
    check_may_redeem(withdrawal("10.00"), InvestorStatus.ACTIVE)
    with pytest.raises(WithdrawalRefused, match="the investor is BLOCKED: stopped"):
        check_may_redeem(withdrawal("10.00"), InvestorStatus.BLOCKED)
    with pytest.raises(WithdrawalRefused, match="is REDEEMED"):
        check_may_redeem(withdrawal("10.00", WithdrawalStatus.REDEEMED), InvestorStatus.ACTIVE)
