"""Adyen's standard webhooks: how an item proves it is Adyen's, and what it means to Drexfy.

Adyen POSTs `{"live": ..., "notificationItems": [{"NotificationRequestItem": {...}}]}` and signs
each item on its own (docs.adyen.com, "Verify HMAC signatures"): HMAC-SHA256 under the hex HMAC
key decoded to bytes, over `pspReference:originalReference:merchantAccountCode:merchantReference:
value:currency:eventCode:success` (an absent field is empty, `value` is in minor units, nothing
is escaped), sent base64 in the item's `additionalData.hmacSignature`. Nothing else in the item is
signed, and there is no timestamp: a replayed item is caught by its `claim`, the key Adyen
documents for spotting a notification it sent twice. Adyen expects `[accepted]` back.

A successful AUTHORISATION is an investor's payment. Its attribution is read from the signed
merchantReference Drexfy's frontend gives the payment when it creates it,
`<investor_id>/<instrument_id>/<units>` (ids `[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}`, so never a `/`;
units a positive whole number of at most 9 digits; Adyen takes at most 80 characters, which the
ids must keep the reference within), never from the unsigned additionalData: a captured item
cannot be re-attributed to another investor or instrument. A reference that does not parse is
refused (422). PAYOUT_* and PAIDOUT_REVERSED tell what became of a withdrawal's payout; REFUND*
what became of a purchase's refund. They map to the canonical provider events of Drexfy's own
webhook format (`domain.webhooks.PAYMENT_EVENTS`). Every other event code is acknowledged and
ignored: Adyen sends many, and resends whatever is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.webhooks import MAX_BODY_BYTES, WebhookRejected

ADYEN_ACCEPTED = "[accepted]"

# Decimals of the currencies Drexfy may see, as Adyen counts minor units
# (docs.adyen.com/development-resources/currency-codes). Adyen departs from ISO 4217 for a few
# (CLP, CVE, ISK...): those are left out rather than guessed.
CURRENCY_EXPONENTS = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "RON": 2,
    "BGN": 2,
    "CAD": 2,
    "AUD": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
}
_SIGNED_BEFORE_AMOUNT = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
)
_REQUIRED_TEXT = (
    "pspReference",
    "merchantAccountCode",
    "merchantReference",
    "eventCode",
    "eventDate",
)
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_UNITS = re.compile(r"[1-9][0-9]{0,8}")  # a positive whole number below a billion
_PAYOUT = ("payout_id", "withdrawal_id")
_REFUND = ("refund_id", "purchase_id")
# (event code, success) -> canonical event and the names its ids go by; success None: either.
_OUTCOMES: dict[tuple[str, bool | None], tuple[str, tuple[str, str]]] = {
    ("PAYOUT_THIRDPARTY", True): ("payout.paid", _PAYOUT),
    ("PAYOUT_THIRDPARTY", False): ("payout.failed", _PAYOUT),
    ("PAYOUT_DECLINE", None): ("payout.failed", _PAYOUT),
    ("PAYOUT_EXPIRE", None): ("payout.failed", _PAYOUT),
    ("PAIDOUT_REVERSED", None): ("payout.returned", _PAYOUT),
    ("REFUND", True): ("refund.succeeded", _REFUND),
    ("REFUND", False): ("refund.failed", _REFUND),
    ("REFUND_FAILED", None): ("refund.failed", _REFUND),
    ("REFUNDED_REVERSED", None): ("refund.failed", _REFUND),
}


@dataclass(frozen=True)
class AdyenItem:
    event_code: str
    success: bool
    psp_reference: str
    original_reference: str | None
    merchant_account: str
    merchant_reference: str
    amount: Decimal  # major units
    currency: str
    event_date: str  # as Adyen sent it
    reason: str | None
    additional_data: dict[str, str]

    @property
    def claim(self) -> str:
        """What Adyen documents as telling one notification from another."""
        return f"adyen:{self.psp_reference}:{self.event_code}:{'true' if self.success else 'false'}"


def signing_string(item: Mapping[str, Any]) -> str:
    amount = item.get("amount")
    money = amount if isinstance(amount, Mapping) else {}
    fields = [item.get(name) for name in _SIGNED_BEFORE_AMOUNT]
    fields += [
        money.get("value"),
        money.get("currency"),
        item.get("eventCode"),
        item.get("success"),
    ]
    return ":".join("" if field is None else str(field) for field in fields)


def hmac_signature(hmac_key_hex: str, item: Mapping[str, Any]) -> str:
    return _signature(_key(hmac_key_hex), item)


def read_notification(hmac_key_hex: str, body: bytes) -> list[AdyenItem]:
    """Every item of the body, each verified; WebhookRejected if any one is not right."""
    key = _key(hmac_key_hex)  # first: a broken deployment must show whatever the request is
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
    entries = _json_object(body).get("notificationItems")
    if not isinstance(entries, list) or not entries:
        raise WebhookRejected(422, "invalid", "notificationItems must be a non-empty list")
    return [_read_item(key, index, entry) for index, entry in enumerate(entries)]


def canonical(item: AdyenItem) -> tuple[str, dict[str, Any]] | None:
    """The canonical provider event the item is, or None for one Drexfy has no use for."""
    if item.event_code == "AUTHORISATION":
        return ("payment.succeeded", _payment(item)) if item.success else None
    code = item.event_code
    outcome = _OUTCOMES.get((code, item.success)) or _OUTCOMES.get((code, None))
    if outcome is None:
        return None
    event, (id_name, reference_name) = outcome
    body: dict[str, Any] = {
        id_name: item.psp_reference,
        reference_name: item.merchant_reference,
        "amount": _amount_text(item),
        "currency": item.currency,
        "occurred_at": item.event_date,
    }
    if item.reason:
        body["reason"] = item.reason
    return event, body


def _key(hmac_key_hex: str) -> bytes:
    key = bytes.fromhex(hmac_key_hex)  # ValueError if not hex: the deployment's fault
    if not key:
        raise ValueError("the Adyen HMAC key is empty")
    return key


def _signature(key: bytes, item: Mapping[str, Any]) -> str:
    # surrogatepass: a lone surrogate in the JSON must fail the signature, not raise ValueError
    message = signing_string(item).encode("utf-8", "surrogatepass")
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookRejected(400, "not_json", "body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "not_an_object", "body is not a JSON object")
    return payload


def _read_item(key: bytes, index: int, entry: object) -> AdyenItem:
    item = entry.get("NotificationRequestItem") if isinstance(entry, Mapping) else None
    if not isinstance(item, Mapping):
        raise _invalid(index, "NotificationRequestItem", "must be an object")
    _verify(key, index, item)  # before reading it: nothing unsigned is looked at further
    return _parse_item(index, item)


def _verify(key: bytes, index: int, item: Mapping[str, Any]) -> None:
    additional = item.get("additionalData")
    presented = additional.get("hmacSignature") if isinstance(additional, Mapping) else None
    if not isinstance(presented, str) or not presented:
        raise WebhookRejected(
            401, "unsigned", f"notificationItems[{index}] has no additionalData.hmacSignature"
        )
    expected = _signature(key, item).encode()
    if not hmac.compare_digest(expected, presented.encode("utf-8", "surrogatepass")):
        raise WebhookRejected(
            401, "bad_signature", f"notificationItems[{index}]: signature does not match"
        )


def _parse_item(index: int, item: Mapping[str, Any]) -> AdyenItem:
    text = {name: _required_text(index, item, name) for name in _REQUIRED_TEXT}
    success = item.get("success")
    if success not in ("true", "false"):
        raise _invalid(index, "success", 'must be "true" or "false"')
    amount, currency = _money(index, item.get("amount"))
    _check_date(index, text["eventDate"])
    return AdyenItem(
        event_code=text["eventCode"],
        success=success == "true",
        psp_reference=text["pspReference"],
        original_reference=_optional_text(index, item, "originalReference"),
        merchant_account=text["merchantAccountCode"],
        merchant_reference=text["merchantReference"],
        amount=amount,
        currency=currency,
        event_date=text["eventDate"],
        reason=_optional_text(index, item, "reason"),
        additional_data=_additional_data(item.get("additionalData")),
    )


def _required_text(index: int, item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid(index, name, "is required: a non-empty string")
    return value


def _optional_text(index: int, item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None or value == "":  # Adyen sends "" as readily as it leaves a field out
        return None
    if not isinstance(value, str):
        raise _invalid(index, name, "must be a string")
    return value


def _money(index: int, raw: object) -> tuple[Decimal, str]:
    if not isinstance(raw, Mapping):
        raise _invalid(index, "amount", "is required: an object with value and currency")
    value, currency = raw.get("value"), raw.get("currency")
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(index, "amount.value", "must be an integer, in minor units")
    if not isinstance(currency, str) or currency not in CURRENCY_EXPONENTS:
        raise _invalid(index, "amount.currency", f"{currency!r} is not a currency we know")
    # From text, not arithmetic: exact whatever the size, no context precision to round to.
    return Decimal(f"{value}e-{CURRENCY_EXPONENTS[currency]}"), currency


def _check_date(index: int, text: str) -> None:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(index, "eventDate", f"{text!r} is not an ISO 8601 date") from None


def _additional_data(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def _invalid(index: int, field: str, problem: str) -> WebhookRejected:
    return WebhookRejected(422, "invalid", f"notificationItems[{index}].{field} {problem}")


def _payment(item: AdyenItem) -> dict[str, Any]:
    parts = item.merchant_reference.split("/")
    if len(parts) != 3:
        raise _unattributed(item, "is not <investor_id>/<instrument_id>/<units>")
    investor_id, instrument_id, units = parts
    if not (_IDENTIFIER.fullmatch(investor_id) and _IDENTIFIER.fullmatch(instrument_id)):
        raise _unattributed(item, "names an investor or instrument id that is not one")
    if not _UNITS.fullmatch(units):
        raise _unattributed(item, f"has units {units!r}, not a positive whole number")
    return {
        "payment_id": item.psp_reference,
        "investor_id": investor_id,
        "instrument_id": instrument_id,
        "units": int(units),
        "amount": _amount_text(item),
        "currency": item.currency,
    }


def _unattributed(item: AdyenItem, problem: str) -> WebhookRejected:
    """A payment Drexfy cannot attribute is refused, to be seen, not ignored."""
    reference = item.merchant_reference
    return WebhookRejected(
        422, "invalid", f"payment {item.psp_reference}: merchantReference {reference!r} {problem}"
    )


def _amount_text(item: AdyenItem) -> str:
    return f"{item.amount:.{CURRENCY_EXPONENTS[item.currency]}f}"
