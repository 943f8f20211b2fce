"""The purchase saga end to end: the CDK-defined workflow on the embedded AWS, its real handlers
in-process, the project's local ledger. Books are read back from the validated ledger."""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from domain.purchase import PurchaseStatus, purchase_id_for
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.support.books import (
    stablecoin_balance,
    stablecoin_outstanding,
    units_held,
    units_outstanding,
)
from tests.support.bus import SeenEvents, watching_bus
from tests.support.investors import onboard
from tests.support.waiting import wait_for
from tests.workflows.conftest import (
    distinct_states,
    executions_for,
    history,
    new_investor_id,
    payment,
    put_payment,
    run_payment,
)
from tests.workflows.faults import Faults

INSTRUMENT = "SME-2027-A"


@pytest.fixture(scope="module")
def bus_events(aws: LocalAws) -> Iterator[SeenEvents]:
    """Everything the platform puts on its bus from purchases, as a queue sees it."""
    with watching_bus(aws, "drexfy.purchases") as seen:
        yield seen


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    return Faults(monkeypatch)


@pytest.fixture
def investor(ledger: LocalLedger, platform: dict[str, Any]) -> dict[str, str]:
    investor_id = new_investor_id()
    return {"investor_id": investor_id, "address": onboard(ledger, investor_id)}


class Books:
    """The ledger and the records around one purchase: taken before, compared after."""

    def __init__(self, platform: dict[str, Any], investor: dict[str, str]) -> None:
        from lambdas.records.tables import InstrumentRecord

        self.client = platform["client"]
        self.accounts = platform["accounts"]
        self.investor = investor["address"]
        self.instrument = InstrumentRecord.get(INSTRUMENT, consistent_read=True)
        self.before = self.read()

    def read(self) -> dict[str, Any]:
        from lambdas.records.tables import InstrumentRecord

        record = InstrumentRecord.get(INSTRUMENT, consistent_read=True)
        issuance = self.instrument.issuance_id
        return {
            "outstanding": stablecoin_outstanding(self.client, self.accounts.issuer),
            "company": stablecoin_balance(self.client, self.accounts.company, self.accounts.issuer),
            "investor": stablecoin_balance(self.client, self.investor, self.accounts.issuer),
            "investor_units": units_held(self.client, self.investor, issuance),
            "units_outstanding": units_outstanding(self.client, self.accounts.company, issuance),
            "available": int(record.units_available),
            "reserved": int(record.units_reserved),
            "sold": int(record.units_sold),
        }

    def change(self) -> dict[str, Any]:
        after = self.read()
        return {k: after[k] - self.before[k] for k in after if after[k] != self.before[k]}


def purchase_record(detail: dict[str, Any]) -> Any:
    from lambdas.records.tables import PurchaseRecord

    return PurchaseRecord.get(purchase_id_for(detail["payment_id"]), consistent_read=True)


def submissions_of(purchase_id: str) -> dict[str, Any]:
    from lambdas.records.tables import SubmissionRecord

    found = SubmissionRecord.scan(SubmissionRecord.business_key.startswith(f"{purchase_id}#"))
    return {r.business_key.split("#", 1)[1]: r for r in found}


def the_record_books_every_step_the_ledger_took(purchase_id: str, platform: dict[str, Any]) -> bool:
    """Each saga step that validated is on the purchase's record, a forward step the undoing
    found validated too: the books (domain/bookings.py) then net to nothing, as the ledger does."""
    from domain import bookings
    from domain.settlement import Step
    from lambdas.records import purchases

    purchase = purchases.get(purchase_id)
    steps = {step.value for step in Step}
    validated = {
        record.tx_hash
        for key, record in submissions_of(purchase_id).items()
        if key.split("#")[0] in steps and record.status == "SUCCEEDED"
    }
    booked = {
        t.get("hash") for t in purchase.transactions.values() if t.get("result") == "tesSUCCESS"
    }
    net: dict[tuple[str, str], Decimal] = {}
    for m in bookings.of_purchase(purchase, platform["accounts"]):
        net[(m.account, m.asset)] = net.get((m.account, m.asset), Decimal(0)) + m.change
    assert validated <= booked, (validated - booked, purchase.transactions)
    assert not any(net.values()), net
    return True


# --- a purchase that goes through --------------------------------------------------------------


def test_a_payment_delivers_the_instrument(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str], bus_events: Any
) -> None:
    books = Books(platform, investor)
    detail = payment(investor["investor_id"], units=3, amount="300.00")

    execution = run_payment(aws, detail)

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["status"] == PurchaseStatus.DELIVERED
    assert (output["investor_id"], output["instrument_id"]) == (investor["investor_id"], INSTRUMENT)
    assert (output["units"], output["amount"], output["currency"]) == (3, "300.00", "EUR")
    holdings = {"stablecoin-line", "stablecoin-line-auth", "mptoken", "mptoken-auth"}
    assert set(output["transactions"]) == {"mint", "transfer", "deliver"} | holdings
    mint = output["transactions"]["mint"]
    for step in holdings:
        tx = output["transactions"][step]
        assert tx["result"] == "tesSUCCESS" and tx["ledger_index"] < mint["ledger_index"], step
    mint = output["transactions"]["mint"]
    for step in ("transfer", "deliver"):
        tx = output["transactions"][step]
        assert tx["result"] == "tesSUCCESS" and len(tx["hash"]) == 64
        # It follows the mint once the mint is in the open ledger (ledger_steps: ACCEPTED), so
        # the same ledger or a later one, never an earlier one.
        assert tx["ledger_index"] >= mint["ledger_index"], f"{step} before the mint"
    assert books.change() == {
        "outstanding": Decimal("300.00"),
        "company": Decimal("300.00"),
        "investor_units": 3,
        "units_outstanding": 3,
        "available": -3,
        "sold": 3,
    }
    record = purchase_record(detail)
    assert (
        record.status == PurchaseStatus.DELIVERED
        and record.execution_arn == execution["executionArn"]
    )
    states = distinct_states(aws, execution["executionArn"])
    assert states[:7] == [
        "Record deposit",
        "What is this payment?",
        "Authorize trust line",
        "Trust line ready?",
        "Wait for trust line",
        "Mint stablecoin",
        "Mint accepted?",
    ]
    # The mint applied to the open ledger at once: the transfer and the delivery followed it
    # there without waiting for its validation, which Confirm mint waited for meanwhile.
    assert "Wait for mint" not in states
    assert states[7] == "Transfer stablecoin and deliver instrument"
    assert set(states[8:20]) == {
        "Transfer stablecoin",
        "Transfer validated?",
        "Wait for transfer",
        "Stablecoin transferred",
        "Deliver instrument",
        "Delivery validated?",
        "Wait for delivery",
        "Instrument delivered",
        "Confirm mint",
        "Mint validated?",
        "Wait for mint to validate",
        "Mint confirmed",
    }
    assert states[20:] == ["Complete purchase", "Announce delivery", "Purchase delivered"]
    completed = [e for e in bus_events.drain() if e["detail-type"] == "PurchaseCompleted"]
    assert [e["detail"]["purchase_id"] for e in completed][-1] == output["purchase_id"]


def test_a_second_purchase_needs_no_trust_line_round(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    first = run_payment(aws, payment(investor["investor_id"]))
    assert first["status"] == "SUCCEEDED"

    second = run_payment(aws, payment(investor["investor_id"], units=1, amount="100.00"))

    assert json.loads(second["output"])["status"] == PurchaseStatus.DELIVERED
    states = distinct_states(aws, second["executionArn"])
    assert "Wait for trust line" not in states, "holdings in place: no ledger round spent on them"
    assert sum(1 for s in state_names_of(aws, second) if s == "Wait for mint to validate") >= 1


def test_a_watcher_reads_purchases_by_key_and_counts_undecided_submissions(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    """What a load's watcher reads instead of scanning (a scan's cost grows with the table,
    and the load it watches waits for it): the purchases asked for, and a count."""
    from lambdas.records import purchases, submissions
    from lambdas.records.tables import SubmissionRecord

    delivered = json.loads(run_payment(aws, payment(investor["investor_id"]))["output"])
    purchase_id, never_paid = delivered["purchase_id"], purchase_id_for(f"pay-{uuid.uuid4()}")

    assert purchases.statuses([never_paid, purchase_id, purchase_id]) == {
        purchase_id: PurchaseStatus.DELIVERED
    }
    assert [s.in_flight for s in submissions.under(purchase_id)] == [False] * 3
    assert submissions.in_flight_under(purchase_id) == 0
    undecided = [f"{purchase_id}#watched-{n}" for n in range(2)]
    for key, status in zip(undecided, ("PREPARING", "SUBMITTED"), strict=True):
        mint = SubmissionRecord.get(f"{purchase_id}#mint", consistent_read=True)
        mint.business_key, mint.status = key, status
        mint.save()
    try:
        assert sum(s.in_flight for s in submissions.under(purchase_id)) == 2
        assert submissions.in_flight_under(purchase_id) == 2
        assert submissions.in_flight_under(f"{purchase_id}#watched-1") == 1
    finally:
        for key in undecided:
            SubmissionRecord(key).delete()


@pytest.mark.handlers_in_test_process
def test_a_warm_purchase_builds_no_aws_client(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A warm Lambda reuses its clients: building one loads botocore's models from disk, tens
    of milliseconds that once made every DynamoDB transaction slow under load."""
    import botocore.session

    run_payment(aws, payment(investor["investor_id"]))  # warms every purchase handler
    built: list[str] = []
    create_client = botocore.session.Session.create_client

    def counting(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if any("/lambdas/" in frame.filename for frame in traceback.extract_stack()):
            built.append(service_name)
        return create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    second = run_payment(aws, payment(investor["investor_id"], units=1, amount="100.00"))

    assert json.loads(second["output"])["status"] == PurchaseStatus.DELIVERED
    assert built == []


def state_names_of(aws: LocalAws, execution: dict[str, Any]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(aws, execution["executionArn"])
        if "stateEnteredEventDetails" in e
    ]


# --- payments that cannot become purchases ------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"investor_id": "inv-nobody"}, "investor inv-nobody is not registered"),
        ({"instrument_id": "SME-1999-Z"}, "instrument SME-1999-Z is not in the catalogue"),
        ({"amount": "199.99"}, "which cost 200.00 EUR"),
        ({"units": 60000, "amount": "6000000.00"}, "60000 units of SME-2027-A asked"),
    ],
    ids=["unknown investor", "unknown instrument", "wrong amount", "too many units"],
)
def test_a_payment_that_cannot_buy_is_refunded_with_the_reason(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    bus_events: Any,
    change: dict[str, Any],
    reason: str,
) -> None:
    books = Books(platform, investor)
    detail = {**payment(investor["investor_id"]), **change}

    execution = run_payment(aws, detail)

    assert execution["status"] == "SUCCEEDED"
    record = purchase_record(detail)
    assert record.status == PurchaseStatus.REFUNDED
    assert "PaymentRejected" in str(record.reason) and reason in str(record.reason)
    assert books.change() == {}, "nothing reserved, nothing on the ledger"
    assert submissions_of(record.purchase_id) == {}
    assert distinct_states(aws, execution["executionArn"]) == [
        "Record deposit",
        "Release units",
        "Refund payment",
        "Payment refunded",
    ]
    refunds = [e["detail"] for e in bus_events.drain() if e["detail-type"] == "RefundRequested"]
    assert record.purchase_id in [r["purchase_id"] for r in refunds]


def test_a_blocked_investor_cannot_buy(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    from domain.investor import InvestorStatus
    from lambdas.records import investors as investor_records

    investor_records.set_status(investor["investor_id"], InvestorStatus.BLOCKED, "AML flag (test)")
    detail = payment(investor["investor_id"])

    run_payment(aws, detail)

    record = purchase_record(detail)
    assert record.status == PurchaseStatus.REFUNDED
    assert f"investor {investor['investor_id']} is BLOCKED" in str(record.reason)


# --- failures after the deposit: compensation in reverse order -----------------------------------

FAILURE_POINTS = [
    ("holdings", "before"),
    ("mint", "before"),
    ("mint", "after"),
    ("transfer", "before"),
    ("transfer", "after"),
    ("deliver", "before"),
    ("deliver", "after"),
    ("complete", "before"),
]


@pytest.mark.parametrize(
    ("step", "when"), FAILURE_POINTS, ids=[f"{s} {w}" for s, w in FAILURE_POINTS]
)
@pytest.mark.handlers_in_test_process
def test_a_failure_at_any_step_is_undone_and_refunded(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    faults: Faults,
    bus_events: Any,
    step: str,
    when: str,
) -> None:
    books = Books(platform, investor)
    if step == "complete":
        faults.completion()
    else:
        faults.ledger_step(step, when)
    detail = payment(investor["investor_id"])

    execution = run_payment(aws, detail)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    record = purchase_record(detail)
    assert record.status == PurchaseStatus.REFUNDED
    assert "InjectedFailure" in str(record.reason), record.reason
    assert books.change() == {}, "every ledger effect undone, every unit back on sale"
    assert faults.fired, "the fault was reached"
    assert the_record_books_every_step_the_ledger_took(record.purchase_id, platform)
    refunds = [e["detail"] for e in bus_events.drain() if e["detail-type"] == "RefundRequested"]
    assert [r["purchase_id"] for r in refunds].count(record.purchase_id) == 1
    states = distinct_states(aws, execution["executionArn"])
    undoing = states[states.index("Begin compensation") :]
    assert [s for s in undoing if not s.endswith("?") and not s.startswith("Wait")] == [
        "Begin compensation",
        "Take back instrument",
        "Redeem stablecoin",
        "Claw back stablecoin",
        "Release units",
        "Refund payment",
        "Payment refunded",
    ]


@pytest.mark.handlers_in_test_process
def test_a_transaction_the_ledger_refuses_is_undone(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not injected: the delivery asks for more units than the issuance may ever have (tec)."""
    from domain.settlement import Settlement

    real = Settlement._deliver

    def too_many(self: Settlement) -> dict[str, Any]:
        return {**real(self), "Amount": {"mpt_issuance_id": self.issuance_id, "value": "60000"}}

    monkeypatch.setattr(Settlement, "_deliver", too_many)
    books = Books(platform, investor)
    detail = payment(investor["investor_id"])

    execution = run_payment(aws, detail)

    record = purchase_record(detail)
    assert execution["status"] == "SUCCEEDED" and record.status == PurchaseStatus.REFUNDED
    assert "LedgerStepFailed: deliver: tec" in str(record.reason)
    assert books.change() == {}
    transactions = json.loads(execution["output"])["transactions"]
    assert transactions["deliver"]["result"].startswith("tec")
    assert "mint" in transactions
    if transactions.get("transfer", {}).get("result") == "tesSUCCESS":
        assert transactions["redeem-stablecoin"]["result"] == "tesSUCCESS"


@pytest.mark.handlers_in_test_process
def test_a_mint_accepted_then_lost_holds_the_transfer_until_a_mint_validates(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server answered tesSUCCESS to the mint, then lost it. The delivery goes ahead, but the
    transfer waits until the open ledger shows the stablecoin: sent without it, it would have
    validated as a tec. Confirm mint re-signs the mint once the lost one expired."""
    from tests.reliability.faults_matrix_support import dropped_submissions

    issuer = platform["accounts"].issuer
    dropped = dropped_submissions(
        monkeypatch, lambda tx: tx["Account"] == issuer and tx["TransactionType"] == "Payment"
    )
    books = Books(platform, investor)
    detail = payment(investor["investor_id"], units=2, amount="200.00")

    execution = run_payment(aws, detail, timeout=120)

    output = json.loads(execution["output"])
    assert output["status"] == PurchaseStatus.DELIVERED, output.get("reason")
    assert len(dropped) == 1, "the first mint was lost"
    mint, transfer = output["transactions"]["mint"], output["transactions"]["transfer"]
    assert mint["result"] == transfer["result"] == "tesSUCCESS"
    assert transfer["ledger_index"] >= mint["ledger_index"]
    assert books.change() == {
        "company": Decimal("200.00"),
        "outstanding": Decimal("200.00"),
        "investor_units": 2,
        "units_outstanding": 2,
        "available": -2,
        "sold": 2,
    }
    states = state_names_of(aws, execution)
    assert states.count("Wait for mint to validate") > 1 and states.count("Wait for transfer") > 1


@pytest.mark.handlers_in_test_process
@pytest.mark.parametrize("refusals", [1, 3])
def test_an_empty_ticket_pool_makes_the_steps_wait_not_fail(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    refusals: int,
) -> None:
    """A burst empties a platform account's Ticket pool: the holdings and the mint wait for the
    refill's ledger (PENDING) instead of failing the purchase."""
    from lambdas.ledger_adapter import submission
    from lambdas.records.reservations import PoolEmpty

    real, refused = submission.reserve_ticket, []

    def empty_at_first(*args: Any) -> Any:
        if len(refused) < refusals:
            refused.append(args[2]["TransactionType"])
            raise PoolEmpty("no ticket available (test); a refill is under way")
        return real(*args)

    monkeypatch.setattr(submission, "reserve_ticket", empty_at_first)
    detail = payment(investor["investor_id"])

    execution = run_payment(aws, detail)

    output = json.loads(execution["output"])
    assert output["status"] == PurchaseStatus.DELIVERED, output.get("reason")
    assert len(refused) == refusals
    assert state_names_of(aws, execution).count("Wait for trust line") >= refusals


@pytest.mark.handlers_in_test_process
def test_an_aml_block_in_the_middle_stops_the_purchase(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str], faults: Faults
) -> None:
    from domain.investor import InvestorStatus
    from lambdas.records import investors as investor_records

    def flag(_: str) -> None:
        investor_records.set_status(investor["investor_id"], InvestorStatus.BLOCKED, "AML flag")

    faults.after_step("mint", flag)
    books = Books(platform, investor)
    detail = payment(investor["investor_id"])

    execution = run_payment(aws, detail)

    record = purchase_record(detail)
    assert record.status == PurchaseStatus.REFUNDED
    assert f"InvestorBlocked: investor {investor['investor_id']} is BLOCKED" in str(record.reason)
    assert books.change() == {}
    transactions = json.loads(execution["output"])["transactions"]
    assert "claw-back-stablecoin" in transactions, "the minted stablecoin was clawed back"
    assert "deliver" not in transactions or transactions["deliver"]["hash"] is None


# Up to the transfer, a block undoes the purchase; from the transfer on, the delivery may already
# be on its way (they run in parallel): the purchase then completes, and the compliance workflow
# freezes what was delivered. Either way it is never parked.
BEFORE_DELIVERY = ["deposit", "holdings", "mint", "transfer reserved"]
DELIVERY_UNDER_WAY = ["transfer", "deliver"]


@pytest.mark.handlers_in_test_process
@pytest.mark.parametrize("boundary", BEFORE_DELIVERY + DELIVERY_UNDER_WAY)
def test_an_investor_blocked_at_any_step_boundary_is_never_parked(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    faults: Faults,
    boundary: str,
) -> None:
    """No compensation needs the blocked investor's signature: a transfer reserved but not
    yet signed is given up (its Sequence given back), not parked waiting for a signature the
    investor signer refuses."""
    from domain.investor import InvestorStatus
    from lambdas.records import investors as investor_records

    def flag(_: str) -> None:
        investor_records.set_status(investor["investor_id"], InvestorStatus.BLOCKED, "AML flag")

    faults.at_boundary(boundary, flag)
    books = Books(platform, investor)
    detail = payment(investor["investor_id"])

    execution = run_payment(aws, detail)

    record = purchase_record(detail)
    assert faults.fired == [boundary]
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert "Park for operator" not in distinct_states(aws, execution["executionArn"])
    if boundary in BEFORE_DELIVERY or record.status == PurchaseStatus.REFUNDED:
        assert record.status == PurchaseStatus.REFUNDED, record.parked_reason
        assert books.change() == {}, "nothing left on the ledger or reserved"
    else:
        assert record.status == PurchaseStatus.DELIVERED
        assert books.change()["investor_units"] == 2


@pytest.mark.handlers_in_test_process
def test_a_sequence_given_back_by_a_blocked_investor_is_used_once_they_are_cleared(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    """The wallet does not stall on the Sequence its refused transfer left unused."""
    from domain.investor import InvestorStatus
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import AccountSequenceRecord

    with pytest.MonkeyPatch.context() as monkeypatch:
        faults = Faults(monkeypatch)
        faults.at_boundary(
            "transfer reserved",
            lambda _: investor_records.set_status(
                investor["investor_id"], InvestorStatus.BLOCKED, "AML flag"
            ),
        )
        refunded = purchase_record(_settled_payment(aws, investor))
    given_back = AccountSequenceRecord.get(investor["address"], consistent_read=True).released
    assert refunded.status == PurchaseStatus.REFUNDED and given_back
    investor_records.set_status(investor["investor_id"], InvestorStatus.ACTIVE, "AML cleared")

    delivered = purchase_record(_settled_payment(aws, investor))

    assert delivered.status == PurchaseStatus.DELIVERED
    assert not AccountSequenceRecord.get(investor["address"], consistent_read=True).released


def _settled_payment(aws: LocalAws, investor: dict[str, str]) -> dict[str, Any]:
    detail = payment(investor["investor_id"])
    run_payment(aws, detail)
    return detail


# --- parking and redrive --------------------------------------------------------------------------


@pytest.mark.handlers_in_test_process
@pytest.mark.parametrize("cause", ["transient", "ledger"])
def test_a_compensation_that_cannot_finish_parks_and_a_redrive_finishes_it(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cause: str,
) -> None:
    """The redemption cannot finish: the ledger is unreachable for it (transient, retried until
    the workflow gives up), or it fails on the ledger (the company's redemption names more
    stablecoin than it holds: tec). After the fix, a redrive finishes the undoing."""
    from domain.errors import TransientFault
    from domain.settlement import Settlement
    from ops.redrive import redrive_purchase

    books = Books(platform, investor)
    faults.ledger_step("transfer", "after")
    if cause == "transient":
        faults.ledger_step("redeem-stablecoin", "before", error=TransientFault)
    else:
        real = Settlement._redeem
        monkeypatch.setattr(
            Settlement,
            "_redeem",
            lambda self: {**real(self), "Amount": {**real(self)["Amount"], "value": "9999999"}},
        )
    detail = payment(investor["investor_id"])

    parked = run_payment(aws, detail)

    assert parked["status"] == "FAILED" and parked["error"] == "NeedsOperator"
    record = purchase_record(detail)
    assert record.status == PurchaseStatus.NEEDS_OPERATOR
    expected = {
        "transient": "TransientFault: injected failure before redeem-stablecoin",
        "ledger": "LedgerStepFailed: redeem-stablecoin: tec",
    }[cause]
    assert expected in str(record.parked_reason)
    assert "InjectedFailure: injected failure after transfer" in str(record.reason)
    emf = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "PurchasesParked" in x]
    assert len(emf) == 1 and emf[0]["PurchasesParked"] in (1, [1])
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Drexfy"
    hashes_before = {
        k: r.tx_hash
        for k, r in submissions_of(record.purchase_id).items()
        if r.status == "SUCCEEDED"
    }
    assert {"mint", "transfer"} <= set(hashes_before)
    # The delivery branch raced the failing transfer: cancelled before it submitted, or
    # validated and then taken back; either way it is settled before the redemption.
    assert ("deliver" in hashes_before) == ("take-back-instrument" in hashes_before)

    monkeypatch.undo()  # the operator fixed the cause
    redriven_arn = redrive_purchase(aws.client("stepfunctions"), record.purchase_id, native=False)
    finished = wait_for(
        lambda: (
            (e := aws.client("stepfunctions").describe_execution(executionArn=redriven_arn))
            and e["status"] != "RUNNING"
            and e
        )
    )

    assert finished["status"] == "SUCCEEDED", finished.get("cause")
    record = purchase_record(detail)
    assert record.status == PurchaseStatus.REFUNDED
    after = submissions_of(record.purchase_id)
    assert {k: after[k].tx_hash for k in hashes_before} == hashes_before, "nothing signed twice"
    redeemed = [k for k, r in after.items() if k.startswith("redeem") and r.status == "SUCCEEDED"]
    assert redeemed == ["redeem-stablecoin#r1"], "the redrive's round redeemed, once"
    if cause == "ledger":
        assert after["redeem-stablecoin"].status == "FAILED", "the failed round stays on record"
    assert books.change() == {}
    assert distinct_states(aws, redriven_arn)[:3] == [
        "Record deposit",
        "What is this payment?",
        "Begin compensation",
    ], "a redrive of a purchase being undone never goes forward"


# --- duplicates and replays -----------------------------------------------------------------------


def test_duplicate_and_replayed_payments_make_one_purchase(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    books = Books(platform, investor)
    detail = payment(investor["investor_id"])
    sent_at = time.time()
    threads = [threading.Thread(target=put_payment, args=(aws, detail)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    executions = wait_for(
        lambda: (e := executions_for(aws, detail["payment_id"])) and len(e) == 3 and e, 90
    )
    events = aws.client("events")
    events.start_replay(
        ReplayName=f"replay-{uuid.uuid4().hex[:8]}",
        EventSourceArn=aws.stack.output("EventArchiveArn"),
        EventStartTime=sent_at - 5,
        EventEndTime=time.time() + 5,
        Destination={
            "Arn": events.describe_event_bus(Name=aws.stack.output("EventBusName"))["Arn"]
        },
    )
    executions = wait_for(
        lambda: (e := executions_for(aws, detail["payment_id"])) and len(e) >= 6 and e, 90
    )

    outcomes = sorted(distinct_states(aws, e["executionArn"])[-1] for e in executions)
    assert outcomes.count("Purchase delivered") == 1
    assert set(outcomes) == {"Purchase delivered", "Payment already handled"}
    assert books.change() == {
        "outstanding": Decimal("200.00"),
        "company": Decimal("200.00"),
        "investor_units": 2,
        "units_outstanding": 2,
        "available": -2,
        "sold": 2,
    }, "one mint, one transfer, one delivery"


@pytest.mark.handlers_in_test_process
def test_a_transient_fault_is_retried_then_succeeds(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from domain.errors import TransientFault
    from lambdas.records import purchases as purchase_records

    real = purchase_records.open_purchase
    failures = {"left": 2}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise TransientFault("ProvisionedThroughputExceededException: slow down")
        return real(*args, **kwargs)

    monkeypatch.setattr(purchase_records, "open_purchase", flaky)
    execution = run_payment(aws, payment(investor["investor_id"]))

    assert execution["status"] == "SUCCEEDED"
    failed = [e for e in history(aws, execution["executionArn"]) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["TransientFault"] * 2
    assert json.loads(execution["output"])["status"] == PurchaseStatus.DELIVERED


def _purchase_execution(aws: LocalAws, event_id: str) -> dict[str, Any]:
    sfn, arn = aws.client("stepfunctions"), aws.stack.output("PurchaseStateMachineArn")

    def finished() -> dict[str, Any] | None:
        for summary in sfn.list_executions(stateMachineArn=arn)["executions"]:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            if json.loads(execution["input"])["event_id"] == event_id:
                return execution if execution["status"] != "RUNNING" else None  # type: ignore[no-any-return]
        return None

    return wait_for(finished)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "bad_detail",
    [
        {"payment_id": "pay-x"},
        {"amount": 12.5},
        {"payment": ["not", "an", "object"]},
        {**payment("inv-x"), "units": "two"},
        {**payment("inv-x"), "currency": "USD"},
    ],
    ids=["fields missing", "float amount", "nonsense", "malformed units", "unsupported currency"],
)
def test_a_malformed_event_is_refused_as_unannounced_and_kept(
    aws: LocalAws, platform: dict[str, Any], bad_detail: dict[str, Any]
) -> None:
    """The webhook refuses malformed payments at the door, so one on the bus came some other
    way: it moves no money, in or out, and its failed execution keeps it for operators."""
    execution = _purchase_execution(aws, put_payment(aws, bad_detail))

    assert execution["status"] == "FAILED"
    assert execution["error"] == "PaymentNotAnnounced"
    assert distinct_states(aws, execution["executionArn"]) == [
        "Record deposit",
        "Payment not announced",
    ]


def test_a_forged_payment_on_the_bus_is_never_minted_nor_refunded(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    """Whoever may put PaymentReceived on the bus (the administrator here) still cannot make
    money: Record deposit takes only what the authenticated webhook announced."""
    from lambdas.records.tables import PurchaseRecord

    books = Books(platform, investor)
    detail = payment(investor["investor_id"])

    execution = _purchase_execution(aws, put_payment(aws, detail, announced=False))

    assert (execution["status"], execution["error"]) == ("FAILED", "PaymentNotAnnounced")
    assert "no authenticated gateway webhook announced it" in execution["cause"]
    assert books.change() == {}, "nothing reserved, minted, delivered or refunded"
    with pytest.raises(PurchaseRecord.DoesNotExist):
        purchase_record(detail)


def test_a_payment_edited_on_the_bus_is_refused_with_what_differs(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    from local.payment_gateway import announce_as_the_webhook_would

    books = Books(platform, investor)
    detail = payment(investor["investor_id"], units=2, amount="200.00")
    announce_as_the_webhook_would(detail)
    edited = {**detail, "units": 20, "amount": "2000.00"}

    execution = _purchase_execution(aws, put_payment(aws, edited, announced=False))

    assert (execution["status"], execution["error"]) == ("FAILED", "PaymentNotAnnounced")
    assert "units 20 (announced 2)" in execution["cause"]
    assert "amount 2000.00 (announced 200.00)" in execution["cause"]
    assert books.change() == {}


def _find(model: Any, key: str) -> Any:
    try:
        record = model.get(key, consistent_read=True)
    except model.DoesNotExist:
        return None
    return record if record.status == PurchaseStatus.REFUNDED else None


@pytest.mark.handlers_in_test_process
def test_xrpljs_verifies_every_transaction_the_saga_signed(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str], faults: Faults
) -> None:
    """An independent client checks the blobs: investor (ed25519, through the Signer) and
    platform (secp256k1 in KMS) alike, forward steps and compensations."""
    from lambdas.records.tables import SubmissionRecord
    from tests.support.xrpljs import check_blobs

    faults.ledger_step("deliver", "after")  # undone by an MPT clawback, whatever else raced
    detail = payment(investor["investor_id"])
    run_payment(aws, detail)
    purchase_id = purchase_id_for(detail["payment_id"])
    records = [
        r
        for r in SubmissionRecord.scan()
        if r.tx_blob
        and r.business_key.startswith((purchase_id, f"investor#{investor['investor_id']}"))
    ]

    kinds = {(r.transaction_type, r.business_key.rsplit("#", 1)[-1]) for r in records}
    assert {t for t, _ in kinds} == {"TrustSet", "MPTokenAuthorize", "Payment", "Clawback"}
    checked = check_blobs([r.tx_blob for r in records])
    assert all(c["signatureValid"] for c in checked)
    assert [c["hash"] for c in checked] == [r.tx_hash for r in records]


@pytest.mark.handlers_in_test_process
def test_a_holding_that_failed_once_is_tried_again_by_the_next_purchase(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issuer's authorization of the line fails on the ledger (tecNO_DST here: it names an
    account that does not exist); the purchase is refunded. Once the cause is gone, the next
    purchase of the investor authorizes the line under its own key and goes through."""
    from domain import settlement

    real = settlement.holdings_transactions

    def broken(*args: Any) -> list[Any]:
        items = real(*args)
        for item in items:
            if item.key.endswith("#stablecoin-line-auth"):
                item.tx["LimitAmount"]["issuer"] = "rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv"
        return items

    monkeypatch.setattr("lambdas.ledger_services.purchases.holdings_transactions", broken)
    first = payment(investor["investor_id"])
    run_payment(aws, first)
    assert purchase_record(first).status == PurchaseStatus.REFUNDED
    assert "stablecoin-line-auth: tec" in str(purchase_record(first).reason)

    monkeypatch.undo()
    second = payment(investor["investor_id"])
    execution = run_payment(aws, second)

    assert json.loads(execution["output"])["status"] == PurchaseStatus.DELIVERED
    retried = submissions_of(purchase_id_for(second["payment_id"]))["stablecoin-line-auth"]
    assert retried.status == "SUCCEEDED"
    noted = json.loads(execution["output"])["transactions"]["stablecoin-line-auth"]
    assert (noted["hash"], noted["result"]) == (retried.tx_hash, "tesSUCCESS")


# --- the edges: duplicates racing a rejection, announcements, parked rejections -----------------


def _context() -> Any:
    from local.aws.lambda_runtime import InvocationContext

    return InvocationContext("test", "arn:aws:lambda:eu-west-1:123456789012:function:test", 128, 30)


def test_a_duplicate_rejected_by_a_race_never_refunds_the_purchase_it_lost_to(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    """Execution B of a duplicate delivery was rejected (the first one had just taken the last
    units); its Release units and Refund payment must leave the first one's purchase alone."""
    from domain.investor import InvestorStanding, InvestorStatus
    from domain.purchase import Payment
    from lambdas.purchase import refund_payment, release_units
    from lambdas.records import purchases as purchase_records

    detail = payment(investor["investor_id"])
    standing = InvestorStanding(investor["investor_id"], InvestorStatus.ACTIVE, investor["address"])
    owner, _ = purchase_records.open_purchase(Payment.from_event(detail), standing, "exec-A", False)
    failure = {"Error": "PaymentRejected", "Cause": "0 units available"}
    loser = {"payment": detail, "failure": failure, "execution": "exec-B"}

    released = release_units.handler(loser, _context())
    refunded = refund_payment.handler(loser, _context())

    assert released["units_held"] is True
    assert refunded == {"purchase_id": owner.purchase_id, "handling": "DUPLICATE"}
    record = purchase_record(detail)
    assert (record.status, record.units_held) == (PurchaseStatus.DEPOSIT_RECORDED, True)
    purchase_records.release_units(owner.purchase_id, "exec-A")  # leave the units as found


@pytest.mark.handlers_in_test_process
def test_an_announcement_that_fails_never_undoes_a_delivery(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from domain.errors import TransientFault
    from lambdas import platform_events

    def bus_down(detail_type: str, detail: dict[str, Any]) -> str:
        raise TransientFault(f"EventBridge PutEvents {detail_type}: unavailable")

    monkeypatch.setattr(platform_events, "publish", bus_down)
    books = Books(platform, investor)
    detail = payment(investor["investor_id"])

    execution = run_payment(aws, detail)

    assert (execution["status"], execution["error"]) == ("FAILED", "TransientFault")
    assert distinct_states(aws, execution["executionArn"])[-1] == "Announce delivery"
    assert purchase_record(detail).status == PurchaseStatus.DELIVERED
    assert books.change()["investor_units"] == 2, "the delivery stands"


@pytest.mark.handlers_in_test_process
def test_a_rejected_payment_whose_refund_cannot_be_sent_is_parked_then_refunded(
    aws: LocalAws,
    platform: dict[str, Any],
    investor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from domain.errors import TransientFault
    from lambdas import platform_events
    from ops.redrive import redrive_purchase

    real = platform_events.publish
    monkeypatch.setattr(
        platform_events, "publish", lambda *a: (_ for _ in ()).throw(TransientFault("bus down"))
    )
    detail = payment(investor["investor_id"], amount="1.00")

    parked = run_payment(aws, detail)

    assert parked["error"] == "NeedsOperator"
    record = purchase_record(detail)
    # asked (its answer would be taken), but never sent: parked until the bus takes it
    assert record.status == PurchaseStatus.NEEDS_OPERATOR and record.refund_requested
    assert "TransientFault: bus down" in str(record.parked_reason)
    assert "PaymentRejected" in str(record.reason)

    monkeypatch.setattr(platform_events, "publish", real)
    arn = redrive_purchase(aws.client("stepfunctions"), record.purchase_id, native=False)
    wait_for(
        lambda: (
            aws.client("stepfunctions").describe_execution(executionArn=arn)["status"]
            == "SUCCEEDED"
        )
    )
    record = purchase_record(detail)
    assert record.status == PurchaseStatus.REFUNDED and record.refund_requested


def test_redrive_execution_in_aws_resumes_the_undoing_from_park(
    aws: LocalAws, platform: dict[str, Any], investor: dict[str, str]
) -> None:
    """RedriveExecution re-runs "Park for operator" with a higher RedriveCount: it resumes the
    undoing in a new round instead of parking again (a plain retry of the task parks again)."""
    from domain.errors import NeedsOperator
    from domain.investor import InvestorStanding, InvestorStatus
    from domain.purchase import Payment
    from lambdas.purchase import park_purchase
    from lambdas.records import purchases as purchase_records

    detail = payment(investor["investor_id"])
    standing = InvestorStanding(investor["investor_id"], InvestorStatus.ACTIVE, investor["address"])
    purchase_records.open_purchase(Payment.from_event(detail), standing, "exec-P", False)
    purchase_id = purchase_id_for(detail["payment_id"])
    purchase_records.begin_compensation(purchase_id, "X: a step failed")
    event = {"purchase_id": purchase_id, "failure": {"Error": "Y"}, "execution": "exec-P"}
    with pytest.raises(NeedsOperator):
        park_purchase.handler({**event, "redrive_count": 0}, _context())
    with pytest.raises(NeedsOperator):
        park_purchase.handler({**event, "redrive_count": 0}, _context())  # a retry: still parked

    resumed = park_purchase.handler({**event, "redrive_count": 1}, _context())

    assert resumed == {"purchase_id": purchase_id, "checks": 0}
    after = purchase_records.get(purchase_id)
    assert (after.status, int(after.compensation_round)) == (PurchaseStatus.COMPENSATING, 1)
    purchase_records.release_units(purchase_id, "exec-P")  # leave the units as found
    purchase_records.release_units(purchase_id, "exec-P")  # leave the units as found
