"""The fault matrix: every task of every workflow failing before its effect, after it, and timing
out; the ledger unreachable, refusing a transaction (tec), letting one expire; KMS throttling;
a DynamoDB condition lost to a concurrent writer. Each case must end DELIVERED, REFUNDED or
NEEDS_OPERATOR (finished by a redrive), with the books balanced on the validated ledger.

Kinds: `before` raises a business failure (not retried: the workflow compensates or parks);
`after` lets the effect happen, then crashes with a TransientFault (retried: the re-run must find
the effect done, not repeat it); `timeout` lets the effect happen, then the runtime reports
`Sandbox.Timedout` (see faults_matrix_support for why that name).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from domain.purchase import PurchaseStatus, purchase_id_for
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.investors.conftest import decision, run_decision
from tests.reliability import faults_matrix_support as support
from tests.reliability.faults_matrix_support import KINDS, HandlerFaults, tasks
from tests.reliability.report import record, scale
from tests.support.books import (
    stablecoin_balance,
    stablecoin_line,
    stablecoin_outstanding,
    units_held,
    units_outstanding,
)
from tests.support.bus import SeenEvents, watching_bus
from tests.support.investors import onboard
from tests.support.waiting import wait_for
from tests.workflows.conftest import new_investor_id, payment, run_payment

# Handlers run in this process: faults are injected into handler code (HandlerFaults, LedgerClient).
pytestmark = pytest.mark.handlers_in_test_process

CATEGORY = "fault matrix"
INSTRUMENT = "SME-2027-A"
ENDS = {PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED, PurchaseStatus.NEEDS_OPERATOR}

# Compensation tasks run only once a forward step failed: these faults get them there.
COMPLETE_FAILS = [("Complete purchase", "before")]
PURCHASE_TRIGGERS: dict[str, list[tuple[str, str]]] = {
    "Record deposit": [],
    "Authorize trust line": [],
    "Mint stablecoin": [],
    "Confirm mint": [],
    "Transfer stablecoin": [],
    "Deliver instrument": [],
    "Complete purchase": [],
    "Announce delivery": [],
    "Begin compensation": COMPLETE_FAILS,
    "Take back instrument": COMPLETE_FAILS,
    "Redeem stablecoin": COMPLETE_FAILS,
    "Claw back stablecoin": [("Transfer stablecoin", "before")],
    "Release units": COMPLETE_FAILS,
    "Refund payment": COMPLETE_FAILS,
    "Park for operator": [*COMPLETE_FAILS, ("Take back instrument", "before")],
}
ONBOARDING_DECISIONS = {
    "Record rejection": "KycRejected",
    "Notify KYC rejected": "KycRejected",
    "Record approval": "KycApproved",
    "Create wallet": "KycApproved",
    "Fund wallet": "KycApproved",
    "Authorize stablecoin line": "KycApproved",
    "Activate investor": "KycApproved",
    "Notify wallet ready": "KycApproved",
}
COMPLIANCE_DECISIONS = {
    "Record AML decision": "AmlFlagged",
    "Notify investor blocked": "AmlFlagged",
    "Freeze holdings": "AmlFlagged",
    "Unfreeze holdings": "AmlCleared",
    "Reinstate investor": "AmlCleared",
    "Notify investor cleared": "AmlCleared",
}
COVERED: dict[str, dict[str, Any]] = {
    "purchase": PURCHASE_TRIGGERS,
    "onboarding": ONBOARDING_DECISIONS,
    "compliance": COMPLIANCE_DECISIONS,
}
# `make test`: one task per workflow per kind; DREXFY_RELIABILITY=full: every task.
FAST = {
    ("purchase", "Mint stablecoin", "before"),
    ("purchase", "Deliver instrument", "after"),
    ("purchase", "Take back instrument", "timeout"),
    ("onboarding", "Fund wallet", "before"),
    ("onboarding", "Authorize stablecoin line", "after"),
    ("onboarding", "Create wallet", "timeout"),
    ("compliance", "Freeze holdings", "before"),
    ("compliance", "Notify investor blocked", "after"),
    ("compliance", "Record AML decision", "timeout"),
}


def matrix(covered: dict[str, Any], fast: set[tuple[str, str, str]]) -> list[Any]:
    """The cases of these workflows: every task and kind at full scale, `fast` otherwise."""
    every = [(w, t, k) for w in covered for t in tasks(w) for k in KINDS]
    chosen = every if scale(0, 1) else [case for case in every if case in fast]
    return [pytest.param(*case, id=f"{case[0]}/{case[1]} {case[2]}") for case in chosen]


@pytest.fixture(scope="module")
def bus(aws: LocalAws) -> Iterator[SeenEvents]:
    with watching_bus(aws, "drexfy.purchases", "drexfy.investors") as seen:
        yield seen


def test_every_task_of_every_workflow_has_its_fault_cases() -> None:
    """A workflow or a task added to the ASL files without a way to reach it here fails this
    test; `make test` runs each workflow's every kind of fault at least once."""
    from tests.reliability import test_fault_matrix_money_out as money_out
    from tests.reliability import test_fault_matrix_servicing as servicing

    parts = [
        (COVERED, FAST),
        (money_out.COVERED, money_out.FAST),
        (servicing.COVERED, servicing.FAST),
    ]
    covered = {w: tasks for part, _ in parts for w, tasks in part.items()}
    assert sorted(covered) == sorted(support.WORKFLOWS)
    assert sum(len(part) for part, _ in parts) == len(covered), "a workflow covered twice"
    for workflow in support.WORKFLOWS:
        assert set(tasks(workflow)) == set(covered[workflow]), workflow
    fast = {case for _, part_fast in parts for case in part_fast}
    assert {(w, k) for w, _, k in fast} == {(w, k) for w in support.WORKFLOWS for k in KINDS}
    assert {(w, t) for w, t, _ in fast} <= {(w, t) for w in covered for t in covered[w]}


# --- the books of one purchase, from the validated ledger ----------------------------------------


class PurchaseBooks:
    def __init__(self, platform: dict[str, Any], address: str) -> None:
        from lambdas.records.tables import InstrumentRecord

        self.client, self.accounts, self.address = (
            platform["client"],
            platform["accounts"],
            address,
        )
        self.issuance = InstrumentRecord.get(INSTRUMENT).issuance_id
        self.before = self.read()

    def read(self) -> dict[str, Any]:
        from lambdas.records.tables import InstrumentRecord

        instrument = InstrumentRecord.get(INSTRUMENT, consistent_read=True)
        return {
            "outstanding": stablecoin_outstanding(self.client, self.accounts.issuer),
            "company": stablecoin_balance(self.client, self.accounts.company, self.accounts.issuer),
            "investor": stablecoin_balance(self.client, self.address, self.accounts.issuer),
            "investor_units": units_held(self.client, self.address, self.issuance),
            "units_outstanding": units_outstanding(
                self.client, self.accounts.company, self.issuance
            ),
            "available": int(instrument.units_available),
            "reserved": int(instrument.units_reserved),
            "sold": int(instrument.units_sold),
        }

    def change(self) -> dict[str, Any]:
        after = self.read()
        return {k: after[k] - self.before[k] for k in after if after[k] != self.before[k]}

    def expected(self, purchase: Any) -> dict[str, Any]:
        """What a delivered purchase adds to the books; a refunded one adds nothing."""
        if purchase.status != PurchaseStatus.DELIVERED:
            return {}
        units, amount = int(purchase.units), Decimal(str(purchase.amount))
        return {
            "outstanding": amount,
            "company": amount,
            "investor_units": units,
            "units_outstanding": units,
            "available": -units,
            "sold": units,
        }


def validated_successes(client: Any, prefixes: tuple[str, ...]) -> dict[str, int]:
    """For each step (business key without its redrive round), how many of the hashes ever
    signed for it validated with tesSUCCESS: more than one is a transaction applied twice."""
    from xrpl.models.requests import Tx

    from lambdas.records.tables import SubmissionRecord

    counts: dict[str, int] = {}
    for submission in SubmissionRecord.scan():
        if not submission.business_key.startswith(prefixes):
            continue
        step = re.sub(r"#r\d+$", "", submission.business_key)
        hashes = [submission.tx_hash, *submission.expired_hashes]
        for tx_hash in {str(h) for h in hashes if h}:
            found = client.request(Tx(transaction=tx_hash), frozenset({"txnNotFound"}))
            applied = found.get("validated") and found["meta"]["TransactionResult"] == "tesSUCCESS"
            counts[step] = counts.get(step, 0) + bool(applied)
    return counts


# --- running a purchase to its end ---------------------------------------------------------------


@dataclass
class PurchaseEnd:
    first: str  # the status the first execution left
    final: str  # after a redrive, if one was needed
    redriven: bool
    change: dict[str, Any]
    expected: dict[str, Any]
    applied_twice: dict[str, int]
    investor_stablecoin: Decimal

    @property
    def passed(self) -> bool:
        return (
            self.first in ENDS
            and self.final in (PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED)
            and self.change == self.expected
            and not self.applied_twice
            and self.investor_stablecoin == 0
        )


def redrive(aws: LocalAws, purchase_id: str) -> dict[str, Any]:
    from ops.redrive import redrive_purchase

    sfn = aws.client("stepfunctions")
    arn = redrive_purchase(sfn, purchase_id, native=False)
    return wait_for(  # type: ignore[no-any-return]
        lambda: (e := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and e,
        timeout=120,
    )


def run_purchase(
    aws: LocalAws,
    platform: dict[str, Any],
    ledger: LocalLedger,
    monkeypatch: pytest.MonkeyPatch,
    arm: Callable[[], None],
) -> PurchaseEnd:
    """A fresh investor buys with the faults `arm` injects; they stay until the first execution
    ends, and the operator's fix (undoing them) comes before any redrive."""
    from lambdas.records import purchases as purchase_records

    investor_id = new_investor_id()
    address = onboard(ledger, investor_id)
    books = PurchaseBooks(platform, address)
    detail = payment(investor_id)
    arm()
    run_payment(aws, detail, timeout=180)
    purchase_id = purchase_id_for(detail["payment_id"])
    first = str(purchase_records.get(purchase_id).status)
    monkeypatch.undo()
    if first == PurchaseStatus.NEEDS_OPERATOR:
        redrive(aws, purchase_id)
    final = purchase_records.get(purchase_id)
    twice = validated_successes(platform["client"], (f"{purchase_id}#", f"investor#{investor_id}#"))
    return PurchaseEnd(
        first=first,
        final=str(final.status),
        redriven=first == PurchaseStatus.NEEDS_OPERATOR,
        change=books.change(),
        expected=books.expected(final),
        applied_twice={step: n for step, n in twice.items() if n > 1},
        investor_stablecoin=stablecoin_balance(
            platform["client"], address, platform["accounts"].issuer
        ),
    )


def check_purchase(case: str, end: PurchaseEnd, fired: int, wanted: int) -> None:
    record(
        CATEGORY,
        case,
        end.passed and fired == wanted,
        first=end.first,
        final=end.final,
        redriven=int(end.redriven),
        faults_fired=fired,
    )
    assert fired == wanted, f"{fired} faults fired, not {wanted}"
    assert end.first in ENDS, f"left {end.first}"
    assert end.final in (PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED), end
    assert end.change == end.expected, "the books do not balance"
    assert not end.applied_twice, f"applied twice on the ledger: {end.applied_twice}"
    assert end.investor_stablecoin == 0, "stablecoin left with the investor"


# --- every task, every kind ----------------------------------------------------------------------

CASES = matrix(COVERED, FAST)


@pytest.mark.parametrize(("workflow", "task", "kind"), CASES)
def test_a_task_fault_ends_settled_with_balanced_books(
    aws: LocalAws,
    platform: dict[str, Any],
    ledger: LocalLedger,
    monkeypatch: pytest.MonkeyPatch,
    faults: HandlerFaults,
    bus: SeenEvents,
    workflow: str,
    task: str,
    kind: str,
) -> None:
    case = f"{workflow}/{task} {kind}"
    if workflow == "purchase":
        injected = [*PURCHASE_TRIGGERS[task], (task, kind)]
        targets = [(support.task_target(aws, workflow, t), k) for t, k in injected]

        def arm() -> None:
            for target, target_kind in targets:
                faults.inject(target, target_kind)

        end = run_purchase(aws, platform, ledger, monkeypatch, arm)
        check_purchase(case, end, len(faults.fired), len(injected))
    else:
        run_investor_case(aws, platform, faults, bus, case, task, kind)


# --- onboarding and compliance: the investor consistent, on the ledger too -----------------------


def run_investor_case(
    aws: LocalAws,
    platform: dict[str, Any],
    faults: HandlerFaults,
    bus: SeenEvents,
    case: str,
    task: str,
    kind: str,
) -> None:
    workflow = case.split("/")[0]
    detail_type = {**ONBOARDING_DECISIONS, **COMPLIANCE_DECISIONS}[task]
    investor_id = f"inv-{new_investor_id()}"
    if workflow == "compliance":
        prepare_holder(aws, investor_id, flagged=detail_type == "AmlCleared")
    the_decision = decision(investor_id, minutes=1 if detail_type == "AmlCleared" else 0)
    faults.inject(support.task_target(aws, workflow, task), kind)
    first = run_decision(aws, detail_type, the_decision)
    replayed = first["status"] != "SUCCEEDED"
    # What the ASL's Fail state tells an operator to do: replay the event.
    finished = run_decision(aws, detail_type, the_decision) if replayed else first
    problems = investor_problems(platform, bus, investor_id, detail_type)
    acceptable = first["status"] == "SUCCEEDED" or first.get("error") == "NeedsOperator"
    passed = acceptable and finished["status"] == "SUCCEEDED" and not problems
    record(
        CATEGORY,
        case,
        passed and len(faults.fired) == 1,
        first=first["status"],
        redriven=int(replayed),
        faults_fired=len(faults.fired),
    )
    assert faults.fired == [f"{task} {kind}"]
    assert acceptable, f"ended {first['status']} {first.get('error')}: {first.get('cause')}"
    assert finished["status"] == "SUCCEEDED", finished.get("cause")
    assert not problems, problems


def prepare_holder(aws: LocalAws, investor_id: str, flagged: bool) -> None:
    """An onboarded investor holding an instrument (so there is an MPToken to lock)."""
    run_decision(aws, "KycApproved", decision(investor_id, minutes=-2))
    bought = run_payment(aws, payment(investor_id, units=1, amount="100.00"))
    assert json.loads(bought["output"])["status"] == PurchaseStatus.DELIVERED
    if flagged:
        blocked = run_decision(aws, "AmlFlagged", decision(investor_id, minutes=-1))
        assert blocked["status"] == "SUCCEEDED", blocked.get("cause")


LSF_MPT_LOCKED = 0x01
FUNDED_DROPS = Decimal(15_000_000) - Decimal(10)  # activation, less the fee of its own TrustSet


def investor_problems(
    platform: dict[str, Any], bus: SeenEvents, investor_id: str, detail_type: str
) -> list[str]:
    """What is inconsistent about the investor after the decision, in records and on ledger."""
    from lambdas.records import investors as investor_records
    from lambdas.records.wallets import find as find_wallet

    investor = investor_records.find(investor_id)
    wallet = find_wallet(investor_id)
    status = investor.status if investor else None
    expected_status, notification = {
        "KycApproved": ("ACTIVE", "WalletReady"),
        "KycRejected": ("REJECTED", "KycRejected"),
        "AmlFlagged": ("BLOCKED", "InvestorBlocked"),
        "AmlCleared": ("ACTIVE", "InvestorCleared"),
    }[detail_type]
    problems = [] if status == expected_status else [f"investor {status}"]
    notified = len(bus.of(notification, investor_id))
    if notified != 1:
        problems.append(f"{notification} notified {notified} times")
    if detail_type == "KycRejected":
        return problems + (["a wallet for a rejected investor"] if wallet else [])
    if wallet is None:
        return [*problems, "no wallet"]
    return problems + ledger_problems(platform, wallet.address, detail_type)


def ledger_problems(platform: dict[str, Any], address: str, detail_type: str) -> list[str]:
    from xrpl.models.requests import AccountObjectType

    client, issuer = platform["client"], platform["accounts"].issuer
    root = client.account_root(address)
    line = stablecoin_line(client, address, issuer) or {}
    tokens = client.objects(address, AccountObjectType.MPTOKEN)
    problems = []
    if detail_type == "KycApproved" and (root is None or Decimal(root["Balance"]) != FUNDED_DROPS):
        problems.append(f"wallet funded {root and root['Balance']} drops, not once")
    if not line.get("peer_authorized"):
        problems.append("stablecoin line not authorized")
    frozen = detail_type == "AmlFlagged"
    if bool(line.get("freeze_peer")) != frozen:
        problems.append(f"line frozen: {line.get('freeze_peer')}")
    if any(bool(int(t["Flags"]) & LSF_MPT_LOCKED) != frozen for t in tokens):
        problems.append("instrument locks do not match the decision")
    return problems


# --- the infrastructure failing under the purchase -----------------------------------------------


def _issuer_payment(platform: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    issuer = platform["accounts"].issuer
    return lambda tx: tx.get("TransactionType") == "Payment" and tx.get("Account") == issuer


def _tec_amount(monkeypatch: pytest.MonkeyPatch, step: str, value: str) -> list[str]:
    """The step's transaction names an amount the ledger cannot move (a tec result)."""
    from domain.settlement import Settlement

    real = getattr(Settlement, f"_{step}")
    built: list[str] = []

    def impossible(self: Settlement) -> dict[str, Any]:
        built.append(step)
        tx = real(self)
        return {**tx, "Amount": {**tx["Amount"], "value": value}}

    monkeypatch.setattr(Settlement, f"_{step}", impossible)
    return built


INFRASTRUCTURE: dict[str, Callable[[pytest.MonkeyPatch, dict[str, Any]], Any]] = {
    "ledger unreachable for 4 requests": lambda mp, _: support.ledger_unreachable(mp, 4),
    "ledger unreachable for 40 requests": lambda mp, _: support.ledger_unreachable(mp, 40),
    "ledger answers tec to the mint": lambda mp, _: _tec_amount(mp, "mint", "99999999999"),
    "ledger answers tec to the transfer": lambda mp, _: _tec_amount(mp, "transfer", "9999999"),
    "ledger answers tec to the delivery": lambda mp, _: _tec_amount(mp, "deliver", "60000"),
    "mint expires unvalidated": lambda mp, p: support.dropped_submissions(mp, _issuer_payment(p)),
    "KMS throttles Sign 7 times": lambda mp, _: support.kms_throttled(mp, "sign", 7),
    "KMS throttles Decrypt 7 times": lambda mp, _: support.kms_throttled(mp, "decrypt", 7),
    "issuer ticket taken by a concurrent writer": lambda mp, p: support.ticket_taken_concurrently(
        mp, p["accounts"].issuer
    ),
    "company ticket taken by a concurrent writer": lambda mp, p: support.ticket_taken_concurrently(
        mp, p["accounts"].company
    ),
}
FAST_INFRASTRUCTURE = [
    "ledger unreachable for 4 requests",
    "ledger answers tec to the delivery",
    "mint expires unvalidated",
    "KMS throttles Sign 7 times",
    "issuer ticket taken by a concurrent writer",
]
INFRA_CASES = list(INFRASTRUCTURE) if scale(0, 1) else FAST_INFRASTRUCTURE


@pytest.mark.parametrize("fault", INFRA_CASES)
def test_an_infrastructure_fault_ends_settled_with_balanced_books(
    aws: LocalAws,
    platform: dict[str, Any],
    ledger: LocalLedger,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    armed: list[Any] = []

    end = run_purchase(
        aws,
        platform,
        ledger,
        monkeypatch,
        lambda: armed.append(INFRASTRUCTURE[fault](monkeypatch, platform)),
    )

    struck = support.fault_count(armed[0])
    check_purchase(f"purchase/infrastructure: {fault}", end, min(struck, 1), 1)
