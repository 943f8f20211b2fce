"""A withdrawal end to end: asked through the frontend API, redeemed on the ledger once, paid
out by the provider stand-in once, and put back in the wallet once when the payout fails or
comes back; refused at once, with the reason, when it may not be made."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

from domain.withdrawal import DAILY_LIMIT
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Answer, Frontend
from tests.support.waiting import wait_for
from tests.withdrawals.conftest import ACCOUNT, balance, eur_holder, finished, outstanding


def ask(frontend: Frontend, investor_id: str, amount: Any, key: str | None = None) -> Answer:
    headers = {"Idempotency-Key": key} if key else {}
    body = json.dumps({"amount": amount})
    return frontend.post(f"/investors/{investor_id}/withdrawals", body=body, headers=headers)


def withdrawn(frontend: Frontend, holder: dict[str, str], amount: str) -> dict[str, Any]:
    answer = ask(frontend, holder["investor_id"], amount, key=uuid.uuid4().hex)
    assert answer.status == 202, answer
    return answer.body  # type: ignore[no-any-return]


def record(withdrawal_id: str) -> Any:
    from lambdas.records import withdrawals

    return withdrawals.find(withdrawal_id)


def watched(withdrawal_ids: list[str]) -> Any:
    """What a load's watcher reads: the withdrawals asked for that exist, by key."""
    from lambdas.records import withdrawals

    return withdrawals.found(withdrawal_ids)


def frontend_told(aws: LocalAws, withdrawal_id: str) -> list[str]:
    assert aws.notifications is not None
    return [
        r.body["type"]
        for r in aws.notifications.received()
        if isinstance(r.body, dict)
        and r.body.get("detail", {}).get("withdrawal_id") == withdrawal_id
    ]


def test_a_withdrawal_is_redeemed_paid_to_the_kyc_account_and_told_at_each_status(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    assert aws.provider is not None
    before, issued = balance(platform, holder["address"]), outstanding(platform)

    asked = withdrawn(frontend, holder, "120.50")

    assert asked["status"] == "REQUESTED" and asked["payout_account"] == "DE89…3000"
    withdrawal_id = asked["withdrawal_id"]
    (execution,) = finished(aws, "Withdrawal", withdrawal_id)
    assert execution["status"] == "SUCCEEDED", execution
    (settled,) = finished(aws, "Settlement", withdrawal_id)
    assert settled["status"] == "SUCCEEDED", settled
    on_record = record(withdrawal_id)
    assert on_record.status.value == "PAID_OUT" and on_record.redemption_hash
    assert watched([withdrawal_id, f"never-{withdrawal_id}"]) == {withdrawal_id: on_record}
    assert balance(platform, holder["address"]) == before - Decimal("120.50")
    assert outstanding(platform) == issued - Decimal("120.50")  # redeemed: it no longer exists
    (action,) = [a for a in aws.provider.actions() if a.business_reference == withdrawal_id]
    assert (action.kind, action.key, action.amount) == (
        "payout",
        f"payout-{withdrawal_id}",
        Decimal("120.50"),
    )
    assert action.order["beneficiary"] == {"iban": ACCOUNT.iban, "name": ACCOUNT.holder_name}
    told = wait_for(
        lambda: len(frontend_told(aws, withdrawal_id)) >= 3 and frontend_told(aws, withdrawal_id)
    )
    assert told == ["WithdrawalAccepted", "WithdrawalRedeemed", "WithdrawalPaidOut"]


def test_a_returned_payout_is_put_back_in_the_wallet_once_whatever_is_sent_again(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    assert aws.provider is not None
    before, issued = balance(platform, holder["address"]), outstanding(platform)
    key = uuid.uuid4().hex
    withdrawal_id = _id_for(holder["investor_id"], key)
    aws.provider.plan(withdrawal_id, "paid", "returned", reason="account closed")

    assert ask(frontend, holder["investor_id"], "75.00", key=key).status == 202
    finished(aws, "Settlement", withdrawal_id, count=2)
    # the frontend asks again under its key, and the provider's "returned" comes twice
    again = ask(frontend, holder["investor_id"], "75.00", key=key)
    assert again.status == 202 and again.body["withdrawal_id"] == withdrawal_id
    (returned,) = [
        w.body for w in aws.provider.webhooks()
        if w.delivered and w.body.get("event") == "payout.returned"
        and w.body.get("withdrawal_id") == withdrawal_id
    ]  # fmt: skip
    time.sleep(1.1)  # a second later: signed anew, not a replay of the same signature
    assert aws.provider.send_webhook(returned) == 202
    settlements = finished(aws, "Settlement", withdrawal_id, count=3)
    assert len(finished(aws, "Withdrawal", withdrawal_id)) == 1  # no longer waiting: not again

    on_record = record(withdrawal_id)
    assert on_record.status.value == "RETURNED" and on_record.reissue_hash
    assert on_record.reason == "the bank returned the payout: account closed"
    assert balance(platform, holder["address"]) == before  # back in the wallet, once
    assert outstanding(platform) == issued
    assert [a.key for a in aws.provider.actions() if a.business_reference == withdrawal_id] == [
        f"payout-{withdrawal_id}"
    ]
    assert sorted(s["status"] for s in settlements) == ["SUCCEEDED"] * 3
    told = frontend_told(aws, withdrawal_id)
    assert told.count("WithdrawalReturned") == 1 and told.count("WithdrawalPaidOut") == 1


def test_a_failed_payout_says_why_and_the_amount_is_back(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    assert aws.provider is not None
    before = balance(platform, holder["address"])
    key = uuid.uuid4().hex
    withdrawal_id = _id_for(holder["investor_id"], key)
    aws.provider.plan(withdrawal_id, "failed", reason="beneficiary bank rejected the transfer")

    assert ask(frontend, holder["investor_id"], "30.00", key=key).status == 202
    finished(aws, "Settlement", withdrawal_id)

    on_record = record(withdrawal_id)
    assert on_record.status.value == "RETURNED"
    assert on_record.reason == "the payout failed: beneficiary bank rejected the transfer"
    assert balance(platform, holder["address"]) == before
    listed = frontend.get(f"/investors/{holder['investor_id']}/withdrawals").body["withdrawals"]
    assert (listed[0]["withdrawal_id"], listed[0]["status"]) == (withdrawal_id, "RETURNED")


def test_each_refusal_is_answered_at_once_with_its_reason_and_nothing_moves(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    from domain.investor import InvestorStatus
    from lambdas.records import investors

    investor_id = holder["investor_id"]
    before = balance(platform, holder["address"])
    invalid = {
        "0": "must be positive",
        "-5.00": "must be positive",
        "10.001": "more than two decimals",
        "ten": "is not a number",
    }
    for amount, says in invalid.items():
        answer = ask(frontend, investor_id, amount)
        assert (answer.status, answer.problem[0]) == (422, "invalid_amount"), answer
        assert says in answer.problem[1]
    over = ask(frontend, investor_id, str(before + Decimal("0.01")))
    assert over.status == 409 and f"more than the {before} EUR in the wallet" in over.problem[1]
    with_account = frontend.post(
        f"/investors/{investor_id}/withdrawals",
        body=json.dumps({"amount": "1.00", "iban": "GB82WEST12345698765432"}),
    )
    assert with_account.status == 422  # the account is the one on record, never one asked
    unknown = ask(frontend, "inv-nobody", "1.00")
    assert (unknown.status, unknown.problem[0]) == (404, "unknown_investor")
    investors.set_status(investor_id, InvestorStatus.BLOCKED, "AML flag (test)")
    blocked = ask(frontend, investor_id, "1.00")
    assert blocked.status == 409 and "the investor is BLOCKED" in blocked.problem[1]
    assert balance(platform, holder["address"]) == before


def test_the_days_limit_counts_every_withdrawal_not_refused(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend
) -> None:
    rich = eur_holder(aws, ledger, platform, eur=str(DAILY_LIMIT + 500))
    first = withdrawn(frontend, rich, str(DAILY_LIMIT - 100))
    finished(aws, "Settlement", first["withdrawal_id"])

    over = ask(frontend, rich["investor_id"], "100.01")
    assert over.status == 409
    assert "more than the 100.00 EUR left of today's 10000.00 EUR limit" in over.problem[1]
    assert ask(frontend, rich["investor_id"], "100.00").status == 202


def test_an_investor_without_a_verified_account_cannot_withdraw(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend
) -> None:
    from tests.support.investors import onboard
    from tests.workflows.conftest import new_investor_id

    investor_id = new_investor_id()
    onboard(ledger, investor_id)
    answer = ask(frontend, investor_id, "1.00")
    assert answer.status == 409
    assert "no payout account was verified at KYC" in answer.problem[1]


def _id_for(investor_id: str, key: str) -> str:
    from domain.withdrawal import withdrawal_id_for

    return withdrawal_id_for(investor_id, key)
