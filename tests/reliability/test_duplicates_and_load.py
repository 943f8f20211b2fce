"""Reliability: duplicate, out-of-order and replayed payments make one purchase each, and many
concurrent purchases settle without sequence errors. Both are audited from the validated
ledger (account_tx of the issuer, the company and each investor), not from our records."""

from __future__ import annotations

import gc
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.purchase import PurchaseStatus, purchase_id_for
from lambdas.ledger_adapter.client import LedgerClient
from local.aws import patches
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger, audit
from local.payment_gateway import announce_as_the_webhook_would
from tests.reliability.report import record, scale
from tests.support.bus import replay_archive
from tests.support.investors import onboard
from tests.support.waiting import wait_for
from tests.workflows.conftest import new_investor_id, payment

# Handlers run in this process: the audit logs the Lambdas' ledger submits (wrapped here).
pytestmark = pytest.mark.handlers_in_test_process

INSTRUMENT = "SME-2027-A"
UNIT_PRICE = Decimal("100.00")
BATCH = 10  # entries per put_events call, EventBridge's maximum
SENDERS = 8  # put_events calls at once
LEDGER_INTERVAL = 1.0  # seconds between ledger closes
TIMEOUT = scale(300, 3600)


@dataclass(frozen=True)
class Investor:
    investor_id: str
    address: str


@pytest.fixture
def ledger_rounds(ledger: LocalLedger) -> Iterator[None]:
    """Ledgers close on a clock, and a Wait state lasts until the next close, as on the network
    (a 2 s Wait, a 3-5 s ledger). The default, one close per Wait, would close hundreds of
    ledgers per round under load and expire transactions no real ledger would."""
    closed, stop = threading.Condition(), threading.Event()

    def close() -> None:
        while not stop.wait(LEDGER_INTERVAL):
            ledger.close_ledger()
            with closed:
                closed.notify_all()

    def wait_for_close() -> None:
        with closed:
            closed.wait(timeout=10 * LEDGER_INTERVAL)

    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    previous, patches.WorkflowClock.on_wait = patches.WorkflowClock.on_wait, wait_for_close
    yield
    patches.WorkflowClock.on_wait = previous
    stop.set()
    closer.join()


@pytest.fixture
def submit_log(monkeypatch: pytest.MonkeyPatch) -> audit.SubmitLog:
    """Every submit the saga's Lambdas make (they run in this process), with its result."""
    log = audit.SubmitLog()
    monkeypatch.setattr(LedgerClient, "request", log.wrap(LedgerClient.request))
    return log


# --- driving the platform ------------------------------------------------------------------------


def onboard_investors(ledger: LocalLedger, count: int) -> list[Investor]:
    return [Investor(i, onboard(ledger, i)) for i in (new_investor_id() for _ in range(count))]


def payments_for(investors: list[Investor], each: int) -> list[dict[str, Any]]:
    """`each` payments per investor, for 1..each units: an investor's amount names the payment
    on the ledger."""
    return [
        payment(i.investor_id, instrument_id=INSTRUMENT, units=u, amount=str(UNIT_PRICE * u))
        for i in investors
        for u in range(1, each + 1)
    ]


def schedule(details: list[dict[str, Any]], deliveries: int, rng: random.Random) -> list[Any]:
    """Each payment once, the rest random duplicates, all shuffled (out of order)."""
    order = details + [rng.choice(details) for _ in range(deliveries - len(details))]
    rng.shuffle(order)
    return order


def deliver(aws: LocalAws, details: list[dict[str, Any]]) -> None:
    """Put the payments on the bus in this order, BATCH per call, SENDERS calls at once."""
    events, bus = aws.client("events"), aws.stack.output("EventBusName")

    def put(batch: list[dict[str, Any]]) -> None:
        for detail in batch:
            announce_as_the_webhook_would(detail)
        entries = [
            {
                "Source": "drexfy.payments",
                "DetailType": "PaymentReceived",
                "EventBusName": bus,
                "Detail": json.dumps(detail),
            }
            for detail in batch
        ]
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0

    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(put, [details[i : i + BATCH] for i in range(0, len(details), BATCH)]))


def replay(aws: LocalAws, start: float, end: float) -> None:
    replay_archive(aws, start, end)


def purchase_executions(aws: LocalAws) -> list[dict[str, Any]]:
    sfn, arn = aws.client("stepfunctions"), aws.stack.output("PurchaseStateMachineArn")
    found: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        found.extend(page["executions"])
    return found


def settle(aws: LocalAws, before: set[str], expected: int) -> list[dict[str, Any]]:
    """Wait until `expected` executions started since `before` and none is running."""

    def finished() -> list[dict[str, Any]]:
        new = [e for e in purchase_executions(aws) if e["executionArn"] not in before]
        done = len(new) >= expected and all(e["status"] != "RUNNING" for e in new)
        return new if done else []

    return wait_for(finished, TIMEOUT, interval=1.0)  # type: ignore[no-any-return]


def purchase_records(details: list[dict[str, Any]]) -> list[Any]:
    from lambdas.records.tables import PurchaseRecord

    keys = sorted({purchase_id_for(d["payment_id"]) for d in details})
    return list(PurchaseRecord.batch_get(keys, consistent_read=True))


def purchases_of(investors: list[Investor]) -> list[Any]:
    """Every purchase record of these investors, however it came to be."""
    from lambdas.records.tables import PurchaseRecord

    ids = [i.investor_id for i in investors]
    return list(PurchaseRecord.scan(PurchaseRecord.investor_id.is_in(*ids)))


def failed(runs: list[dict[str, Any]]) -> list[str]:
    return [r["executionArn"] for r in runs if r["status"] != "SUCCEEDED"]


# --- the audit ------------------------------------------------------------------------------------


def paid(investors: list[Investor], details: list[dict[str, Any]]) -> list[audit.Purchase]:
    """The purchases the distinct payments should make, as the ledger should show them."""
    address = {i.investor_id: i.address for i in investors}
    distinct = {d["payment_id"]: d for d in details}.values()
    return [
        audit.Purchase(
            purchase_id_for(d["payment_id"]),
            address[d["investor_id"]],
            d["units"],
            Decimal(d["amount"]),
            {},
        )
        for d in distinct
    ]


def recorded(records: list[Any]) -> list[audit.Purchase]:
    """The purchases as our records say they went to the ledger."""
    return [
        audit.Purchase(
            r.purchase_id,
            str(r.investor_address),
            int(r.units),
            Decimal(r.amount),
            {
                kind: str(r.transactions.as_dict().get(step, {}).get("hash", ""))
                for step, kind in audit.STEP_KINDS.items()
            },
        )
        for r in records
    ]


def on_ledger(
    platform: dict[str, Any], investors: list[Investor], since_ledger: int
) -> dict[str, audit.Flow]:
    """The investors' purchase flows on the validated ledger (they exist only since then)."""
    from lambdas.records.tables import InstrumentRecord

    issuance = str(InstrumentRecord.get(INSTRUMENT, consistent_read=True).issuance_id)
    client, accounts = platform["client"], platform["accounts"]
    addresses = {i.address for i in investors}
    # After thousands of executions moto's heap holds gigabytes, nearly all live: left to
    # the collector, each full collection the audit's reads trigger walks all of it.
    gc.freeze()
    try:
        return audit.ledger_flows(client, accounts, addresses, issuance, since_ledger)
    finally:
        gc.unfreeze()


def differences(found: Counter[Any], wanted: Counter[Any]) -> list[str]:
    return [f"{k}: ledger {found[k]}, records {wanted[k]}" for k in found | wanted if
            found[k] != wanted[k]]  # fmt: skip


def resigned(since: datetime) -> list[str]:
    """Submissions made since then that had to be signed again (expired, or Sequence lost)."""
    from lambdas.records.tables import SubmissionRecord

    made = SubmissionRecord.scan(SubmissionRecord.created_at >= since)
    return [s.business_key for s in made if int(s.attempts) > 1 or s.expired_hashes]


# --- duplicates and replay -----------------------------------------------------------------------


def test_duplicated_shuffled_and_replayed_payments_make_one_purchase_each(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], ledger_rounds: None
) -> None:
    payments, deliveries = scale(4, 100), scale(30, 1000)
    first_ledger = platform["client"].validated_ledger_index()
    investors = onboard_investors(ledger, scale(2, 10))
    details = payments_for(investors, payments // len(investors))
    before = {e["executionArn"] for e in purchase_executions(aws)}
    started, clock = time.time() - 1, time.monotonic()

    deliver(aws, schedule(details, deliveries, random.Random(9)))
    settle(aws, before, deliveries)
    delivering, clock = int(time.monotonic() - clock), time.monotonic()
    replay(aws, started, time.time() + 1)
    runs = settle(aws, before, 2 * deliveries)
    replaying = int(time.monotonic() - clock)

    records = purchases_of(investors)
    by_hash = on_ledger(platform, investors, first_ledger)
    found, wanted = audit.counted(by_hash.values()), audit.expected(paid(investors, details))
    extra = audit.surplus(found, wanted)
    delivered = [r for r in records if r.status == PurchaseStatus.DELIVERED]
    unmatched = audit.hash_mismatches(recorded(records), by_hash)
    passed = len(runs) == 2 * deliveries and len(delivered) == len(records) == len(details)
    record(
        "duplicates and replay",
        f"{len(details)} payments delivered {deliveries} times out of order, then replayed",
        passed and found == wanted and not unmatched and not failed(runs),
        payments=len(details),
        deliveries=deliveries,
        executions=len(runs),
        purchases=len(records),
        extra_ledger_transactions=extra,
        missing_ledger_transactions=audit.surplus(wanted, found),
        seconds_delivering=delivering,
        seconds_replaying=replaying,
    )
    assert len(runs) == 2 * deliveries, "every delivery and every replayed event ran"
    assert failed(runs) == []
    assert Counter(r.status for r in records) == {PurchaseStatus.DELIVERED: len(details)}
    assert extra == 0, "a second mint, transfer or delivery on the ledger"
    assert audit.per_investor(found) == audit.per_investor(wanted)
    assert differences(found, wanted) == []
    assert unmatched == [], "recorded hashes are the ledger's transactions"


# --- load -----------------------------------------------------------------------------------------


def test_concurrent_purchases_settle_without_sequence_errors(
    aws: LocalAws,
    ledger: LocalLedger,
    platform: dict[str, Any],
    ledger_rounds: None,
    submit_log: audit.SubmitLog,
) -> None:
    count, investors_count = scale(8, 200), scale(2, 50)
    first_ledger = platform["client"].validated_ledger_index()
    investors = onboard_investors(ledger, investors_count)
    details = payments_for(investors, count // investors_count)
    before = {e["executionArn"] for e in purchase_executions(aws)}
    since, clock = datetime.now(UTC), time.monotonic()

    deliver(aws, details)
    runs = settle(aws, before, len(details))
    seconds = int(time.monotonic() - clock)

    records = purchase_records(details)
    delivered = [r for r in records if r.status == PurchaseStatus.DELIVERED]
    by_hash = on_ledger(platform, investors, first_ledger)
    found, wanted = audit.counted(by_hash.values()), audit.expected(recorded(delivered))
    mismatches = audit.hash_mismatches(recorded(records), by_hash) + differences(found, wanted)
    errors, duplicates = submit_log.sequence_errors(platform["client"])
    again = resigned(since)
    passed = len(delivered) == len(details) and not (mismatches or errors or again)
    record(
        "load",
        f"{len(details)} purchases put on the bus at once by {len(investors)} investors",
        passed and not failed(runs),
        purchases=len(details),
        investors=len(investors),
        delivered=len(delivered),
        sequence_errors=len(errors) + len(again),
        duplicate_submits=len(duplicates),
        audit_mismatches=len(mismatches),
        seconds=seconds,
    )
    assert Counter(r.status for r in records) == {PurchaseStatus.DELIVERED: len(details)}, [
        (r.purchase_id, r.status, r.reason) for r in records if r.status != "DELIVERED"
    ]
    assert failed(runs) == []
    assert errors == [], Counter(code for _, _, code in errors)
    assert again == [], "re-signed after expiry"
    assert audit.per_investor(found) == audit.per_investor(wanted)
    assert mismatches == []
