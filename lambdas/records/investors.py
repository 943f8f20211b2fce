"""Investors' standing: their status in our records, the address of their wallet, and the audit
trail of every change (who, when, why, which transactions).

Every change is read, decided by the rules in domain/ and written on condition that the record
is still as it was read (its `version`): a decision that lost a race to another is decided
again on what the other wrote, so the older one is audited as superseded and never overwrites."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import QueryError, UpdateError
from pynamodb.expressions.update import Action

from domain.bank_account import BankAccount
from domain.compliance import (
    AmlDecision,
    AmlStanding,
    aml_verdict,
    clearance_to_reinstate,
    decision_time_refused,
    status_after_decision,
    workflow_carries_out,
)
from domain.errors import BusinessRuleViolation, TransientFault
from domain.investor import (
    Investor,
    InvestorStanding,
    InvestorStatus,
    KycDecision,
    activates,
    kyc_approval_stands,
    kyc_verdict,
    status_when_cleared,
    wallet_refusal,
)
from lambdas.aws_clients import dynamodb_fault
from lambdas.records import wallets
from lambdas.records.tables import AuditRecord, InvestorRecord

# Conditional writes lost in a row before the step gives up and the workflow retries it.
_ATTEMPTS = 5


class InvestorNotEligible(BusinessRuleViolation):
    """The investor's standing does not allow this step (e.g. a wallet while BLOCKED)."""


def find(investor_id: str) -> Investor | None:
    record = _read(investor_id)
    return _investor(record) if record is not None else None


def status_of(investor_id: str) -> InvestorStatus | None:
    record = _read(investor_id)
    return InvestorStatus(record.status) if record is not None else None


def find_standing(investor_id: str) -> InvestorStanding | None:
    status = status_of(investor_id)
    if status is None:
        return None
    wallet = wallets.find(investor_id)
    return InvestorStanding(investor_id, status, wallet.address if wallet else None)


def _read(investor_id: str) -> InvestorRecord | None:
    try:
        return InvestorRecord.get(investor_id, consistent_read=True)
    except InvestorRecord.DoesNotExist:
        return None


def _investor(record: InvestorRecord) -> Investor:
    return Investor(
        record.investor_id,
        InvestorStatus(record.status),
        record.reason,
        record.kyc_approved,
        screened_by_aml=record.aml_case_id is not None,
        payout_account=_payout_account(record),
    )


def _payout_account(record: InvestorRecord) -> BankAccount | None:
    if record.payout_iban is None or record.payout_holder_name is None:
        return None
    return BankAccount(record.payout_iban, record.payout_holder_name)


def _write(
    investor_id: str, read: InvestorRecord | None, actions: Sequence[Action]
) -> InvestorRecord | None:
    """Apply these changes if nobody changed the record since `read`: the record as written,
    or None if somebody changed it meanwhile."""
    now = datetime.now(UTC)
    version = read.version if read is not None else None
    condition = (
        InvestorRecord.version.does_not_exist()
        if version is None
        else InvestorRecord.version == version
    )
    written = InvestorRecord(investor_id)
    try:
        written.update(
            actions=[
                *actions,
                InvestorRecord.updated_at.set(now),
                InvestorRecord.created_at.set(InvestorRecord.created_at | now),
                InvestorRecord.version.add(1),
            ],
            condition=condition,
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return written  # update() read back every attribute


def _lost_too_often(investor_id: str) -> TransientFault:
    return TransientFault(f"investor {investor_id}: record changed by others {_ATTEMPTS} times")


def set_status(
    investor_id: str, status: InvestorStatus, reason: str, actor: str = "operator"
) -> Investor:
    """Create or change the investor's status; the reason says who decided and why."""
    for _ in range(_ATTEMPTS):
        read = _read(investor_id)
        changes = [InvestorRecord.status.set(status.value), InvestorRecord.reason.set(reason)]
        written = _write(investor_id, read, changes)
        if written is not None:
            audit(investor_id, f"status {status.value}", actor, reason)
            return _investor(written)
    raise _lost_too_often(investor_id)


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
    ).save(condition=AuditRecord.audit_id.does_not_exist())  # appended, never written over


@dataclass(frozen=True)
class AuditEntry:
    action: str
    actor: str
    reason: str
    case_id: str | None
    transactions: dict[str, Any]
    at: datetime


def audit_trail(investor_id: str) -> list[AuditEntry]:
    """Every change of the investor's standing, oldest first."""
    try:
        query = AuditRecord.query(investor_id, consistent_read=True)
        return [
            AuditEntry(r.action, r.actor, r.reason, r.case_id, r.transactions.as_dict(), r.at)
            for r in query
        ]
    except QueryError as error:
        raise dynamodb_fault(f"audit trail of {investor_id}", error) from error


# --- KYC -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KycOutcome:
    """A KYC decision (or a wallet request) as onboarding goes on with it."""

    status: InvestorStatus | None
    reason: str | None
    proceeds: bool  # an approval: make the wallet; a rejection: tell the investor


def _kyc_on_record(record: InvestorRecord | None) -> KycDecision | None:
    if record is None or record.kyc_case_id is None or record.kyc_decided_at is None:
        return None  # none yet, or recorded before KYC decisions carried their time
    return KycDecision(record.kyc_case_id, record.kyc_decided_at, bool(record.kyc_approved))


def record_kyc_decision(
    investor_id: str,
    case_id: str,
    decided_at: datetime,
    approved: bool,
    reason: str,
    payout_account: BankAccount | None = None,
) -> KycOutcome:
    """Apply a KYC decision in the provider's order (domain.investor.kyc_verdict): a stale or
    replayed approval never turns REJECTED back into KYC_APPROVED, nor gets a wallet made. An
    approval that verified a payout account keeps it with the decision."""
    refused = decision_time_refused(decided_at, datetime.now(UTC))
    if refused is not None:
        audit(investor_id, "KYC decision refused", "kyc-provider", refused, case_id)
        return KycOutcome(status_of(investor_id), None, False)
    decision = KycDecision(case_id, decided_at, approved)
    said = f"KYC approved (case {case_id})" if approved else reason
    for _ in range(_ATTEMPTS):
        record = _read(investor_id)
        status = InvestorStatus(record.status) if record else None
        on_record = _kyc_on_record(record)
        verdict = kyc_verdict(status, on_record, decision)
        if verdict.recorded:
            changes = [
                InvestorRecord.kyc_case_id.set(case_id),
                InvestorRecord.kyc_decided_at.set(decided_at),
                InvestorRecord.kyc_approved.set(approved),
            ]
            if approved and payout_account is not None:
                changes += [
                    InvestorRecord.payout_iban.set(payout_account.iban),
                    InvestorRecord.payout_holder_name.set(payout_account.holder_name),
                ]
            if verdict.status is not None:
                changes += [
                    InvestorRecord.status.set(verdict.status.value),
                    InvestorRecord.reason.set(said),
                ]
            record = _write(investor_id, record, changes)
            if record is None:
                continue  # decided again on what the other writer left
        why = said
        if on_record is not None and not verdict.recorded and decision != on_record:
            why = f"{said}; on record: case {on_record.case_id} of {on_record.decided_at}"
        audit(investor_id, verdict.note, "kyc-provider", why, case_id)
        return KycOutcome(
            InvestorStatus(record.status) if record else None,
            record.reason if record else None,
            verdict.proceeds,
        )
    raise _lost_too_often(investor_id)


def wallet_request(investor_id: str) -> KycOutcome:
    """The frontend's own wallet request: onboarding goes on only on a KYC approval on record."""
    investor = find(investor_id)
    refused = wallet_refusal(investor_id, investor.status if investor else None)
    if refused is not None or investor is None:
        raise InvestorNotEligible(refused)
    return KycOutcome(investor.status, investor.reason, True)


def require_kyc_approval(investor_id: str) -> None:
    """Before a wallet is made or funded: the KYC approval still stands."""
    investor = find(investor_id)
    status, approved = (investor.status, investor.kyc_approved) if investor else (None, None)
    if not kyc_approval_stands(status, approved):
        raise InvestorNotEligible(f"investor {investor_id}: no KYC approval stands, no wallet")


def activate(investor_id: str) -> Investor:
    """ACTIVE once the wallet is ready (domain.investor.activates)."""
    for _ in range(_ATTEMPTS):
        record = _read(investor_id)
        if record is None:
            raise InvestorNotEligible(f"investor {investor_id} is not registered")
        if not activates(InvestorStatus(record.status)):
            return _investor(record)
        changes = [
            InvestorRecord.status.set(InvestorStatus.ACTIVE.value),
            InvestorRecord.reason.set("wallet ready"),
        ]
        written = _write(investor_id, record, changes)
        if written is not None:
            ready = "wallet funded, stablecoin line ready"
            audit(investor_id, "status ACTIVE", "onboarding", ready)
            return _investor(written)
    raise _lost_too_often(investor_id)


# --- AML -----------------------------------------------------------------------------------


def _aml_on_record(record: InvestorRecord | None) -> AmlStanding:
    if record is None:
        return AmlStanding()
    latest = None
    if record.aml_case_id is not None and record.aml_decided_at is not None:
        flagged = record.aml_flagged
        if flagged is None:  # recorded before decisions kept their kind
            flagged = record.status == InvestorStatus.BLOCKED
        latest = AmlDecision(
            record.aml_case_id, record.aml_decided_at, flagged, bool(record.aml_by_operator)
        )
    operators = None
    if record.operator_case_id is not None and record.operator_decided_at is not None:
        operators = AmlDecision(
            record.operator_case_id, record.operator_decided_at, bool(record.operator_flagged), True
        )
    return AmlStanding(latest, operators)


def _aml_changes(standing: AmlStanding) -> list[Action]:
    changes: list[Action] = []
    if standing.latest is not None:
        latest = standing.latest
        changes += [
            InvestorRecord.aml_case_id.set(latest.case_id),
            InvestorRecord.aml_decided_at.set(latest.decided_at),
            InvestorRecord.aml_flagged.set(latest.flagged),
            InvestorRecord.aml_by_operator.set(latest.by_operator),
        ]
    if standing.operators_latest is not None:
        operators = standing.operators_latest
        changes += [
            InvestorRecord.operator_case_id.set(operators.case_id),
            InvestorRecord.operator_decided_at.set(operators.decided_at),
            InvestorRecord.operator_flagged.set(operators.flagged),
        ]
    return changes


def record_aml_decision(
    investor_id: str,
    flagged: bool,
    case_id: str,
    decided_at: datetime,
    reason: str,
    by_operator: bool = False,
    operator: str | None = None,
) -> bool:
    """Apply an AML decision to our records at once, in the decider's order
    (domain.compliance.aml_verdict); True if the workflow is to carry it out. The audit names
    the operator who decided, when one did (the holder register shows who acted).

    A flag blocks now; a clearance only records itself: the investor is ACTIVE again once
    the ledger freeze is lifted (reinstate). A provider's clearance never lifts an operator's
    block: it is recorded, in order, and the block stands."""
    decision = AmlDecision(case_id, decided_at, flagged, by_operator)
    actor = f"{decision.actor} {operator}" if by_operator and operator else decision.actor
    refused = decision_time_refused(decided_at, datetime.now(UTC))
    if refused is not None:
        audit(investor_id, "AML decision refused", actor, refused, case_id)
        return False
    for _ in range(_ATTEMPTS):
        record = _read(investor_id)
        verdict = aml_verdict(_aml_on_record(record), decision)
        carried_out = workflow_carries_out(record is not None, verdict, decision)
        if verdict.changed:
            changes = _aml_changes(verdict.standing)
            status = status_after_decision(record is not None, verdict, decision, reason)
            if status is not None:
                changes.append(InvestorRecord.status.set(status[0].value))
                if status[1] is not None:
                    changes.append(InvestorRecord.reason.set(status[1]))
            if _write(investor_id, record, changes) is None:
                continue  # decided again on what the other writer left
        note = verdict.note
        if record is None and not flagged:
            note = "AML clearance recorded: nothing to lift"
        audit(investor_id, note, actor, reason, case_id)
        return carried_out
    raise _lost_too_often(investor_id)


def reinstate(investor_id: str, case_id: str, transactions: dict[str, Any]) -> Investor:
    """Out of BLOCKED after a clearance (domain.compliance.clearance_to_reinstate)."""
    for _ in range(_ATTEMPTS):
        record = _read(investor_id)
        if record is None:
            raise InvestorNotEligible(f"investor {investor_id} is not registered")
        standing = _aml_on_record(record)
        clearance = clearance_to_reinstate(InvestorStatus(record.status), standing, case_id)
        if clearance is None:
            return _investor(record)
        has_wallet = wallets.find(investor_id) is not None
        status = status_when_cleared(record.kyc_approved, has_wallet)
        reason = f"AML cleared (case {case_id})"
        changes = [InvestorRecord.status.set(status.value), InvestorRecord.reason.set(reason)]
        written = _write(investor_id, record, changes)
        if written is not None:
            actor = clearance.actor
            audit(investor_id, f"AML cleared: {status.value}", actor, reason, case_id, transactions)
            return _investor(written)
    raise _lost_too_often(investor_id)
