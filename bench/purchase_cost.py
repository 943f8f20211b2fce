"""What one purchase costs in AWS, from counts measured on the embedded platform.

Runs purchases end to end (in-process moto + the local ledger; each Wait state closes a ledger)
and counts, per purchase: Step Functions state transitions, Lambda invocations and their
duration, KMS requests, EventBridge events and DynamoDB writes/reads. Prices them at published
AWS list prices (below) per 1,000 purchases. The first purchase of an investor also sets up
their MPToken; onboarding is counted separately.

Usage: .venv/bin/python bench/purchase_cost.py [--purchases 6]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from local.payment_gateway import announce_as_the_webhook_would

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# USD, us-east-1 / eu-west-1 list prices as of 2026 (ARM Lambda, on-demand DynamoDB).
PRICES = {
    "state transitions": Decimal("0.000025"),  # Step Functions Standard, per transition
    "lambda requests": Decimal("0.0000002"),
    "lambda GB-seconds": Decimal("0.0000133334"),  # arm64
    "kms symmetric requests": Decimal("0.000003"),  # Decrypt / Encrypt
    "kms asymmetric sign requests": Decimal("0.000015"),  # ECC Sign
    "events": Decimal("0.000001"),  # custom events put on the bus
    "dynamodb write units": Decimal("0.000000625"),
    "dynamodb read units": Decimal("0.000000125"),
}
LAMBDA_MEMORY_GB = Decimal("0.5")


class Meter:
    """Counts calls into moto's backends and times handler invocations, in this process."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lambda_seconds = 0.0

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        import moto.dynamodb.models as ddb
        import moto.events.models as ev
        import moto.kms.models as kms
        from moto.awslambda.models import LambdaFunction

        patches: list[tuple[Any, str, Any]] = []

        def count(
            owner: Any, name: str, key: str, weight: Callable[..., int] = lambda *a, **k: 1
        ) -> None:
            real = getattr(owner, name)

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.counts[key] += weight(*args, **kwargs)
                return real(*args, **kwargs)

            patches.append((owner, name, real))
            setattr(owner, name, counted)

        for name in ("put_item", "update_item", "delete_item"):
            count(ddb.DynamoDBBackend, name, "dynamodb write units")
        count(
            ddb.DynamoDBBackend,
            "transact_write_items",
            "dynamodb write units",
            lambda self, items, *a, **k: 2 * len(items),
        )  # transactions cost double
        for name in ("get_item", "query", "scan"):
            count(ddb.DynamoDBBackend, name, "dynamodb read units")
        count(kms.KmsBackend, "decrypt", "kms symmetric requests")
        count(kms.KmsBackend, "encrypt", "kms symmetric requests")
        count(kms.KmsBackend, "sign", "kms asymmetric sign requests")
        count(ev.EventsBackend, "put_events", "events", lambda self, entries, *a, **k: len(entries))

        # Every invocation, in the function's own process or in this one, enters here; the
        # time includes the hand-over to the function's process: an upper bound.
        real_invoke = LambdaFunction._invoke_lambda

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return real_invoke(*args, **kwargs)
            finally:
                self.lambda_seconds += time.perf_counter() - started
                self.counts["lambda requests"] += 1

        patches.append((LambdaFunction, "_invoke_lambda", real_invoke))
        LambdaFunction._invoke_lambda = timed  # type: ignore[method-assign]
        try:
            yield
        finally:
            for owner, name, real in reversed(patches):
                setattr(owner, name, real)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=6)
    args = parser.parse_args()

    from local.aws import patches
    from local.aws.platform import in_process
    from local.ledger_server import LocalLedger

    with (
        LocalLedger(close_interval_ms=0) as ledger,
        in_process({"XRPL_URLS": ",".join(ledger.rpc_urls)}, instant_workflows=True) as aws,
    ):

        def close_per_wait() -> None:
            ledger.close_ledger()

        patches.WorkflowClock.on_wait = close_per_wait
        investor_id = prepare(aws, ledger)
        meter = Meter()
        transitions = 0
        with meter.installed():
            for n in range(args.purchases):
                transitions += purchase(aws, investor_id, n)
        meter.counts["state transitions"] = transitions
        meter.counts["lambda GB-seconds"] = 0  # priced from the measured time below
        report(meter, args.purchases)
    return 0


def prepare(aws: Any, ledger: Any) -> str:
    """Bootstrap the ledger and register one investor (not counted)."""
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from local.ledger_server.genesis import fund
    from ops.platform_bootstrap import PlatformBootstrap
    from ops.register_investor import register_investor

    root = Path(__file__).resolve().parents[1]
    accounts = platform_accounts()
    fund(ledger.rpc_url, accounts.funding, 1_000)
    submitter = LedgerSubmitter.for_ledger(ledger.rpc_url)
    signing = {role: signers.platform_signer(role) for role in accounts.roles()}
    catalogue = load_catalogue((root / "catalogue/instruments.json").read_text())
    PlatformBootstrap(submitter, accounts, signing, ledger.close_ledger).run(catalogue)
    investor_id = f"inv-bench-{uuid.uuid4().hex[:6]}"
    register_investor(investor_id, ledger.close_ledger)
    return investor_id


def purchase(aws: Any, investor_id: str, n: int) -> int:
    """One purchase to DELIVERED; returns its state transitions."""
    sfn = aws.client("stepfunctions")
    payment = {
        "payment_id": f"bench-{uuid.uuid4().hex[:10]}",
        "investor_id": investor_id,
        "instrument_id": "SME-2027-A",
        "units": 1,
        "amount": "100.00",
        "currency": "EUR",
    }
    announce_as_the_webhook_would(payment)
    aws.client("events").put_events(
        Entries=[
            {
                "Source": "drexfy.payments",
                "DetailType": "PaymentReceived",
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps(payment),
            }
        ]
    )
    arn = aws.stack.output("PurchaseStateMachineArn")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for summary in sfn.list_executions(stateMachineArn=arn)["executions"]:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            if json.loads(execution["input"])["payment"]["payment_id"] != payment["payment_id"]:
                continue
            if execution["status"] == "RUNNING":
                break
            assert json.loads(execution["output"])["status"] == "DELIVERED", execution
            history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            return sum(1 for e in history if e["type"].endswith("StateEntered"))
        time.sleep(0.05)
    raise TimeoutError(payment["payment_id"])


def report(meter: Meter, purchases: int) -> None:
    per_purchase = {k: Decimal(v) / purchases for k, v in meter.counts.items()}
    seconds = Decimal(str(meter.lambda_seconds)) / purchases
    per_purchase["lambda GB-seconds"] = seconds * LAMBDA_MEMORY_GB
    print(f"{purchases} purchases (the first also authorizes the investor's MPToken)\n")
    print(f"{'per purchase':<30} {'count':>10} {'USD per 1,000 purchases':>25}")
    total = Decimal(0)
    for item, price in PRICES.items():
        count = per_purchase.get(item, Decimal(0))
        cost = count * price * 1000
        total += cost
        print(f"{item:<30} {count:>10.2f} {cost:>25.4f}")
    print(f"{'total':<30} {'':>10} {total:>25.4f}")
    print(
        "\nLambda duration is this machine's time per invocation, each function in its own "
        "process, measured where the invocation enters (hand-over included), "
        f"{seconds * 1000:.0f} ms per purchase in all; AWS bills 1 ms granularity at 512 MB."
    )


if __name__ == "__main__":
    sys.exit(main())
