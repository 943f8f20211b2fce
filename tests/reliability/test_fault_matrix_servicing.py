"""The fault matrix over servicing: every task of the Distribution, Collection, WriteDown and
Statements workflows failing before its effect, after it, and timing out
(tests/reliability/test_fault_matrix.py says what each kind does).

A distribution at maturity must end, after the operator runs it again when its first execution
stopped, with each holder paid the period's coupon and principal once, told once, their units
taken back and the issuance retired, the company's EUR down by exactly what was paid, and no
ledger step applied twice. A collection is minted once; a write-down recorded once; a
statement's documents kept.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.books.test_statement_documents import last_month
from tests.reliability import faults_matrix_support as support
from tests.reliability.faults_matrix_support import HandlerFaults, Runs, TaskTarget, runs_of
from tests.reliability.report import scale
from tests.reliability.test_fault_matrix import matrix, validated_successes
from tests.servicing.conftest import buy, fund_company, new_instrument
from tests.servicing.test_collections import collection, send
from tests.support.books import stablecoin_balance, units_held
from tests.support.bus import SeenEvents, watching_bus
from tests.withdrawals.conftest import kyc_approved

# Handlers run in this process: faults are injected into handler code (HandlerFaults).
pytestmark = pytest.mark.handlers_in_test_process

CATEGORY = "fault matrix"

# One semiannual period ending at maturity, on dates no other test's schedule reaches: every
# task of the workflow runs, the approval and the take-back and retirement at maturity too.
TERMS = {"issue_date": "2025-07-23", "maturity": "2026-01-23", "payments_per_year": 2}
MATURITY = "2026-01-23"
HOLDERS = 2
# Pay holder failing before its effect fails the Map: the report of what was paid follows.
DISTRIBUTION_TRIGGERS: dict[str, list[tuple[str, str]]] = {
    "Take distribution": [],
    "Check funds": [],
    "Await approval": [],
    "Record approval": [],
    "Pay holder": [],
    "Notify holder": [],
    "Take back units": [],
    "Report distribution": [],
    "Retire issuance": [],
    "Report what was paid": [("Pay holder", "before")],
}
COVERED: dict[str, dict[str, Any]] = {
    "distribution": DISTRIBUTION_TRIGGERS,
    "collection": {"Mint collection": []},
    "write_down": {"Record write-down": []},
    "statements": {"Find statements due": [], "Make statement": []},
}
FAST = {
    ("distribution", "Pay holder", "before"),
    ("distribution", "Take back units", "after"),
    ("distribution", "Await approval", "timeout"),
    ("collection", "Mint collection", "before"),
    ("collection", "Mint collection", "after"),
    ("collection", "Mint collection", "timeout"),
    ("write_down", "Record write-down", "before"),
    ("write_down", "Record write-down", "after"),
    ("write_down", "Record write-down", "timeout"),
    ("statements", "Make statement", "before"),
    ("statements", "Find statements due", "after"),
    ("statements", "Make statement", "timeout"),
}


@pytest.fixture(scope="module")
def told(aws: LocalAws) -> Iterator[SeenEvents]:
    with watching_bus(aws, "drexfy.investors") as seen:
        yield seen


# --- a distribution at maturity ------------------------------------------------------------------


class Approver:
    """The operator approving the totals whenever the run waits (again, after a retry of the
    wait, whose new token replaces the old)."""

    def __init__(self, aws: LocalAws, distribution_id: str) -> None:
        self.sfn, self.distribution_id = aws.client("stepfunctions"), distribution_id
        self.sent: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._approve, daemon=True)

    def __enter__(self) -> Approver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()

    def _approve(self) -> None:
        from lambdas.records import distributions

        while not self.stop.wait(0.2):
            found = distributions.find(self.distribution_id)
            token = found.awaiting_token if found else None
            if token and token not in self.sent:
                self.sent.add(token)
                output = json.dumps({"approved_by": "fault-matrix"})
                # A token whose attempt has ended is refused: the retry's token comes next.
                with contextlib.suppress(ClientError):
                    self.sfn.send_task_success(taskToken=token, output=output)


def a_distribution(
    aws: LocalAws,
    ledger: LocalLedger,
    platform: dict[str, Any],
    told: SeenEvents,
    arm: Any,
    fix: Callable[[], None] | None = None,
) -> tuple[Runs, list[str]]:
    """A new instrument's maturity paid to two new holders, with the faults `arm` injects;
    `fix` ends an outage before a failed run is run again."""
    from domain.cash_flows import schedule
    from lambdas.records import instruments, wallets

    instrument = new_instrument(platform, ledger, "FLT", **TERMS)
    holders = [buy(aws, ledger, instrument, 1) for _ in range(HOLDERS)]
    fund_company(aws, Decimal("250.00"))
    listed = instruments.find(instrument)
    assert listed is not None and listed.terms is not None
    period = schedule(listed.terms)[-1]
    per_unit = period.coupon_per_unit + period.principal_per_unit
    client, accounts = platform["client"], platform["accounts"]
    company = stablecoin_balance(client, accounts.company, accounts.issuer)
    request = {"instrument_id": instrument, "payment_date": MATURITY}
    arm()
    with Approver(aws, f"{instrument}:{MATURITY}"):
        started = aws.client("stepfunctions").start_execution(
            stateMachineArn=aws.stack.output("DistributionStateMachineArn"),
            name=f"{instrument}-{MATURITY}",
            input=json.dumps(request),
        )
        ended = [support.ended(aws, started["executionArn"])]
        runs = Runs("Distribution").take(aws, ended, fix)
    if fix is not None:
        fix()  # the runs ended: what follows reads the books, unfaulted
    addresses = {h: wallets.find(h).address for h in holders}  # type: ignore[union-attr]
    problems = [
        f"{h} holds {paid} EUR, not {per_unit}"
        for h, a in addresses.items()
        if (paid := stablecoin_balance(client, a, accounts.issuer)) != per_unit
    ]
    paid_out = company - stablecoin_balance(client, accounts.company, accounts.issuer)
    if paid_out != per_unit * HOLDERS:
        problems.append(f"the company paid {paid_out}, not {per_unit * HOLDERS}")
    problems += [f"{h} still holds units" for h, a in addresses.items()
                 if units_held(client, a, listed.issuance_id)]  # fmt: skip
    problems += told_once(told, holders, ("CouponPaid", "PrincipalRepaid"))
    problems += retired(platform, listed.issuance_id)
    twice = validated_successes(client, (f"distribution-{instrument}-", f"retire-{instrument}"))
    problems += [f"applied twice on the ledger: {step}" for step, n in twice.items() if n > 1]
    return runs, problems


def told_once(told: SeenEvents, holders: list[str], kinds: tuple[str, ...]) -> list[str]:
    return [
        f"{kind} told {n} times to {holder}"
        for holder in holders
        for kind in kinds
        if (n := len(told.of(kind, holder))) != 1
    ]


def retired(platform: dict[str, Any], issuance_id: str) -> list[str]:
    from xrpl.models.requests import AccountObjectType

    company = platform["accounts"].company
    issuances = platform["client"].objects(company, AccountObjectType.MPT_ISSUANCE)
    alive = issuance_id in {i["mpt_issuance_id"] for i in issuances}
    return ["the issuance was not retired"] if alive else []


# --- a collection, a write-down, a statement -----------------------------------------------------


def a_collection(aws: LocalAws, platform: dict[str, Any]) -> tuple[Runs, list[str]]:
    client, accounts = platform["client"], platform["accounts"]
    before = stablecoin_balance(client, accounts.company, accounts.issuer)
    body = collection(amount="37.19")
    collection_id = json.loads(body)["collection_id"]
    status, answer = send(aws, body)
    assert status == 202, answer
    runs = runs_of(aws, "Collection", "collection", "collection_id", collection_id)
    minted = stablecoin_balance(client, accounts.company, accounts.issuer) - before
    problems = [] if minted == Decimal("37.19") else [f"minted {minted}, not 37.19"]
    twice = validated_successes(client, (f"collection-{collection_id}",))
    return runs, problems + [f"applied twice: {s}" for s, n in twice.items() if n > 1]


@pytest.fixture(scope="module")
def written_down(platform: dict[str, Any], ledger: LocalLedger) -> str:
    today = datetime.now(UTC).date()
    issue = today - timedelta(days=40)
    return new_instrument(
        platform, ledger, "FWD", issue_date=issue.isoformat(),
        maturity=(issue + timedelta(days=365)).isoformat(), pays_automatically=True,
    )  # fmt: skip


def a_write_down(aws: LocalAws, instrument: str) -> tuple[Runs, list[str]]:
    """As `drexfy-ops instrument ID write-down` puts it on the bus."""
    from domain.events import OPERATOR_WRITE_DOWNS
    from lambdas.records import instruments

    reason = f"fault matrix {uuid.uuid4().hex[:8]}"
    detail = {
        "write_down_id": f"wd-{uuid.uuid4().hex[:10]}",
        "instrument_id": instrument,
        "on": (datetime.now(UTC).date() + timedelta(days=1)).isoformat(),
        "per_unit": "1.00",
        "reason": reason,
        "operator": "fault-matrix",
    }
    aws.client("events").put_events(
        Entries=[
            {
                "Source": OPERATOR_WRITE_DOWNS.source,
                "DetailType": OPERATOR_WRITE_DOWNS.detail_types[0],
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps(detail),
            }
        ]
    )
    runs = runs_of(aws, "WriteDown", "write_down", "write_down_id", detail["write_down_id"])
    listed = instruments.find(instrument)
    kept = [w for w in (listed.write_downs if listed else []) if w.reason == reason]
    return runs, [] if len(kept) == 1 else [f"recorded {len(kept)} times"]


@pytest.fixture(scope="module")
def statement_holder(ledger: LocalLedger) -> str:
    investor_id, _ = kyc_approved(ledger)
    return investor_id


def a_statement(aws: LocalAws, investor_id: str) -> tuple[Runs, list[str]]:
    """Last month's documents for one investor, as the investor's request starts them."""
    period = last_month()
    s3 = aws.client("s3")
    bucket = aws.stack.output("ServicingBucketName")
    for suffix in ("csv", "pdf"):  # made again by each case
        s3.delete_object(Bucket=bucket, Key=f"statements/{investor_id}/{period}.{suffix}")
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.stack.output("StatementsStateMachineArn"),
        name=f"fault-matrix-{uuid.uuid4().hex[:12]}",
        input=json.dumps({"period": period, "investor_id": investor_id}),
    )
    runs = Runs("Statements").take(aws, [support.ended(aws, started["executionArn"])])
    problems = []
    try:
        kept = s3.get_object(Bucket=bucket, Key=f"statements/{investor_id}/{period}.csv")
        rows = list(csv.reader(io.StringIO(kept["Body"].read().decode())))
        if rows[1][:2] != [investor_id, period]:
            problems.append(f"the CSV says {rows[1][:2]}")
        pdf = s3.get_object(Bucket=bucket, Key=f"statements/{investor_id}/{period}.pdf")
        if not pdf["Body"].read().startswith(b"%PDF-"):
            problems.append("the PDF is not a PDF")
    except ClientError as missing:
        problems.append(f"not kept: {missing}")
    return runs, problems


# --- every task, every kind ----------------------------------------------------------------------

CASES = matrix(COVERED, FAST)


@pytest.mark.parametrize(("workflow", "task", "kind"), CASES)
def test_a_servicing_fault_ends_with_each_holder_paid_once(
    aws: LocalAws,
    ledger: LocalLedger,
    platform: dict[str, Any],
    faults: HandlerFaults,
    told: SeenEvents,
    workflow: str,
    task: str,
    kind: str,
    request: pytest.FixtureRequest,
) -> None:
    injected = [*COVERED[workflow][task], (task, kind)]
    targets: list[tuple[TaskTarget, str]] = [
        (support.task_target(aws, workflow, t), k) for t, k in injected
    ]

    def arm() -> None:
        for target, target_kind in targets:
            faults.inject(target, target_kind)

    if workflow == "distribution":
        runs, problems = a_distribution(aws, ledger, platform, told, arm)
    elif workflow == "collection":
        arm()
        runs, problems = a_collection(aws, platform)
    elif workflow == "write_down":
        arm()
        runs, problems = a_write_down(aws, request.getfixturevalue("written_down"))
    else:
        arm()
        runs, problems = a_statement(aws, request.getfixturevalue("statement_holder"))
    support.check_case(
        CATEGORY, f"{workflow}/{task} {kind}", [runs], faults, problems, wanted=len(injected)
    )


# --- the infrastructure failing under a distribution ---------------------------------------------


def _holder_payment(platform: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """The company's Payment to a holder."""
    accounts = platform["accounts"]
    return lambda tx: (
        tx.get("TransactionType") == "Payment"
        and tx.get("Account") == accounts.company
        and tx.get("Destination") != accounts.issuer
    )


INFRASTRUCTURE: dict[str, Callable[[pytest.MonkeyPatch, dict[str, Any]], Any]] = {
    "ledger unreachable for 4 requests": lambda mp, _: support.ledger_unreachable(mp, 4),
    "ledger unreachable for 40 requests": lambda mp, _: support.ledger_unreachable(mp, 40),
    "a holder's payment expires unvalidated": lambda mp, p: support.dropped_submissions(
        mp, _holder_payment(p)
    ),
    "KMS throttles Sign 7 times": lambda mp, _: support.kms_throttled(mp, "sign", 7),
    "company ticket taken by a concurrent writer": lambda mp, p: support.ticket_taken_concurrently(
        mp, p["accounts"].company
    ),
}
FAST_INFRASTRUCTURE = ["a holder's payment expires unvalidated"]
INFRA_CASES = list(INFRASTRUCTURE) if scale(0, 1) else FAST_INFRASTRUCTURE


@pytest.mark.parametrize("fault", INFRA_CASES)
def test_an_infrastructure_fault_under_a_distribution_pays_each_holder_once(
    aws: LocalAws,
    ledger: LocalLedger,
    platform: dict[str, Any],
    told: SeenEvents,
    fault: str,
) -> None:
    armed: list[Any] = []
    with pytest.MonkeyPatch.context() as outage:
        runs, problems = a_distribution(
            aws, ledger, platform, told,
            lambda: armed.append(INFRASTRUCTURE[fault](outage, platform)), outage.undo,
        )  # fmt: skip
    struck = min(support.fault_count(armed[0]), 1)
    support.check_case(CATEGORY, f"distribution/infrastructure: {fault}", [runs], struck, problems)
