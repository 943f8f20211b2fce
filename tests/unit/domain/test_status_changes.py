"""The status-change rules the records apply (lambdas/records/): what each write may change,
checked here without a table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.compliance import (
    AmlDecision,
    AmlStanding,
    aml_verdict,
    clearance_to_reinstate,
    status_after_decision,
    workflow_carries_out,
)
from domain.investor import (
    InvestorStatus,
    activates,
    kyc_approval_stands,
    notification_id,
    notification_payload,
    wallet_refusal,
)
from domain.purchase import (
    Payment,
    Purchase,
    PurchaseDelivered,
    PurchaseStatus,
    PurchaseUndoing,
)

AT = datetime(2026, 12, 4, 9, tzinfo=UTC)
PURCHASE_AMOUNT = Decimal("300.00")
PURCHASE = Purchase(
    purchase_id="purchase-1",
    payment_id="pay-1",
    investor_id="inv-1",
    instrument_id="SME-2027-A",
    units=3,
    amount="300.00",
    currency="EUR",
    status=PurchaseStatus.DEPOSIT_RECORDED,
    units_held=True,
)


# --- investors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        (None, "has no KYC approval on record"),
        (InvestorStatus.PENDING, "has no KYC approval on record"),
        (InvestorStatus.REJECTED, "has no KYC approval on record"),
        (InvestorStatus.BLOCKED, "is BLOCKED: no wallet"),
        (InvestorStatus.KYC_APPROVED, None),
        (InvestorStatus.ACTIVE, None),
    ],
)
def test_a_wallet_request_goes_on_only_on_a_kyc_approval(
    status: InvestorStatus | None, refused: str | None
) -> None:
    reason = wallet_refusal("inv-1", status)
    assert (reason is None) == (refused is None)
    assert refused is None or refused in str(reason)


def test_a_kyc_approval_stands_until_a_rejection_or_for_an_unknown_investor() -> None:
    assert kyc_approval_stands(InvestorStatus.KYC_APPROVED, True)
    assert kyc_approval_stands(InvestorStatus.ACTIVE, None)  # registered before KYC records
    assert not kyc_approval_stands(InvestorStatus.KYC_APPROVED, False)
    assert not kyc_approval_stands(InvestorStatus.REJECTED, True)
    assert not kyc_approval_stands(InvestorStatus.PENDING, None)
    assert not kyc_approval_stands(None, None)


def test_only_kyc_approved_becomes_active_a_block_or_rejection_meanwhile_stands() -> None:
    assert [s for s in InvestorStatus if activates(s)] == [InvestorStatus.KYC_APPROVED]


def test_a_flag_blocks_with_who_and_why_a_clearance_changes_no_status() -> None:
    flag = AmlDecision("case-7", AT, flagged=True)
    verdict = aml_verdict(AmlStanding(), flag)
    assert status_after_decision(True, verdict, flag, "sanctions") == (
        InvestorStatus.BLOCKED,
        "AML flag (case case-7): sanctions",
    )
    by_operator = AmlDecision("ops-1", AT, flagged=True, by_operator=True)
    operator_verdict = aml_verdict(AmlStanding(), by_operator)
    blocked = status_after_decision(True, operator_verdict, by_operator, "manual review")
    assert blocked == (InvestorStatus.BLOCKED, "Operator block (case ops-1): manual review")
    clearance = AmlDecision("case-7", AT, flagged=False)
    cleared = aml_verdict(AmlStanding(flag), clearance)
    assert status_after_decision(True, cleared, clearance, "cleared") is None


def test_an_investor_first_known_through_a_clearance_is_pending_with_nothing_to_lift() -> None:
    clearance = AmlDecision("case-7", AT, flagged=False)
    verdict = aml_verdict(AmlStanding(), clearance)
    assert status_after_decision(False, verdict, clearance, "cleared") == (
        InvestorStatus.PENDING,
        None,
    )
    assert not workflow_carries_out(False, verdict, clearance)
    assert workflow_carries_out(True, verdict, clearance)
    flag = AmlDecision("case-7", AT, flagged=True)
    assert workflow_carries_out(False, aml_verdict(AmlStanding(), flag), flag)


def test_a_block_is_lifted_only_by_the_clearance_the_standing_still_follows() -> None:
    flag = AmlDecision("case-7", AT, flagged=True)
    clearance = AmlDecision("case-7", AT.replace(hour=10), flagged=False)
    cleared = AmlStanding(clearance)
    assert clearance_to_reinstate(InvestorStatus.BLOCKED, cleared, "case-7") == clearance
    assert clearance_to_reinstate(InvestorStatus.BLOCKED, cleared, "case-8") is None
    assert clearance_to_reinstate(InvestorStatus.ACTIVE, cleared, "case-7") is None
    assert clearance_to_reinstate(InvestorStatus.BLOCKED, AmlStanding(flag), "case-7") is None
    operators_block = AmlDecision("ops-1", AT, flagged=True, by_operator=True)
    held = AmlStanding(clearance, operators_block)
    assert clearance_to_reinstate(InvestorStatus.BLOCKED, held, "case-7") is None


def test_a_notification_is_one_per_occurrence_or_once_per_investor() -> None:
    assert notification_id("InvestorBlocked", "inv-1", "case-7", None) == (
        "InvestorBlocked#inv-1#case-7"
    )
    assert notification_id("InvestorBlocked", "inv-1", "case-7", "d2") == (
        "InvestorBlocked#inv-1#d2"
    )
    assert notification_id("WalletReady", "inv-1", "case-7", "d2") == "WalletReady#inv-1"


def test_a_notification_tells_the_standing_but_never_an_aml_reason() -> None:
    detail = {"status": "BLOCKED", "wallet_address": None, "reason": "sanctions list"}
    payload = notification_payload("InvestorBlocked", "inv-1", "case-7", detail)
    assert payload == {"investor_id": "inv-1", "case_id": "case-7", "status": "BLOCKED"}
    rejected = notification_payload("KycRejected", "inv-1", "case-1", {"reason": "bad id"})
    assert rejected["reason"] == "bad id"


# --- purchases ------------------------------------------------------------------------------


def test_a_purchase_belongs_only_to_the_payment_that_made_it() -> None:
    paid = Payment("pay-1", "inv-1", "SME-2027-A", 3, PURCHASE_AMOUNT, "EUR")
    assert PURCHASE.pays_for(paid)
    assert not PURCHASE.pays_for(replace(paid, amount=PURCHASE_AMOUNT + 1))
    assert not PURCHASE.pays_for(replace(paid, payment_id="pay-2"))


def test_a_redrive_goes_on_undoing_or_restarts_a_parked_forward_purchase() -> None:
    undoing = replace(PURCHASE, status=PurchaseStatus.NEEDS_OPERATOR, compensating=True)
    assert undoing.status_on_takeover() == PurchaseStatus.COMPENSATING
    parked = replace(PURCHASE, status=PurchaseStatus.NEEDS_OPERATOR)
    assert parked.status_on_takeover() == PurchaseStatus.DEPOSIT_RECORDED
    assert PURCHASE.status_on_takeover() == PurchaseStatus.DEPOSIT_RECORDED


def test_a_parked_purchase_resumes_only_after_a_redrive_since_it_was_parked() -> None:
    parked = replace(PURCHASE, status=PurchaseStatus.NEEDS_OPERATOR, parked_at_redrive=1)
    assert not parked.redriven_since_parked(1)
    assert parked.redriven_since_parked(2)
    assert not PURCHASE.redriven_since_parked(5)


def test_a_delivered_purchase_is_never_undone_nor_refunded() -> None:
    delivered = replace(PURCHASE, status=PurchaseStatus.DELIVERED, units_held=False)
    with pytest.raises(PurchaseDelivered):
        delivered.check_may_undo("late failure")
    with pytest.raises(PurchaseDelivered):
        delivered.check_may_refund()
    PURCHASE.check_may_undo("a step failed")
    PURCHASE.check_may_refund()


def test_an_undoing_purchase_never_goes_forward_nor_completes() -> None:
    undoing = replace(PURCHASE, compensating=True, status=PurchaseStatus.COMPENSATING)
    with pytest.raises(PurchaseUndoing):
        undoing.check_may_go_forward()
    with pytest.raises(PurchaseUndoing):
        undoing.check_may_complete()
    with pytest.raises(PurchaseUndoing):  # its units were released: nothing to sell
        replace(PURCHASE, units_held=False).check_may_complete()
    PURCHASE.check_may_go_forward()
    PURCHASE.check_may_complete()


def test_a_purchase_summary_is_plain_json_for_executions_and_operators() -> None:
    parked = replace(
        PURCHASE,
        status=PurchaseStatus.NEEDS_OPERATOR,
        parked_reason="redeem failed",
        transactions={"mint": {"hash": "AB", "ledger_index": 7, "result": "tesSUCCESS"}},
    )
    summary = parked.summary()
    assert summary["status"] == "NEEDS_OPERATOR" and type(summary["status"]) is str
    assert summary["parked_reason"] == "redeem failed"
    assert summary["transactions"]["mint"]["ledger_index"] == 7
    assert "parked_reason" not in PURCHASE.summary()


def test_only_delivered_and_refunded_purchases_are_final() -> None:
    assert {s for s in PurchaseStatus if s.is_final} == {
        PurchaseStatus.DELIVERED,
        PurchaseStatus.REFUNDED,
    }


def test_only_an_active_investor_with_a_wallet_may_buy() -> None:
    from domain.investor import InvestorStanding

    assert InvestorStanding("inv-1", InvestorStatus.ACTIVE, "rAda").may_buy
    assert not InvestorStanding("inv-1", InvestorStatus.ACTIVE, None).may_buy
    assert not InvestorStanding("inv-1", InvestorStatus.BLOCKED, "rAda").may_buy


def test_an_aml_decision_names_who_took_it() -> None:
    assert AmlDecision("c-1", AT, flagged=True).actor == "aml-provider"
    assert AmlDecision("ops-1", AT, flagged=True, by_operator=True).actor == "operator"
