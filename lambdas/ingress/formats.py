"""Webhook formats: how each provider proves a request is its own, and the provider events it
carries, as canonical bodies (`{"event": "payout.paid", ...}`, domain/webhooks.py). The door
(lambdas/ingress/webhooks.py) validates, claims and publishes those the same way whoever sent
them.

- Drexfy's own format: `X-Drexfy-Timestamp` and `X-Drexfy-Signature` over the whole body, one
  event per request; a signature seen before is a replay, refused 409.
- Adyen's standard webhooks (domain/adyen.py): each item of a batch signed on its own, no
  timestamp; Adyen resends what it thinks was not received, so an item seen before is
  acknowledged again and published once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from domain import adyen
from domain.webhooks import (
    FRESHNESS_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    verify,
)

ADYEN_CLAIM_SECONDS = 30 * 24 * 3600  # Adyen retries an unanswered item for up to 30 days


@dataclass(frozen=True)
class ProviderEvent:
    """One event a request carries: its canonical body, the claim that makes it once, and
    until when (unix seconds) that claim must be kept."""

    body: dict[str, Any]
    claim: str
    keep_until: int


@dataclass(frozen=True)
class Answered:
    """What was published for a request: (detail type, event id) of each new event."""

    published: list[tuple[str, str]]


class WebhookFormat(Protocol):
    name: str
    duplicates_acknowledged: bool  # a claim seen before: accepted again (True) or 409 (False)

    def read(
        self, secret: bytes, headers: Mapping[str, str], body: bytes, now: float
    ) -> list[ProviderEvent]:
        """The request's events, if it is the provider's; else WebhookRejected. `headers`
        with lower-case names."""
        ...

    def answer(self, answered: Answered) -> tuple[int, str, str]:
        """(status, content type, body) for an accepted request."""
        ...


class DrexfyFormat:
    name = "drexfy"
    duplicates_acknowledged = False

    def read(
        self, secret: bytes, headers: Mapping[str, str], body: bytes, now: float
    ) -> list[ProviderEvent]:
        signed = verify(
            secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body, now
        )
        keep_until = signed.timestamp + 2 * FRESHNESS_SECONDS
        return [ProviderEvent(json_object(body), signed.signature, keep_until)]

    def answer(self, answered: Answered) -> tuple[int, str, str]:
        ((detail_type, event_id),) = answered.published
        return (
            202,
            "application/json",
            json.dumps({"event_id": event_id, "detail_type": detail_type}),
        )


class AdyenFormat:
    name = "adyen"
    duplicates_acknowledged = True

    def read(
        self, secret: bytes, headers: Mapping[str, str], body: bytes, now: float
    ) -> list[ProviderEvent]:
        events = []
        for item in adyen.read_notification(secret.decode("ascii"), body):
            mapped = adyen.canonical(item)
            if mapped is not None:  # an event code Drexfy has no use for: acknowledged
                event, fields = mapped
                claim = item.claim
                events.append(
                    ProviderEvent({"event": event, **fields}, claim, int(now) + ADYEN_CLAIM_SECONDS)
                )
        return events

    def answer(self, answered: Answered) -> tuple[int, str, str]:
        # Adyen reads the body: "[accepted]" is the answer it documents.
        return 202, "text/plain", adyen.ADYEN_ACCEPTED


def json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deeply
        raise WebhookRejected(400, "not_json", f"body is not JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise WebhookRejected(400, "not_an_object", "body must be a JSON object")
    return parsed


DREXFY = DrexfyFormat()
ADYEN = AdyenFormat()
