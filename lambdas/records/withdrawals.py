"""Withdrawals, and each investor's daily total: every change is conditional on the status it
follows, so a retry, a replay or a duplicate webhook changes a withdrawal once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

from pynamodb.exceptions import PutError, QueryError, ScanError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from domain.bank_account import BankAccount
from domain.money import CENT
from domain.withdrawal import (
    IncomePayout,
    PayoutOutcome,
    Withdrawal,
    WithdrawalRefused,
    WithdrawalStatus,
    cents,
)
from lambdas.aws_clients import dynamodb_fault
from lambdas.records.money_out_tables import (
    IncomePayoutRecord,
    WithdrawalDayRecord,
    WithdrawalRecord,
)
from lambdas.records.tables import transaction


class NotAsExpected(LookupError):
    """The withdrawal is unknown, or not in the status the change needs."""


def find(withdrawal_id: str) -> Withdrawal | None:
    try:
        return _withdrawal(WithdrawalRecord.get(withdrawal_id, consistent_read=True))
    except WithdrawalRecord.DoesNotExist:
        return None


def found(withdrawal_ids: Iterable[str]) -> dict[str, Withdrawal]:
    """The withdrawals of these ids that exist, read by key, 100 to a request (for watchers)."""
    records = WithdrawalRecord.batch_get(sorted(set(withdrawal_ids)), consistent_read=True)
    return {record.withdrawal_id: _withdrawal(record) for record in records}


def of_investor(investor_id: str) -> list[Withdrawal]:
    """An investor's withdrawals, newest first."""
    try:
        found = WithdrawalRecord.by_investor.query(investor_id, scan_index_forward=False)
        return [_withdrawal(record) for record in found]
    except QueryError as error:
        raise dynamodb_fault(f"withdrawals of {investor_id}", error) from error


def every() -> list[Withdrawal]:
    """Every withdrawal, newest first (a scan: for operators)."""
    try:
        found = WithdrawalRecord.scan(WithdrawalRecord.investor_id.exists(), consistent_read=True)
        withdrawals = [_withdrawal(record) for record in found]
    except ScanError as error:
        raise dynamodb_fault("withdrawals", error) from error
    return sorted(withdrawals, key=lambda w: w.requested_at, reverse=True)


def withdrawn_on(investor_id: str, day: date) -> Decimal:
    """What counts against the day's limit: the day's withdrawals not refused."""
    try:
        record = WithdrawalDayRecord.get(_day_key(investor_id, day), consistent_read=True)
    except WithdrawalDayRecord.DoesNotExist:
        return Decimal(0)
    return int(record.total_cents) * CENT


def income_payout_of(investor_id: str) -> IncomePayout:
    try:
        record = IncomePayoutRecord.get(f"income#{investor_id}", consistent_read=True)
    except IncomePayoutRecord.DoesNotExist:
        return IncomePayout.WALLET
    return IncomePayout(record.income_payout)


def choose_income_payout(investor_id: str, choice: IncomePayout) -> IncomePayout:
    try:
        IncomePayoutRecord(f"income#{investor_id}", income_payout=choice.value).save()
    except PutError as error:
        raise dynamodb_fault(f"income payout of {investor_id}", error) from error
    return choice


def request(withdrawal: Withdrawal, limit: Decimal | None) -> Withdrawal:
    """Keep the withdrawal and count it against the day's limit, in one transaction; the one
    kept already if its id was asked before. WithdrawalRefused if the limit was reached since
    the investor's request was checked (another withdrawal at the same moment). No limit: the
    platform's own payout of income, not counted."""
    kept = find(withdrawal.withdrawal_id)
    if kept is not None:
        return kept
    if limit is None:
        return _kept_uncounted(withdrawal)
    record = _new_record(withdrawal)
    day = WithdrawalDayRecord(_day_key(withdrawal.investor_id, withdrawal.day))
    room = cents(limit) - cents(withdrawal.amount)
    try:
        with transaction() as writes:
            writes.save(record, condition=WithdrawalRecord.withdrawal_id.does_not_exist())
            writes.update(
                day,
                actions=[WithdrawalDayRecord.total_cents.add(cents(withdrawal.amount))],
                condition=WithdrawalDayRecord.total_cents.does_not_exist()
                | (WithdrawalDayRecord.total_cents <= room),
            )
    except TransactWriteError as error:
        if error.cause_response_code != "TransactionCanceledException":
            raise dynamodb_fault(f"withdrawal {withdrawal.withdrawal_id}", error) from error
        kept = find(withdrawal.withdrawal_id)
        if kept is not None:
            return kept
        left = max(limit - withdrawn_on(withdrawal.investor_id, withdrawal.day), Decimal(0))
        raise WithdrawalRefused(
            f"{withdrawal.amount} EUR is more than the {left} EUR left of today's {limit} EUR limit"
        ) from None
    return _withdrawal(record)


def _kept_uncounted(withdrawal: Withdrawal) -> Withdrawal:
    record = _new_record(withdrawal)
    try:
        record.save(condition=WithdrawalRecord.withdrawal_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise dynamodb_fault(f"withdrawal {withdrawal.withdrawal_id}", error) from error
        return _found(withdrawal.withdrawal_id)
    return _withdrawal(record)


def _new_record(withdrawal: Withdrawal) -> WithdrawalRecord:
    account = withdrawal.account
    assert account is not None  # refused before: domain.withdrawal.check_may_withdraw
    return WithdrawalRecord(
        withdrawal.withdrawal_id,
        investor_id=withdrawal.investor_id,
        requested_at=withdrawal.requested_at.isoformat(),
        amount=str(withdrawal.amount),
        status=WithdrawalStatus.REQUESTED.value,
        iban=account.iban,
        holder_name=account.holder_name,
    )


def mark_redeemed(withdrawal_id: str, tx_hash: str) -> Withdrawal:
    """The redemption validated: REDEEMED, once."""
    return _change(
        withdrawal_id,
        WithdrawalStatus.REQUESTED,
        [
            WithdrawalRecord.status.set(WithdrawalStatus.REDEEMED.value),
            WithdrawalRecord.redemption_hash.set(tx_hash),
        ],
        done=lambda w: w.redemption_hash == tx_hash,
    )


def mark_payout_requested(withdrawal_id: str) -> Withdrawal:
    """Before the payout request goes on the bus: the provider may answer at once, and its
    answer must find a payout asked for."""
    return _change(
        withdrawal_id,
        WithdrawalStatus.REDEEMED,
        [WithdrawalRecord.payout_requested.set(True)],
        done=lambda w: w.payout_requested,
    )


def payout_sent(withdrawal_id: str) -> bool:
    """Whether the payout request is on the bus (a crash before it was recorded sends it
    again, which the provider deduplicates on its idempotency key)."""
    try:
        record = WithdrawalRecord.get(withdrawal_id, consistent_read=True)
    except WithdrawalRecord.DoesNotExist:
        return False
    return record.payout_event_id is not None


def record_payout_sent(withdrawal_id: str, event_id: str) -> None:
    _set(
        withdrawal_id,
        [WithdrawalRecord.payout_event_id.set(event_id)],
        WithdrawalRecord.payout_requested == True,  # noqa: E712
    )


def record_payout_outcome(
    withdrawal_id: str, outcome: PayoutOutcome, occurred_at: datetime
) -> Withdrawal:
    """The provider's answer and its time: PAID_OUT when it paid; a failure or return is kept
    for the re-issue, and the status moves only once the stablecoin is back (mark_returned)."""
    actions: list[Action] = [WithdrawalRecord.payout_outcome.set(outcome.value)]
    if outcome is PayoutOutcome.PAID:
        actions.append(WithdrawalRecord.status.set(WithdrawalStatus.PAID_OUT.value))
        actions.append(WithdrawalRecord.paid_out_at.set(occurred_at))
    elif outcome is PayoutOutcome.RETURNED:
        actions.append(WithdrawalRecord.returned_at.set(occurred_at))
    condition = WithdrawalRecord.status.is_in(
        WithdrawalStatus.REDEEMED.value, WithdrawalStatus.PAID_OUT.value
    )
    return _set(withdrawal_id, actions, condition)


def mark_returned(withdrawal_id: str, reissue_hash: str, reason: str) -> Withdrawal:
    """The payout failed or came back and the stablecoin is in the wallet again: RETURNED."""
    return _change(
        withdrawal_id,
        (WithdrawalStatus.REDEEMED, WithdrawalStatus.PAID_OUT),
        [
            WithdrawalRecord.status.set(WithdrawalStatus.RETURNED.value),
            WithdrawalRecord.reissue_hash.set(reissue_hash),
            WithdrawalRecord.reason.set(reason),
        ],
        done=lambda w: w.status is WithdrawalStatus.RETURNED,
    )


def refuse(withdrawal_id: str, reason: str, reissue_hash: str | None = None) -> Withdrawal:
    """REFUSED (nothing redeemed, or what was is back in the wallet), and its amount no longer
    counted against the day's limit: both once, in one transaction."""
    withdrawal = _found(withdrawal_id)
    if withdrawal.status is WithdrawalStatus.REFUSED:
        return withdrawal
    if withdrawal.status not in (WithdrawalStatus.REQUESTED, WithdrawalStatus.REDEEMED):
        raise NotAsExpected(f"withdrawal {withdrawal_id} is {withdrawal.status}: not refused")
    actions: list[Action] = [
        WithdrawalRecord.status.set(WithdrawalStatus.REFUSED.value),
        WithdrawalRecord.reason.set(reason),
        WithdrawalRecord.updated_at.set(datetime.now(UTC)),
    ]
    if reissue_hash is not None:
        actions.append(WithdrawalRecord.reissue_hash.set(reissue_hash))
    day = WithdrawalDayRecord(_day_key(withdrawal.investor_id, withdrawal.day))
    try:
        with transaction() as writes:
            writes.update(
                WithdrawalRecord(withdrawal_id),
                actions=actions,
                condition=WithdrawalRecord.status == withdrawal.status.value,
            )
            writes.update(
                day, actions=[WithdrawalDayRecord.total_cents.add(-cents(withdrawal.amount))]
            )
    except TransactWriteError as error:
        if error.cause_response_code != "TransactionCanceledException":
            raise dynamodb_fault(f"withdrawal {withdrawal_id}", error) from error
        return refuse(withdrawal_id, reason, reissue_hash)  # changed meanwhile: decide again
    return _found(withdrawal_id)


def _change(
    withdrawal_id: str,
    follows: WithdrawalStatus | tuple[WithdrawalStatus, ...],
    actions: list[Action],
    done: Callable[[Withdrawal], bool],
) -> Withdrawal:
    """Apply actions if the withdrawal is in a status they follow; if it is not, the
    withdrawal as it is when `done` says the change was made already, else NotAsExpected."""
    statuses = follows if isinstance(follows, tuple) else (follows,)
    condition = WithdrawalRecord.status.is_in(*(s.value for s in statuses))
    try:
        return _set(withdrawal_id, actions, condition)
    except NotAsExpected:
        withdrawal = _found(withdrawal_id)
        if done(withdrawal):
            return withdrawal
        raise


def _set(withdrawal_id: str, actions: list[Action], condition: Condition) -> Withdrawal:
    record = WithdrawalRecord(withdrawal_id)
    try:
        record.update(
            actions=[*actions, WithdrawalRecord.updated_at.set(datetime.now(UTC))],
            condition=WithdrawalRecord.withdrawal_id.exists() & condition,
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            found = find(withdrawal_id)
            status = found.status if found else "unknown"
            raise NotAsExpected(f"withdrawal {withdrawal_id} is {status}") from None
        raise dynamodb_fault(f"withdrawal {withdrawal_id}", error) from error
    return _withdrawal(record)


def _found(withdrawal_id: str) -> Withdrawal:
    withdrawal = find(withdrawal_id)
    if withdrawal is None:
        raise NotAsExpected(f"no withdrawal {withdrawal_id}")
    return withdrawal


def _day_key(investor_id: str, day: date) -> str:
    return f"day#{investor_id}#{day.isoformat()}"


def _withdrawal(record: WithdrawalRecord) -> Withdrawal:
    return Withdrawal(
        withdrawal_id=record.withdrawal_id,
        investor_id=record.investor_id,
        amount=Decimal(record.amount),
        requested_at=datetime.fromisoformat(record.requested_at),
        status=WithdrawalStatus(record.status),
        reason=record.reason,
        account=BankAccount(record.iban, record.holder_name),
        payout_outcome=PayoutOutcome(record.payout_outcome) if record.payout_outcome else None,
        payout_requested=bool(record.payout_requested),
        redemption_hash=record.redemption_hash,
        reissue_hash=record.reissue_hash,
        paid_out_at=record.paid_out_at,
        returned_at=record.returned_at,
    )
