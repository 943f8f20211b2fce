"""What the webhook handlers keep: every request with its outcome, and the signatures used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError

from domain.errors import TransientFault
from domain.webhooks import FRESHNESS_SECONDS, WebhookRejected
from lambdas.tables import SignatureRecord, WebhookRecord


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
            outcome="ACCEPTED" if status_code < 300 else "REJECTED",
            status_code=status_code,
            reason=reason,
            detail_type=detail_type,
            event_id=event_id,
            body=body.decode("utf-8", errors="replace"),
            signature=signature,
        ).save()
    except PutError as error:
        raise TransientFault(f"webhook log did not accept request {request_id}: {error}") from error


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
        raise TransientFault(f"signature store: {error}") from error


def release_signature(signature: str) -> None:
    """The event did not reach the bus: the provider's retry with this signature must pass."""
    try:
        SignatureRecord(signature).delete()
    except DeleteError as error:
        raise TransientFault(f"signature store: {error}") from error
