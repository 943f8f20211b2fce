"""A coupon paid end to end: the daily schedule starts the distribution on its payment date, an
operator approves the totals, each holder is paid once from the company's wallet, a blocked
holder's coupon waits in suspense until they are reinstated and the distribution runs again.
Every figure is read back from the validated ledger."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.investors.conftest import decision, run_decision
from tests.servicing.conftest import (
    awaiting_approval,
    buy,
    finished,
    fund_company,
    ledger_closing_on_waits,
    new_instrument,
    on,
)
from tests.support.books import stablecoin_balance
from tests.support.bus import SeenEvents, watching_bus

# A semiannual ACT/360 note of its own, on dates no other test's instrument pays (the daily
# schedule starts every instrument's distributions that are due).
TERMS = {"issue_date": "2026-02-20", "maturity": "2027-02-20", "payments_per_year": 2}
PAYMENT_DATE = "2026-08-20"
COUPON_PER_UNIT = Decimal("2.51")  # 100.00 x 5% x 181/360 = 2.5139, half-up to the cent


@pytest.fixture(scope="module")
def notifications(aws: LocalAws) -> Iterator[SeenEvents]:
    with watching_bus(aws, "drexfy.investors") as seen:
        yield seen


@pytest.fixture(scope="module")
def holders(aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]) -> dict[str, Any]:
    instrument = new_instrument(platform, ledger, "CPN", **TERMS)
    with ledger_closing_on_waits(ledger):
        ada, bob, cy = (buy(aws, ledger, instrument, units) for units in (3, 2, 1))
        run_decision(aws, "AmlFlagged", decision(cy, reason="sanctions match"))
        fund_company(aws, Decimal("1000.00"))
    return {"instrument": instrument, "ada": ada, "bob": bob, "cy": cy}


def wallet(investor_id: str) -> str:
    from lambdas.records import wallets

    found = wallets.find(investor_id)
    assert found is not None
    return found.address


def test_the_schedule_starts_it_once_and_an_operator_approves_the_totals(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], holders: dict[str, Any],
    notifications: SeenEvents, drexfy_ops: Callable[..., Any],
) -> None:  # fmt: skip
    from lambdas.records import distributions
    from local.aws import schedules

    instrument = holders["instrument"]
    distribution_id = f"{instrument}:{PAYMENT_DATE}"
    assert schedules.fire(on(PAYMENT_DATE)) == 1
    token = awaiting_approval(distribution_id)
    schedules.fire(on("2026-08-21"))  # the next day's run (within the catch-up window)
    waiting = distributions.find(distribution_id)
    assert waiting is not None and waiting.status.value == "AWAITING_APPROVAL"
    assert waiting.total == COUPON_PER_UNIT * 6 and waiting.holders == 3
    assert waiting.awaiting_token == token, "the second start found the first execution"

    listed = drexfy_ops("distributions", "--status", "AWAITING_APPROVAL")
    assert distribution_id in [d["distribution"] for d in listed]
    approver = drexfy_ops("distribution", distribution_id, "approve")["approved_by"]
    done = finished(aws, f"{instrument}-{PAYMENT_DATE}")
    assert done["status"] == "SUCCEEDED", done
    report = json.loads(done["output"])
    assert report["status"] == "PAID" and report["approved_by"] == approver
    assert (report["paid_holders"], report["paid_total"]) == (2, "12.55")
    assert (report["held_holders"], report["held_total"]) == (1, "2.51")

    client = platform["client"]
    issuer = platform["accounts"].issuer
    assert stablecoin_balance(client, wallet(holders["ada"]), issuer) == Decimal("7.53")
    assert stablecoin_balance(client, wallet(holders["bob"]), issuer) == Decimal("5.02")
    assert stablecoin_balance(client, wallet(holders["cy"]), issuer) == 0
    paid = {p.investor_id: p for p in distributions.entitlements(distribution_id)}
    assert paid[holders["cy"]].status.value == "HELD"
    assert paid[holders["ada"]].tx_hash and paid[holders["ada"]].ledger_index

    shown = drexfy_ops("distribution", distribution_id)
    assert {(h["investor"], h["status"]) for h in shown["holders"]} == {
        (holders["ada"], "PAID"), (holders["bob"], "PAID"), (holders["cy"], "HELD"),
    }  # fmt: skip
    coupons = notifications.of("CouponPaid", holders["ada"])
    assert [(c["amount"], c["tx_hash"]) for c in coupons] == [
        ("7.53", paid[holders["ada"]].tx_hash)
    ]
    assert notifications.of("CouponPaid", holders["cy"]) == []


def test_a_rerun_after_reinstatement_pays_the_held_coupon_and_nobody_twice(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], holders: dict[str, Any],
    notifications: SeenEvents, drexfy_ops: Callable[..., Any],
) -> None:  # fmt: skip
    run_decision(aws, "AmlCleared", decision(holders["cy"], reason="false positive"))
    instrument = holders["instrument"]
    run = drexfy_ops("distribution", f"{instrument}:{PAYMENT_DATE}", "run")
    done = finished(aws, run["execution"].rsplit(":", 1)[-1])
    assert done["status"] == "SUCCEEDED", done
    report = json.loads(done["output"])
    assert (report["paid_holders"], report["held_holders"]) == (3, 0)

    client = platform["client"]
    issuer = platform["accounts"].issuer
    for investor, amount in (("ada", "7.53"), ("bob", "5.02"), ("cy", "2.51")):
        assert stablecoin_balance(client, wallet(holders[investor]), issuer) == Decimal(amount)
    assert len(notifications.of("CouponPaid", holders["ada"])) == 1, "notified once"
    assert len(notifications.of("CouponPaid", holders["cy"])) == 1


def test_the_frontend_shows_each_holdings_past_and_upcoming_cash_flows(
    aws: LocalAws, holders: dict[str, Any]
) -> None:
    from lambdas.records import distributions
    from tests.frontend.test_over_http import fetch

    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )
    path = f"/investors/{holders['ada']}/cash-flows"  # through the gateway: the API's own role
    status, _, body = fetch(aws, "GET", path, secret["SecretString"])
    assert status == 200, body
    (holding,) = body["holdings"]  # ada bought this instrument only
    assert (holding["instrument_id"], holding["units"]) == (holders["instrument"], 3)
    paid, upcoming = holding["flows"]
    (ada,) = [
        p for p in distributions.entitlements(f"{holders['instrument']}:{PAYMENT_DATE}")
        if p.investor_id == holders["ada"]
    ]  # fmt: skip
    assert paid == {
        "payment_date": PAYMENT_DATE, "record_date": "2026-08-19", "coupon": "7.53",
        "principal": "0.00", "amount": "7.53", "status": "PAID", "tx_hash": ada.tx_hash,
    }  # fmt: skip
    assert upcoming["status"] == "SCHEDULED" and upcoming["principal"] == "300.00"
    assert upcoming["payment_date"] == "2027-02-22" and upcoming["tx_hash"] is None


def test_the_company_signer_pays_a_holder_only_their_entitlement(
    platform: dict[str, Any], holders: dict[str, Any]
) -> None:
    from domain.signing_policy import SigningRefused
    from lambdas.custody import signers

    distribution_id = f"{holders['instrument']}:{PAYMENT_DATE}"
    accounts = platform["accounts"]
    payment = {
        "TransactionType": "Payment", "Account": accounts.company, "Fee": "12", "Sequence": 1,
        "LastLedgerSequence": 10**6, "Destination": wallet(holders["ada"]),
        "Amount": {"currency": "EUR", "issuer": accounts.issuer, "value": "7.53"},
    }  # fmt: skip
    with pytest.raises(SigningRefused, match="not owed now"):  # paid already
        signers.company_signer_paying(distribution_id, holders["ada"])(payment)
    with pytest.raises(SigningRefused, match="needs the entitlement it pays"):
        signers.platform_signer("company")(payment)
    with pytest.raises(SigningRefused, match="no entitlement of inv-nobody"):
        signers.company_signer_paying(distribution_id, "inv-nobody")(payment)


def test_without_its_grant_on_the_holders_list_the_map_pays_nobody(
    aws: LocalAws, platform: dict[str, Any], holders: dict[str, Any]
) -> None:
    from lambdas.records import distributions
    from tests.workflows.test_grants_enforced import without_grant_of_role

    instrument, second = holders["instrument"], "2027-02-22"  # the 20th is a Saturday
    role = aws.client("stepfunctions").describe_state_machine(
        stateMachineArn=aws.stack.output("DistributionStateMachineArn")
    )["roleArn"]
    sfn = aws.client("stepfunctions")
    with without_grant_of_role(aws, role.rsplit("/", 1)[-1], "s3:GetObject"):
        sfn.start_execution(
            stateMachineArn=aws.stack.output("DistributionStateMachineArn"),
            name=f"{instrument}-{second}",
            input=json.dumps({"instrument_id": instrument, "payment_date": second}),
        )
        token = awaiting_approval(f"{instrument}:{second}")
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved_by": "ops"}))
        failed = finished(aws, f"{instrument}-{second}")
    assert failed["status"] == "FAILED" and failed["error"] == "PaymentsFailed"
    history = json.dumps(
        sfn.get_execution_history(executionArn=failed["executionArn"]), default=str
    )
    assert "s3:GetObject" in history and "is not authorized" in history
    owed = distributions.entitlements(f"{instrument}:{second}")
    assert {p.status.value for p in owed} <= {"DUE", "HELD"}, "nobody was paid"


def test_the_failed_distribution_runs_again_and_pays_each_holder_once(
    aws: LocalAws, platform: dict[str, Any], holders: dict[str, Any],
    drexfy_ops: Callable[..., Any],
) -> None:  # fmt: skip
    from domain.cash_flows import schedule
    from lambdas.records import instruments

    instrument, second = holders["instrument"], "2027-02-22"
    listed = instruments.find(instrument)
    assert listed is not None and listed.terms is not None
    last = schedule(listed.terms)[-1]  # the maturity: coupon and the whole nominal
    run = drexfy_ops("distribution", f"{instrument}:{second}", "run")
    done = finished(aws, run["execution"].rsplit(":", 1)[-1])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["paid_holders"] == 3
    client, issuer = platform["client"], platform["accounts"].issuer
    first = {"ada": Decimal("7.53"), "bob": Decimal("5.02"), "cy": Decimal("2.51")}
    for investor, units in (("ada", 3), ("bob", 2), ("cy", 1)):
        expected = first[investor] + (last.coupon_per_unit + last.principal_per_unit) * units
        assert stablecoin_balance(client, wallet(holders[investor]), issuer) == expected
