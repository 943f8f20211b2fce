"""Adyen's standard webhooks at their own door (POST /webhooks/adyen): each item verified with
the HMAC key, mapped to the canonical provider event and taken as the payments door takes it;
an item Adyen sends again is acknowledged and published once; an event code Drexfy has no use
for is acknowledged and ignored; a batch with one bad item is refused whole."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from domain import adyen
from domain.purchase import purchase_id_for
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.support.investors import onboard
from tests.support.waiting import wait_for
from tests.workflows.conftest import executions_for, new_investor_id


def hmac_key(aws: LocalAws) -> str:
    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("AdyenWebhookSecretArn")
    )
    return str(secret["SecretString"])


def item(
    event_code: str, reference: str, value: int, success: bool = True, **more: Any
) -> dict[str, Any]:
    return {
        "eventCode": event_code,
        "success": "true" if success else "false",
        "pspReference": more.pop("psp", f"PSP{uuid.uuid4().hex[:14].upper()}"),
        "merchantAccountCode": "DrexfyEU",
        "merchantReference": reference,
        "amount": {"value": value, "currency": "EUR"},
        "eventDate": datetime.now(UTC).isoformat(),
        "additionalData": {},
        **more,
    }


def notification(key: str, *items: dict[str, Any]) -> bytes:
    for one in items:
        one["additionalData"]["hmacSignature"] = adyen.hmac_signature(key, one)
    entries = [{"NotificationRequestItem": one} for one in items]
    return json.dumps({"live": "false", "notificationItems": entries}).encode()


def send(aws: LocalAws, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{aws.api_url}/webhooks/adyen", data=body, method="POST",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def kept(aws: LocalAws) -> list[Any]:
    from lambdas.records.tables import WebhookRecord

    return [r for r in WebhookRecord.scan(consistent_read=True) if r.provider == "adyen"]


def test_an_event_code_drexfy_has_no_use_for_is_acknowledged_and_kept(aws: LocalAws) -> None:
    key = hmac_key(aws)
    report = item("REPORT_AVAILABLE", "settlement_detail_report_batch_1.csv", 0)

    status, answer = send(aws, notification(key, report))

    assert (status, answer) == (202, "[accepted]")
    (record,) = [r for r in kept(aws) if report["pspReference"] in r.body]
    assert record.outcome == "ACCEPTED" and record.event_id is None


def test_a_bad_signature_refuses_the_whole_batch_with_the_reason(aws: LocalAws) -> None:
    key = hmac_key(aws)
    good = item("REPORT_AVAILABLE", "report-1", 0)
    tampered = item("REFUND", "purchase-x", 10000)
    body = json.loads(notification(key, good, tampered))
    body["notificationItems"][1]["NotificationRequestItem"]["amount"]["value"] = 1  # after signing

    status, answer = send(aws, json.dumps(body).encode())

    assert status == 401
    problem = json.loads(answer)
    assert problem["error"] == "bad_signature" and "notificationItems[1]" in problem["reason"]
    unsigned = item("REPORT_AVAILABLE", "report-2", 0)
    raw = json.dumps(
        {"live": "false", "notificationItems": [{"NotificationRequestItem": unsigned}]}
    )
    assert send(aws, raw.encode())[0] == 401


def test_a_payout_answer_for_no_payout_asked_is_refused_at_the_door(aws: LocalAws) -> None:
    key = hmac_key(aws)
    payout = item("PAYOUT_THIRDPARTY", "wd-nobody-asked-for", 5000)

    status, answer = send(aws, notification(key, payout))

    assert status == 422 and json.loads(answer)["error"] == "unknown_payout"


def test_an_adyen_payment_starts_a_purchase_once_however_often_adyen_sends_it(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    investor_id = new_investor_id()
    onboard(ledger, investor_id)
    key = hmac_key(aws)
    payment = item("AUTHORISATION", f"{investor_id}/SME-2027-A/2", 20000)
    body = notification(key, payment)

    first = send(aws, body)
    again = send(aws, body)  # Adyen did not see our answer: the same item, sent again

    assert first == (202, "[accepted]") and again == (202, "[accepted]")
    (execution,) = wait_for(lambda: executions_for(aws, payment["pspReference"]), 60)
    assert json.loads(execution["output"])["status"] == "DELIVERED", execution.get("output")
    from lambdas.records import purchases

    found = purchases.find(purchase_id_for(payment["pspReference"]))
    assert found is not None and (found.investor_id, found.units) == (investor_id, 2)
    accepted = [r for r in kept(aws) if payment["pspReference"] in r.body]
    assert [r.detail_type for r in accepted if r.event_id] == ["PaymentReceived"]
