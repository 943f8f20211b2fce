"""The embedded AWS as a server: started by project code on a free loopback port."""

import json
import socket
from pathlib import Path

import boto3

from local.processes import start_module
from tests.conftest import wait_for


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

        def client(service: str):  # type: ignore[no-untyped-def]
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name="eu-west-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        client("events").put_events(
            Entries=[
                {
                    "Source": "drexfy.payments",
                    "DetailType": "PaymentReceived",
                    "EventBusName": outputs["EventBusName"],
                    "Detail": json.dumps(
                        {
                            "payment_id": "pay-server-1",
                            "investor_id": "inv-1",
                            "instrument_id": "SME-2027-A",
                            "units": 1,
                            "amount": "100.00",
                            "currency": "EUR",
                        }
                    ),
                }
            ]
        )
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
    finally:
        assert server.stop() == 0
    port = int(endpoint.rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the port is released after stop"
