"""Webhooks from the payment gateway and the KYC/AML provider: how a request proves it is theirs.

Each provider signs `<timestamp>.<raw body>` with HMAC-SHA256 under its own secret and sends
`X-Drexfy-Timestamp: <unix seconds>` and `X-Drexfy-Signature: v1=<hex>`. A request older (or
newer) than five minutes is refused, and so is a signature seen before: a captured request
cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

FRESHNESS_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024
TIMESTAMP_HEADER = "x-drexfy-timestamp"
SIGNATURE_HEADER = "x-drexfy-signature"
SIGNATURE_VERSION = "v1"
# What is kept of a request that was not accepted: enough for an operator to see what it was,
# never the whole of it (a flood of 256 KiB bodies would otherwise be stored, and paid for,
# in full). An accepted body is small, valid and the provider's: it is kept whole.
KEPT_PREFIX_BYTES = 2048
KEPT_HEADER_CHARS = 100

KYC_EVENTS = {
    "kyc.approved": "KycApproved",
    "kyc.rejected": "KycRejected",
    "aml.flagged": "AmlFlagged",
    "aml.cleared": "AmlCleared",
}
# The payment provider: money in (a purchase's payment), and what became of money we asked it
# to send out (a withdrawal's payout, a purchase's refund).
PAYMENT_EVENTS = {
    "payment.succeeded": "PaymentReceived",
    "payout.paid": "PayoutPaid",
    "payout.failed": "PayoutFailed",
    "payout.returned": "PayoutReturned",
    "refund.succeeded": "RefundSucceeded",
    "refund.failed": "RefundFailed",
}
# The SME pool's servicer: cash collected from the pool's debtors, paid to the company.
COLLECTION_EVENTS = {"collection.received": "CollectionReceived"}


class WebhookRejected(Exception):
    """The request is refused; `status` and `code` go back to the caller with the reason."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class SignedRequest:
    timestamp: int
    signature: str


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The header value a provider sends (also what tests and the demo sign with)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify(
    secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> SignedRequest:
    """The request's signature, if it is the provider's and fresh; else WebhookRejected."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
    if not timestamp or not signature:
        raise WebhookRejected(
            401, "unsigned", f"headers {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
        )
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise WebhookRejected(401, "bad_timestamp", f"{TIMESTAMP_HEADER} must be unix seconds")
    sent_at = int(timestamp)
    if abs(now - sent_at) > FRESHNESS_SECONDS:
        raise WebhookRejected(
            401, "stale", f"timestamp {sent_at} is more than {FRESHNESS_SECONDS}s from now"
        )
    presented = signature.strip().encode("utf-8", "surrogatepass")  # str compare needs ASCII
    if not hmac.compare_digest(sign(secret, sent_at, body).encode(), presented):
        raise WebhookRejected(401, "bad_signature", "signature does not match the body")
    return SignedRequest(sent_at, signature.strip())


def detail_type_for(provider_event: str, known: dict[str, str]) -> str:
    try:
        return known[provider_event]
    except KeyError:
        raise WebhookRejected(
            422, "unknown_event", f"event {provider_event!r} is not one of {sorted(known)}"
        ) from None


@dataclass(frozen=True)
class KeptRequest:
    """What the webhook log keeps of a request: the body whole if it was accepted, else its
    first KEPT_PREFIX_BYTES; always its SHA-256 and size, and the headers that matter."""

    body: str
    sha256: str
    size: int
    content_type: str | None
    timestamp: str | None  # the timestamp header as sent
    signature_present: bool  # the signature's value is not kept: it is no use once refused


def kept_request(body: bytes, headers: Mapping[str, str], *, accepted: bool) -> KeptRequest:
    """`headers` with lower-case names, as the handler reads them."""
    try:  # an accepted body is JSON, so UTF-8 but for an odd UTF-16 one: that one is cut too
        text = body.decode("utf-8") if accepted else None
    except UnicodeDecodeError:
        text = None
    if text is None:
        text = body[:KEPT_PREFIX_BYTES].decode("utf-8", errors="replace")
    return KeptRequest(
        body=text,
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        content_type=_header(headers, "content-type"),
        timestamp=_header(headers, TIMESTAMP_HEADER),
        signature_present=SIGNATURE_HEADER in headers,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else value[:KEPT_HEADER_CHARS]
