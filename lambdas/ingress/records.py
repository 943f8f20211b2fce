"""What the webhook handlers keep: every request with its outcome, and the signatures used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError

from domain.webhooks import FRESHNESS_SECONDS, MAX_BODY_BYTES, WebhookRejected
from lambdas.aws_clients import dynamodb_fault
from lambdas.tables import SignatureRecord, WebhookRecord

# A DynamoDB item holds at most 400 KB: a body over the limit is kept cut, with its size.
KEPT_BODY_BYTES = MAX_BODY_BYTES


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
) -> None:
    try:
        WebhookRecord(
            request_id,
            provider=provider,
            outcome=_outcome(status_code),
            status_code=status_code,
            reason=reason,
            detail_type=detail_type,
            event_id=event_id,
            body=kept_body(body),
            signature=signature,
        ).save()
    except PutError as error:
        raise dynamodb_fault(f"webhook log did not accept request {request_id}", error) from error


def kept_body(body: bytes) -> str:
    """The body as text; cut to KEPT_BODY_BYTES (in UTF-8, where each undecodable byte takes
    three) with a note of its size."""
    text = body.decode("utf-8", errors="replace")
    encoded = text.encode()
    if len(encoded) <= KEPT_BODY_BYTES:
        return text
    head = encoded[:KEPT_BODY_BYTES].decode("utf-8", errors="ignore")
    return f"{head}… [cut: {len(body)} bytes received]"


def claim_signature(signature: str, provider: str, request_id: str, sent_at: int) -> None:
    """Refuse a signature seen before; it is kept until it could no longer be fresh anyway."""
    expires = datetime.fromtimestamp(sent_at, UTC) + timedelta(seconds=2 * FRESHNESS_SECONDS)
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
