"""Webhook handlers: verify (per provider format, lambdas/ingress/formats.py), validate, put on
the bus, answer 202 with the event id (or what the provider's format expects).

Every request is kept with its outcome. Nothing valid is answered 2xx before its event is on
the bus; a refused one gets a 4xx with the reason.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from domain.compliance import decision_time_refused
from domain.distribution import collection_time_refused
from domain.errors import TransientFault
from domain.platform import STABLECOIN_CURRENCY
from domain.purchase import Payment, over_purchase_maximum
from domain.webhooks import (
    COLLECTION_EVENTS,
    KYC_EVENTS,
    PAYMENT_EVENTS,
    WebhookRejected,
    detail_type_for,
)
from lambdas import platform_events
from lambdas.aws_clients import AwsRefused
from lambdas.config import settings
from lambdas.ingress.formats import (
    ADYEN,
    DREXFY,
    Answered,
    ProviderEvent,
    WebhookFormat,
)
from lambdas.ingress.models import (
    CollectionWebhook,
    KycWebhook,
    PaymentWebhook,
    PayoutWebhook,
    RefundWebhook,
)
from lambdas.records import instruments, payments, purchases, withdrawals
from lambdas.records import webhooks as webhook_records

logger = Logger(service="ingress")
ModelT = TypeVar("ModelT", bound=BaseModel)
SECRET_MAX_AGE_SECONDS = 300
REASON_MAX_CHARS = 1000  # a reason quotes the body's values, which can be huge


def _secret(secret_id: str) -> bytes:
    value = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_SECONDS)
    return value.encode() if isinstance(value, str) else bytes(value)


@logger.inject_lambda_context(clear_state=True)
def payments_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _receive(event, "payments", settings().payments_webhook_secret, _payment)


@logger.inject_lambda_context(clear_state=True)
def kyc_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _receive(event, "kyc", settings().kyc_webhook_secret, _kyc)


@logger.inject_lambda_context(clear_state=True)
def adyen_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Adyen's standard webhooks: payments, payouts and refunds, as the payments door takes
    them (lambdas/ingress/formats.py maps them)."""
    return _receive(event, "adyen", settings().adyen_webhook_secret, _payment, ADYEN)


@logger.inject_lambda_context(clear_state=True)
def collections_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _receive(event, "collections", settings().collections_webhook_secret, _collection)


class Accepted(NamedTuple):
    """What a verified, valid webhook puts on the bus, and the payment it announces if any."""

    source: str
    detail_type: str
    detail: dict[str, Any]
    announces: Payment | None = None


def _payment(body: dict[str, Any]) -> Accepted:
    detail_type = detail_type_for(str(body.get("event")), PAYMENT_EVENTS)
    if detail_type.startswith("Payout"):
        return _payout(body, detail_type)
    if detail_type.startswith("Refund"):
        return _refund(body, detail_type)
    model = _validated(body, PaymentWebhook)
    # Refused at the door, not accepted and refunded later: nothing is announced or minted.
    over = over_purchase_maximum(model.amount_decimal(), model.currency)
    if over is not None:
        raise WebhookRejected(422, "over_purchase_maximum", over)
    if not instruments.is_listed(model.instrument_id):
        raise WebhookRejected(
            422, "unknown_instrument", f"instrument {model.instrument_id} is not in the catalogue"
        )
    detail = model.model_dump(exclude={"event"})
    announced = Payment(
        model.payment_id,
        model.investor_id,
        model.instrument_id,
        model.units,
        model.amount_decimal(),
        model.currency,
    )
    return Accepted(platform_events.PAYMENTS_SOURCE, detail_type, detail, announced)


def _payout(body: dict[str, Any], detail_type: str) -> Accepted:
    """A payout's outcome, for a withdrawal we asked the provider to pay."""
    model = _validated(body, PayoutWebhook)
    withdrawal = withdrawals.find(model.withdrawal_id)
    asked = (
        (withdrawal.amount, STABLECOIN_CURRENCY)
        if withdrawal is not None and withdrawal.payout_requested
        else None
    )
    return _answer(
        model, detail_type, asked, f"payout was asked for withdrawal {model.withdrawal_id}"
    )


def _refund(body: dict[str, Any], detail_type: str) -> Accepted:
    """A refund's outcome, for a purchase whose refund we asked for."""
    model = _validated(body, RefundWebhook)
    purchase = purchases.find(model.purchase_id)
    asked = (
        (Decimal(purchase.amount or 0), purchase.currency)
        if purchase is not None and purchase.refund_requested
        else None
    )
    return _answer(model, detail_type, asked, f"refund was asked for purchase {model.purchase_id}")


def _answer(
    model: PayoutWebhook | RefundWebhook,
    detail_type: str,
    asked: tuple[Decimal, str] | None,
    what: str,
) -> Accepted:
    """The provider's answer, if we asked it for this, of that amount; refused otherwise."""
    if asked is None:
        kind = "payout" if isinstance(model, PayoutWebhook) else "refund"
        raise WebhookRejected(422, f"unknown_{kind}", f"no {what}")
    amount, currency = asked
    if Decimal(model.amount) != amount or model.currency != currency:
        said = f"{model.amount} {model.currency}"
        raise WebhookRejected(
            422, "amount_mismatch", f"{said} is not the {amount} {currency} asked"
        )
    detail = model.model_dump(mode="json", exclude={"event"}, exclude_none=True)
    return Accepted(platform_events.PAYMENTS_SOURCE, detail_type, detail)


def _kyc(body: dict[str, Any]) -> Accepted:
    model = _validated(body, KycWebhook)
    detail_type = detail_type_for(model.event, KYC_EVENTS)
    refused = decision_time_refused(model.occurred_at, datetime.now(UTC))
    if refused is not None:
        raise WebhookRejected(422, "future_decision", refused)
    detail = model.model_dump(mode="json", exclude={"event"})
    return Accepted(platform_events.KYC_SOURCE, detail_type, detail)


def _collection(body: dict[str, Any]) -> Accepted:
    model = _validated(body, CollectionWebhook)
    detail_type = detail_type_for(model.event, COLLECTION_EVENTS)
    refused = collection_time_refused(model.collected_at, datetime.now(UTC))
    if refused is not None:
        raise WebhookRejected(422, "future_collection", refused)
    detail = model.model_dump(mode="json", exclude={"event"})
    return Accepted(platform_events.COLLECTIONS_SOURCE, detail_type, detail)


def _validated(body: dict[str, Any], model: type[ModelT]) -> ModelT:
    try:
        return parse(event=body, model=model)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        raise WebhookRejected(422, "invalid", problems) from None


def _receive(
    event: dict[str, Any],
    provider: str,
    secret_id: str,
    convert: Any,
    form: WebhookFormat = DREXFY,
) -> dict[str, Any]:
    request_id = str(event.get("requestContext", {}).get("requestId") or uuid.uuid4())
    body = _raw_body(event)
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    logger.append_keys(request_id=request_id, provider=provider)
    received = Received(request_id, provider, body, headers)
    signature: str | None = None
    try:
        events = form.read(_secret(secret_id), headers, body, time.time())
        signature = events[0].claim if events else None
        accepted: list[Accepted] = [convert(e.body) for e in events]  # all valid, or none
        answered = Answered(
            [
                (one.detail_type, event_id)
                for provider_event, one in zip(events, accepted, strict=True)
                if (event_id := _claimed_and_published(provider_event, one, received, form))
            ]
        )
    except WebhookRejected as rejected:
        reason = _bounded(rejected.reason)
        # Not kept, the provider must send it again: a refusal nobody kept is a lost request.
        if not _keep(received, rejected.status, reason=reason, signature=signature):
            return _unavailable("the request could not be recorded")
        logger.warning("webhook refused", extra={"code": rejected.code, "reason": reason})
        return _response(rejected.status, {"error": rejected.code, "reason": reason})
    except TransientFault as fault:
        logger.exception("webhook not accepted: try again")
        _keep(received, 503, reason=str(fault), signature=signature)
        return _unavailable(str(fault))
    except AwsRefused as refused:  # a deployment fault: kept for operators, not told outside
        logger.exception("webhook not accepted: AWS refused a call")
        _keep(received, 503, reason=str(refused), signature=signature)
        return _unavailable("the platform cannot accept requests now")
    # On the bus (and so in its archive) already: a failed record is logged, not answered 5xx,
    # or the provider's retry would be refused as a replay of what was accepted.
    detail_types = ",".join(t for t, _ in answered.published) or None
    event_ids = ",".join(i for _, i in answered.published) or None
    _keep(received, 202, detail_type=detail_types, event_id=event_ids, signature=signature)
    logger.info("webhook accepted", extra={"detail_type": detail_types, "event_id": event_ids})
    status, content_type, text = form.answer(answered)
    return {"statusCode": status, "headers": {"content-type": content_type}, "body": text}


def _claimed_and_published(
    provider_event: ProviderEvent, accepted: Accepted, received: Received, form: WebhookFormat
) -> str | None:
    """The event id, once the event's claim is this request's; None for a duplicate the
    format acknowledges (a replay it does not is refused 409)."""
    try:
        webhook_records.claim_signature(
            provider_event.claim, received.provider, received.request_id, provider_event.keep_until
        )
    except WebhookRejected:
        if form.duplicates_acknowledged:
            return None
        raise
    return _publish(provider_event.claim, accepted, received.request_id)


class Received(NamedTuple):
    """A request as it arrived: what its record keeps (bounded unless it is accepted)."""

    request_id: str
    provider: str
    body: bytes
    headers: dict[str, str]  # names in lower case


def _keep(received: Received, status: int, **outcome: Any) -> bool:
    """Record the request and its answer; False (logged) if the records table failed."""
    request_id, provider, body, headers = received
    try:
        webhook_records.record_request(
            request_id, provider, body, status, headers=headers, **outcome
        )
    except Exception:  # any storage failure: the caller decides the answer
        logger.exception("webhook request not recorded", extra={"status": status})
        return False
    return True


def _unavailable(reason: str) -> dict[str, Any]:
    return _response(503, {"error": "unavailable", "reason": reason}, retry_after=5)


def _publish(signature: str, accepted: Accepted, request_id: str) -> str:
    try:
        if accepted.announces is not None:  # on record before the bus: Record deposit checks it
            payments.announce(accepted.announces, request_id)
        return platform_events.publish(
            accepted.detail_type, accepted.detail, source=accepted.source
        )
    except (TransientFault, AwsRefused):
        webhook_records.release_signature(signature)
        raise


def _bounded(reason: str) -> str:
    return reason if len(reason) <= REASON_MAX_CHARS else reason[:REASON_MAX_CHARS] + "…"


def _raw_body(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except ValueError:
            return str(raw).encode()
    return str(raw).encode()


def _response(status: int, body: dict[str, Any], retry_after: int | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}
