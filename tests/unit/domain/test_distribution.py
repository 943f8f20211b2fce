"""A distribution pays each holder of record units x the per-unit amounts, holds a blocked
holder's amount, and is keyed per holder and payment date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import business_keys
from domain.cash_flows import CouponPeriod, terms_from
from domain.distribution import (
    BadDistributionId,
    DistributionState,
    DistributionStatus,
    EntitlementStatus,
    HolderPayment,
    NotAPaymentDate,
    collection_mint,
    collection_time_refused,
    distribution_for,
    distribution_id,
    due_periods,
    holder_notifications,
    holder_payment,
    is_final,
    parse_distribution_id,
    period_paid_on,
    retire_issuance,
    shortfall,
    status_after_run,
    status_on_taking,
    still_owed,
    take_back_units,
    total_of,
)
from domain.holders import HoldersOfRecord, Holding
from domain.platform import PlatformAccounts, SignerRole
from domain.withdrawal import IncomePayout

PERIOD = CouponPeriod(
    accrual_start=date(2026, 12, 15),
    accrual_end=date(2027, 6, 15),
    record_date=date(2027, 6, 14),
    payment_date=date(2027, 6, 15),
    accrual_fraction=Fraction(1, 2),
    outstanding_per_unit=Decimal("100.00"),
    coupon_per_unit=Decimal("2.63"),
    principal_per_unit=Decimal("25.00"),
)


def holders(*holdings: Holding) -> HoldersOfRecord:
    return HoldersOfRecord("SME-2027-A", "00AB", 90, holdings)


def test_each_holder_receives_units_times_the_per_unit_amounts() -> None:
    plan = distribution_for(
        holders(Holding("inv-ada", "rAda", 3), Holding("inv-bob", "rBob", 2, locked=True)),
        PERIOD,
        at_maturity=False,
    )
    ada, bob = plan.payments
    assert (ada.coupon, ada.principal, ada.amount) == (
        Decimal("7.89"),
        Decimal("75.00"),
        Decimal("82.89"),
    )
    assert not ada.held and bob.held and bob.amount == Decimal("55.26")
    assert (plan.total, plan.held) == (Decimal("138.15"), Decimal("55.26"))
    assert (plan.ledger_index, plan.record_date) == (90, date(2027, 6, 14))
    assert plan.key_for("inv-ada") == business_keys.distribution_payment(
        "SME-2027-A", date(2027, 6, 15), "inv-ada"
    )
    assert plan.key_for("inv-ada") == "distribution-SME-2027-A-2027-06-15#inv-ada"
    assert business_keys.subject_of(plan.key_for("inv-bob")) == "distribution-SME-2027-A-2027-06-15"


def test_the_company_must_cover_the_whole_distribution_held_amounts_included() -> None:
    plan = distribution_for(
        holders(Holding("inv-ada", "rAda", 3), Holding("inv-bob", "rBob", 2, locked=True)),
        PERIOD,
        at_maturity=True,
    )
    assert plan.at_maturity
    owed = still_owed(plan.payments)
    assert owed == plan.total, "held amounts are owed all the same"
    assert shortfall(owed, Decimal("138.15")) == Decimal(0)
    assert shortfall(owed, Decimal("100.00")) == Decimal("38.15")


@given(units=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=50))
def test_the_sum_over_holders_is_exactly_the_per_unit_amounts_times_the_units(
    units: list[int],
) -> None:
    plan = distribution_for(
        holders(*(Holding(f"inv-{n}", f"r{n}", u) for n, u in enumerate(units))),
        PERIOD,
        at_maturity=False,
    )
    per_unit = PERIOD.coupon_per_unit + PERIOD.principal_per_unit
    assert plan.total == per_unit * sum(units)
    assert all(p.amount == p.amount.quantize(Decimal("0.01")) for p in plan.payments)


# --- the distribution's life: ids, periods, payments, statuses ---------------------------------

ACCOUNTS = PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding")
TERMS = terms_from(
    {
        "instrument_id": "SME-2027-A",
        "unit_price": "100.00",
        "coupon_rate": "0.05",
        "day_count": "ACT/360",
        "payments_per_year": 4,
        "issue_date": "2026-01-01",
        "maturity": "2027-01-01",
        "business_day_convention": "MODIFIED_FOLLOWING",
    }
)


def test_a_distribution_id_names_the_instrument_and_the_payment_date() -> None:
    assert distribution_id("SME-2027-A", date(2027, 6, 15)) == "SME-2027-A:2027-06-15"
    assert parse_distribution_id("SME-2027-A:2027-06-15") == ("SME-2027-A", date(2027, 6, 15))
    with pytest.raises(BadDistributionId, match="is not <instrument>:<YYYY-MM-DD>"):
        parse_distribution_id("SME-2027-A:June")


def test_the_period_paid_on_a_date_and_whether_it_is_the_last() -> None:
    first = period_paid_on(TERMS, date(2026, 4, 1))
    assert (first.coupon_per_unit, first.principal_per_unit) == (Decimal("1.25"), 0)
    assert not is_final(TERMS, first)
    last = period_paid_on(TERMS, date(2027, 1, 4))  # 1 January is a TARGET2 holiday
    assert is_final(TERMS, last) and last.principal_per_unit == Decimal("100.00")
    with pytest.raises(NotAPaymentDate, match="pays nothing on 2026-04-02"):
        period_paid_on(TERMS, date(2026, 4, 2))


def test_the_daily_run_finds_payment_dates_due_within_the_catch_up_window() -> None:
    assert [p.payment_date for p in due_periods(TERMS, date(2026, 4, 1))] == [date(2026, 4, 1)]
    assert [p.payment_date for p in due_periods(TERMS, date(2026, 4, 8))] == [date(2026, 4, 1)]
    assert due_periods(TERMS, date(2026, 4, 9)) == []  # missed for a week: an operator runs it
    assert due_periods(TERMS, date(2026, 3, 31)) == []


def test_what_is_still_owed_counts_held_amounts_but_not_paid_ones() -> None:
    ada = HolderPayment("inv-ada", "rAda", 3, Decimal("3.75"), Decimal(0))
    bob = HolderPayment("inv-bob", "rBob", 2, Decimal("2.50"), Decimal(0), EntitlementStatus.HELD)
    paid_ada = ada.paid("HASH", 77)
    assert (paid_ada.status, paid_ada.tx_hash, paid_ada.ledger_index) == (
        EntitlementStatus.PAID, "HASH", 77,
    )  # fmt: skip
    assert total_of([ada, bob]) == Decimal("6.25")
    assert still_owed([ada, bob]) == Decimal("6.25")
    assert still_owed([paid_ada, bob]) == Decimal("2.50")
    assert status_after_run([paid_ada, bob]) is DistributionStatus.PAID  # the held wait
    assert status_after_run([ada, bob]) is DistributionStatus.APPROVED  # a run did not finish
    assert status_on_taking(pays_automatically=True) is DistributionStatus.APPROVED
    assert status_on_taking(pays_automatically=False) is DistributionStatus.AWAITING_APPROVAL


def test_the_ledger_transactions_of_a_holders_payment_and_of_maturity() -> None:
    ada = HolderPayment("inv-ada", "rAda", 3, Decimal("3.75"), Decimal("300.00"))
    payment = holder_payment("SME-2027-A:2027-01-01", ada, ACCOUNTS)
    assert payment.key == "distribution-SME-2027-A-2027-01-01#inv-ada"
    assert payment.role is SignerRole.COMPANY
    assert payment.tx["Destination"] == "rAda" and payment.tx["Account"] == "rCompany"
    assert payment.tx["Amount"] == {"currency": "EUR", "issuer": "rIssuer", "value": "303.75"}
    back = take_back_units("SME-2027-A:2027-01-01", ada, "00MPT", ACCOUNTS)
    assert back.key == "distribution-SME-2027-A-2027-01-01#inv-ada#take-back"
    assert back.tx["Holder"] == "rAda"
    assert back.tx["Amount"] == {"mpt_issuance_id": "00MPT", "value": "3"}
    retired = retire_issuance("SME-2027-A", "00MPT", ACCOUNTS)
    assert retired.tx == {
        "TransactionType": "MPTokenIssuanceDestroy",
        "Account": "rCompany",
        "MPTokenIssuanceID": "00MPT",
    }


def test_a_paid_holder_is_told_each_cash_flow_once() -> None:
    ada = HolderPayment("inv-ada", "rAda", 3, Decimal("3.75"), Decimal("300.00"))
    assert (
        holder_notifications("SME-2027-A:2027-01-01", ada, IncomePayout.BANK) == []
    )  # not paid yet
    told = holder_notifications("SME-2027-A:2027-01-01", ada.paid("HASH", 9), IncomePayout.BANK)
    assert [(kind, n_id) for kind, n_id, _ in told] == [
        ("CouponPaid", "CouponPaid#inv-ada#SME-2027-A:2027-01-01"),
        ("PrincipalRepaid", "PrincipalRepaid#inv-ada#SME-2027-A:2027-01-01"),
    ]
    assert told[1][2] == {
        "investor_id": "inv-ada", "instrument_id": "SME-2027-A", "payment_date": "2027-01-01",
        "units": 3, "amount": "300.00", "currency": "EUR", "tx_hash": "HASH",
        "income_payout": "BANK",  # what the Withdrawal workflow's rule filters on
    }  # fmt: skip
    coupon_only = HolderPayment("inv-bob", "rBob", 1, Decimal("1.25"), Decimal(0)).paid("H", 1)
    (coupon,) = holder_notifications("X-1:2026-04-01", coupon_only, IncomePayout.WALLET)
    assert coupon[0] == "CouponPaid" and coupon[2]["income_payout"] == "WALLET"


def test_a_recorded_distribution_summarises_without_holders_or_token() -> None:
    state = DistributionState(
        "SME-2027-A:2026-04-01", "SME-2027-A", date(2026, 4, 1), date(2026, 3, 31), 90,
        Decimal("1.25"), Decimal(0), Decimal("7.50"), 2, 6, False,
        DistributionStatus.AWAITING_APPROVAL, "distributions/x/holders.json",
        awaiting_token="SECRET-TOKEN",
    )  # fmt: skip
    summary = state.summary()
    assert summary["total"] == "7.50" and summary["status"] == "AWAITING_APPROVAL"
    assert "SECRET-TOKEN" not in str(summary)


def test_a_collection_is_minted_to_the_company_once_and_never_from_the_future() -> None:
    mint = collection_mint("col-7", Decimal("1250.40"), ACCOUNTS)
    assert mint.key == business_keys.collection("col-7") == "collection-col-7"
    assert (mint.role, mint.tx["Destination"]) == (SignerRole.ISSUER, "rCompany")
    assert mint.tx["Amount"] == {"currency": "EUR", "issuer": "rIssuer", "value": "1250.40"}
    now = datetime(2026, 8, 20, 12, tzinfo=UTC)
    assert collection_time_refused(now + timedelta(minutes=4), now) is None
    refused = collection_time_refused(now + timedelta(hours=1), now)
    assert refused is not None and "after now" in refused
