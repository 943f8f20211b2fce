"""Webhook bodies as the providers send them, validated with Powertools' parser (pydantic)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)

from domain.bank_account import parse_iban
from domain.money import SUPPORTED_CURRENCIES, parse_amount

Identifier = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


def _amount(value: str) -> str:
    return str(parse_amount(value))


def _currency(value: str) -> str:
    if value not in SUPPORTED_CURRENCIES:
        raise ValueError(f"currency {value!r} is not one of {sorted(SUPPORTED_CURRENCIES)}")
    return value


def _iso_text(value: object) -> object:
    # pydantic reads a number, or a numeric string such as "2026", as Unix time: a decision
    # sent that way would date from 1970 and be silently superseded.
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("must be an ISO 8601 date-time (e.g. 2026-11-26T10:00Z)")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-11-26T10:00:00Z)")
    return value


# a decimal string: floats lost precision before they reached us
Amount = Annotated[StrictStr, AfterValidator(_amount)]
Currency = Annotated[StrictStr, AfterValidator(_currency)]
Moment = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_aware)]


class PaymentWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: StrictStr
    payment_id: Identifier
    investor_id: Identifier
    instrument_id: Identifier
    units: Annotated[StrictInt, Field(gt=0, lt=10**9)]
    amount: Amount
    currency: Currency

    def amount_decimal(self) -> Decimal:
        return Decimal(self.amount)


def _iban(value: str) -> str:
    return parse_iban(value)


class PayoutAccount(BaseModel):
    """The bank account the KYC provider verified as the investor's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iban: Annotated[StrictStr, Field(max_length=64), AfterValidator(_iban)]
    holder_name: Annotated[StrictStr, Field(min_length=1, max_length=140)]  # SEPA's limit


class KycWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: StrictStr
    investor_id: Identifier
    case_id: Identifier
    occurred_at: Moment
    reason: Annotated[StrictStr, Field(max_length=500)] | None = None
    payout_account: PayoutAccount | None = None  # with an approval: where withdrawals go


class CollectionWebhook(BaseModel):
    """Cash the SME pool's servicer collected from the pool's debtors and paid the company."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: StrictStr
    collection_id: Identifier
    sme_pool: Identifier
    amount: Amount
    currency: Currency
    collected_at: Moment

    def amount_decimal(self) -> Decimal:
        return Decimal(self.amount)


class PayoutWebhook(BaseModel):
    """The provider's word on a payout we asked for (a withdrawal's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: StrictStr
    payout_id: Identifier  # the provider's reference
    withdrawal_id: Identifier
    amount: Amount
    currency: Currency
    occurred_at: Moment
    reason: Annotated[StrictStr, Field(max_length=500)] | None = None


class RefundWebhook(BaseModel):
    """The provider's word on a refund we asked for (a purchase's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: StrictStr
    refund_id: Identifier
    purchase_id: Identifier
    amount: Amount
    currency: Currency
    occurred_at: Moment
    reason: Annotated[StrictStr, Field(max_length=500)] | None = None
