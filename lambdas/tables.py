"""DynamoDB tables as pynamodb models. Table names come from configuration, bound at import."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from lambdas.config import settings


def _now() -> datetime:
    return datetime.now(UTC)


class PurchaseRecord(Model):
    """One purchase, keyed by the id derived from the gateway's payment id."""

    class Meta:
        table_name = settings().purchases_table
        region = settings().region

    purchase_id = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute()
    investor_id = UnicodeAttribute()
    instrument_id = UnicodeAttribute()
    units = NumberAttribute()
    amount = UnicodeAttribute()  # a Decimal as text: DynamoDB numbers would come back as floats
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default_for_new=_now)
    updated_at = UTCDateTimeAttribute(default=_now)
