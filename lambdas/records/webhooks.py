"""What the webhook handlers keep: every request with its outcome, and the signatures used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError

from domain.webhooks import WebhookRejected, kept_request
from lambdas.aws_clients import dynamodb_fault
from lambdas.records.tables import SignatureRecord, WebhookRecord

# How long a webhook request is kept, then deleted by DynamoDB's TTL. The record is the raw
# request (an accepted one whole: investor ids, amounts, AML reasons), kept to answer a
# provider about what it sent and what it was told; such questions come with its redeliveries
# (days) or its monthly reconciliation, and a quarter covers both with a margin. What must
# last is kept elsewhere: the payment (Payments), the decisions (Audit), the events (the bus
# archive, for replays).
WEBHOOK_RECORD_DAYS = 90


def record_request(
    request_id: str,
    provider: str,
    body: bytes,
    status_code: int,
    *,
    reason: str | None = None,
    detail_type: str | None = None,
    event_id: str | None = None,
    signature: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Keep the request with its answer: all of an accepted one; of any other a bounded trace
    (SHA-256, size, the first bytes, the headers that matter: domain.webhooks.kept_request)."""
    kept = kept_request(body, headers or {}, accepted=status_code < 300)
    received_at = datetime.now(UTC)
    try:
        WebhookRecord(
            request_id,
            provider=provider,
            outcome=_outcome(status_code),
            status_code=status_code,
            reason=reason,
            detail_type=detail_type,
            event_id=event_id,
            body=kept.body,
            body_sha256=kept.sha256,
            body_size=kept.size,
            content_type=kept.content_type,
            timestamp_header=kept.timestamp,
            signature_present=kept.signature_present,
            signature=signature,
            received_at=received_at,
            expires_at=received_at + timedelta(days=WEBHOOK_RECORD_DAYS),
        ).save()
    except PutError as error:
        raise dynamodb_fault(f"webhook log did not accept request {request_id}", error) from error


def claim_signature(signature: str, provider: str, request_id: str, keep_until: int) -> None:
    """Refuse a signature (or another format's claim) seen before; it is kept until it could
    no longer be sent again (`keep_until`, unix seconds: past its freshness, say)."""
    expires = datetime.fromtimestamp(keep_until, UTC)
    try:
        SignatureRecord(
            signature, provider=provider, request_id=request_id, expires_at=expires
        ).save(condition=SignatureRecord.signature.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise WebhookRejected(409, "replayed", "this signature was already used") from None
        raise dynamodb_fault("signature store", error) from error


def release_signature(signature: str) -> None:
    """The event did not reach the bus: the provider's retry with this signature must pass."""
    try:
        SignatureRecord(signature).delete()
    except DeleteError as error:
        raise dynamodb_fault("signature store", error) from error


def _outcome(status_code: int) -> str:
    if status_code < 300:
        return "ACCEPTED"
    return "UNAVAILABLE" if status_code == 503 else "REJECTED"
