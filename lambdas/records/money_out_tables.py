"""The tables of money paid out to investors after a sale, as pynamodb models: distributions and
their entitlements (coupons, principal), and withdrawals (lambdas/records/tables.py has the
rest, and how a model finds its table)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from lambdas.records.tables import RecordModel, table_meta, utc_now


class DistributionRecord(RecordModel):
    """One payment date of an instrument: its totals, holders' ledger and status."""

    Meta = table_meta("distributions_table")

    distribution_id = UnicodeAttribute(hash_key=True)  # <instrument>:<payment date>
    instrument_id = UnicodeAttribute()
    payment_date = UnicodeAttribute()
    record_date = UnicodeAttribute()
    ledger_index = NumberAttribute()  # the validated ledger the holders were read from
    coupon_per_unit = UnicodeAttribute()  # Decimals as text
    principal_per_unit = UnicodeAttribute()
    total = UnicodeAttribute()
    holders = NumberAttribute()
    units = NumberAttribute()
    at_maturity = BooleanAttribute(default=False)
    status = UnicodeAttribute()
    approval_token = UnicodeAttribute(null=True)  # the workflow's task token, while it waits
    approved_by = UnicodeAttribute(null=True)
    items_key = UnicodeAttribute()  # the holders' list in the servicing bucket (the Map's items)
    report_key = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default_for_new=utc_now)
    updated_at = UTCDateTimeAttribute(default=utc_now)


class EntitlementRecord(RecordModel):
    """What one holder is owed on one payment date, and its payment."""

    Meta = table_meta("entitlements_table")

    distribution_id = UnicodeAttribute(hash_key=True)
    investor_id = UnicodeAttribute(range_key=True)
    address = UnicodeAttribute()
    units = NumberAttribute()
    coupon = UnicodeAttribute()  # Decimals as text
    principal = UnicodeAttribute()
    status = UnicodeAttribute()  # domain.distribution.EntitlementStatus
    tx_hash = UnicodeAttribute(null=True)
    ledger_index = NumberAttribute(null=True)
    units_taken_back = NumberAttribute(null=True)  # at maturity, once repaid: counted once
    updated_at = UTCDateTimeAttribute(default=utc_now)


class WithdrawalsByInvestor(GlobalSecondaryIndex["WithdrawalRecord"]):
    """An investor's withdrawals, in the order they were asked for."""

    class Meta:
        index_name = "by-investor"
        projection = AllProjection()

    investor_id = UnicodeAttribute(hash_key=True)
    requested_at = UnicodeAttribute(range_key=True)  # ISO 8601: sorts as it reads


class WithdrawalRecord(RecordModel):
    """One withdrawal: the amount, the account it goes to, and what became of it."""

    Meta = table_meta("withdrawals_table")

    withdrawal_id = UnicodeAttribute(hash_key=True)
    investor_id = UnicodeAttribute()
    by_investor = WithdrawalsByInvestor()
    requested_at = UnicodeAttribute()
    amount = UnicodeAttribute()  # a Decimal as text
    status = UnicodeAttribute()  # domain.withdrawal.WithdrawalStatus
    reason = UnicodeAttribute(null=True)
    iban = UnicodeAttribute()  # the payout account verified at KYC, as it was when asked
    holder_name = UnicodeAttribute()
    payout_requested = BooleanAttribute(default=False)  # asked: its answer may come any moment
    payout_event_id = UnicodeAttribute(null=True)  # PayoutRequested is on the bus
    payout_outcome = UnicodeAttribute(null=True)  # domain.withdrawal.PayoutOutcome
    redemption_hash = UnicodeAttribute(null=True)
    reissue_hash = UnicodeAttribute(null=True)
    paid_out_at = UTCDateTimeAttribute(null=True)  # the provider's times: a reconciliation's
    returned_at = UTCDateTimeAttribute(null=True)  # cut-off counts what it settled by then
    updated_at = UTCDateTimeAttribute(default=utc_now)


class WithdrawalDayRecord(RecordModel):
    """What an investor has withdrawn on one UTC day, in cents: the daily limit's counter. It
    lives in the withdrawals table under `day#<investor>#<date>`, outside the investor index."""

    Meta = table_meta("withdrawals_table")

    withdrawal_id = UnicodeAttribute(hash_key=True)
    total_cents = NumberAttribute(default=0)


class IncomePayoutRecord(RecordModel):
    """Where an investor chose their coupons and principal to go (domain.withdrawal.
    IncomePayout). It lives in the withdrawals table under `income#<investor>`, outside the
    investor index: the frontend API, which keeps withdrawals, keeps this too."""

    Meta = table_meta("withdrawals_table")

    withdrawal_id = UnicodeAttribute(hash_key=True)
    income_payout = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute(default=utc_now)
