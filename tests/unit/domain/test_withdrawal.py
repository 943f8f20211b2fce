"""A withdrawal is refused with its reason before anything moves; otherwise the stablecoin is
redeemed once, paid out, and issued again once if the payout fails or comes back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain import business_keys
from domain.bank_account import BankAccount
from domain.investor import InvestorStatus
from domain.platform import PlatformAccounts, SignerRole
from domain.withdrawal import (
    DAILY_LIMIT,
    SHOWN_WHEN_STOPPED,
    IncomePayout,
    PayoutAction,
    PayoutOutcome,
    Withdrawal,
    WithdrawalRefused,
    WithdrawalStatus,
    cents,
    check_may_redeem,
    check_may_withdraw,
    income_withdrawal,
    income_withdrawal_id,
    notification,
    payout_action,
    payout_request,
    reason_shown_to_investor,
    redemption,
    reissue,
    requested_amount,
    return_reason,
    status_after_reissue,
    stopped_before_payout,
    withdrawal_id_for,
)

ACCOUNTS = PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding")
ACCOUNT = BankAccount("DE89370400440532013000", "Ada Lovelace")
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
    check_may_withdraw(
        InvestorStatus.ACTIVE, ACCOUNT, Decimal("50.00"), Decimal("50.00"), Decimal(0)
    )
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
            check_may_withdraw(status, ACCOUNT, Decimal(amount), Decimal(balance), Decimal(today))
    assert Decimal("10000.00") == DAILY_LIMIT
    with pytest.raises(WithdrawalRefused, match="no payout account was verified at KYC"):
        check_may_withdraw(InvestorStatus.ACTIVE, None, Decimal(1), Decimal(5), Decimal(0))


def test_a_request_sent_again_under_its_key_is_the_same_withdrawal() -> None:
    first = withdrawal_id_for("inv-ada", "req-1")
    assert first == withdrawal_id_for("inv-ada", "req-1") and first.startswith("wd-")
    assert first != withdrawal_id_for("inv-bob", "req-1")
    assert withdrawal_id_for("inv-ada", None) != withdrawal_id_for("inv-ada", None)
    assert cents(Decimal("10000.00")) == 1_000_000 and cents(Decimal("0.01")) == 1


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
    asked = replace(withdrawal("10.00", WithdrawalStatus.REDEEMED), payout_requested=True)
    assert status_after_reissue(asked) is WithdrawalStatus.RETURNED  # the provider failed it
    stopped = withdrawal("10.00", WithdrawalStatus.REDEEMED)
    assert status_after_reissue(stopped) is WithdrawalStatus.REFUSED  # never asked: stopped
    assert return_reason(PayoutOutcome.FAILED, None) == "the payout failed"
    assert return_reason(PayoutOutcome.RETURNED, "account closed") == (
        "the bank returned the payout: account closed"
    )
    assert [s.is_final for s in WithdrawalStatus] == [False, False, True, True, True]
    check_may_redeem(withdrawal("10.00"), InvestorStatus.ACTIVE)
    with pytest.raises(WithdrawalRefused, match="stopped: the investor is BLOCKED"):
        check_may_redeem(withdrawal("10.00"), InvestorStatus.BLOCKED)
    with pytest.raises(WithdrawalRefused, match="is REDEEMED"):
        check_may_redeem(withdrawal("10.00", WithdrawalStatus.REDEEMED), InvestorStatus.ACTIVE)


def test_the_providers_answer_is_acted_on_once_and_a_contradiction_goes_to_an_operator() -> None:
    paid, failed, returned = PayoutOutcome.PAID, PayoutOutcome.FAILED, PayoutOutcome.RETURNED
    asked = replace(withdrawal("10.00", WithdrawalStatus.REDEEMED), payout_requested=True)
    expected = {
        (asked, paid): PayoutAction.MARK_PAID_OUT,
        (asked, failed): PayoutAction.REISSUE,
        (asked, returned): PayoutAction.REISSUE,
        # answered "failed" before, and its re-issue not finished: finish it, once
        (replace(asked, payout_outcome=failed), failed): PayoutAction.REISSUE,
        (replace(asked, payout_outcome=failed), paid): PayoutAction.REISSUE,
        (replace(asked, status=WithdrawalStatus.PAID_OUT), paid): PayoutAction.ALREADY,
        (replace(asked, status=WithdrawalStatus.PAID_OUT), returned): PayoutAction.REISSUE,
        (replace(asked, status=WithdrawalStatus.PAID_OUT), failed): PayoutAction.CONFLICT,
        (replace(asked, status=WithdrawalStatus.RETURNED), returned): PayoutAction.ALREADY,
        (replace(asked, status=WithdrawalStatus.RETURNED), failed): PayoutAction.ALREADY,
        (replace(asked, status=WithdrawalStatus.RETURNED), paid): PayoutAction.CONFLICT,
        # paid, then returned by the bank: the "paid" again is a duplicate, not a contradiction
        (replace(asked, status=WithdrawalStatus.RETURNED, paid_out_at=MORNING), paid): (
            PayoutAction.ALREADY
        ),
        (withdrawal("10.00", WithdrawalStatus.REDEEMED), paid): PayoutAction.CONFLICT,
        (withdrawal("10.00"), paid): PayoutAction.CONFLICT,
        (withdrawal("10.00", WithdrawalStatus.REFUSED), failed): PayoutAction.CONFLICT,
    }
    for (recorded, outcome), action in expected.items():
        assert payout_action(recorded, outcome) is action, (recorded, outcome)


def test_a_payout_goes_to_the_account_on_record_under_its_idempotency_key() -> None:
    asked = payout_request(replace(withdrawal("75.50"), account=ACCOUNT))
    assert asked == {
        "idempotency_key": "payout-wd-1", "withdrawal_id": "wd-1", "investor_id": "inv-ada",
        "amount": "75.50", "currency": "EUR",
        "beneficiary": {"iban": "DE89370400440532013000", "name": "Ada Lovelace"},
    }  # fmt: skip
    with pytest.raises(WithdrawalRefused, match="has no payout account"):
        payout_request(withdrawal("75.50"))
    summary = replace(withdrawal("75.50"), account=ACCOUNT).summary()
    assert summary["payout_account"] == "DE89…3000" and "DE8937" not in str(summary)


def test_an_aml_flag_during_the_redemption_stops_the_payout() -> None:
    assert stopped_before_payout(InvestorStatus.ACTIVE) is None
    assert stopped_before_payout(InvestorStatus.BLOCKED) == (
        "stopped: the investor became BLOCKED during the withdrawal"
    )


def test_the_frontend_is_told_each_status_once_and_never_an_aml_stops_reason() -> None:
    stopped = replace(
        withdrawal("10.00", WithdrawalStatus.REFUSED),
        reason=stopped_before_payout(InvestorStatus.BLOCKED),
    )
    kind, notification_id, payload = notification(stopped)
    assert (kind, notification_id) == ("WithdrawalRefused", "WithdrawalRefused#inv-ada#wd-1")
    assert payload["reason"] == SHOWN_WHEN_STOPPED and "BLOCKED" not in str(payload)
    assert reason_shown_to_investor("the ledger refused it (tecPATH_PARTIAL)") == (
        "the ledger refused it (tecPATH_PARTIAL)"
    )
    kinds = {notification(withdrawal("1.00", status))[0] for status in WithdrawalStatus}
    assert len(kinds) == len(WithdrawalStatus)  # one notification per status


def test_income_goes_to_the_bank_once_only_where_the_investor_chose_it_and_may_withdraw() -> None:
    paid = {"investor_id": "inv-ada", "instrument_id": "SME-2027-A",
            "payment_date": "2026-12-15", "amount": "6.25"}  # fmt: skip
    active, bank = InvestorStatus.ACTIVE, IncomePayout.BANK
    out = income_withdrawal(paid, "CouponPaid", active, ACCOUNT, bank, MORNING)
    assert out is not None and (out.amount, out.account) == (Decimal("6.25"), ACCOUNT)
    assert out.withdrawal_id == income_withdrawal_id(
        "inv-ada", "CouponPaid", "SME-2027-A", "2026-12-15"
    )
    again = income_withdrawal(paid, "CouponPaid", active, ACCOUNT, bank, MORNING)
    assert again is not None and again.withdrawal_id == out.withdrawal_id  # once, replayed
    principal = income_withdrawal(paid, "PrincipalRepaid", active, ACCOUNT, bank, MORNING)
    assert principal is not None and principal.withdrawal_id != out.withdrawal_id
    kept_in_wallet = [
        (active, ACCOUNT, IncomePayout.WALLET),
        (InvestorStatus.BLOCKED, ACCOUNT, bank),
        (active, None, bank),
    ]
    for status, account, choice in kept_in_wallet:
        assert income_withdrawal(paid, "CouponPaid", status, account, choice, MORNING) is None
    with pytest.raises(ValueError, match="more than two decimals"):
        income_withdrawal({**paid, "amount": "1.001"}, "CouponPaid", active, ACCOUNT, bank, MORNING)
