"""An operator's write-down (a credit loss on the SME pool) reduces the nominal without payment:
recorded once with its reason through its workflow, refused with why when the terms do not
allow it, and followed by the later coupons and the principal repaid at maturity."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.servicing.conftest import buy, finished, finished_for, fund_company, new_instrument

TODAY = datetime.now(UTC).date()  # a write-down is effective from today: dates follow the clock
ISSUE = TODAY - timedelta(days=40)


def write_down_executions(aws: LocalAws, write_down_id: str) -> list[dict[str, Any]]:
    return finished_for(aws, "WriteDown", "write_down", "write_down_id", write_down_id)


@pytest.fixture(scope="module")
def instrument(platform: dict[str, Any], ledger: LocalLedger) -> str:
    return new_instrument(
        platform, ledger, "WDN", issue_date=ISSUE.isoformat(),
        maturity=(ISSUE + timedelta(days=365)).isoformat(), pays_automatically=True,
    )  # fmt: skip


def test_a_write_down_is_recorded_once_and_a_bad_one_refused_with_why(
    aws: LocalAws, instrument: str, drexfy_ops: Callable[..., Any]
) -> None:
    from lambdas.records import instruments

    on = (TODAY + timedelta(days=1)).isoformat()
    sent = drexfy_ops(
        "instrument", instrument, "write-down", "--per-unit", "30.00", "--on", on,
        "--reason", "three SME debtors in insolvency",
    )  # fmt: skip
    (recorded,) = write_down_executions(aws, sent["write_down_id"])
    assert recorded["status"] == "SUCCEEDED", recorded
    listed = instruments.find(instrument)
    assert listed is not None
    assert [(w.per_unit, w.reason) for w in listed.write_downs] == [
        (Decimal("30.00"), "three SME debtors in insolvency")
    ]
    too_much = drexfy_ops(
        "instrument", instrument, "write-down", "--per-unit", "70.01", "--on", on,
        "--reason", "the rest",
    )  # fmt: skip
    (refused,) = write_down_executions(aws, too_much["write_down_id"])
    assert refused["status"] == "FAILED" and refused["error"] == "WriteDownRefused"
    history = json.dumps(
        aws.client("stepfunctions").get_execution_history(executionArn=refused["executionArn"]),
        default=str,
    )
    assert "more than the 70.00 per unit outstanding" in history
    shown = drexfy_ops("instrument", instrument)
    assert sum(Decimal(p["written_down"]) for p in shown["periods"]) == Decimal("30.00")
    assert Decimal(shown["periods"][-1]["principal"]) == Decimal("70.00")


def test_later_coupons_and_the_principal_at_maturity_follow_the_reduced_nominal(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], instrument: str
) -> None:
    from domain.cash_flows import coupon_per_unit, schedule
    from lambdas.records import instruments, wallets
    from tests.support.books import stablecoin_balance

    listed = instruments.find(instrument)
    assert listed is not None and listed.terms is not None and listed.write_downs
    last = schedule(listed.terms, listed.write_downs)[-1]
    assert last.outstanding_per_unit == Decimal("70.00")
    holder = buy(aws, ledger, instrument, 2)
    fund_company(aws, Decimal("300.00"))
    day = last.payment_date.isoformat()
    aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.stack.output("DistributionStateMachineArn"),
        name=f"{instrument}-{day}",
        input=json.dumps({"instrument_id": instrument, "payment_date": day}),
    )
    done = finished(aws, f"{instrument}-{day}")
    assert done["status"] == "SUCCEEDED", done
    assert last.coupon_per_unit == coupon_per_unit(
        Decimal("70.00"), Decimal("0.05"), last.accrual_fraction
    )
    wallet = wallets.find(holder)
    assert wallet is not None
    balance = stablecoin_balance(platform["client"], wallet.address, platform["accounts"].issuer)
    assert balance == (last.coupon_per_unit + Decimal("70.00")) * 2
    assert date.fromisoformat(json.loads(done["output"])["payment_date"]) == last.payment_date
