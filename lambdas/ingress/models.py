"""Webhook bodies as the providers send them, validated with Powertools' parser (pydantic)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from domain.money import SUPPORTED_CURRENCIES, parse_amount

Identifier = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class PaymentWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: StrictStr
    payment_id: Identifier
    investor_id: Identifier
    instrument_id: Identifier
    units: Annotated[StrictInt, Field(gt=0, lt=10**9)]
    amount: StrictStr  # a decimal string: floats lost precision before they reached us
    currency: StrictStr

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str) -> str:
        return str(parse_amount(value))

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in SUPPORTED_CURRENCIES:
            raise ValueError(f"currency {value!r} is not one of {sorted(SUPPORTED_CURRENCIES)}")
        return value

    def amount_decimal(self) -> Decimal:
        return Decimal(self.amount)


class KycWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: StrictStr
    investor_id: Identifier
    case_id: Identifier
    occurred_at: datetime
    reason: Annotated[StrictStr, Field(max_length=500)] | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        # pydantic reads a number, or a numeric string such as "2026", as Unix time: a decision
        # sent that way would date from 1970 and be silently superseded.
        if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
            raise ValueError("occurred_at must be an ISO 8601 date-time (e.g. 2026-11-26T10:00Z)")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a time zone (e.g. 2026-11-26T10:00:00Z)")
        return value
