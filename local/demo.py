"""`make demo`: the local platform end to end, as a person would watch it.

Starts the local XRPL ledger (closing a ledger every second) and the embedded AWS server,
bootstraps the platform on the ledger (issuer, EUR stablecoin line, instruments as MPTs, ticket
pools), sends payments onto the platform's bus, waits for each purchase workflow to finish,
prints its history in plain words, and exits 0 only if every outcome is the expected one.
It leaves no process running.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local.ledger import GENESIS_SEED
from local.processes import PROJECT_ROOT, start_module
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


def bootstrap(state_file: Path, ledger_url: str) -> bool:
    print("\n== Bootstrapping the platform on the ledger (python -m ops.bootstrap)")
    command = [
        sys.executable, "-m", "ops.bootstrap", "--state-file", str(state_file),
        "--ledger-url", ledger_url, "--fund-from-seed", GENESIS_SEED,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT)
    for line in (result.stdout + result.stderr).splitlines():
        print("   ", line)
    return result.returncode == 0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drexfy-demo-") as folder:
        state_file = Path(folder) / "aws.json"
        print("Starting the local XRPL ledger (a ledger closes every second)…")
        ledger = start_module(
            "local.ledger",
            ["--port", "0", "--ws-port", "0", "--close-interval-ms", "1000"],
            "local ledger ready",
        )
        servers = [ledger]
        try:
            print(ledger.ready_line)
            print("Starting the embedded AWS platform (moto) with the CDK-synthesized stack…")
            aws = start_module(
                "local.aws",
                ["--state-file", str(state_file), "--set-env", f"XRPL_URL={ledger.field('rpc')}"],
                "local aws ready",
            )
            servers.append(aws)
            print(aws.ready_line)
            results = [bootstrap(state_file, ledger.field("rpc"))]
            state = json.loads(state_file.read_text())
            demo = Demo(state["endpoint_url"], state["stack"]["outputs"])
            results += [demo.run(scenario) for scenario in SCENARIOS]
        finally:
            for server in reversed(servers):
                server.stop()
    passed = sum(results)
    print(f"\n{passed}/{len(results)} steps ended as expected")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
