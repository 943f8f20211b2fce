"""The embedded AWS as a server: started by project code on a free loopback port."""

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from domain.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from local.processes import start_module
from tests.support.waiting import wait_for


def test_the_server_runs_the_workflow_and_stops_cleanly(tmp_path: Path) -> None:
    state_file = tmp_path / "aws.json"
    server = start_module(
        "local.aws", ["--port", "0", "--state-file", str(state_file)], "local aws ready"
    )
    try:
        endpoint = server.field("endpoint")
        assert endpoint.startswith("http://127.0.0.1:")
        state = json.loads(state_file.read_text())
        assert state["endpoint_url"] == endpoint
        outputs = state["stack"]["outputs"]
        api_url, notifications_url = state["api_url"], state["notifications_url"]
        assert api_url == server.field("api") == outputs["ApiUrl"]
        assert notifications_url == server.field("notifications")
        assert api_url.startswith("http://127.0.0.1:")
        assert notifications_url.startswith("http://127.0.0.1:")
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(api_url + "/no-such-route", timeout=10)
        assert not_found.value.code == 404
        assert json.loads(not_found.value.read()) == {"message": "Not Found"}

        def client(service: str):  # type: ignore[no-untyped-def]
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name="eu-west-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        # The instrument is in the catalogue (the webhook refuses any other at the door); the
        # bare server has no ledger bootstrapped, so its issuance id is a stand-in.
        dynamodb = client("dynamodb")
        (instruments,) = [t for t in dynamodb.list_tables()["TableNames"] if "Instruments" in t]
        dynamodb.put_item(
            TableName=instruments,
            Item={
                "instrument_id": {"S": "SME-2027-A"},
                "issuance_id": {"S": "00" * 24},
                "name": {"S": "Iberian SME Receivables 2027 Senior A"},
                "unit_price": {"S": "100.00"},
                "currency": {"S": "EUR"},
                "tranche_units": {"N": "50000"},
                "units_reserved": {"N": "0"},
                "units_sold": {"N": "0"},
                "units_available": {"N": "50000"},
                "status": {"S": "OPEN"},
            },
        )
        # Through the door, as the gateway sends it: a bus event alone would move no money.
        body = json.dumps(
            {
                "event": "payment.succeeded",
                "payment_id": "pay-server-1",
                "investor_id": "inv-1",
                "instrument_id": "SME-2027-A",
                "units": 1,
                "amount": "100.00",
                "currency": "EUR",
            }
        ).encode()
        secret = client("secretsmanager").get_secret_value(
            SecretId=outputs["PaymentsWebhookSecretArn"]
        )["SecretString"]
        sent_at = int(time.time())
        request = urllib.request.Request(
            api_url + "/webhooks/payments",
            data=body,
            method="POST",
            headers={
                "content-type": "application/json",
                TIMESTAMP_HEADER: str(sent_at),
                SIGNATURE_HEADER: sign(secret.encode(), sent_at, body),
            },
        )
        with urllib.request.urlopen(request, timeout=30) as accepted:
            assert accepted.status == 202
        sfn = client("stepfunctions")

        def finished():  # type: ignore[no-untyped-def]
            runs = sfn.list_executions(stateMachineArn=outputs["PurchaseStateMachineArn"])[
                "executions"
            ]
            return runs and runs[0]["status"] != "RUNNING" and runs[0]

        execution = wait_for(finished, timeout=30)
        assert execution["status"] == "SUCCEEDED"
        item = client("dynamodb").scan(TableName=outputs["PurchasesTableName"])["Items"][0]
        assert item["payment_id"]["S"] == "pay-server-1"
        # No investor is registered on this bare server: the whole path runs to a refund.
        assert item["status"]["S"] == "REFUNDED"
        assert "investor inv-1 is not registered" in item["reason"]["S"]

        def notified():  # type: ignore[no-untyped-def]
            with urllib.request.urlopen(notifications_url, timeout=10) as response:
                received = json.loads(response.read())
            return [
                r
                for r in received
                if r["body"]["detail"].get("payment_id") == "pay-server-1"
                and r["body"]["type"] in ("PurchaseRefunded", "RefundRequested")
            ]

        refund = wait_for(notified, timeout=30)[0]
        assert refund["headers"]["authorization"]
    finally:
        assert server.stop() == 0
    for url in (endpoint, api_url, notifications_url):
        port = int(url.removeprefix("http://").split("/")[0].rsplit(":", 1)[1])
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"{url}'s port is released"
