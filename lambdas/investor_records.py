"""Investors' standing: their status in our records, the address of their wallet, and the audit
trail of every change (who, when, why, which transactions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from domain.compliance import decision_applies, decision_time_refused
from domain.errors import BusinessRuleViolation
from domain.investor import InvestorStanding, InvestorStatus
from lambdas.custody.wallet_generator import find_wallet
from lambdas.tables import AuditRecord, InvestorRecord


class InvestorNotEligible(BusinessRuleViolation):
    """The investor's standing does not allow this step (e.g. a wallet while BLOCKED)."""


def find(investor_id: str) -> InvestorRecord | None:
    try:
        return InvestorRecord.get(investor_id, consistent_read=True)
    except InvestorRecord.DoesNotExist:
        return None


def find_standing(investor_id: str) -> InvestorStanding | None:
    record = find(investor_id)
    if record is None:
        return None
    wallet = find_wallet(investor_id)
    return InvestorStanding(
        investor_id, InvestorStatus(record.status), wallet.address if wallet else None
    )


def set_status(
    investor_id: str, status: InvestorStatus, reason: str, actor: str = "operator"
) -> InvestorRecord:
    """Create or change the investor's status; the reason says who decided and why."""
    record = find(investor_id) or InvestorRecord(investor_id, status=status.value)
    record.status = status.value
    record.reason = reason
    record.updated_at = datetime.now(UTC)
    record.save()
    audit(investor_id, f"status {status.value}", actor, reason)
    return record


def audit(
    investor_id: str,
    action: str,
    actor: str,
    reason: str,
    case_id: str | None = None,
    transactions: dict[str, Any] | None = None,
) -> None:
    now = datetime.now(UTC)
    AuditRecord(
        investor_id,
        f"{now.isoformat()}#{uuid.uuid4().hex[:8]}",
        action=action,
        actor=actor,
        reason=reason,
        case_id=case_id,
        transactions=transactions or {},
        at=now,
    ).save()


def record_kyc_approval(investor_id: str, case_id: str, source: str) -> InvestorRecord:
    """KYC_APPROVED (a wallet may be made); never over ACTIVE, and never for a BLOCKED one.
    The frontend's own wallet request needs an approval already on record."""
    record = find(investor_id)
    status = InvestorStatus(record.status) if record else None
    if status == InvestorStatus.BLOCKED:
        raise InvestorNotEligible(f"investor {investor_id} is BLOCKED: no wallet")
    if source == "WalletRequested" and status not in (
        InvestorStatus.KYC_APPROVED,
        InvestorStatus.ACTIVE,
    ):
        raise InvestorNotEligible(f"investor {investor_id} has no KYC approval on record")
    if status == InvestorStatus.ACTIVE or status == InvestorStatus.KYC_APPROVED:
        return record  # type: ignore[return-value]
    record = record or InvestorRecord(investor_id, status=InvestorStatus.KYC_APPROVED.value)
    record.status = InvestorStatus.KYC_APPROVED.value
    record.kyc_case_id = case_id
    record.reason = f"KYC approved (case {case_id})"
    record.updated_at = datetime.now(UTC)
    record.save()
    audit(investor_id, "KYC approved", "kyc-provider", record.reason, case_id)
    return record


def record_kyc_rejection(investor_id: str, case_id: str, reason: str) -> InvestorRecord:
    """REJECTED with the provider's reason, unless the investor is already ACTIVE or BLOCKED
    (a late rejection then only goes into the audit trail for compliance to act on)."""
    record = find(investor_id)
    if record and InvestorStatus(record.status) in (InvestorStatus.ACTIVE, InvestorStatus.BLOCKED):
        audit(investor_id, "KYC rejection ignored", "kyc-provider", reason, case_id)
        return record
    record = record or InvestorRecord(investor_id, status=InvestorStatus.REJECTED.value)
    record.status = InvestorStatus.REJECTED.value
    record.kyc_case_id = case_id
    record.reason = reason
    record.updated_at = datetime.now(UTC)
    record.save()
    audit(investor_id, "KYC rejected", "kyc-provider", reason, case_id)
    return record


def activate(investor_id: str) -> InvestorRecord:
    """ACTIVE once the wallet is ready, unless an AML flag arrived meanwhile."""
    record = find(investor_id)
    if record is None:
        raise InvestorNotEligible(f"investor {investor_id} is not registered")
    if record.status == InvestorStatus.KYC_APPROVED:
        record.update(
            actions=[
                InvestorRecord.status.set(InvestorStatus.ACTIVE.value),
                InvestorRecord.reason.set("wallet ready"),
                InvestorRecord.updated_at.set(datetime.now(UTC)),
            ],
            condition=InvestorRecord.status == InvestorStatus.KYC_APPROVED.value,
        )
        audit(investor_id, "status ACTIVE", "onboarding", "wallet funded, stablecoin line ready")
    return record  # update() refreshed it


def record_aml_decision(
    investor_id: str, flagged: bool, case_id: str, decided_at: datetime, reason: str
) -> bool:
    """Apply an AML decision to our records at once; False if a later decision superseded it.

    A flag blocks now; a clearance only records itself: the investor is ACTIVE again once
    the ledger freeze is lifted (reinstate)."""
    refused = decision_time_refused(decided_at, datetime.now(UTC))
    if refused is not None:
        audit(investor_id, "AML decision refused", "aml-provider", refused, case_id)
        return False
    record = find(investor_id)
    if record is None:
        if not flagged:
            return False
        record = InvestorRecord(investor_id, status=InvestorStatus.BLOCKED.value)
    if not decision_applies(case_id, decided_at, record.aml_case_id, record.aml_decided_at):
        audit(investor_id, "AML decision superseded", "aml-provider", reason, case_id)
        return False
    if flagged:
        record.status = InvestorStatus.BLOCKED.value
        record.reason = f"AML flag (case {case_id}): {reason}"
    record.aml_case_id = case_id
    record.aml_decided_at = decided_at
    record.updated_at = datetime.now(UTC)
    record.save()
    action = "AML flag: BLOCKED" if flagged else "AML clearance received"
    audit(investor_id, action, "aml-provider", reason, case_id)
    return True


def reinstate(investor_id: str, case_id: str, transactions: dict[str, Any]) -> InvestorRecord:
    """ACTIVE again after a clearance, if that clearance is still the last AML decision."""
    record = find(investor_id)
    if record is None:
        raise InvestorNotEligible(f"investor {investor_id} is not registered")
    if record.aml_case_id == case_id and record.status == InvestorStatus.BLOCKED:
        record.status = InvestorStatus.ACTIVE.value
        record.reason = f"AML cleared (case {case_id})"
        record.updated_at = datetime.now(UTC)
        record.save()
        audit(
            investor_id, "AML cleared: ACTIVE", "aml-provider", record.reason, case_id, transactions
        )
    return record
