"""The walking skeleton end to end: an event on the bus runs the CDK-defined workflow, whose
real handlers run in-process and write through pynamodb; the history is read back."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from pynamodb.exceptions import PutError

from domain.purchase import PurchaseStatus, purchase_id_for
from local.aws.platform import LocalAws
from tests.conftest import wait_for


def payment(**overrides: Any) -> dict[str, Any]:
    return {
        "payment_id": f"pay-{uuid.uuid4().hex[:12]}",
        "investor_id": "inv-ada",
        "instrument_id": "SME-2027-A",
        "units": 2,
        "amount": "200.00",
        "currency": "EUR",
        **overrides,
    }


def put_payment(aws: LocalAws, detail: dict[str, Any], when: float | None = None) -> str:
    entry: dict[str, Any] = {
        "Source": "drexfy.payments",
        "DetailType": "PaymentReceived",
        "EventBusName": aws.stack.output("EventBusName"),
        "Detail": json.dumps(detail),
    }
    if when is not None:
        entry["Time"] = when
    result = aws.client("events").put_events(Entries=[entry])
    assert result["FailedEntryCount"] == 0
    return str(result["Entries"][0]["EventId"])


def finished_executions_for(aws: LocalAws, payment_id: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    found = []
    arn = aws.stack.output("PurchaseStateMachineArn")
    for summary in sfn.list_executions(stateMachineArn=arn)["executions"]:
        execution = sfn.describe_execution(executionArn=summary["executionArn"])
        if json.loads(execution["input"])["payment"].get("payment_id") == payment_id:
            found.append(execution)
    return [e for e in found if e["status"] != "RUNNING"]


def run_payment(aws: LocalAws, detail: dict[str, Any]) -> dict[str, Any]:
    put_payment(aws, detail)
    return wait_for(lambda: finished_executions_for(aws, detail["payment_id"]))[0]  # type: ignore[no-any-return]


def state_names(aws: LocalAws, execution_arn: str) -> list[str]:
    history = aws.client("stepfunctions").get_execution_history(executionArn=execution_arn)
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history["events"]
        if "stateEnteredEventDetails" in e
    ]


def test_a_payment_event_records_the_deposit(aws: LocalAws) -> None:
    from lambdas.tables import PurchaseRecord

    detail = payment()
    execution = run_payment(aws, detail)

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["purchase_id"] == purchase_id_for(detail["payment_id"])
    assert output["status"] == PurchaseStatus.DEPOSIT_RECORDED
    record = PurchaseRecord.get(output["purchase_id"])
    assert (record.amount, record.units, record.investor_id) == ("200.00", 2, "inv-ada")
    assert state_names(aws, execution["executionArn"]) == ["Record deposit", "Deposit recorded"]


def test_a_malformed_payment_is_refunded_with_the_reason(aws: LocalAws) -> None:
    from lambdas.tables import PurchaseRecord

    detail = payment(amount="12.345")
    execution = run_payment(aws, detail)

    assert execution["status"] == "SUCCEEDED"
    assert state_names(aws, execution["executionArn"]) == [
        "Record deposit",
        "Refund payment",
        "Payment refunded",
    ]
    record = PurchaseRecord.get(purchase_id_for(detail["payment_id"]))
    assert record.status == PurchaseStatus.REFUNDED
    assert "PaymentRejected" in (record.reason or "")
    assert "more than two decimals" in (record.reason or "")


def test_a_transient_fault_is_retried_then_succeeds(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.tables import PurchaseRecord

    real_save = PurchaseRecord.save
    failures = {"left": 2}

    def flaky_save(self: PurchaseRecord, *args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise PutError("ProvisionedThroughputExceededException: slow down")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(PurchaseRecord, "save", flaky_save)
    execution = run_payment(aws, payment())

    assert execution["status"] == "SUCCEEDED"
    history = aws.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"]
    )["events"]
    failed = [e for e in history if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["TransientFault"] * 2
    assert state_names(aws, execution["executionArn"])[-1] == "Deposit recorded"


def test_a_redelivered_payment_is_still_one_purchase(aws: LocalAws) -> None:
    from lambdas.tables import PurchaseRecord

    detail = payment()
    put_payment(aws, detail)
    put_payment(aws, detail)
    executions = wait_for(
        lambda: (e := finished_executions_for(aws, detail["payment_id"])) and len(e) == 2 and e
    )
    outputs = {e["output"] for e in executions}
    assert len(outputs) == 1, "both deliveries must report the same purchase"
    purchase_id = purchase_id_for(detail["payment_id"])
    assert [
        r.purchase_id
        for r in PurchaseRecord.scan(PurchaseRecord.payment_id == detail["payment_id"])
    ] == [purchase_id]


def test_an_archive_replay_redelivers_only_its_window(aws: LocalAws) -> None:
    now = time.time()
    early, late = payment(), payment()
    put_payment(aws, early, when=now - 3600)
    put_payment(aws, late, when=now - 60)
    wait_for(lambda: finished_executions_for(aws, early["payment_id"]))
    wait_for(lambda: finished_executions_for(aws, late["payment_id"]))

    events = aws.client("events")
    events.start_replay(
        ReplayName=f"replay-{uuid.uuid4().hex[:8]}",
        EventSourceArn=aws.stack.output("EventArchiveArn"),
        EventStartTime=now - 3700,
        EventEndTime=now - 3500,
        Destination={
            "Arn": events.describe_event_bus(Name=aws.stack.output("EventBusName"))["Arn"]
        },
    )

    replayed = wait_for(
        lambda: (e := finished_executions_for(aws, early["payment_id"])) and len(e) == 2 and e
    )
    assert len({e["output"] for e in replayed}) == 1
    assert len(finished_executions_for(aws, late["payment_id"])) == 1
