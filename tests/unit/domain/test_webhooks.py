"""Webhook authentication: only the provider's fresh, untampered signature passes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.webhooks import (
    FRESHNESS_SECONDS,
    KYC_EVENTS,
    MAX_BODY_BYTES,
    WebhookRejected,
    detail_type_for,
    sign,
    verify,
)

SECRET = b"provider-secret"
NOW = 1_800_000_000.0
BODY = b'{"event":"kyc.approved","investor_id":"inv-1"}'


def test_a_fresh_signed_request_passes() -> None:
    signed = verify(SECRET, str(int(NOW)), sign(SECRET, int(NOW), BODY), BODY, NOW)
    assert signed.timestamp == int(NOW)
    assert signed.signature.startswith("v1=")


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "code"),
    [
        (None, "v1=00", BODY, "unsigned"),
        (str(int(NOW)), "", BODY, "unsigned"),
        ("yesterday", "v1=00", BODY, "bad_timestamp"),
        (str(int(NOW) - FRESHNESS_SECONDS - 1), None, BODY, "stale"),
        (str(int(NOW) + FRESHNESS_SECONDS + 1), None, BODY, "stale"),
        (str(int(NOW)), "v1=" + "0" * 64, BODY, "bad_signature"),
        (str(int(NOW)), None, b"x" * (MAX_BODY_BYTES + 1), "too_large"),
    ],
    ids=["no timestamp", "no signature", "bad timestamp", "stale", "future", "forged", "large"],
)
def test_every_refusal_says_why(
    timestamp: str | None, signature: str | None, body: bytes, code: str
) -> None:
    if signature is None and timestamp and timestamp.isdigit():
        signature = sign(SECRET, int(timestamp), body)
    with pytest.raises(WebhookRejected) as refused:
        verify(SECRET, timestamp, signature, body, NOW)
    assert refused.value.code == code
    assert refused.value.status in (401, 413)
    assert refused.value.reason


@given(st.binary(min_size=1, max_size=200), st.integers(0, 199), st.integers(1, 255))
def test_any_change_to_the_body_breaks_the_signature(body: bytes, at: int, flip: int) -> None:
    signature = sign(SECRET, int(NOW), body)
    tampered = bytearray(body)
    tampered[at % len(body)] ^= flip
    with pytest.raises(WebhookRejected) as refused:
        verify(SECRET, str(int(NOW)), signature, bytes(tampered), NOW)
    assert refused.value.code == "bad_signature"


def test_another_providers_secret_does_not_pass() -> None:
    signature = sign(b"the-other-provider", int(NOW), BODY)
    with pytest.raises(WebhookRejected):
        verify(SECRET, str(int(NOW)), signature, BODY, NOW)


def test_only_known_provider_events_become_platform_events() -> None:
    assert detail_type_for("aml.flagged", KYC_EVENTS) == "AmlFlagged"
    with pytest.raises(WebhookRejected) as refused:
        detail_type_for("kyc.maybe", KYC_EVENTS)
    assert refused.value.status == 422 and "kyc.maybe" in refused.value.reason
