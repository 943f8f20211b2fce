"""The daily three-way reconciliation: what the validated ledger holds, what the platform's
records say it should, and what the payment provider settled, compared figure by figure.

Every difference is reported with the accounts and amounts on each side, and never corrected:
a difference is a question for an operator (a ledger payment with no record, a record with no
ledger effect, a payout the provider made for no withdrawal, a wrong amount, a holder outside the
records). A clean day says so, with its totals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from domain.bookings import STABLECOIN, Movement, Supply
from domain.purchase import Purchase
from domain.withdrawal import Withdrawal

K = TypeVar("K")


@dataclass(frozen=True)
class LedgerSide:
    """One validated ledger: EUR by wallet (address), units by (issuance, address)."""

    ledger_index: int
    stablecoin_outstanding: Decimal
    wallets: Mapping[str, Decimal]  # every holder of the stablecoin but the company
    company: Decimal
    units: Mapping[tuple[str, str], int]
    issuances: Mapping[str, int]  # outstanding units by issuance
    movements: Sequence[Movement] = ()  # what its transactions moved, up to this ledger
    company_address: str = ""


@dataclass(frozen=True)
class RecordsSide:
    """The same, as the records say it must be at the cut-off."""

    taken_in: Decimal  # deposits delivered and collections: the stablecoin minted and kept
    paid_out: Decimal  # withdrawals redeemed and not put back
    wallets: Mapping[str, Decimal]  # paid to each holder, less what they withdrew
    company: Decimal
    units: Mapping[tuple[str, str], int]
    issuances: Mapping[str, int]  # sold less redeemed
    payments: Mapping[str, Decimal]  # money in the provider announced, by payment
    payouts: Mapping[str, Decimal]  # withdrawals paid out, by withdrawal
    refunds: Mapping[str, Decimal]  # purchases refunded, by purchase
    movements: Sequence[Movement] = ()  # what the records say moved, up to the ledger
    held: Decimal = Decimal(0)  # holders' payments kept in suspense by the company


def records_at(
    movements: Iterable[Movement],
    ledger_index: int,
    company: str,
    *,
    payments: Mapping[str, Decimal],
    payouts: Mapping[str, Decimal],
    refunds: Mapping[str, Decimal],
    held: Decimal = Decimal(0),
) -> RecordsSide:
    """The balances the records' movements add up to in `ledger_index`: those validated after
    it are not there yet."""
    upto = tuple(m for m in movements if m.ledger_index <= ledger_index)
    coin = [m for m in upto if m.asset == STABLECOIN]
    wallets: dict[str, Decimal] = {}
    for m in coin:
        wallets[m.account] = wallets.get(m.account, Decimal(0)) + m.change
    units: dict[tuple[str, str], int] = {}
    for m in upto:
        if m.asset != STABLECOIN:
            units[(m.asset, m.account)] = units.get((m.asset, m.account), 0) + int(m.change)
    issuances: dict[str, int] = {}
    for (issuance, _), count in units.items():
        issuances[issuance] = issuances.get(issuance, 0) + count
    return RecordsSide(
        taken_in=sum((m.change for m in coin if m.supply is Supply.TAKEN_IN), Decimal(0)),
        paid_out=-sum((m.change for m in coin if m.supply is Supply.PAID_OUT), Decimal(0)),
        wallets={a: v for a, v in wallets.items() if a != company},
        company=wallets.get(company, Decimal(0)),
        units=units,
        issuances=issuances,
        payments=payments,
        payouts=payouts,
        refunds=refunds,
        movements=upto,
        held=held,
    )


def payouts_settled_by(withdrawals: Iterable[Withdrawal], cut_off: datetime) -> dict[str, Decimal]:
    """Each withdrawal the provider had paid out by the cut-off, as the records know it (one
    the bank returned by then nets to nothing)."""
    return {
        w.withdrawal_id: w.amount
        for w in withdrawals
        if _by(w.paid_out_at, cut_off) and not _by(w.returned_at, cut_off)
    }


def refunds_settled_by(purchases: Iterable[Purchase], cut_off: datetime) -> dict[str, Decimal]:
    return {
        p.purchase_id: Decimal(p.amount)
        for p in purchases
        if p.refund_outcome == "SUCCEEDED" and _by(p.refunded_at, cut_off)
    }


def _by(moment: datetime | None, cut_off: datetime) -> bool:
    return moment is not None and moment <= cut_off


@dataclass(frozen=True)
class ProviderSide:
    """What the payment provider settled up to the cut-off."""

    payments: Mapping[str, Decimal]
    payouts: Mapping[str, Decimal]
    refunds: Mapping[str, Decimal]


# How each line of the provider's settlement report counts: money in, out, or back.
SETTLED = {
    ("payment", "captured"): ("payments", 1),
    ("payout", "paid"): ("payouts", 1),
    ("payout", "returned"): ("payouts", -1),
    ("refund", "succeeded"): ("refunds", 1),
}


class ReportUnreadable(ValueError):
    """A line of the provider's settlement report this platform cannot place."""


def provider_side(report: Iterable[Mapping[str, Any]], cut_off: datetime) -> ProviderSide:
    """The provider's settlement report netted by the platform's reference (a payment id, a
    withdrawal id, a purchase id): what it settled by the cut-off. A line of any other kind or
    outcome is refused, not skipped: money the platform cannot place is a question too."""
    netted: dict[str, dict[str, Decimal]] = {"payments": {}, "payouts": {}, "refunds": {}}
    for line in report:
        try:
            figure, sign = SETTLED[(line["kind"], line["outcome"])]
            settled_at = datetime.fromisoformat(line["settled_at"])
            reference, amount = str(line["reference"]), Decimal(str(line["amount"]))
        except (KeyError, ValueError, ArithmeticError) as error:
            raise ReportUnreadable(f"settlement line {dict(line)}: {error!r}") from None
        if settled_at <= cut_off:
            kept = netted[figure]
            kept[reference] = kept.get(reference, Decimal(0)) + sign * amount
    return ProviderSide(**{name: {r: v for r, v in m.items() if v} for name, m in netted.items()})


def last_ledger_closed_by(
    cut_off: datetime, latest: int, closed_at: Callable[[int], datetime]
) -> int:
    """The newest validated ledger (up to `latest`) that closed at or before the cut-off: the
    ledger a day's books are read from. Close times never go back: gallop back from the latest
    (servers keep recent history, not all of it), then search between the last two probes."""
    if closed_at(latest) <= cut_off:
        return latest
    after, step = latest, 1  # closed_at(after) > cut_off throughout
    while True:
        probe = max(1, latest - step)
        if closed_at(probe) <= cut_off:
            break
        if probe == 1:
            raise ValueError(f"no ledger closed by {cut_off.isoformat()}")
        after, step = probe, step * 2
    while after - probe > 1:  # closed_at(probe) <= cut_off < closed_at(after)
        middle = (probe + after) // 2
        probe, after = (middle, after) if closed_at(middle) <= cut_off else (probe, middle)
    return probe


@dataclass(frozen=True)
class Difference:
    """One figure two sides disagree on; None: that side has nothing under it."""

    figure: str  # e.g. "wallet", "holding", "payout"
    subject: str  # the account, holding or id
    said: Mapping[str, Decimal | None]  # side -> its value
    on_ledger_only: tuple[str, ...] = ()  # transactions the ledger holds and no record does
    in_records_only: tuple[str, ...] = ()  # transactions a record holds and the ledger does not

    def as_json(self) -> dict[str, Any]:
        said = {side: None if v is None else str(v) for side, v in self.said.items()}
        return {
            "figure": self.figure, "subject": self.subject, **said,
            "on_ledger_only": list(self.on_ledger_only),
            "in_records_only": list(self.in_records_only),
        }  # fmt: skip


@dataclass(frozen=True)
class Reconciliation:
    ledger_index: int
    differences: tuple[Difference, ...]
    totals: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.differences

    def summary(self, shown: int = 10) -> dict[str, Any]:
        """What the workflow's output and an operator's terminal show first."""
        return {
            "clean": self.clean,
            "ledger_index": self.ledger_index,
            "differences": len(self.differences),
            "totals": {name: str(value) for name, value in self.totals.items()},
            "first_differences": [d.as_json() for d in self.differences[:shown]],
        }


def reconcile(ledger: LedgerSide, records: RecordsSide, provider: ProviderSide) -> Reconciliation:
    """Every figure the ledger and the records hold, and the records and the provider."""
    expected_outstanding = records.taken_in - records.paid_out
    differences = [
        *_compared("stablecoin outstanding", {"": ledger.stablecoin_outstanding},
                   {"": expected_outstanding}),
        *_compared("company", {ledger.company_address: ledger.company},
                   {ledger.company_address: records.company}),
        *_compared("wallet", ledger.wallets, records.wallets),
        *_compared("holding", _named(ledger.units), _named(records.units)),
        *_compared("issuance", ledger.issuances, records.issuances),
        *_compared("payment", records.payments, provider.payments, ("records", "provider")),
        *_compared("payout", records.payouts, provider.payouts, ("records", "provider")),
        *_compared("refund", records.refunds, provider.refunds, ("records", "provider")),
    ]  # fmt: skip
    differences = [_with_transactions(d, ledger.movements, records.movements) for d in differences]
    totals = {
        "stablecoin_outstanding": ledger.stablecoin_outstanding,
        "held_by_investors": sum(ledger.wallets.values(), Decimal(0)),
        "company": ledger.company,
        "paid_in": sum(provider.payments.values(), Decimal(0)),
        "paid_out": sum(provider.payouts.values(), Decimal(0)),
        "refunded": sum(provider.refunds.values(), Decimal(0)),
        "held_in_suspense": records.held,
    }
    return Reconciliation(ledger.ledger_index, tuple(differences), totals)


def _compared(
    figure: str,
    first: Mapping[K, Decimal] | Mapping[K, int],
    second: Mapping[K, Decimal] | Mapping[K, int],
    sides: tuple[str, str] = ("ledger", "records"),
) -> list[Difference]:
    """A difference for every key whose values differ, a missing one counting as zero: an
    empty wallet is no difference, an unknown non-zero one is."""
    found = []
    for key in sorted({*first, *second}, key=str):
        one, two = first.get(key), second.get(key)
        if Decimal(one or 0) != Decimal(two or 0):
            said = {sides[0]: _decimal(one), sides[1]: _decimal(two)}
            found.append(Difference(figure, str(key), said))
    return found


def _decimal(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _named(units: Mapping[tuple[str, str], int]) -> dict[str, int]:
    return {f"{issuance}/{holder}": count for (issuance, holder), count in units.items()}


def _with_transactions(
    difference: Difference, on_ledger: Sequence[Movement], in_records: Sequence[Movement]
) -> Difference:
    """The difference with the transactions behind it: those of its account and asset (or of
    the supply, or of the issuance) that only one of the ledger and the records holds."""
    concerned = _concerning(difference)
    if concerned is None:
        return difference
    ledger_hashes = {m.tx_hash for m in on_ledger if concerned(m)}
    record_hashes = {m.tx_hash for m in in_records if concerned(m)}
    return Difference(
        difference.figure,
        difference.subject,
        difference.said,
        tuple(sorted(ledger_hashes - record_hashes)),
        tuple(sorted(record_hashes - ledger_hashes)),
    )


def _concerning(difference: Difference) -> Any:
    subject = difference.subject
    if difference.figure in ("wallet", "company"):
        return lambda m: m.asset == STABLECOIN and m.account == subject
    if difference.figure == "holding":
        issuance, _, holder = subject.partition("/")
        return lambda m: m.asset == issuance and m.account == holder
    if difference.figure == "issuance":
        return lambda m: m.asset == subject
    if difference.figure == "stablecoin outstanding":
        return lambda m: m.asset == STABLECOIN and m.supply is not None
    return None


# A scheduled run reads the books as they stood this long before it: the webhooks of that
# half-hour are in by then (the schedule, cdk/books.py, runs at 00:30 UTC for midnight).
SCHEDULED_GRACE = timedelta(minutes=30)


def cut_off_of(request: Mapping[str, Any], now: datetime) -> datetime:
    """The cut-off a run reconciles: the one asked for (`cut_off`, with its time zone), the
    schedule's time less the grace (`scheduled_at`), or now. Never in the future: a ledger
    not yet closed has no books to read."""
    if request.get("cut_off") is not None:
        cut_off = _moment(request["cut_off"], "cut_off")
    elif request.get("scheduled_at") is not None:
        cut_off = _moment(request["scheduled_at"], "scheduled_at") - SCHEDULED_GRACE
    else:
        return now
    if cut_off > now:
        raise ValueError(f"the cut-off {cut_off.isoformat()} is in the future")
    return cut_off


def _moment(text: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} {text!r} has no time zone")
    return moment
