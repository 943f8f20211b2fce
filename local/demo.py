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


@dataclass(frozen=True)
class Scenario:
    title: str
    payment: dict[str, Any]
    expected_status: str
    expected_end: str


def _payment(
    payment_id: str, investor_id: str, units: int, amount: str, **more: Any
) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "investor_id": investor_id,
        "instrument_id": "SME-2027-A",
        "units": units,
        "amount": amount,
        "currency": "EUR",
        **more,
    }


INVESTORS = ("inv-ada", "inv-bob")
SCENARIOS = (
    Scenario(
        "Ada pays 500.00 EUR for 5 units of SME-2027-A: deposit, trust line, mint, then "
        "transfer and delivery in one ledger round",
        _payment("demo-pay-001", "inv-ada", 5, "500.00"),
        "DELIVERED",
        "Purchase delivered",
    ),
    Scenario(
        "Bob pays 250.00 EUR for 3 units (they cost 300.00): refunded with the reason",
        _payment("demo-pay-002", "inv-bob", 3, "250.00"),
        "REFUNDED",
        "Payment refunded",
    ),
    Scenario(
        "Bob pays 100.00 EUR for 1 unit of SME-2028-B (it costs 250.00): refunded",
        _payment("demo-pay-003", "inv-bob", 1, "100.00", instrument_id="SME-2028-B"),
        "REFUNDED",
        "Payment refunded",
    ),
    Scenario(
        "Bob pays 250.00 EUR for 1 unit of SME-2028-B",
        _payment("demo-pay-004", "inv-bob", 1, "250.00", instrument_id="SME-2028-B"),
        "DELIVERED",
        "Purchase delivered",
    ),
    Scenario(
        "The gateway delivers Ada's payment again: still one purchase, nothing moves twice",
        _payment("demo-pay-001", "inv-ada", 5, "500.00"),
        "DELIVERED",
        "Payment already handled",
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
        self._seen: set[str] = set()

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
        started = time.monotonic()
        execution = self._wait_for_execution(scenario.payment["payment_id"])
        history = self.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
        steps = list(
            dict.fromkeys(
                e["stateEnteredEventDetails"]["name"]
                for e in history
                if "stateEnteredEventDetails" in e
            )
        )
        print("    steps:", " -> ".join(s for s in steps if not s.startswith("Wait for")))
        output = json.loads(execution.get("output") or "{}")
        status = output.get("status")
        print(f"    {status} in {time.monotonic() - started:.1f}s", output.get("reason") or "")
        for step, tx in (output.get("transactions") or {}).items():
            print(f"      {step:<22} {tx['hash']}  ledger {tx['ledger_index']}  {tx['result']}")
        passed = (
            execution["status"] == "SUCCEEDED"
            and steps[-1] == scenario.expected_end
            and status == scenario.expected_status
        )
        print(f"    {'OK' if passed else 'UNEXPECTED'}")
        return passed

    def _wait_for_execution(self, payment_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for summary in self.sfn.list_executions(
                stateMachineArn=self.outputs["PurchaseStateMachineArn"]
            )["executions"]:
                arn = summary["executionArn"]
                if arn in self._seen:
                    continue
                execution = self.sfn.describe_execution(executionArn=arn)
                ours = json.loads(execution["input"])["payment"]["payment_id"] == payment_id
                if ours and execution["status"] != "RUNNING":
                    self._seen.add(arn)
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


def register(state_file: Path, ledger_url: str) -> bool:
    print("\n== Registering investors (as onboarding does after KYC): wallet, XRP, ACTIVE")
    command = [
        sys.executable, "-m", "ops.register_investor", *INVESTORS,
        "--state-file", str(state_file), "--ledger-url", ledger_url,
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
            results.append(results[-1] and register(state_file, ledger.field("rpc")))
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
