"""Distributions and their entitlements: what each holder is owed on a payment date, fixed when
the distribution is taken, and what became of each payment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pynamodb.exceptions import PutError, QueryError, ScanError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from domain.distribution import (
    Distribution,
    DistributionState,
    DistributionStatus,
    EntitlementStatus,
    HolderPayment,
)
from lambdas.aws_clients import dynamodb_fault
from lambdas.records.money_out_tables import DistributionRecord, EntitlementRecord
from lambdas.records.tables import InstrumentRecord, transaction


class NotAsExpected(LookupError):
    """The distribution is unknown, or not in the state the change needs."""


def find(distribution_id: str) -> DistributionState | None:
    try:
        return _state(DistributionRecord.get(distribution_id, consistent_read=True))
    except DistributionRecord.DoesNotExist:
        return None


def every() -> list[DistributionState]:
    """Every distribution, by payment date (a scan: a few per instrument and year)."""
    try:
        found = [_state(r) for r in DistributionRecord.scan(consistent_read=True)]
    except ScanError as error:
        raise dynamodb_fault("distributions", error) from error
    return sorted(found, key=lambda d: (d.payment_date, d.instrument_id))


def begin(distribution: Distribution, items_key: str) -> DistributionState:
    """The distribution as first taken, with the ledger its holders were read from; a second
    taker finds the first one's (and reads its holders from that same ledger)."""
    record = DistributionRecord(
        distribution.distribution_id,
        instrument_id=distribution.instrument_id,
        payment_date=distribution.payment_date.isoformat(),
        record_date=distribution.record_date.isoformat(),
        ledger_index=distribution.ledger_index,
        coupon_per_unit=str(distribution.coupon_per_unit),
        principal_per_unit=str(distribution.principal_per_unit),
        total=str(distribution.total),
        holders=len(distribution.payments),
        units=distribution.units,
        at_maturity=distribution.at_maturity,
        status=DistributionStatus.TAKING.value,
        items_key=items_key,
    )
    try:
        record.save(condition=DistributionRecord.distribution_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"distribution {distribution.distribution_id}", error) from error
        found = find(distribution.distribution_id)
        assert found is not None
        return found
    return _state(record)


def keep_entitlements(distribution: Distribution) -> None:
    """Each holder's entitlement, unless kept already (a payment may have begun on it)."""
    for payment in distribution.payments:
        try:
            EntitlementRecord(
                distribution.distribution_id,
                payment.investor_id,
                address=payment.address,
                units=payment.units,
                coupon=str(payment.coupon),
                principal=str(payment.principal),
                status=payment.status.value,
            ).save(condition=EntitlementRecord.investor_id.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise dynamodb_fault(f"entitlement {payment.investor_id}", error) from error


def taken(distribution_id: str, status: DistributionStatus) -> DistributionState:
    """Every entitlement kept and the holders' list written: ready for approval or payment."""
    return _set(
        distribution_id,
        [DistributionRecord.status.set(status.value)],
        DistributionRecord.status == DistributionStatus.TAKING.value,
    )


def entitlements(distribution_id: str) -> list[HolderPayment]:
    try:
        query = EntitlementRecord.query(distribution_id, consistent_read=True)
        return [_payment(r) for r in query]
    except QueryError as error:
        raise dynamodb_fault(f"entitlements of {distribution_id}", error) from error


def units_taken_back(distribution_id: str) -> dict[str, int]:
    """Each holder's units taken back at maturity, as counted (lambdas/servicing)."""
    try:
        query = EntitlementRecord.query(distribution_id, consistent_read=True)
        return {r.investor_id: int(r.units_taken_back) for r in query if r.units_taken_back}
    except QueryError as error:
        raise dynamodb_fault(f"entitlements of {distribution_id}", error) from error


def entitlement(distribution_id: str, investor_id: str) -> HolderPayment | None:
    try:
        return _payment(EntitlementRecord.get(distribution_id, investor_id, consistent_read=True))
    except EntitlementRecord.DoesNotExist:
        return None


def mark(distribution_id: str, payment: HolderPayment) -> None:
    """A payment's new status (HELD, DUE again, or PAID with its transaction); PAID is final."""
    actions: list[Action] = [
        EntitlementRecord.status.set(payment.status.value),
        EntitlementRecord.updated_at.set(_now()),
    ]
    if payment.tx_hash is not None:
        actions.append(EntitlementRecord.tx_hash.set(payment.tx_hash))
    if payment.ledger_index is not None:
        actions.append(EntitlementRecord.ledger_index.set(payment.ledger_index))
    record = EntitlementRecord(distribution_id, payment.investor_id)
    try:
        record.update(
            actions=actions, condition=EntitlementRecord.status != EntitlementStatus.PAID.value
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"entitlement {payment.investor_id}", error) from error


def record_take_back(
    distribution_id: str, investor_id: str, instrument_id: str, units: int
) -> None:
    """A holder's units taken back at maturity, on the entitlement and counted as redeemed on
    the instrument, together and once (a re-run finds them counted)."""
    try:
        with transaction() as writes:
            writes.update(
                EntitlementRecord(distribution_id, investor_id),
                actions=[EntitlementRecord.units_taken_back.set(units)],
                condition=EntitlementRecord.units_taken_back.does_not_exist(),
            )
            writes.update(
                InstrumentRecord(instrument_id),
                actions=[InstrumentRecord.units_redeemed.add(units)],
            )
    except TransactWriteError as error:
        reasons = error.cancellation_reasons
        counted = (
            bool(reasons) and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed"
        )
        if not counted:
            raise dynamodb_fault(f"take-back of {investor_id}", error) from error


def await_approval(distribution_id: str, token: str) -> DistributionState:
    return _set(
        distribution_id,
        [DistributionRecord.approval_token.set(token)],
        DistributionRecord.status == DistributionStatus.AWAITING_APPROVAL.value,
    )


def approve(distribution_id: str, approved_by: str) -> DistributionState:
    """Approved once: a later approval of an approved distribution changes nothing."""
    state = find(distribution_id)
    if state is not None and state.status is not DistributionStatus.AWAITING_APPROVAL:
        return state
    return _set(
        distribution_id,
        [
            DistributionRecord.status.set(DistributionStatus.APPROVED.value),
            DistributionRecord.approved_by.set(approved_by),
            DistributionRecord.approval_token.remove(),
        ],
        DistributionRecord.status == DistributionStatus.AWAITING_APPROVAL.value,
    )


def finish(distribution_id: str, status: DistributionStatus, report_key: str) -> DistributionState:
    return _set(
        distribution_id,
        [
            DistributionRecord.status.set(status.value),
            DistributionRecord.report_key.set(report_key),
        ],
    )


def _set(
    distribution_id: str, actions: list[Action], condition: Condition | None = None
) -> DistributionState:
    record = DistributionRecord(distribution_id)
    exists = DistributionRecord.distribution_id.exists()
    try:
        record.update(
            actions=[*actions, DistributionRecord.updated_at.set(_now())],
            condition=exists & condition if condition is not None else exists,
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotAsExpected(f"distribution {distribution_id} is not as expected") from None
        raise dynamodb_fault(f"distribution {distribution_id}", error) from error
    return _state(record)


def _now() -> datetime:
    return datetime.now(UTC)


def _state(record: DistributionRecord) -> DistributionState:
    return DistributionState(
        distribution_id=record.distribution_id,
        instrument_id=record.instrument_id,
        payment_date=date.fromisoformat(record.payment_date),
        record_date=date.fromisoformat(record.record_date),
        ledger_index=int(record.ledger_index),
        coupon_per_unit=Decimal(record.coupon_per_unit),
        principal_per_unit=Decimal(record.principal_per_unit),
        total=Decimal(record.total),
        holders=int(record.holders),
        units=int(record.units),
        at_maturity=bool(record.at_maturity),
        status=DistributionStatus(record.status),
        items_key=record.items_key,
        approved_by=record.approved_by,
        awaiting_token=record.approval_token,
        report_key=record.report_key,
    )


def _payment(record: EntitlementRecord) -> HolderPayment:
    return HolderPayment(
        investor_id=record.investor_id,
        address=record.address,
        units=int(record.units),
        coupon=Decimal(record.coupon),
        principal=Decimal(record.principal),
        status=EntitlementStatus(record.status),
        tx_hash=record.tx_hash,
        ledger_index=None if record.ledger_index is None else int(record.ledger_index),
    )
