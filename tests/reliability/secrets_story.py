"""The secrets scan's end-to-end story on the local platform in server mode, driven as its users
drive it (the providers' signed webhooks, the frontend API, operators' calls) so that every
workflow runs and every store is written: investors onboarded by KYC (one with the bank account
withdrawals go to), purchases delivered and refunded, an AML flag, a collection minted, a
distribution approved and paid (holders and report in the servicing bucket), a withdrawal paid
out by the provider stand-in, a write-down, statement documents kept (CSV and PDF), and the
books reconciled. Independent parts run side by side, to keep it short."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from domain.events import OPERATOR_WRITE_DOWNS
from local.demo import Demo
from local.demo_money_out import PAYOUT_ACCOUNT, frontend_post, withdraw
from local.demo_servicing import INSTRUMENT, PAYMENT_DATES
from tests.reliability.platform_material import PlatformApis
from tests.support.waiting import wait_for

INVESTORS = ("inv-ada", "inv-bob", "inv-cy")
ADA = "inv-ada"
PAYMENT_DATE = PAYMENT_DATES[0]  # a coupon of INSTRUMENT; no other instrument pays near it
PURCHASES = (  # payment id, investor, instrument, units, amount paid, how it ends
    ("sec-pay-1", "inv-ada", INSTRUMENT, 2, "200.00", "DELIVERED"),
    ("sec-pay-2", "inv-bob", INSTRUMENT, 3, "250.00", "REFUNDED"),  # 3 units cost 300.00
    ("sec-pay-3", "inv-cy", "SME-2028-B", 1, "250.00", "DELIVERED"),
)
WORKFLOW_SECONDS = 180


def run_story(demo: Demo, apis: PlatformApis) -> None:
    collection = collect(demo)  # minted while the investors onboard
    onboard(demo)
    buy(demo)
    flagged = demo.kyc("aml.flagged", "inv-cy", reason="sanctions list match")
    assert flagged["status"] == "SUCCEEDED", flagged
    minted = demo.finished("Collection", lambda i: i["collection"]["collection_id"] == collection)
    assert minted["status"] == "SUCCEEDED", minted
    side_by_side = [ask_for_statement_documents(demo), write_down(demo, apis)]
    distribute(demo, apis)
    paid_out = withdraw(demo, ADA, "1.00", uuid.uuid4().hex)
    assert paid_out["status"] == "PAID_OUT", paid_out
    for finished in side_by_side:
        assert finished()["status"] == "SUCCEEDED"
    books = ended(demo, start(demo, "Reconciliation", {}))
    assert books["status"] == "SUCCEEDED", books  # the books are clean after all of it


def send_kyc(demo: Demo, event: str, investor_id: str, **more: Any) -> str:
    """The KYC provider's signed webhook; its case id."""
    case_id = f"case-{uuid.uuid4().hex[:8]}"
    body = {"event": event, "investor_id": investor_id, "case_id": case_id,
            "occurred_at": datetime.now(UTC).isoformat(), **more}  # fmt: skip
    status, answer, _ = demo.webhook("/webhooks/kyc", body)
    assert status == 202, answer
    return case_id


def onboard(demo: Demo) -> None:
    """The three approved at once; Ada with the bank account KYC verified."""
    account = {"payout_account": PAYOUT_ACCOUNT}
    cases = [
        send_kyc(demo, "kyc.approved", investor_id, **(account if investor_id == ADA else {}))
        for investor_id in INVESTORS
    ]
    for case_id in cases:
        run = demo.finished("Onboarding", decided_in(case_id))
        assert json.loads(run["output"])["status"] == "ACTIVE", run


def decided_in(case_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda given: bool(given["decision"].get("case_id") == case_id)


def buy(demo: Demo) -> None:
    """The payments at once, then each purchase as it ends."""
    paid = [(demo.pay(*purchase[:5]), purchase[5]) for purchase in PURCHASES]
    for payment, expected in paid:
        assert demo.purchase(payment)["status"] == expected, payment


def collect(demo: Demo) -> str:
    """The servicer's signed webhook: cash collected from the pool, to pay holders with."""
    body = {
        "event": "collection.received", "collection_id": f"sec-col-{uuid.uuid4().hex[:6]}",
        "sme_pool": "ES-MANUFACTURING-01", "amount": "600.00", "currency": "EUR",
        "collected_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    status, answer, _ = demo.webhook("/webhooks/collections", body)
    assert status == 202, answer
    return str(body["collection_id"])


def distribute(demo: Demo, apis: PlatformApis) -> None:
    """The daily schedule on the payment date (as EventBridge Scheduler would invoke it), the
    operator's approval of the totals, and the holders paid."""
    from local.aws.schedules import scheduled_event

    at = datetime.fromisoformat(f"{PAYMENT_DATE}T06:00:00+00:00")
    event = scheduled_event("arn:aws:events:eu-west-1:123456789012:rule/daily", at)
    started = demo.invoke(demo.outputs["StartDueDistributionsFunctionName"], event)
    distribution_id = f"{INSTRUMENT}:{PAYMENT_DATE}"
    assert started["started"] == [distribution_id], started
    token = wait_for(lambda: approval_token(apis, distribution_id), timeout=WORKFLOW_SECONDS)
    approval = json.dumps({"approved_by": "the secrets scan"})
    demo.sfn.send_task_success(taskToken=token, output=approval)  # as drexfy-ops approves
    paid = demo.finished(
        "Distribution",
        lambda i: i.get("instrument_id") == INSTRUMENT and i.get("payment_date") == PAYMENT_DATE,
    )
    assert json.loads(paid.get("output") or "{}").get("status") == "PAID", paid


def approval_token(apis: PlatformApis, distribution_id: str) -> str | None:
    item = (
        apis.client("dynamodb")
        .get_item(
            TableName=apis.environment["DISTRIBUTIONS_TABLE"],
            Key={"distribution_id": {"S": distribution_id}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return item.get("approval_token", {}).get("S")


def ask_for_statement_documents(demo: Demo) -> Callable[[], dict[str, Any]]:
    """Ada asks for last month's statement as documents; waiting for them is left to the
    caller."""
    first = datetime.now(UTC).date().replace(day=1)
    last = date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)
    path = f"/investors/{ADA}/statements/{last:%Y-%m}/documents"
    status, asked = frontend_post(demo, path, {}, uuid.uuid4().hex)
    assert status == 202, asked
    arn = demo.outputs["StatementsStateMachineArn"].replace(":stateMachine:", ":execution:")
    return lambda: ended(demo, f"{arn}:{asked['execution']}")


def write_down(demo: Demo, apis: PlatformApis) -> Callable[[], dict[str, Any]]:
    """An operator's write-down on the bus (as drexfy-ops puts it); waiting is left to the
    caller."""
    write_down_id = f"wd-{uuid.uuid4().hex[:10]}"
    detail = {
        "write_down_id": write_down_id, "instrument_id": "SME-2028-B",
        "on": datetime.now(UTC).date().isoformat(), "per_unit": "1.00",
        "reason": "a debtor's insolvency", "operator": "the secrets scan",
    }  # fmt: skip
    entry = {
        "Source": OPERATOR_WRITE_DOWNS.source,
        "DetailType": OPERATOR_WRITE_DOWNS.detail_types[0],
        "EventBusName": demo.outputs["EventBusName"],
        "Detail": json.dumps(detail),
    }
    assert not apis.client("events").put_events(Entries=[entry]).get("FailedEntryCount")
    return lambda: demo.finished("WriteDown", lambda i: write_down_id in json.dumps(i))


def start(demo: Demo, workflow: str, request: dict[str, Any]) -> str:
    arn = demo.outputs[f"{workflow}StateMachineArn"]
    name = f"secrets-scan-{uuid.uuid4().hex[:12]}"
    started = demo.sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(request))
    return str(started["executionArn"])


def ended(demo: Demo, execution_arn: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        run: dict[str, Any] = demo.sfn.describe_execution(executionArn=execution_arn)
        return None if run["status"] == "RUNNING" else run

    result: dict[str, Any] = wait_for(finished, timeout=WORKFLOW_SECONDS, interval=0.5)
    return result
