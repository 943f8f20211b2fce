"""The demo's second half: servicing. The SME pool's servicer pays in collections (a signed
webhook, minted to the company), then the clock moves to SME-2027-A's payment dates: each day
the daily schedule starts that date's distribution (the demo plays EventBridge Scheduler,
invoking the same function with the event it would send), an operator approves the totals with
drexfy-ops, and Ada is paid on the ledger; at maturity her principal is repaid, her units are
taken back and the issuance is destroyed.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.demo import Demo

INSTRUMENT = "SME-2027-A"
PAYMENT_DATES = ("2026-12-15", "2027-06-15", "2027-12-15")  # the last is its maturity


def run(demo: Demo, state_file: Path) -> None:
    from domain.cash_flows import schedule
    from lambdas.records import instruments

    listed = instruments.find(INSTRUMENT)
    assert listed is not None and listed.terms is not None
    paid_per_unit = {
        p.payment_date.isoformat(): p.coupon_per_unit + p.principal_per_unit
        for p in schedule(listed.terms, listed.write_downs)
    }
    print("\n== The SME pool's servicer reports 600.00 EUR collected: minted to the company")
    collect(demo, Decimal("600.00"))
    ada = wallet_of("inv-ada")
    units = 5  # Ada bought 5 units in the first half
    for day in PAYMENT_DATES:
        print(f"\n== {day}: the daily schedule starts {INSTRUMENT}'s distribution")
        before = eur_of(demo, ada)
        distribute(demo, state_file, day)
        received = eur_of(demo, ada) - before
        print(f"    Ada received {received} EUR on the ledger ({units} x {paid_per_unit[day]})")
        demo.expect(f"Ada is paid exactly on {day}", received == paid_per_unit[day] * units)
    show_redemption(demo, ada, listed.issuance_id)


def show_redemption(demo: Demo, ada: str, issuance_id: str) -> None:
    from xrpl.models.requests import AccountObjectType

    from lambdas.custody.platform_signer import platform_accounts

    print("\n== After maturity, read back from the ledger")
    print(f"    Ada {ada}: {demo.holdings(ada, {INSTRUMENT: (issuance_id, 0)})}")
    company = platform_accounts().company
    issued = {
        i["mpt_issuance_id"] for i in demo.ledger.objects(company, AccountObjectType.MPT_ISSUANCE)
    }
    print(f"    {INSTRUMENT}'s issuance {issuance_id} on the ledger: {issuance_id in issued}")
    demo.expect("the units are taken back and the issuance destroyed", issuance_id not in issued)


def collect(demo: Demo, amount: Decimal) -> None:
    body = {
        "event": "collection.received", "collection_id": f"demo-col-{uuid.uuid4().hex[:6]}",
        "sme_pool": "ES-MANUFACTURING-01", "amount": str(amount), "currency": "EUR",
        "collected_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    status, answer, _ = demo.webhook("/webhooks/collections", body)
    print(f"    POST /webhooks/collections {body['collection_id']} -> {status} {answer}")
    minted = demo.finished(
        "Collection", lambda i: i["collection"].get("collection_id") == body["collection_id"]
    )
    demo.expect("the collection is minted to the company", minted["status"] == "SUCCEEDED")


def distribute(demo: Demo, state_file: Path, day: str) -> None:
    from local.aws.schedules import scheduled_event
    from local.demo import run_module

    at = datetime.fromisoformat(f"{day}T06:00:00+00:00")
    event = scheduled_event("arn:aws:events:eu-west-1:123456789012:rule/daily", at)
    answer = demo.invoke(demo.outputs["StartDueDistributionsFunctionName"], event)
    print(f"    StartDueDistributions (as EventBridge at {event['time']}) -> {answer}")
    distribution_id = f"{INSTRUMENT}:{day}"
    wait_for_approval_request(distribution_id)
    print(f"    drexfy-ops distribution {distribution_id} approve")
    run_module(
        "ops.cli", "--state-file", str(state_file), "distribution", distribution_id, "approve"
    )
    execution = demo.finished(
        "Distribution",
        lambda i: i.get("instrument_id") == INSTRUMENT and i.get("payment_date") == day,
    )
    report = json.loads(execution.get("output") or "{}")
    print(f"    {execution['status']}: paid {report.get('paid_holders')} holder(s) "
          f"{report.get('paid_total')} EUR, held {report.get('held_total')}")  # fmt: skip
    demo.expect(f"the {day} distribution is paid", report.get("status") == "PAID")


def wait_for_approval_request(distribution_id: str, timeout: float = 60) -> None:
    from lambdas.records import distributions

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = distributions.find(distribution_id)
        if state is not None and state.awaiting_token:
            print(f"    awaiting approval: {state.holders} holder(s), {state.total} EUR")
            return
        time.sleep(0.5)
    raise TimeoutError(f"{distribution_id} never asked for approval")


def wallet_of(investor_id: str) -> str:
    from lambdas.records import wallets

    found = wallets.find(investor_id)
    assert found is not None
    return found.address


def eur_of(demo: Demo, address: str) -> Decimal:
    lines = demo.ledger.trust_lines(address)
    return sum((Decimal(line["balance"]) for line in lines), Decimal(0))
