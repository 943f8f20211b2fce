"""Money out reaches the payment provider exactly once: a withdrawal's payout and a purchase's
refund under duplicate requests, duplicate webhooks, an archive replay and an operator's re-send
of a dead-lettered request (the ledger and the provider stand-in audited); an AML flag stops a
withdrawal before its payout, and the frontend is never told why."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.purchase import purchase_id_for
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from local.ledger_server.genesis import accept
from tests.frontend.gateway import Frontend
from tests.ingress.test_webhooks_http import post, signed
from tests.support.bus import replay_archive
from tests.support.waiting import wait_for
from tests.withdrawals.conftest import ACCOUNT, balance, executions, finished, outstanding
from tests.withdrawals.test_withdrawal import ask, frontend_told, record, withdrawn
from tests.workflows.conftest import new_investor_id, payment, run_payment


def actions_for(aws: LocalAws, reference: str) -> list[Any]:
    assert aws.provider is not None
    return [a for a in aws.provider.actions() if a.business_reference == reference]


def redemptions(platform: dict[str, Any], address: str) -> list[dict[str, Any]]:
    """The wallet's validated, successful payments to the issuer (account_tx)."""
    from local.ledger_server.audit import account_transactions

    issuer = platform["accounts"].issuer
    return [
        entry["tx_json"] for entry in account_transactions(platform["client"], address, 1)
        if entry["tx_json"]["TransactionType"] == "Payment"
        and entry["tx_json"].get("Destination") == issuer
        and entry["meta"]["TransactionResult"] == "tesSUCCESS"
    ]  # fmt: skip


def put_withdrawal_requested(aws: LocalAws, withdrawal_id: str, investor_id: str) -> None:
    entry = aws.client("events").put_events(
        Entries=[
            {
                "Source": "drexfy.frontend",
                "DetailType": "WithdrawalRequested",
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps({"withdrawal_id": withdrawal_id, "investor_id": investor_id}),
            }
        ]
    )["Entries"][0]
    assert "EventId" in entry, entry


def kept(holder: dict[str, str], amount: str) -> str:
    """A withdrawal kept as the API keeps it, not yet on the bus."""
    from datetime import UTC, datetime

    from domain.withdrawal import DAILY_LIMIT, Withdrawal, withdrawal_id_for
    from lambdas.records import withdrawals

    withdrawal_id = withdrawal_id_for(holder["investor_id"], uuid.uuid4().hex)
    asked = Withdrawal(
        withdrawal_id, holder["investor_id"], Decimal(amount), datetime.now(UTC), account=ACCOUNT
    )
    withdrawals.request(asked, DAILY_LIMIT)
    return withdrawal_id


def test_replays_duplicates_and_a_frontend_retry_pay_out_once(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    before, issued = balance(platform, holder["address"]), outstanding(platform)
    start = time.time() - 1
    key = uuid.uuid4().hex
    first = ask(frontend, holder["investor_id"], "40.00", key=key)
    withdrawal_id = first.body["withdrawal_id"]
    finished(aws, "Settlement", withdrawal_id)
    again = ask(frontend, holder["investor_id"], "40.00", key=key)
    assert again.status == 202 and again.body["status"] == "PAID_OUT"

    replay_archive(aws, start, time.time() + 1)
    finished(aws, "Withdrawal", withdrawal_id, count=2)  # the replayed request, run again
    settlements = finished(aws, "Settlement", withdrawal_id, count=2)  # the replayed "paid"

    assert sorted(s["status"] for s in settlements) == ["SUCCEEDED", "SUCCEEDED"]
    assert record(withdrawal_id).status.value == "PAID_OUT"
    assert balance(platform, holder["address"]) == before - Decimal("40.00")
    assert outstanding(platform) == issued - Decimal("40.00")
    assert len(redemptions(platform, holder["address"])) == 1
    (action,) = actions_for(aws, withdrawal_id)
    assert action.key == f"payout-{withdrawal_id}"
    assert frontend_told(aws, withdrawal_id).count("WithdrawalPaidOut") == 1


def refused_payment(aws: LocalAws, ledger: LocalLedger, *plan: str, reason: str = "") -> Any:
    """A blocked investor's payment, refunded by the purchase workflow: its details, once the
    provider's answer about the refund is settled (as planned, if a plan is given)."""
    from domain.investor import InvestorStatus
    from lambdas.records import investors
    from tests.support.investors import onboard

    assert aws.provider is not None
    investor_id = new_investor_id()
    onboard(ledger, investor_id)
    investors.set_status(investor_id, InvestorStatus.BLOCKED, "AML flag (test)")
    detail = payment(investor_id)
    if plan:
        aws.provider.plan(purchase_id_for(detail["payment_id"]), *plan, reason=reason or None)
    run_payment(aws, detail)
    wait_for(lambda: settled_refunds(aws, purchase_id_for(detail["payment_id"])), 30)
    return detail


def settled_refunds(aws: LocalAws, purchase_id: str) -> list[dict[str, Any]]:
    ours = executions(aws, "Settlement", lambda i: i["outcome"].get("purchase_id") == purchase_id)
    return [e for e in ours if e["status"] != "RUNNING"]


def test_a_refund_reaches_the_provider_once_and_its_answer_is_kept_on_the_purchase(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    from lambdas.records import purchases

    detail = refused_payment(aws, ledger)
    purchase_id = purchase_id_for(detail["payment_id"])

    (settlement,) = settled_refunds(aws, purchase_id)
    assert settlement["status"] == "SUCCEEDED", settlement
    (action,) = actions_for(aws, purchase_id)
    assert (action.kind, action.key, action.amount) == (
        "refund",
        f"refund-{purchase_id}",
        Decimal("200.00"),
    )
    assert action.order["payment_id"] == detail["payment_id"]
    found = purchases.find(purchase_id)
    assert found is not None and found.refund_outcome == "SUCCEEDED"
    # the provider sends its answer again (a second later: signed anew): refunded once
    assert aws.provider is not None
    time.sleep(1.1)
    assert aws.provider.send_webhook(action.webhooks[0]) == 202
    wait_for(lambda: len(settled_refunds(aws, purchase_id)) == 2, 30)
    assert len(actions_for(aws, purchase_id)) == 1


def test_a_failed_refund_stops_for_an_operator_with_the_providers_reason(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], drexfy_ops: Callable[..., Any]
) -> None:
    from lambdas.records import purchases

    detail = refused_payment(aws, ledger, "failed", reason="card account closed")
    purchase_id = purchase_id_for(detail["payment_id"])

    (settlement,) = settled_refunds(aws, purchase_id)
    assert settlement["status"] == "FAILED" and settlement["error"] == "RefundFailed"
    assert "card account closed" in settlement["cause"]
    found = purchases.find(purchase_id)
    assert found is not None and found.refund_outcome == "FAILED"
    listed = {row["for"]: row for row in drexfy_ops("payouts")}
    assert listed[purchase_id]["answer"] == "FAILED"


def test_an_aml_flag_before_the_redemption_refuses_the_withdrawal_and_nothing_moves(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], holder: dict[str, str]
) -> None:
    from domain.investor import InvestorStatus
    from lambdas.records import investors, withdrawals

    before = balance(platform, holder["address"])
    withdrawal_id = kept(holder, "25.00")
    investors.set_status(holder["investor_id"], InvestorStatus.BLOCKED, "AML flag (test)")

    put_withdrawal_requested(aws, withdrawal_id, holder["investor_id"])
    (execution,) = finished(aws, "Withdrawal", withdrawal_id)

    assert execution["status"] == "SUCCEEDED", execution
    refused = record(withdrawal_id)
    assert refused.status.value == "REFUSED" and "BLOCKED" in refused.reason  # for operators
    assert balance(platform, holder["address"]) == before
    assert redemptions(platform, holder["address"]) == []
    assert actions_for(aws, withdrawal_id) == []
    assert withdrawals.withdrawn_on(holder["investor_id"], refused.day) == 0  # given back
    told = wait_for(lambda: _told_refused(aws, withdrawal_id))
    assert "BLOCKED" not in json.dumps(told) and "AML" not in json.dumps(told)


def test_an_aml_flag_during_the_redemption_stops_the_payout_and_puts_the_money_back(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], holder: dict[str, str]
) -> None:
    from domain.investor import InvestorStatus
    from lambdas.records import investors
    from lambdas.withdrawals.service import withdrawal_service

    before, issued = balance(platform, holder["address"]), outstanding(platform)
    withdrawal_id = kept(holder, "60.00")
    service = withdrawal_service()
    while service.redeem(withdrawal_id, 0).as_output()["state"] != "DONE":
        accept(ledger.rpc_url)  # the redemption validates as the flag arrives
    investors.set_status(holder["investor_id"], InvestorStatus.BLOCKED, "AML flag (test)")

    put_withdrawal_requested(aws, withdrawal_id, holder["investor_id"])
    (execution,) = finished(aws, "Withdrawal", withdrawal_id)

    assert execution["status"] == "SUCCEEDED", execution
    stopped = record(withdrawal_id)
    assert stopped.status.value == "REFUSED" and stopped.reissue_hash
    assert stopped.reason.startswith("stopped: the investor became BLOCKED")
    assert balance(platform, holder["address"]) == before  # back in the (frozen) wallet
    assert outstanding(platform) == issued
    assert actions_for(aws, withdrawal_id) == []  # the provider was never asked
    told = wait_for(lambda: _told_refused(aws, withdrawal_id))
    assert "BLOCKED" not in json.dumps(told)


def test_a_payout_the_provider_refused_is_dead_lettered_and_re_sent_once_by_an_operator(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str], drexfy_ops: Callable[..., Any],
) -> None:  # fmt: skip
    assert aws.provider is not None
    aws.provider.fail_next(1, status=400)  # not retried by EventBridge: dead-lettered at once
    asked = withdrawn(frontend, holder, "15.00")
    withdrawal_id = asked["withdrawal_id"]
    finished(aws, "Withdrawal", withdrawal_id)

    unsent = [r for r in drexfy_ops("provider", "dead-letters") if r["for"] == withdrawal_id]
    (letter,) = unsent
    assert letter["type"] == "PayoutRequested" and letter["amount"] == "15.00"
    assert "400" in letter["error"]
    assert actions_for(aws, withdrawal_id) == []

    resent = drexfy_ops("provider", "resend", letter["message"])
    assert resent["message"] == letter["message"]
    (settlement,) = finished(aws, "Settlement", withdrawal_id)
    assert settlement["status"] == "SUCCEEDED"
    assert record(withdrawal_id).status.value == "PAID_OUT"
    assert [r for r in drexfy_ops("provider", "dead-letters") if r["for"] == withdrawal_id] == []
    # re-sent once more (an operator's second copy): the provider pays it once
    _resend_again(aws, withdrawal_id)
    wait_for(lambda: len(_payout_requests(aws, withdrawal_id)) == 3)
    assert len(actions_for(aws, withdrawal_id)) == 1


def test_the_payout_account_is_the_one_kyc_verified_and_a_bad_one_is_refused_at_the_door(
    aws: LocalAws, ledger: LocalLedger
) -> None:
    from datetime import UTC, datetime

    from lambdas.records import investors

    investor_id = new_investor_id()
    body = {
        "event": "kyc.approved", "investor_id": investor_id,
        "case_id": f"case-{uuid.uuid4().hex[:6]}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payout_account": {
            "iban": "GB82 WEST 1234 5698 7654 32", "holder_name": "Grace Hopper",
        },
    }  # fmt: skip
    raw = json.dumps(body).encode()
    assert post(aws, "/webhooks/kyc", raw, signed(aws, raw, "KycWebhookSecretArn"))[0] == 202
    found = wait_for(lambda: investors.find(investor_id))
    assert found.payout_account is not None
    assert (found.payout_account.iban, found.payout_account.holder_name) == (
        "GB82WEST12345698765432",
        "Grace Hopper",
    )

    wrong = {**body, "payout_account": {"iban": "GB82WEST12345698765433", "holder_name": "X"}}
    raw = json.dumps(wrong).encode()
    status, answer = post(aws, "/webhooks/kyc", raw, signed(aws, raw, "KycWebhookSecretArn"))
    assert status == 422 and answer["error"] == "invalid"
    assert "payout_account.iban" in answer["reason"] and "check digits" in answer["reason"]


def _told_refused(aws: LocalAws, withdrawal_id: str) -> list[dict[str, Any]]:
    assert aws.notifications is not None
    return [
        r.body for r in aws.notifications.received()
        if isinstance(r.body, dict) and r.body.get("type") == "WithdrawalRefused"
        and r.body["detail"].get("withdrawal_id") == withdrawal_id
    ]  # fmt: skip


def _payout_requests(aws: LocalAws, withdrawal_id: str) -> list[Any]:
    assert aws.provider is not None
    return [
        r for r in aws.provider.requests()
        if r.path == "/payouts" and isinstance(r.body, dict)
        and r.body.get("withdrawal_id") == withdrawal_id
    ]  # fmt: skip


def _resend_again(aws: LocalAws, withdrawal_id: str) -> None:
    from domain.withdrawal import payout_request

    detail = payout_request(record(withdrawal_id))
    aws.client("events").put_events(
        Entries=[
            {
                "Source": "drexfy.operators",
                "DetailType": "PayoutResent",
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps(detail),
            }
        ]
    )


def test_adyens_answer_settles_a_payout_as_the_gateways_would(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str],
) -> None:  # fmt: skip
    """The provider answers in Adyen's format (its own door, its own key): paid, then the bank
    sends it back; the same item again changes nothing."""
    from domain.withdrawal import withdrawal_id_for
    from tests.ingress.test_adyen_webhooks import hmac_key, item, notification, send

    assert aws.provider is not None
    before = balance(platform, holder["address"])
    key = uuid.uuid4().hex
    withdrawal_id = withdrawal_id_for(holder["investor_id"], key)
    aws.provider.hold(withdrawal_id)  # the stand-in's own answer never comes: Adyen's does
    assert ask(frontend, holder["investor_id"], "12.50", key=key).status == 202
    finished(aws, "Withdrawal", withdrawal_id)

    hmac = hmac_key(aws)
    paid = item("PAYOUT_THIRDPARTY", withdrawal_id, 1250)
    assert send(aws, notification(hmac, paid)) == (202, "[accepted]")
    finished(aws, "Settlement", withdrawal_id)
    assert record(withdrawal_id).status.value == "PAID_OUT"
    reversed_ = item("PAIDOUT_REVERSED", withdrawal_id, 1250, reason="Account closed")
    body = notification(hmac, reversed_)
    assert send(aws, body) == (202, "[accepted]")
    assert send(aws, body) == (202, "[accepted]")  # Adyen sends it again: acknowledged

    settled = finished(aws, "Settlement", withdrawal_id, count=2)
    assert {e["status"] for e in settled} == {"SUCCEEDED"} and len(settled) == 2
    returned = record(withdrawal_id)
    assert returned.status.value == "RETURNED"
    assert returned.reason == "the bank returned the payout: Account closed"
    assert balance(platform, holder["address"]) == before


@pytest.mark.handlers_in_test_process
def test_a_withdrawal_whose_payout_request_missed_the_bus_is_redriven_and_paid_out_once(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], frontend: Frontend,
    holder: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The bus refuses PayoutRequested until the retries run out: the execution stops for an
    operator, marked asked but not sent. Run again on its own input (a redrive, as drexfy-ops
    starts one locally), it sends the request once; the redemption is not made again."""
    from domain.errors import TransientFault
    from lambdas import platform_events

    real = platform_events.publish

    def bus_down_for_payouts(detail_type: str, *args: Any, **kwargs: Any) -> str:
        if detail_type == "PayoutRequested":
            raise TransientFault("bus down")
        return real(detail_type, *args, **kwargs)

    monkeypatch.setattr(platform_events, "publish", bus_down_for_payouts)
    before = balance(platform, holder["address"])
    withdrawal_id = withdrawn(frontend, holder, "20.00")["withdrawal_id"]
    (stopped,) = finished(aws, "Withdrawal", withdrawal_id)
    assert stopped["status"] == "FAILED" and stopped["error"] == "NeedsOperator"
    assert "bus down" in stopped["cause"] and actions_for(aws, withdrawal_id) == []
    asked = record(withdrawal_id)
    assert asked.status.value == "REDEEMED" and asked.payout_requested

    monkeypatch.setattr(platform_events, "publish", real)
    sfn = aws.client("stepfunctions")
    sfn.start_execution(
        stateMachineArn=stopped["stateMachineArn"],
        name=f"{withdrawal_id}-redrive",
        input=stopped["input"],
    )
    finished(aws, "Withdrawal", withdrawal_id, count=2)
    (settled,) = finished(aws, "Settlement", withdrawal_id)

    assert settled["status"] == "SUCCEEDED"
    assert record(withdrawal_id).status.value == "PAID_OUT"
    assert len(actions_for(aws, withdrawal_id)) == 1
    assert len(redemptions(platform, holder["address"])) == 1
    assert balance(platform, holder["address"]) == before - Decimal("20.00")
