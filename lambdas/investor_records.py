"""Investors' standing: their status in our records and the address of their wallet."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.investor import InvestorStanding, InvestorStatus
from lambdas.custody.wallet_generator import find_wallet
from lambdas.tables import InvestorRecord


def find_standing(investor_id: str) -> InvestorStanding | None:
    try:
        record = InvestorRecord.get(investor_id, consistent_read=True)
    except InvestorRecord.DoesNotExist:
        return None
    wallet = find_wallet(investor_id)
    return InvestorStanding(
        investor_id, InvestorStatus(record.status), wallet.address if wallet else None
    )


def set_status(investor_id: str, status: InvestorStatus, reason: str) -> InvestorRecord:
    """Create or change the investor's status; the reason says who decided and why."""
    record = InvestorRecord(investor_id, status=status.value, reason=reason)
    record.updated_at = datetime.now(UTC)
    try:
        existing = InvestorRecord.get(investor_id, consistent_read=True)
        record.created_at = existing.created_at
    except InvestorRecord.DoesNotExist:
        pass
    record.save()
    return record
