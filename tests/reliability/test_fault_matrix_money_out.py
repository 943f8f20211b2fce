"""The fault matrix over money out: every task of the Withdrawal and Settlement workflows, and
the Reconciliation's one, failing before its effect, after it, and timing out
(tests/reliability/test_fault_matrix.py says what each kind does).

A withdrawal must end as its path says (PAID_OUT, RETURNED or REFUSED), after the operator's
redrive when its first execution stopped for one, with the investor's EUR on the validated
ledger moved once or not at all, the payment provider asked once, each status told once, and no
ledger step applied twice. A refund's outcome is kept once. A reconciliation that failed to read
the books reports, once run again, what it reports without the fault.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.purchase import PurchaseStatus, purchase_id_for
from domain.withdrawal import WithdrawalStatus, income_withdrawal_id, withdrawal_id_for
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Frontend
from tests.reliability import faults_matrix_support as support
from tests.reliability.faults_matrix_support import HandlerFaults, Runs, TaskTarget, runs_of
from tests.reliability.report import scale
from tests.reliability.test_fault_matrix import matrix, validated_successes
from tests.support.bus import SeenEvents, watching_bus
from tests.support.investors import onboard
from tests.support.waiting import wait_for
from tests.withdrawals.conftest import balance, kyc_approved, outstanding
from tests.withdrawals.test_income import coupon_paid
from tests.workflows.conftest import new_investor_id, payment, run_payment

# Handlers run in this process: faults are injected into handler code (HandlerFaults).
pytestmark = pytest.mark.handlers_in_test_process

CATEGORY = "fault matrix"
AMOUNT = Decimal("120.00")

# The path that reaches each task: "paid" a withdrawal paid out; "blocked" an AML flag lands
# once the stablecoin is redeemed; "failed" the provider fails the payout; "income" a coupon the
# investor chose to have paid to the bank; "refund" a purchase refunded.
WITHDRAWAL_PATHS = {
    "Take income payout": "income",
    "Notify accepted": "paid",
    "Redeem stablecoin": "paid",
    "Notify redeemed": "paid",
    "Request payout": "paid",
    "Put back in wallet": "blocked",
    "Notify refused": "blocked",
}
SETTLEMENT_PATHS = {
    "Record payout outcome": "paid",
    "Notify paid out": "paid",
    "Put back in wallet": "failed",
    "Notify returned": "failed",
    "Record refund outcome": "refund",
}
RECONCILIATION_TASKS = {"Reconcile the books": "reconcile"}
COVERED: dict[str, dict[str, str]] = {
    "withdrawal": WITHDRAWAL_PATHS,
    "settlement": SETTLEMENT_PATHS,
    "reconciliation": RECONCILIATION_TASKS,
}
FAST = {
    ("withdrawal", "Redeem stablecoin", "before"),
    ("withdrawal", "Request payout", "after"),
    ("withdrawal", "Put back in wallet", "timeout"),
    ("settlement", "Put back in wallet", "before"),
    ("settlement", "Record payout outcome", "after"),
    ("settlement", "Record refund outcome", "timeout"),
    ("reconciliation", "Reconcile the books", "before"),
    ("reconciliation", "Reconcile the books", "after"),
    ("reconciliation", "Reconcile the books", "timeout"),
}
# One function tells the frontend of every status: the withdrawal's status at the call tells
# whose call it is.
TOLD_AT = {
    "Notify accepted": WithdrawalStatus.REQUESTED,
    "Notify redeemed": WithdrawalStatus.REDEEMED,
    "Notify refused": WithdrawalStatus.REFUSED,
    "Notify paid out": WithdrawalStatus.PAID_OUT,
    "Notify returned": WithdrawalStatus.RETURNED,
}
ENDS = {  # path: the withdrawal's status, the notification that says it, EUR paid out
    "paid": (WithdrawalStatus.PAID_OUT, "WithdrawalPaidOut", True),
    "income": (WithdrawalStatus.PAID_OUT, "WithdrawalPaidOut", True),
    "blocked": (WithdrawalStatus.REFUSED, "WithdrawalRefused", False),
    "failed": (WithdrawalStatus.RETURNED, "WithdrawalReturned", False),
}


def status_is(status: WithdrawalStatus) -> Callable[[Any], bool]:
    def check(event: Any) -> bool:
        from lambdas.records import withdrawals

        found = (
            withdrawals.find(event.get("withdrawal_id", "")) if isinstance(event, dict) else None
        )
        return found is not None and found.status == status

    return check


def target(aws: LocalAws, workflow: str, task: str) -> TaskTarget:
    told_at = TOLD_AT.get(task)
    return support.task_target(aws, workflow, task, status_is(told_at) if told_at else None)


@pytest.fixture(scope="module")
def told(aws: LocalAws) -> Iterator[SeenEvents]:
    with watching_bus(aws, "drexfy.investors") as seen:
        yield seen


@pytest.fixture(scope="module")
def frontend(aws: LocalAws) -> Frontend:
    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )
    return Frontend(str(secret["SecretString"]))


# --- withdrawals and payouts ---------------------------------------------------------------------


@dataclass
class WithdrawalEnd:
    path: str
    withdrawal: Runs
    settlement: Runs
    status: str
    eur_moved: Decimal  # out of the investor's wallet
    outstanding_moved: Decimal
    payouts_asked: int
    told: Counter[str]
    applied_twice: dict[str, int]

    def problems(self) -> list[str]:
        status, notification, paid = ENDS[self.path]
        expected_move = -AMOUNT if paid else Decimal(0)
        found = [] if self.status == status else [f"withdrawal {self.status}, not {status}"]
        if (self.eur_moved, self.outstanding_moved) != (expected_move, expected_move):
            found.append(f"EUR moved {self.eur_moved}, outstanding {self.outstanding_moved}")
        if self.payouts_asked != (0 if self.path == "blocked" else 1):
            found.append(f"the provider asked {self.payouts_asked} times")
        if self.told[notification] != 1 or any(n != 1 for n in self.told.values()):
            found.append(f"told {dict(self.told)}")
        if self.applied_twice:
            found.append(f"applied twice on the ledger: {self.applied_twice}")
        return found


class Holders:
    """Investors with a verified payout account and EUR in their wallet, paid by the maturity of
    an instrument of their own: EUR the records account for, so the books still reconcile
    after the harness (a test mint would not). One per case."""

    def __init__(
        self, aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], count: int
    ) -> None:
        from tests.servicing.conftest import fund_company, new_instrument

        terms = {"issue_date": "2025-08-11", "maturity": "2026-02-11", "payments_per_year": 2}
        instrument = new_instrument(platform, ledger, "WDR", pays_automatically=True, **terms)
        self.waiting = [self._holder(aws, ledger, instrument) for _ in range(count)]
        fund_company(aws, Decimal(210) * count)
        sfn = aws.client("stepfunctions")
        started = sfn.start_execution(
            stateMachineArn=aws.stack.output("DistributionStateMachineArn"),
            name=f"{instrument}-{terms['maturity']}",
            input=json.dumps({"instrument_id": instrument, "payment_date": terms["maturity"]}),
        )
        paid = support.ended(aws, started["executionArn"], timeout=600)
        assert paid["status"] == "SUCCEEDED", paid

    @staticmethod
    def _holder(aws: LocalAws, ledger: LocalLedger, instrument: str) -> dict[str, str]:
        investor_id, address = kyc_approved(ledger)
        detail = payment(investor_id, instrument_id=instrument, units=2, amount="200.00")
        bought = run_payment(aws, detail)
        assert json.loads(bought["output"])["status"] == "DELIVERED", bought.get("output")
        return {"investor_id": investor_id, "address": address}

    def take(self) -> dict[str, str]:
        return self.waiting.pop()


def needs_a_holder(item: pytest.Item) -> bool:
    params = getattr(item, "callspec", None)
    if params is None:
        return item.name == "test_a_withdrawal_without_faults_passes_these_checks"
    if "fault" in params.params:  # an infrastructure fault: every one strikes a withdrawal
        return True
    workflow, task = params.params["workflow"], params.params["task"]
    return COVERED[workflow][task] in ENDS


@pytest.fixture(scope="module")
def holders(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], request: pytest.FixtureRequest
) -> Holders:
    """As many as the tests of this module chosen for this run withdraw."""
    from tests.servicing.conftest import ledger_closing_on_waits

    chosen = [i for i in request.session.items if i.module is request.module]
    with ledger_closing_on_waits(ledger):  # made before a test's own ledger clock starts
        return Holders(aws, ledger, platform, sum(needs_a_holder(i) for i in chosen))


def a_withdrawal(
    aws: LocalAws,
    holders: Holders,
    platform: dict[str, Any],
    frontend: Frontend,
    faults: HandlerFaults,
    told: SeenEvents,
    path: str,
    arm: Callable[[str], None],
    fix: Callable[[], None] | None = None,
) -> WithdrawalEnd:
    """A new holder withdraws (or is paid a coupon to the bank) along the path, with the faults
    `arm` injects for that withdrawal's id; `fix` ends an outage before a failed run is run
    again (a handler's fault fires once: it needs none)."""
    holder = holders.take()
    investor_id, address = holder["investor_id"], holder["address"]
    wallet, issued = balance(platform, address), outstanding(platform)
    withdrawal_id = start_withdrawal(aws, platform, frontend, faults, investor_id, path, arm)
    withdrawal = runs_of(
        aws, "Withdrawal", *withdrawal_key(path, investor_id, withdrawal_id), fix=fix
    )
    settlement = Runs("Settlement")
    if path != "blocked":
        settlement = runs_of(aws, "Settlement", "outcome", "withdrawal_id", withdrawal_id, fix)
    if fix is not None:
        fix()  # the runs ended: what follows reads the books, unfaulted
    final = ENDS[path][1]
    wait_for(lambda: any(e["detail-type"] == final for e in notified(told, withdrawal_id)), 30)
    assert aws.provider is not None
    from lambdas.records import withdrawals

    found = withdrawals.find(withdrawal_id)
    return WithdrawalEnd(
        path=path,
        withdrawal=withdrawal,
        settlement=settlement,
        status=str(found.status if found else None),
        eur_moved=balance(platform, address) - wallet,
        outstanding_moved=outstanding(platform) - issued,
        payouts_asked=sum(a.business_reference == withdrawal_id for a in aws.provider.actions()),
        told=Counter(e["detail-type"] for e in notified(told, withdrawal_id)),
        applied_twice={
            step: n
            for step, n in validated_successes(
                platform["client"], (f"withdrawal-{withdrawal_id}#",)
            ).items()
            if n > 1
        },
    )


def notified(told: SeenEvents, withdrawal_id: str) -> list[dict[str, Any]]:
    told.drain()
    return [e for e in told if e["detail"].get("withdrawal_id") == withdrawal_id]


def withdrawal_key(path: str, investor_id: str, withdrawal_id: str) -> tuple[str, str, str]:
    """How a Withdrawal execution's input names its withdrawal: income runs by the coupon."""
    return (
        ("income", "investor_id", investor_id)
        if path == "income"
        else ("withdrawal", "withdrawal_id", withdrawal_id)
    )


def start_withdrawal(
    aws: LocalAws,
    platform: dict[str, Any],
    frontend: Frontend,
    faults: HandlerFaults,
    investor_id: str,
    path: str,
    arm: Callable[[str], None],
) -> str:
    assert aws.provider is not None
    if path == "income":
        chosen = frontend.call(
            "PUT", f"/investors/{investor_id}/income-payout", body=json.dumps({"to": "BANK"})
        )
        assert chosen.status == 200, chosen
        day = "2026-12-15"
        withdrawal_id = income_withdrawal_id(investor_id, "CouponPaid", "SME-2027-A", day)
        arm(withdrawal_id)
        coupon_paid(aws, investor_id, str(AMOUNT), day)
        return withdrawal_id
    key = uuid.uuid4().hex
    withdrawal_id = withdrawal_id_for(investor_id, key)
    if path == "failed":
        aws.provider.plan(withdrawal_id, "failed", reason="beneficiary bank rejected the transfer")
    flag = AmlFlag()
    if path == "blocked":
        faults.before_task(target(aws, "withdrawal", "Notify redeemed"), flag.lands)
    arm(withdrawal_id)
    asked = ask_as_the_frontend(frontend, investor_id, key)
    assert asked.status == 202, asked
    if path == "blocked":
        flag.block_once_redeemed(investor_id)
    return withdrawal_id


def ask_as_the_frontend(frontend: Frontend, investor_id: str, key: str) -> Any:
    """The withdrawal asked, and asked again under its key while the API answers 503 (the
    ledger or the bus did not answer), as the frontend does after Retry-After."""
    for _ in range(60):
        asked = frontend.post(
            f"/investors/{investor_id}/withdrawals",
            body=json.dumps({"amount": str(AMOUNT)}),
            headers={"Idempotency-Key": key},
        )
        if asked.status != 503:
            return asked
        time.sleep(0.25)  # Retry-After says 5 s; the outage here is counted in requests
    return asked


@dataclass
class AmlFlag:
    """An AML flag recorded once the stablecoin is redeemed, before the payout is asked (its
    ledger freeze is the compliance workflow's, covered by its own cases). Recorded from the
    test's thread: the handler's thread holds only its function's role."""

    redeemed: threading.Event = field(default_factory=threading.Event)
    recorded: threading.Event = field(default_factory=threading.Event)

    def lands(self) -> None:
        self.redeemed.set()
        assert self.recorded.wait(60), "the flag was never recorded"

    def block_once_redeemed(self, investor_id: str) -> None:
        from domain.investor import InvestorStatus
        from lambdas.records import investors

        assert self.redeemed.wait(120), "the withdrawal never reached Notify redeemed"
        investors.set_status(investor_id, InvestorStatus.BLOCKED, "AML flag (fault matrix)")
        self.recorded.set()


# --- refunds -------------------------------------------------------------------------------------


def a_refund(
    aws: LocalAws, ledger: LocalLedger, faults: HandlerFaults, fault: TaskTarget, kind: str
) -> tuple[Runs, str, int]:
    """A purchase undone (its completion fails), so its refund's answer starts a Settlement."""
    from lambdas.records import purchases

    investor_id = new_investor_id()
    onboard(ledger, investor_id)
    detail = payment(investor_id)
    faults.inject(support.task_target(aws, "purchase", "Complete purchase"), "before")
    faults.inject(fault, kind)
    run_payment(aws, detail, timeout=180)
    purchase_id = purchase_id_for(detail["payment_id"])
    settlement = runs_of(aws, "Settlement", "outcome", "purchase_id", purchase_id)
    assert aws.provider is not None
    asked = sum(a.business_reference == purchase_id for a in aws.provider.actions())
    found = purchases.get(purchase_id)
    problems = [] if found.status == PurchaseStatus.REFUNDED else [f"purchase {found.status}"]
    if found.refund_outcome != "SUCCEEDED":
        problems.append(f"refund outcome {found.refund_outcome}")
    return settlement, "; ".join(problems), asked


# --- the reconciliation --------------------------------------------------------------------------


def reconciliation(aws: LocalAws, cut_off: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A run at a fixed cut-off: its execution, and the report it kept (none if it kept none)."""
    from lambdas.records import reconciliations

    sfn = aws.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=aws.stack.output("ReconciliationStateMachineArn"),
        name=f"fault-matrix-{uuid.uuid4().hex[:12]}",
        input=json.dumps({"cut_off": cut_off}),
    )
    run = support.ended(aws, started["executionArn"], timeout=300)
    kept = reconciliations.find(run["name"])
    return run, (kept.report if kept else None)


def a_reconciliation(
    aws: LocalAws, faults: HandlerFaults, fault: TaskTarget, kind: str
) -> tuple[Runs, list[str]]:
    """The same cut-off reconciled without the fault, then with it: the same verdict (clean,
    or the same differences: other tests may leave some) and the same report, after an
    operator's `drexfy-ops reconcile --at` when the books could not be read."""
    from tests.support.reconciliation import quiet

    quiet(aws)
    cut_off = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    clean, without_fault = reconciliation(aws, cut_off)
    faults.inject(fault, kind)
    first, report = reconciliation(aws, cut_off)
    last = first
    if first.get("error") == "BooksNotRead":
        last, report = reconciliation(aws, cut_off)
    runs = Runs("Reconciliation", [first], [last], ends=frozenset({support.verdict(clean)}))
    return runs, [] if report == without_fault else [f"reported {report}, not {without_fault}"]


# --- every task, every kind ----------------------------------------------------------------------

CASES = matrix(COVERED, FAST)


@pytest.mark.parametrize(("workflow", "task", "kind"), CASES)
def test_a_money_out_fault_ends_settled_with_the_eur_moved_once(
    aws: LocalAws,
    ledger: LocalLedger,
    platform: dict[str, Any],
    frontend: Frontend,
    faults: HandlerFaults,
    told: SeenEvents,
    workflow: str,
    task: str,
    kind: str,
    request: pytest.FixtureRequest,
) -> None:
    case = f"{workflow}/{task} {kind}"
    fault = target(aws, workflow, task)
    if workflow == "reconciliation":
        runs, problems = a_reconciliation(aws, faults, fault, kind)
        support.check_case(CATEGORY, case, [runs], faults, problems)
        return
    path = COVERED[workflow][task]
    if path == "refund":
        settlement, problem, asked = a_refund(aws, ledger, faults, fault, kind)
        problems = [problem] if problem else []
        problems += [] if asked == 1 else [f"the provider asked {asked} times to refund"]
        support.check_case(CATEGORY, case, [settlement], faults, problems, wanted=2)
        return
    holders = request.getfixturevalue("holders")
    end = a_withdrawal(
        aws, holders, platform, frontend, faults, told, path, lambda _: faults.inject(fault, kind)
    )
    support.check_case(CATEGORY, case, [end.withdrawal, end.settlement], faults, end.problems())


def test_a_withdrawal_without_faults_passes_these_checks(
    aws: LocalAws,
    ledger: LocalLedger,
    platform: dict[str, Any],
    frontend: Frontend,
    faults: HandlerFaults,
    told: SeenEvents,
    holders: Holders,
) -> None:
    """The checks can fail: a withdrawal told twice, or moved by another amount, is found."""
    end = a_withdrawal(aws, holders, platform, frontend, faults, told, "paid", lambda _: None)
    assert end.problems() == [] and not end.withdrawal.redriven
    assert WithdrawalEnd(**{**end.__dict__, "eur_moved": -AMOUNT * 2}).problems()
    told_twice = Counter({**end.told, "WithdrawalPaidOut": 2})
    assert WithdrawalEnd(**{**end.__dict__, "told": told_twice}).problems()
    assert WithdrawalEnd(**{**end.__dict__, "path": "blocked"}).problems()


# --- the infrastructure failing under a withdrawal -----------------------------------------------


def _redemption(platform: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """An investor's Payment to the issuer: the stablecoin redeemed."""
    accounts = platform["accounts"]
    ours = {accounts.issuer, accounts.company, accounts.funding}
    return lambda tx: (
        tx.get("TransactionType") == "Payment"
        and tx.get("Destination") == accounts.issuer
        and tx.get("Account") not in ours
    )


def _put_back(platform: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """The issuer's Payment to an investor: the amount put back in the wallet."""
    accounts = platform["accounts"]
    return lambda tx: (
        tx.get("TransactionType") == "Payment"
        and tx.get("Account") == accounts.issuer
        and tx.get("Destination") != accounts.company
    )


Arming = Callable[[pytest.MonkeyPatch, dict[str, Any]], Any]
INFRASTRUCTURE: dict[str, tuple[str, Arming]] = {  # the fault: the path it strikes, its arming
    "ledger unreachable for 4 requests": ("paid", lambda mp, _: support.ledger_unreachable(mp, 4)),
    "ledger unreachable for 40 requests": (
        "paid", lambda mp, _: support.ledger_unreachable(mp, 40)
    ),
    "redemption expires unvalidated": (
        "paid", lambda mp, p: support.dropped_submissions(mp, _redemption(p))
    ),
    "put back expires unvalidated": (
        "failed", lambda mp, p: support.dropped_submissions(mp, _put_back(p))
    ),
    # The issuer signs (KMS Sign) only to put an amount back; an investor's seed is decrypted.
    "KMS throttles Sign 7 times": ("failed", lambda mp, _: support.kms_throttled(mp, "sign", 7)),
    "KMS throttles Decrypt 7 times": (
        "paid", lambda mp, _: support.kms_throttled(mp, "decrypt", 7)
    ),
    "issuer ticket taken by a concurrent writer": (
        "failed", lambda mp, p: support.ticket_taken_concurrently(mp, p["accounts"].issuer)
    ),
}  # fmt: skip
FAST_INFRASTRUCTURE = ["redemption expires unvalidated", "KMS throttles Decrypt 7 times"]
INFRA_CASES = list(INFRASTRUCTURE) if scale(0, 1) else FAST_INFRASTRUCTURE


@pytest.mark.parametrize("fault", INFRA_CASES)
def test_an_infrastructure_fault_under_a_withdrawal_moves_the_eur_once(
    aws: LocalAws,
    platform: dict[str, Any],
    frontend: Frontend,
    faults: HandlerFaults,
    told: SeenEvents,
    holders: Holders,
    fault: str,
) -> None:
    path, arming = INFRASTRUCTURE[fault]
    armed: list[Any] = []
    with pytest.MonkeyPatch.context() as outage:
        end = a_withdrawal(
            aws, holders, platform, frontend, faults, told, path,
            lambda _: armed.append(arming(outage, platform)), outage.undo,
        )  # fmt: skip
    runs = [end.withdrawal, end.settlement]
    struck = min(support.fault_count(armed[0]), 1)
    support.check_case(
        CATEGORY, f"withdrawal/infrastructure: {fault}", runs, struck, end.problems()
    )
