"""The demo's second half: servicing. The SME pool's servicer pays in collections (a signed
webhook, minted to the company), then the clock moves to SME-2027-A's payment dates: each day
the daily schedule starts that date's distribution (the demo plays EventBridge Scheduler,
invoking the same function with the event it would send), an operator approves the totals with
drexfy-ops, and Ada is paid on the ledger; at maturity her principal is repaid, her units are
taken back and the issuance is destroyed.

Told to a deployed stack (`run_on_a_stack`) the clock cannot move and SME-2027-A's holders are
real, so the run lists an instrument of its own that matures today, Ada buys its whole tranche,
and its distributions are started as the daily schedule starts them (the same execution names,
so the schedule finds them and starts nothing more) and approved with drexfy-ops; at maturity
its units are taken back and its issuance destroyed, so nothing of it stays on the ledger. No
collection is reported there: one the servicer never made would be money invented; the company
pays from what Ada paid.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.demo import Demo

INSTRUMENT = "SME-2027-A"
PAYMENT_DATES = ("2026-12-15", "2027-06-15", "2027-12-15")  # the last is its maturity
RUN_UNITS = 5  # the whole tranche of the run's own instrument, all Ada's (on a stack)


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
    ada = wallet_of(demo.investor("ada"))
    units = 5  # Ada bought 5 units in the first half
    for day in PAYMENT_DATES:
        print(f"\n== {day}: the daily schedule starts {INSTRUMENT}'s distribution")
        before = eur_of(demo, ada)
        distribute(demo, state_file, day)
        received = eur_of(demo, ada) - before
        print(f"    Ada received {received} EUR on the ledger ({units} x {paid_per_unit[day]})")
        demo.expect(f"Ada is paid exactly on {day}", received == paid_per_unit[day] * units)
    show_redemption(demo, ada, INSTRUMENT, listed.issuance_id)


def run_on_a_stack(demo: Demo, where: Sequence[str]) -> str | None:
    """The run's own instrument listed, bought by Ada, paid and redeemed; its id, or None if it
    could not be listed."""
    from domain.cash_flows import schedule, terms_from
    from lambdas.records import instruments
    from local.demo import run_module

    entry = run_instrument(demo.ids, datetime.now(UTC).date())
    instrument_id = str(entry["instrument_id"])
    print(f"\n== The run lists an instrument of its own, {instrument_id}, maturing today")
    with tempfile.TemporaryDirectory(prefix="drexfy-demo-") as folder:
        catalogue = Path(folder) / "instruments.json"
        catalogue.write_text(json.dumps({"instruments": [entry]}))
        listed = run_module("ops.bootstrap", *where, "--catalogue", str(catalogue))
    demo.expect(f"{instrument_id} is listed", listed)
    if not listed:
        return None
    ada_id = demo.investor("ada")
    price = f"{100 * RUN_UNITS}.00"
    print(f"\n== Ada pays {price} EUR for the whole tranche of {instrument_id}, {RUN_UNITS} units")
    bought = demo.purchase(demo.pay(demo.payment(5), ada_id, instrument_id, RUN_UNITS, price))
    demo.expect(f"Ada's purchase of {instrument_id} delivered", bought.get("status") == "DELIVERED")
    ada = wallet_of(ada_id)
    for period in schedule(terms_from(entry)):
        day = period.payment_date.isoformat()
        print(f"\n== {day}: {instrument_id}'s distribution, started as the schedule starts it")
        before = eur_of(demo, ada)
        start_as_the_schedule_does(instrument_id, period.payment_date)
        approve_and_pay(demo, where, instrument_id, day)
        per_unit = period.coupon_per_unit + period.principal_per_unit
        received = eur_of(demo, ada) - before
        print(f"    Ada received {received} EUR on the ledger ({RUN_UNITS} x {per_unit})")
        demo.expect(f"Ada is paid exactly on {day}", received == per_unit * RUN_UNITS)
    found = instruments.find(instrument_id)
    show_redemption(demo, ada, instrument_id, found.issuance_id if found else "")
    return instrument_id


def run_instrument(ids: str, today: date) -> dict[str, Any]:
    """A catalogue entry of the run's own: RUN_UNITS units at 100.00, quarterly, maturing
    `today`, so that every payment date is due (none waits for a later day's schedule)."""
    stamp = ids.removeprefix("demo-").rstrip("-").upper()
    return {
        "instrument_id": f"DEMO-{stamp}", "name": f"Drexfy demo run {stamp}, not for sale",
        "sme_pool": "DEMO", "coupon_rate": "0.0600", "day_count": "30E/360",
        "payments_per_year": 4, "issue_date": (today - timedelta(days=180)).isoformat(),
        "maturity": today.isoformat(), "business_day_convention": "FOLLOWING",
        "unit_price": "100.00", "currency": "EUR", "tranche_units": RUN_UNITS,
    }  # fmt: skip


def start_as_the_schedule_does(instrument_id: str, payment_date: date) -> None:
    """The execution the daily schedule would start: if the schedule got there first, that one."""
    from lambdas.servicing import schedule

    if not schedule.start(instrument_id, payment_date):
        print("    the daily schedule had started it")


def show_redemption(demo: Demo, ada: str, instrument: str, issuance_id: str) -> None:
    from xrpl.models.requests import AccountObjectType

    from lambdas.custody.platform_signer import platform_accounts

    print("\n== After maturity, read back from the ledger")
    print(f"    Ada {ada}: {demo.holdings(ada, {instrument: (issuance_id, 0)})}")
    company = platform_accounts().company
    issued = {
        i["mpt_issuance_id"] for i in demo.ledger.objects(company, AccountObjectType.MPT_ISSUANCE)
    }
    print(f"    {instrument}'s issuance {issuance_id} on the ledger: {issuance_id in issued}")
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

    at = datetime.fromisoformat(f"{day}T06:00:00+00:00")
    event = scheduled_event("arn:aws:events:eu-west-1:123456789012:rule/daily", at)
    answer = demo.invoke(demo.outputs["StartDueDistributionsFunctionName"], event)
    print(f"    StartDueDistributions (as EventBridge at {event['time']}) -> {answer}")
    approve_and_pay(demo, ["--state-file", str(state_file)], INSTRUMENT, day)


def approve_and_pay(demo: Demo, where: Sequence[str], instrument_id: str, day: str) -> None:
    """An operator approves the totals with drexfy-ops; the distribution pays."""
    from local.demo import run_module

    distribution_id = f"{instrument_id}:{day}"
    wait_for_approval_request(distribution_id)
    print(f"    drexfy-ops distribution {distribution_id} approve")
    run_module("ops.cli", *where, "distribution", distribution_id, "approve")
    execution = demo.finished(
        "Distribution",
        lambda i: i.get("instrument_id") == instrument_id and i.get("payment_date") == day,
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
