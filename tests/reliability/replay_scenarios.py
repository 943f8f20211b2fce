"""The real flows that put every routed detail type on the bus, one scenario each: what it needs
before its window opens (`prepare`), what starts it (`act`, as a provider's webhook, the
frontend, an operator or the schedule would) and what it must have done exactly once (`check`,
a list of what is wrong). `covers` names the (source, detail type) pairs it puts on the bus."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from domain.purchase import purchase_id_for
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Frontend
from tests.investors.conftest import decision, put_decision
from tests.reliability.replay_books import Window, ledger_transactions
from tests.reliability.replay_bus import Pair
from tests.servicing.conftest import buy, finished, fund_company, new_instrument
from tests.servicing.test_collections import collection, send
from tests.support.investors import onboard
from tests.withdrawals.conftest import balance, kyc_approved
from tests.withdrawals.test_provider_once import kept, put_withdrawal_requested
from tests.workflows.conftest import new_investor_id, payment, put_payment, run_payment

PAYMENTS, KYC, FRONTEND = "drexfy.payments", "drexfy.kyc", "drexfy.frontend"
INVESTORS, PURCHASES, OPERATORS = "drexfy.investors", "drexfy.purchases", "drexfy.operators"
# One semiannual period that has ended, paid automatically: its only payment is the maturity
# (coupon and principal), on a date no other test's instrument pays on.
MATURING = {
    "issue_date": "2026-04-14", "maturity": "2026-10-14", "payments_per_year": 2,
    "pays_automatically": True,
}  # fmt: skip
MATURITY = "2026-10-14"


@dataclass
class Ctx:
    aws: LocalAws
    ledger: LocalLedger
    platform: dict[str, Any]
    frontend: Frontend
    ops: Callable[..., Any]  # drexfy-ops, its JSON answer
    holders: list[dict[str, str]]  # EUR in the wallet from a coupon, a verified payout account
    settle: Callable[[], None] = lambda: None  # until nothing runs (set once the window opens)
    window: Window | None = None

    def transactions(self) -> list[dict[str, Any]]:
        assert self.window is not None
        return ledger_transactions(self.platform["client"], self.window.first_ledger)

    def payments(self, source: str, destination: str) -> list[Decimal]:
        """What the window's successful Payments from one account to another delivered (XRP
        in drops, a token in its own units)."""
        return [
            _value(tx["meta"]["delivered_amount"])
            for tx in self.transactions()
            if tx["tx_json"]["TransactionType"] == "Payment"
            and tx["meta"]["TransactionResult"] == "tesSUCCESS"
            and (tx["tx_json"]["Account"], tx["tx_json"]["Destination"]) == (source, destination)
        ]

    def actions(self, reference: str) -> list[Any]:
        assert self.aws.provider is not None
        return [a for a in self.aws.provider.actions() if a.business_reference == reference]

    @property
    def issuer(self) -> str:
        return str(self.platform["accounts"].issuer)


def _value(amount: Any) -> Decimal:
    return Decimal(amount["value"] if isinstance(amount, dict) else amount)


def wrong(*checks: tuple[bool, str]) -> list[str]:
    return [says for holds, says in checks if not holds]


class Scenario:
    name: ClassVar[str]
    covers: ClassVar[tuple[Pair, ...]]
    failures: ClassVar[frozenset[str]] = frozenset()  # execution errors that are its outcome

    def prepare(self, c: Ctx) -> None:
        """Before the window: nothing done here is duplicated or replayed."""

    def act(self, c: Ctx) -> None:
        raise NotImplementedError

    def check(self, c: Ctx) -> list[str]:
        raise NotImplementedError


# --- money in ----------------------------------------------------------------------------------


def purchase_status(purchase_id: str) -> tuple[str, str | None]:
    from lambdas.records import purchases

    found = purchases.find(purchase_id)
    return (found.status.value, found.refund_outcome) if found else ("none", None)


class PurchaseDelivered(Scenario):
    name = "purchase delivered"
    covers = ((PAYMENTS, "PaymentReceived"), (PURCHASES, "PurchaseCompleted"))

    def prepare(self, c: Ctx) -> None:
        self.investor = new_investor_id()
        self.address = onboard(c.ledger, self.investor)
        self.detail = payment(self.investor, units=3, amount="300.00")

    def act(self, c: Ctx) -> None:
        put_payment(c.aws, self.detail)

    def check(self, c: Ctx) -> list[str]:
        company = c.platform["accounts"].company
        return wrong(
            (purchase_status(purchase_id_for(self.detail["payment_id"]))[0] == "DELIVERED",
             "not delivered"),
            (c.payments(c.issuer, self.address) == [300], "not minted once"),
            (c.payments(self.address, company) == [300], "not paid to the company once"),
            (c.payments(company, self.address) == [3], "units not delivered once"),
        )  # fmt: skip


class PurchaseRefunded(Scenario):
    """A blocked investor's payment: nothing minted, the provider asked to refund once."""

    name = "purchase refunded"
    covers: ClassVar[tuple[Pair, ...]] = (
        (PAYMENTS, "PaymentReceived"), (PURCHASES, "RefundRequested"),
        (PAYMENTS, "RefundSucceeded"),
    )  # fmt: skip
    plan: ClassVar[tuple[str, ...]] = ()

    def prepare(self, c: Ctx) -> None:
        from domain.investor import InvestorStatus
        from lambdas.records import investors

        self.investor = new_investor_id()
        self.address = onboard(c.ledger, self.investor)
        investors.set_status(self.investor, InvestorStatus.BLOCKED, "AML flag (test)")
        self.detail = payment(self.investor, units=1, amount="100.00")
        self.purchase_id = purchase_id_for(self.detail["payment_id"])
        if self.plan:
            assert c.aws.provider is not None
            c.aws.provider.plan(self.purchase_id, *self.plan, reason="card account closed")

    def act(self, c: Ctx) -> None:
        put_payment(c.aws, self.detail)

    def check(self, c: Ctx) -> list[str]:
        outcome = "FAILED" if self.plan else "SUCCEEDED"
        return wrong(
            (purchase_status(self.purchase_id) == ("REFUNDED", outcome), f"not {outcome}"),
            (c.payments(c.issuer, self.address) == [], "minted"),
            (len(c.actions(self.purchase_id)) == 1, "not refunded once"),
        )


class RefundFailed(PurchaseRefunded):
    name = "refund failed"
    covers = ((PAYMENTS, "RefundFailed"),)
    failures = frozenset({"RefundFailed"})  # the settlement stops for an operator, by design
    plan = ("failed",)


class Collection(Scenario):
    name = "collection minted to the company"
    covers = (("drexfy.collections", "CollectionReceived"),)

    def act(self, c: Ctx) -> None:
        self.before = balance(c.platform, c.platform["accounts"].company)
        status, answer = send(c.aws, collection(amount="777.77"))
        assert status == 202, answer

    def check(self, c: Ctx) -> list[str]:
        company = c.platform["accounts"].company
        return wrong(
            (c.payments(c.issuer, company) == [Decimal("777.77")], "not minted once"),
            (balance(c.platform, company) == self.before + Decimal("777.77"), "balance"),
        )


# --- money out ---------------------------------------------------------------------------------


def withdrawal_state(withdrawal_id: str) -> str:
    from lambdas.records import withdrawals

    found = withdrawals.find(withdrawal_id)
    return found.status.value if found else "none"


class WithdrawalPaidOut(Scenario):
    name = "withdrawal paid out"
    covers: ClassVar[tuple[Pair, ...]] = (
        (FRONTEND, "WithdrawalRequested"), (INVESTORS, "WithdrawalAccepted"),
        ("drexfy.withdrawals", "PayoutRequested"), (INVESTORS, "WithdrawalRedeemed"),
        (PAYMENTS, "PayoutPaid"), (INVESTORS, "WithdrawalPaidOut"),
    )  # fmt: skip
    amount: ClassVar[str] = "40.00"
    plan: ClassVar[tuple[str, ...]] = ()
    ends: ClassVar[str] = "PAID_OUT"

    def prepare(self, c: Ctx) -> None:
        from domain.withdrawal import withdrawal_id_for

        self.holder = c.holders.pop()
        self.address, self.key = self.holder["address"], uuid.uuid4().hex
        self.withdrawal_id = withdrawal_id_for(self.holder["investor_id"], self.key)
        self.before = balance(c.platform, self.address)
        if self.plan:
            assert c.aws.provider is not None
            c.aws.provider.plan(self.withdrawal_id, *self.plan)

    def act(self, c: Ctx) -> None:
        answer = c.frontend.post(
            f"/investors/{self.holder['investor_id']}/withdrawals",
            body=json.dumps({"amount": self.amount}),
            headers={"Idempotency-Key": self.key},
        )
        assert answer.status == 202, answer

    def check(self, c: Ctx) -> list[str]:
        amount, kept = Decimal(self.amount), self.ends != "PAID_OUT"  # kept: put back
        return wrong(
            (withdrawal_state(self.withdrawal_id) == self.ends, f"not {self.ends}"),
            (balance(c.platform, self.address) == self.before - (0 if kept else amount),
             "wallet balance"),
            (c.payments(self.address, c.issuer) == [amount], "not redeemed once"),
            (c.payments(c.issuer, self.address) == ([amount] if kept else []),
             "not put back once, or put back"),
            (len(c.actions(self.withdrawal_id)) == 1, "not paid out once"),
        )  # fmt: skip


class PayoutReturned(WithdrawalPaidOut):
    name = "payout paid, then returned by the bank"
    covers = ((PAYMENTS, "PayoutReturned"), (INVESTORS, "WithdrawalReturned"))
    amount, plan, ends = "30.00", ("paid", "returned"), "RETURNED"


class PayoutFailed(WithdrawalPaidOut):
    name = "payout failed"
    covers = ((PAYMENTS, "PayoutFailed"), (INVESTORS, "WithdrawalReturned"))
    amount, plan, ends = "20.00", ("failed",), "RETURNED"


class WithdrawalRefused(Scenario):
    """Kept by the API, then the investor is blocked before the workflow runs it."""

    name = "withdrawal refused"
    covers = ((FRONTEND, "WithdrawalRequested"), (INVESTORS, "WithdrawalRefused"))

    def prepare(self, c: Ctx) -> None:
        from domain.investor import InvestorStatus
        from lambdas.records import investors

        self.holder = c.holders.pop()
        self.before = balance(c.platform, self.holder["address"])
        self.withdrawal_id = kept(self.holder, "10.00")
        investors.set_status(self.holder["investor_id"], InvestorStatus.BLOCKED, "AML (test)")

    def act(self, c: Ctx) -> None:
        put_withdrawal_requested(c.aws, self.withdrawal_id, self.holder["investor_id"])

    def check(self, c: Ctx) -> list[str]:
        address = self.holder["address"]
        return wrong(
            (withdrawal_state(self.withdrawal_id) == "REFUSED", "not refused"),
            (balance(c.platform, address) == self.before, "wallet balance"),
            (c.payments(address, c.issuer) == [], "redeemed"),
            (c.actions(self.withdrawal_id) == [], "paid out"),
        )


def dead_letters(c: Ctx, reference: str) -> list[dict[str, Any]]:
    return [r for r in c.ops("provider", "dead-letters") if r["for"] == reference]


def resend(c: Ctx, reference: str) -> None:
    """The provider refused the request (dead-lettered at once); an operator sends it again."""
    c.settle()
    (letter,) = dead_letters(c, reference)
    c.ops("provider", "resend", letter["message"])


class PayoutResent(WithdrawalPaidOut):
    name = "payout dead-lettered and re-sent by an operator"
    covers = ((OPERATORS, "PayoutResent"),)
    amount = "15.00"

    def act(self, c: Ctx) -> None:
        assert c.aws.provider is not None
        c.aws.provider.fail_next(1, status=400)  # not retried: dead-lettered
        super().act(c)
        resend(c, self.withdrawal_id)

    def check(self, c: Ctx) -> list[str]:
        left = wrong((dead_letters(c, self.withdrawal_id) == [], "still dead-lettered"))
        return super().check(c) + left


class RefundResent(PurchaseRefunded):
    name = "refund dead-lettered and re-sent by an operator"
    covers = ((OPERATORS, "RefundResent"),)

    def act(self, c: Ctx) -> None:
        assert c.aws.provider is not None
        c.aws.provider.fail_next(1, status=400)
        super().act(c)
        resend(c, self.purchase_id)

    def check(self, c: Ctx) -> list[str]:
        left = wrong((dead_letters(c, self.purchase_id) == [], "still dead-lettered"))
        return super().check(c) + left


# --- servicing ---------------------------------------------------------------------------------


def holder_with_a_payout_account(
    aws: LocalAws, ledger: LocalLedger, instrument: str
) -> dict[str, str]:
    investor_id, address = kyc_approved(ledger)
    bought = run_payment(
        aws, payment(investor_id, instrument_id=instrument, units=1, amount="100.00")
    )
    assert json.loads(bought["output"])["status"] == "DELIVERED", bought.get("output")
    return {"investor_id": investor_id, "address": address}


def run_distribution(aws: LocalAws, instrument: str, day: str) -> None:
    name = f"{instrument}-{day}"  # the schedule's own name: it would not start it again
    aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.stack.output("DistributionStateMachineArn"),
        name=name,
        input=json.dumps({"instrument_id": instrument, "payment_date": day}),
    )


def funded_holders(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], count: int
) -> list[dict[str, str]]:
    """Holders of a matured instrument, paid its principal and coupon (no EUR outside the
    records: the books still reconcile at the end of a full run)."""
    instrument = new_instrument(platform, ledger, "RPL", **MATURING)
    holders = [holder_with_a_payout_account(aws, ledger, instrument) for _ in range(count)]
    fund_company(aws, Decimal(110 * count))
    run_distribution(aws, instrument, MATURITY)
    done = finished(aws, f"{instrument}-{MATURITY}")
    assert done["status"] == "SUCCEEDED", done
    return holders


class IncomeAtMaturity(Scenario):
    """The last payment of an instrument, to a holder who chose the bank for income: the coupon
    and the principal each paid out once."""

    name = "coupon and principal paid, and paid out to the bank"
    covers = ((INVESTORS, "CouponPaid"), (INVESTORS, "PrincipalRepaid"))

    def prepare(self, c: Ctx) -> None:
        self.instrument = new_instrument(c.platform, c.ledger, "RIN", **MATURING)
        self.holder = holder_with_a_payout_account(c.aws, c.ledger, self.instrument)
        path = f"/investors/{self.holder['investor_id']}/income-payout"
        chosen = c.frontend.call("PUT", path, body=json.dumps({"to": "BANK"}))
        assert chosen.status == 200, chosen
        fund_company(c.aws, Decimal("110.00"))

    def act(self, c: Ctx) -> None:
        run_distribution(c.aws, self.instrument, MATURITY)

    def check(self, c: Ctx) -> list[str]:
        from domain.withdrawal import income_withdrawal_id

        investor = self.holder["investor_id"]
        paid = {
            kind: income_withdrawal_id(investor, kind, self.instrument, MATURITY)
            for kind in ("CouponPaid", "PrincipalRepaid")
        }
        company, address = c.platform["accounts"].company, self.holder["address"]
        return wrong(
            *((withdrawal_state(w) == "PAID_OUT", f"{k} not paid out") for k, w in paid.items()),
            *((len(c.actions(w)) == 1, f"{k} not paid out once") for k, w in paid.items()),
            (len(c.payments(company, address)) == 1, "not paid by the company once"),
            (len(c.payments(address, c.issuer)) == 2, "not redeemed once each"),
            (balance(c.platform, address) == 0, "left in the wallet"),
        )


class WriteDown(Scenario):
    name = "write-down recorded"
    covers = ((OPERATORS, "WriteDownRecorded"),)

    def prepare(self, c: Ctx) -> None:
        issued = datetime.now(UTC).date() - timedelta(days=40)
        self.instrument = new_instrument(
            c.platform, c.ledger, "RWD", issue_date=issued.isoformat(),
            maturity=(issued + timedelta(days=365)).isoformat(), pays_automatically=True,
        )  # fmt: skip

    def act(self, c: Ctx) -> None:
        on = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
        c.ops(
            "instrument", self.instrument, "write-down", "--per-unit", "30.00", "--on", on,
            "--reason", "two SME debtors in insolvency",
        )  # fmt: skip

    def check(self, c: Ctx) -> list[str]:
        from lambdas.records import instruments

        listed = instruments.find(self.instrument)
        written = [w.per_unit for w in listed.write_downs] if listed else []
        return wrong((written == [Decimal("30.00")], f"written down {written}"))


# --- investors ---------------------------------------------------------------------------------


def standing(investor_id: str) -> tuple[str, bool]:
    from lambdas.records import investors, wallets

    found = investors.find(investor_id)
    return (found.status.value if found else "none", wallets.find(investor_id) is not None)


class KycApproved(Scenario):
    name = "KYC approved: a wallet made and funded"
    covers = ((KYC, "KycApproved"), (INVESTORS, "WalletReady"))

    def act(self, c: Ctx) -> None:
        self.investor = new_investor_id()
        put_decision(c.aws, "KycApproved", decision(self.investor))

    def check(self, c: Ctx) -> list[str]:
        from lambdas.records import wallets

        wallet = wallets.find(self.investor)
        funded = c.payments(c.platform["accounts"].funding, wallet.address) if wallet else []
        return wrong(
            (standing(self.investor) == ("ACTIVE", True), f"standing {standing(self.investor)}"),
            (len(funded) == 1, f"funded {len(funded)} times"),
        )


class KycRejected(Scenario):
    name = "KYC rejected"
    covers = ((KYC, "KycRejected"), (INVESTORS, "KycRejected"))

    def act(self, c: Ctx) -> None:
        self.investor = new_investor_id()
        put_decision(c.aws, "KycRejected", decision(self.investor, reason="document expired"))

    def check(self, c: Ctx) -> list[str]:
        got = standing(self.investor)
        return wrong((got == ("REJECTED", False), f"standing {got}"))


class WalletRequested(Scenario):
    name = "wallet requested by the frontend"
    covers = ((FRONTEND, "WalletRequested"), (INVESTORS, "WalletReady"))

    def prepare(self, c: Ctx) -> None:
        from lambdas.records import investors

        self.investor = new_investor_id()
        case = f"case-{uuid.uuid4().hex[:6]}"
        investors.record_kyc_decision(self.investor, case, datetime.now(UTC), True, "")

    def act(self, c: Ctx) -> None:
        asked = c.frontend.post(f"/investors/{self.investor}/wallet")
        assert asked.status == 202, asked

    def check(self, c: Ctx) -> list[str]:
        got = standing(self.investor)
        return wrong((got == ("ACTIVE", True), f"standing {got}"))


class AmlByProvider(Scenario):
    """A holder flagged, then cleared: their holdings frozen once and unfrozen once."""

    name = "AML flag and clearance from the provider"
    covers: ClassVar[tuple[Pair, ...]] = (
        (KYC, "AmlFlagged"), (KYC, "AmlCleared"),
        (INVESTORS, "InvestorBlocked"), (INVESTORS, "InvestorCleared"),
    )  # fmt: skip

    def prepare(self, c: Ctx) -> None:
        self.investor = buy(c.aws, c.ledger, "SME-2027-A", 1)

    def act(self, c: Ctx) -> None:
        flagged = decision(self.investor, minutes=-2, reason="sanctions list match")
        put_decision(c.aws, "AmlFlagged", flagged)
        c.settle()
        put_decision(c.aws, "AmlCleared", decision(self.investor, minutes=-1, reason="no match"))

    def check(self, c: Ctx) -> list[str]:
        got = standing(self.investor)
        return wrong((got == ("ACTIVE", True), f"standing {got}"))


class AmlByOperator(AmlByProvider):
    name = "block and unblock by an operator"
    covers = ((OPERATORS, "AmlFlagged"), (OPERATORS, "AmlCleared"))

    def act(self, c: Ctx) -> None:
        c.ops("investor", self.investor, "block", "--reason", "court order")
        c.settle()
        c.ops("investor", self.investor, "unblock", "--reason", "order lifted")


SCENARIOS: tuple[type[Scenario], ...] = (
    PurchaseDelivered, PurchaseRefunded, RefundFailed, RefundResent, Collection,
    WithdrawalPaidOut, PayoutReturned, PayoutFailed, WithdrawalRefused, PayoutResent,
    IncomeAtMaturity, WriteDown, KycApproved, KycRejected, WalletRequested, AmlByProvider,
    AmlByOperator,
)  # fmt: skip
HOLDERS_NEEDED = sum(issubclass(s, WithdrawalPaidOut | WithdrawalRefused) for s in SCENARIOS)
