"""Webhooks at the handler: authenticated, validated, on the bus, kept; refusals explained."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.webhooks import KEPT_PREFIX_BYTES, MAX_BODY_BYTES, sign
from local.aws.platform import LocalAws
from tests.investors.conftest import notifications  # noqa: F401 (fixture)


def secret(aws: LocalAws, name: str) -> bytes:
    value = aws.client("secretsmanager").get_secret_value(SecretId=aws.stack.output(name))
    return str(value["SecretString"]).encode()


def request(
    body: bytes, *, key: bytes | None, timestamp: int | None = None, base64_body: bool = False
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the gateway hands it to the Lambda."""
    sent_at = int(time.time()) if timestamp is None else timestamp
    try:
        body.decode()
    except UnicodeDecodeError:
        base64_body = True  # as API Gateway hands over a body that is not text
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["X-Drexfy-Timestamp"] = str(sent_at)
        headers["X-Drexfy-Signature"] = sign(key, sent_at, body)
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks",
        "rawPath": "/webhooks",
        "headers": headers,
        "requestContext": {"requestId": uuid.uuid4().hex, "http": {"method": "POST"}},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


def call(handler_name: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from lambdas.ingress import webhooks
    from local.aws.lambda_runtime import InvocationContext

    context = InvocationContext(
        "webhooks", "arn:aws:lambda:eu-west-1:123456789012:function:w", 256, 30
    )
    response = getattr(webhooks, handler_name)(event, context)
    return int(response["statusCode"]), json.loads(response["body"])


def payment_body(**overrides: Any) -> bytes:
    body = {
        "event": "payment.succeeded",
        "payment_id": f"pay-{uuid.uuid4().hex[:12]}",
        "investor_id": "inv-webhook",
        "instrument_id": "SME-2027-A",
        "units": 1,
        "amount": "100.00",
        "currency": "EUR",
        **overrides,
    }
    return json.dumps(body).encode()


def kept(request_id: str) -> Any:
    from lambdas.records.tables import WebhookRecord

    return WebhookRecord.get(request_id, consistent_read=True)


@pytest.fixture(autouse=True)
def catalogue_listed(platform: dict[str, Any]) -> None:
    """The catalogue's instruments in the Instruments table (the payments webhook refuses a
    payment for any other)."""


def test_a_signed_payment_goes_on_the_bus(aws: LocalAws) -> None:
    key = secret(aws, "PaymentsWebhookSecretArn")
    event = request(payment_body(), key=key, base64_body=True)

    status, body = call("payments_handler", event)

    assert status == 202 and body["detail_type"] == "PaymentReceived" and body["event_id"]
    record = kept(event["requestContext"]["requestId"])
    assert (record.outcome, record.event_id) == ("ACCEPTED", body["event_id"])


def test_an_accepted_payment_is_announced_before_its_event_and_cannot_change(
    aws: LocalAws,
) -> None:
    """Record deposit takes a payment only as announced here; the same payment id announced
    again with other details is refused at the door and kept."""
    from decimal import Decimal

    from domain.purchase import Payment
    from lambdas.records import payments as payment_announcements

    key = secret(aws, "PaymentsWebhookSecretArn")
    payment_id = f"pay-{uuid.uuid4().hex[:12]}"
    first = payment_body(payment_id=payment_id, units=3, amount="300.00")

    sent_at = int(time.time())
    assert call("payments_handler", request(first, key=key, timestamp=sent_at))[0] == 202
    assert payment_announcements.find(payment_id) == Payment(
        payment_id, "inv-webhook", "SME-2027-A", 3, Decimal("300.00"), "EUR"
    )
    retry = request(first, key=key, timestamp=sent_at - 1)  # signed anew
    assert call("payments_handler", retry)[0] == 202, "a provider's retry"
    conflicting = request(payment_body(payment_id=payment_id, units=30), key=key)
    status, body = call("payments_handler", conflicting)
    assert (status, body["error"]) == (409, "payment_conflict")
    assert kept(conflicting["requestContext"]["requestId"]).outcome == "REJECTED"
    assert payment_announcements.find(payment_id).units == 3  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"key": None}, 401, "unsigned"),
        ({"timestamp": int(time.time()) - 3600}, 401, "stale"),
        ({"key": b"not-the-secret"}, 401, "bad_signature"),
        ({"body": b"{not json"}, 400, "not_json"),
        ({"body": b"[1, 2]"}, 400, "not_an_object"),
        ({"body": payment_body(amount=100.5)}, 422, "invalid"),
        ({"body": payment_body(units=0)}, 422, "invalid"),
        ({"body": payment_body(event="payment.maybe")}, 422, "unknown_event"),
        ({"body": payment_body(extra="field")}, 422, "invalid"),
    ],
    ids=[
        "unsigned",
        "stale",
        "forged",
        "not json",
        "not object",
        "float amount",
        "no units",
        "unknown event",
        "unknown field",
    ],
)
def test_a_refused_webhook_gets_its_reason_and_is_kept(
    aws: LocalAws, change: dict[str, Any], status: int, error: str
) -> None:
    key = change.get("key", secret(aws, "PaymentsWebhookSecretArn"))
    event = request(change.get("body", payment_body()), key=key, timestamp=change.get("timestamp"))

    got_status, body = call("payments_handler", event)

    assert (got_status, body["error"]) == (status, error)
    assert body["reason"]
    record = kept(event["requestContext"]["requestId"])
    assert (record.outcome, record.status_code, record.reason) == (
        "REJECTED",
        status,
        body["reason"],
    )
    assert record.body == change.get("body", record.body.encode()).decode()


@pytest.mark.parametrize(
    ("size", "key", "status", "error"),
    [
        (MAX_BODY_BYTES, b"not-the-secret", 401, "bad_signature"),
        (MAX_BODY_BYTES, None, 401, "unsigned"),
        (MAX_BODY_BYTES + 1, b"not-the-secret", 413, "too_large"),
    ],
    ids=["forged", "unsigned", "over the limit"],
)
def test_a_refused_body_of_256_kib_is_kept_as_a_bounded_record(
    aws: LocalAws, size: int, key: bytes | None, status: int, error: str
) -> None:
    """A flood of large refused bodies is not stored in full: its hash, size, first 2 KiB and
    the headers that matter are enough to tell what it was."""
    padding = b"x" * (size - len(payment_body()) - len(b', "padding": ""'))
    body = payment_body()[:-1] + b', "padding": "' + padding + b'"}'
    assert len(body) == size
    event = request(body, key=key)

    got_status, answer = call("payments_handler", event)

    assert (got_status, answer["error"]) == (status, error)
    record = kept(event["requestContext"]["requestId"])
    assert (record.outcome, record.status_code, record.reason) == (
        "REJECTED",
        status,
        answer["reason"],
    )
    assert record.body == body[:KEPT_PREFIX_BYTES].decode()
    assert (record.body_sha256, record.body_size) == (hashlib.sha256(body).hexdigest(), size)
    assert record.content_type == "application/json"
    assert record.signature_present is (key is not None)
    assert record.timestamp_header == event["headers"].get("X-Drexfy-Timestamp")
    assert record.signature is None  # never verified: nothing of it is kept
    assert len(json.dumps(record.serialize())) < 4 * 1024


def test_an_accepted_payment_is_kept_whole_with_its_hash(aws: LocalAws) -> None:
    body = payment_body()
    event = request(body, key=secret(aws, "PaymentsWebhookSecretArn"))

    assert call("payments_handler", event)[0] == 202

    record = kept(event["requestContext"]["requestId"])
    assert record.body == body.decode()
    assert (record.body_sha256, record.body_size) == (hashlib.sha256(body).hexdigest(), len(body))
    assert record.signature_present and record.signature.startswith("v1=")


@pytest.mark.parametrize(
    ("change", "error", "reason"),
    [
        (
            {"instrument_id": "SME-2099-Z"},
            "unknown_instrument",
            "SME-2099-Z is not in the catalogue",
        ),
        (
            {"units": 1001, "amount": "100100.00"},
            "over_purchase_maximum",
            "over the per-purchase maximum of 100000.00 EUR",
        ),
        ({"units": 10**8, "amount": "10000000000.00"}, "over_purchase_maximum", "maximum"),
    ],
    ids=["unknown instrument", "just over the maximum", "far over the maximum"],
)
def test_a_payment_the_platform_cannot_sell_is_refused_at_the_door_and_kept(
    aws: LocalAws, change: dict[str, Any], error: str, reason: str
) -> None:
    """Refused with a 4xx, not accepted and refunded later: not announced, so Record deposit
    would take no event for it either."""
    from lambdas.records import payments as payment_announcements

    payment_id = f"pay-{uuid.uuid4().hex[:12]}"
    event = request(
        payment_body(payment_id=payment_id, **change), key=secret(aws, "PaymentsWebhookSecretArn")
    )

    status, answer = call("payments_handler", event)

    assert (status, answer["error"]) == (422, error)
    assert reason in answer["reason"]
    record = kept(event["requestContext"]["requestId"])
    assert (record.outcome, record.status_code, record.reason) == (
        "REJECTED",
        422,
        answer["reason"],
    )
    assert payment_announcements.find(payment_id) is None


def test_a_payment_of_exactly_the_maximum_is_accepted(aws: LocalAws) -> None:
    from domain.purchase import MAX_PURCHASE_AMOUNT

    units = int(MAX_PURCHASE_AMOUNT / 100)  # SME-2027-A costs 100.00 a unit
    body = payment_body(units=units, amount=str(MAX_PURCHASE_AMOUNT))
    status, _ = call("payments_handler", request(body, key=secret(aws, "PaymentsWebhookSecretArn")))
    assert status == 202


def test_a_replayed_signature_is_refused(aws: LocalAws) -> None:
    event = request(payment_body(), key=secret(aws, "PaymentsWebhookSecretArn"))
    assert call("payments_handler", event)[0] == 202

    again = {**event, "requestContext": {"requestId": uuid.uuid4().hex}}
    status, body = call("payments_handler", again)

    assert (status, body["error"]) == (409, "replayed")


def test_when_the_bus_fails_the_caller_retries_with_the_same_signature(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.errors import TransientFault
    from lambdas import platform_events

    real = platform_events.publish
    monkeypatch.setattr(
        platform_events, "publish", lambda *a, **k: (_ for _ in ()).throw(TransientFault("down"))
    )
    event = request(payment_body(), key=secret(aws, "PaymentsWebhookSecretArn"))
    status, body = call("payments_handler", event)
    assert status == 503 and body["reason"] == "down"
    unavailable = kept(event["requestContext"]["requestId"])
    assert (unavailable.outcome, unavailable.status_code, unavailable.reason) == (
        "UNAVAILABLE",
        503,
        "down",
    )

    monkeypatch.setattr(platform_events, "publish", real)
    assert call("payments_handler", {**event, "requestContext": {"requestId": "retry-1"}})[0] == 202


def _records_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.errors import TransientFault
    from lambdas.records import webhooks as records

    def failing(*args: Any, **kwargs: Any) -> None:
        raise TransientFault("webhook log unavailable")

    monkeypatch.setattr(records, "record_request", failing)


def test_a_refusal_that_cannot_be_kept_is_answered_503_so_it_comes_again(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _records_down(monkeypatch)
    status, body = call("payments_handler", request(payment_body(), key=b"not-the-secret"))
    assert status == 503 and body == {
        "error": "unavailable",
        "reason": "the request could not be recorded",
    }


def test_an_accepted_webhook_stays_accepted_when_its_record_fails(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _records_down(monkeypatch)
    status, body = call(
        "payments_handler", request(payment_body(), key=secret(aws, "PaymentsWebhookSecretArn"))
    )
    assert status == 202 and body["event_id"]  # on the bus and in its archive: not lost


def test_a_kyc_webhook_onboards_the_investor(aws: LocalAws, platform: dict[str, Any]) -> None:
    from lambdas.records import investors as investor_records
    from tests.support.waiting import wait_for

    investor_id = f"inv-{uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {
            "event": "kyc.approved",
            "investor_id": investor_id,
            "case_id": "case-1",
            "occurred_at": "2026-11-26T10:00:00Z",
        }
    ).encode()

    status, answer = call("kyc_handler", request(body, key=secret(aws, "KycWebhookSecretArn")))

    assert (status, answer["detail_type"]) == (202, "KycApproved")
    wait_for(lambda: (r := investor_records.find(investor_id)) and r.status == "ACTIVE", 60)


@pytest.mark.parametrize("occurred_at", ["2026", 1764151200, "1764151200.5", "-3"])
def test_a_decision_time_given_as_a_number_is_refused_not_read_as_1970(
    aws: LocalAws, occurred_at: object
) -> None:
    body = json.dumps(
        {"event": "aml.flagged", "investor_id": "inv-x", "case_id": "case-1",
         "occurred_at": occurred_at}
    ).encode()  # fmt: skip

    status, answer = call("kyc_handler", request(body, key=secret(aws, "KycWebhookSecretArn")))

    assert (status, answer["error"]) == (422, "invalid")
    assert "occurred_at" in answer["reason"] and "ISO 8601" in answer["reason"]


def test_a_decision_dated_in_the_future_is_refused_at_the_door_and_kept(aws: LocalAws) -> None:
    """Dated 2999, it would make every later decision, an operator's block included, look
    superseded: refused with the reason, and the request kept."""
    from lambdas.records.tables import WebhookRecord

    body = json.dumps(
        {"event": "aml.cleared", "investor_id": "inv-x", "case_id": "case-future",
         "occurred_at": "2999-01-01T00:00:00Z"}
    ).encode()  # fmt: skip

    status, answer = call("kyc_handler", request(body, key=secret(aws, "KycWebhookSecretArn")))

    assert (status, answer["error"]) == (422, "future_decision")
    assert "2999-01-01" in answer["reason"]
    kept = [r for r in WebhookRecord.scan() if r.body == body.decode()]
    assert [(r.status_code, r.outcome) for r in kept] == [(422, "REJECTED")]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    provider=st.sampled_from(["payments_handler", "kyc_handler"]),
    body=st.one_of(
        st.binary(max_size=300),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"event": st.sampled_from(["payment.succeeded", "kyc.approved", "aml.flagged", "x"])},
            optional={
                "payment_id": st.text(max_size=70),
                "investor_id": st.text(max_size=70),
                "instrument_id": st.text(max_size=10),
                "case_id": st.text(max_size=10),
                "units": JSON_VALUES,
                "amount": JSON_VALUES,
                "currency": st.sampled_from(["EUR", "USD", ""]),
                "occurred_at": st.text(max_size=30),
            },
        ).map(lambda v: json.dumps(v).encode()),
    ),
    signed=st.sampled_from(["good", "none", "wrong", "stale"]),
)
def test_no_input_gets_a_5xx_and_every_refusal_is_explained_and_kept(
    aws: LocalAws, provider: str, body: bytes, signed: str
) -> None:
    """Not even a valid-looking one reaches the bus unsigned; signed ones may be accepted."""
    name = "PaymentsWebhookSecretArn" if provider == "payments_handler" else "KycWebhookSecretArn"
    key = {"good": secret(aws, name), "stale": secret(aws, name), "none": None, "wrong": b"x"}[
        signed
    ]
    timestamp = int(time.time()) - 3600 if signed == "stale" else None
    event = request(body, key=key, timestamp=timestamp)

    status, answer = call(provider, event)

    assert status < 500
    assert (status == 202) == ("event_id" in answer)
    if status != 202:
        assert answer["error"] and answer["reason"]
        assert signed == "good" or status in (401, 413)
    assert kept(event["requestContext"]["requestId"]).status_code == status


def test_a_kept_request_expires_after_the_retention_period(aws: LocalAws) -> None:
    """Accepted or refused, a request's record carries `expires_at` (epoch seconds), the
    Webhooks table's TTL attribute: DynamoDB deletes it WEBHOOK_RECORD_DAYS after receipt."""
    from datetime import UTC, datetime, timedelta

    from lambdas.records.webhooks import WEBHOOK_RECORD_DAYS

    key = secret(aws, "PaymentsWebhookSecretArn")
    accepted = request(payment_body(), key=key)
    refused = request(payment_body(units=0), key=key)
    before = datetime.now(UTC)
    assert call("payments_handler", accepted)[0] == 202
    assert call("payments_handler", refused)[0] == 422
    after = datetime.now(UTC)

    table = aws.stack.output("WebhooksTableName")
    dynamodb = aws.client("dynamodb")
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    retention = timedelta(days=WEBHOOK_RECORD_DAYS)
    for event in (accepted, refused):
        request_id = event["requestContext"]["requestId"]
        record = kept(request_id)
        expires = record.expires_at  # TTL keeps whole seconds
        assert int(expires.timestamp()) == int((record.received_at + retention).timestamp())
        assert before + retention - timedelta(seconds=1) <= expires <= after + retention
        item = dynamodb.get_item(TableName=table, Key={"request_id": {"S": request_id}})["Item"]
        assert int(item["expires_at"]["N"]) == int(record.expires_at.timestamp())


def test_an_aml_reason_is_kept_with_the_request_but_never_logged(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's record keeps it (until it expires); the function's log lines do not."""
    import io

    from lambdas.ingress import webhooks

    logged = io.StringIO()
    monkeypatch.setattr(webhooks.logger.registered_handler, "stream", logged)
    reason = f"sanctions list match {uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {"event": "aml.flagged", "investor_id": "inv-x", "case_id": "case-log",
         "occurred_at": "2999-01-01T00:00:00Z", "reason": reason}
    ).encode()  # fmt: skip

    event = request(body, key=secret(aws, "KycWebhookSecretArn"))
    status, _ = call("kyc_handler", event)

    assert status == 422 and "webhook refused" in logged.getvalue(), "the handler did log"
    assert reason not in logged.getvalue()
    assert reason in kept(event["requestContext"]["requestId"]).body
