"""`make demo`: the local platform end to end, as a person would watch it.

Starts the embedded AWS server, sends payments onto the platform's bus, waits for each purchase
workflow to finish, prints its history in plain words, and exits 0 only if every outcome is the
expected one. It leaves no process running.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local.processes import start_module
from ops.history import describe_events


@dataclass(frozen=True)
class Scenario:
    title: str
    payment: dict[str, Any]
    expected_states: tuple[str, ...]


SCENARIOS = (
    Scenario(
        "A valid payment becomes a purchase",
        {
            "payment_id": "demo-pay-001",
            "investor_id": "inv-ada",
            "instrument_id": "SME-2027-A",
            "units": 5,
            "amount": "500.00",
            "currency": "EUR",
        },
        ("Record deposit", "Deposit recorded"),
    ),
    Scenario(
        "A payment in an unsupported currency is refunded with the reason",
        {
            "payment_id": "demo-pay-002",
            "investor_id": "inv-ada",
            "instrument_id": "SME-2027-A",
            "units": 1,
            "amount": "100.00",
            "currency": "USD",
        },
        ("Record deposit", "Refund payment", "Payment refunded"),
    ),
)


class Demo:
    def __init__(self, endpoint: str, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self._session = boto3.Session(
            aws_access_key_id="demo", aws_secret_access_key="demo", region_name="eu-west-1"
        )
        self.events = self._session.client("events", endpoint_url=endpoint)
        self.sfn = self._session.client("stepfunctions", endpoint_url=endpoint)

    def run(self, scenario: Scenario) -> bool:
        print(f"\n== {scenario.title}")
        self.events.put_events(
            Entries=[
                {
                    "Source": "drexfy.payments",
                    "DetailType": "PaymentReceived",
                    "EventBusName": self.outputs["EventBusName"],
                    "Detail": json.dumps(scenario.payment),
                }
            ]
        )
        execution = self._wait_for_execution(scenario.payment["payment_id"])
        history = self.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
        for line in describe_events(history):
            print("   ", line)
        states = tuple(
            e["stateEnteredEventDetails"]["name"]
            for e in history
            if "stateEnteredEventDetails" in e
        )
        passed = execution["status"] == "SUCCEEDED" and states == scenario.expected_states
        print(f"   {'OK' if passed else 'UNEXPECTED'}: states {' -> '.join(states)}")
        return passed

    def _wait_for_execution(self, payment_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for summary in self.sfn.list_executions(
                stateMachineArn=self.outputs["PurchaseStateMachineArn"]
            )["executions"]:
                execution = self.sfn.describe_execution(executionArn=summary["executionArn"])
                ours = json.loads(execution["input"])["payment"]["payment_id"] == payment_id
                if ours and execution["status"] != "RUNNING":
                    return execution  # type: ignore[no-any-return]
            time.sleep(0.5)
        raise TimeoutError(f"no finished purchase workflow for {payment_id} after {timeout}s")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drexfy-demo-") as folder:
        state_file = Path(folder) / "aws.json"
        print("Starting the embedded AWS platform (moto) and deploying the CDK-synthesized stack…")
        server = start_module("local.aws", ["--state-file", str(state_file)], "local aws ready")
        try:
            print(server.ready_line)
            state = json.loads(state_file.read_text())
            demo = Demo(state["endpoint_url"], state["stack"]["outputs"])
            results = [demo.run(scenario) for scenario in SCENARIOS]
        finally:
            server.stop()
    passed = sum(results)
    print(f"\n{passed}/{len(results)} scenarios ended as expected")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
