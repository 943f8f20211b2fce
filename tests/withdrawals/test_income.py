"""Income paid out where the investor chose it: a coupon or repaid principal goes to the bank
account KYC verified as soon as it is paid (a withdrawal of its amount), once whatever is sent
again; kept in the wallet otherwise."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Frontend
from tests.support.bus import replay_archive
from tests.support.waiting import wait_for
from tests.withdrawals.conftest import balance, executions
from tests.withdrawals.test_withdrawal import record


def choose(frontend: Frontend, investor_id: str, to: str) -> Any:
    return frontend.call(
        "PUT", f"/investors/{investor_id}/income-payout", body=json.dumps({"to": to})
    )


def coupon_paid(
    aws: LocalAws, investor_id: str, amount: str, day: str, income_payout: str = "BANK"
) -> None:
    """CouponPaid as the distribution's NotifyHolder puts it, once the holder is paid, with
    where the investor chose income to go as it read it."""
    detail = {
        "investor_id": investor_id, "instrument_id": "SME-2027-A", "payment_date": day,
        "units": 5, "amount": amount, "currency": "EUR", "tx_hash": "AB" * 32,
        "income_payout": income_payout,
    }  # fmt: skip
    entry = aws.client("events").put_events(
        Entries=[
            {
                "Source": "drexfy.investors",
                "DetailType": "CouponPaid",
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps(detail),
            }
        ]
    )["Entries"][0]
    assert "EventId" in entry, entry


def income_runs_now(aws: LocalAws, investor_id: str) -> list[dict[str, Any]]:
    """The income runs of the investor started by now (the bus starts its targets as the
    event is put)."""
    return executions(
        aws, "Withdrawal", lambda i: i.get("income", {}).get("investor_id") == investor_id
    )


def income_runs(aws: LocalAws, investor_id: str, count: int) -> list[dict[str, Any]]:
    def ours(given: dict[str, Any]) -> bool:
        return bool(given.get("income", {}).get("investor_id") == investor_id)

    def done() -> list[dict[str, Any]]:
        ended = [e for e in executions(aws, "Withdrawal", ours) if e["status"] != "RUNNING"]
        return ended if len(ended) >= count else []

    return wait_for(done, 60)  # type: ignore[no-any-return]


def test_a_coupon_is_paid_out_to_the_bank_once_when_the_investor_chose_it(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    from domain.withdrawal import income_withdrawal_id

    assert aws.provider is not None
    investor_id = holder["investor_id"]
    chosen = choose(frontend, investor_id, "BANK")
    assert chosen.status == 200 and chosen.body["income_payout"] == "BANK"
    before = balance(platform, holder["address"])
    start = time.time() - 1

    coupon_paid(aws, investor_id, "6.25", "2026-12-15")
    (run,) = income_runs(aws, investor_id, 1)
    withdrawal_id = income_withdrawal_id(investor_id, "CouponPaid", "SME-2027-A", "2026-12-15")
    wait_for(lambda: record(withdrawal_id).status.value == "PAID_OUT", 60)
    replay_archive(aws, start, time.time() + 1)  # the coupon's notification replayed
    income_runs(aws, investor_id, 2)

    assert run["status"] == "SUCCEEDED", run
    assert balance(platform, holder["address"]) == before - Decimal("6.25")
    assert [a.key for a in aws.provider.actions() if a.business_reference == withdrawal_id] == [
        f"payout-{withdrawal_id}"
    ]
    listed = frontend.get(f"/investors/{investor_id}/withdrawals").body
    assert listed["income_payout"] == "BANK"
    assert [w["withdrawal_id"] for w in listed["withdrawals"]] == [withdrawal_id]


def test_a_coupon_stays_in_the_wallet_by_default_and_bank_needs_a_verified_account(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    from tests.support.investors import onboard
    from tests.workflows.conftest import new_investor_id

    investor_id = holder["investor_id"]
    before = balance(platform, holder["address"])

    coupon_paid(aws, investor_id, "3.10", "2027-06-15", income_payout="WALLET")
    started_for_the_wallet = income_runs_now(aws, investor_id)
    # A notification that says BANK while the records say WALLET (the choice changed since):
    # the workflow asks the records again and keeps it in the wallet.
    coupon_paid(aws, investor_id, "3.10", "2027-12-15", income_payout="BANK")
    (run,) = income_runs(aws, investor_id, 1)

    assert started_for_the_wallet == []  # income kept in the wallet costs no execution
    assert run["status"] == "SUCCEEDED"
    assert json.loads(run["output"])["state"] == "IN_WALLET"
    assert balance(platform, holder["address"]) == before
    unverified = new_investor_id()
    onboard(ledger, unverified)
    refused = choose(frontend, unverified, "BANK")
    assert refused.status == 409 and "no payout account" in refused.problem[1]
    assert choose(frontend, investor_id, "SOMEWHERE").status == 422
