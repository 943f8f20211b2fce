"""Webhooks through the HTTP layer: the local API Gateway serving the CDK stack's routes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from domain.webhooks import sign
from local.aws.platform import LocalAws


def post(aws: LocalAws, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{aws.api_url}{path}", data=body, method="POST",
        headers={"content-type": "application/json", **headers},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def signed(aws: LocalAws, body: bytes, secret_output: str, at: int | None = None) -> dict[str, str]:
    key = aws.client("secretsmanager").get_secret_value(SecretId=aws.stack.output(secret_output))
    timestamp = int(time.time()) if at is None else at
    return {
        "X-Drexfy-Timestamp": str(timestamp),
        "X-Drexfy-Signature": sign(key["SecretString"].encode(), timestamp, body),
    }


def test_webhooks_over_http(aws: LocalAws) -> None:
    from lambdas.records.tables import WebhookRecord

    body = json.dumps(
        {
            "event": "aml.cleared",
            "investor_id": f"inv-{uuid.uuid4().hex[:8]}",
            "case_id": "case-http",
            "occurred_at": "2026-11-26T10:00:00+00:00",
        }
    ).encode()
    headers = signed(aws, body, "KycWebhookSecretArn")

    assert post(aws, "/webhooks/kyc", body, headers)[0] == 202
    assert post(aws, "/webhooks/kyc", body, headers) == (
        409,
        {"error": "replayed", "reason": "this signature was already used"},
    )
    assert post(aws, "/webhooks/kyc", body, {})[1]["error"] == "unsigned"
    stale = signed(aws, body, "KycWebhookSecretArn", at=int(time.time()) - 600)
    assert post(aws, "/webhooks/kyc", body, stale)[1]["error"] == "stale"
    garbage = b'{"event": '
    status, answer = post(
        aws, "/webhooks/kyc", garbage, signed(aws, garbage, "KycWebhookSecretArn")
    )
    assert (status, answer["error"]) == (400, "not_json") and answer["reason"]
    cross = signed(aws, body, "PaymentsWebhookSecretArn")
    assert post(aws, "/webhooks/kyc", body, cross)[1]["error"] == "bad_signature"
    refused = [r for r in WebhookRecord.scan() if r.provider == "kyc" and r.outcome == "REJECTED"]
    assert {r.reason for r in refused} >= {"this signature was already used"}
