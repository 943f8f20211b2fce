"""What each workflow task receives and answers, typed at the handler's door.

A handler parses its event into one of the input dataclasses first (`parse`), so a malformed
input (a hand-started execution, a state machine edited wrongly) fails with MalformedTaskInput
naming the field, before any record or ledger is touched, instead of a KeyError deep inside. It
answers one of the output dataclasses (`answer`): what the next state reads, and what an
operator sees in the console, has one definition.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from domain.errors import MalformedTaskInput

T = TypeVar("T")


@dataclass(frozen=True)
class PurchaseStep:
    """A ledger step of a purchase, called again after each Wait until it is decided."""

    purchase_id: str
    checks: int = 0


@dataclass(frozen=True)
class PurchaseCompensation:
    """A compensation task: the purchase (or only its payment, when the deposit was never
    recorded), why it is being undone, and the execution undoing it."""

    purchase_id: str | None = None
    payment: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    execution: str = ""
    redrive_count: int = 0


@dataclass(frozen=True)
class Deposit:
    """Record deposit: the payment event's detail and the execution that settles it."""

    payment: dict[str, Any]
    execution: str = ""
    redrive: bool = False


@dataclass(frozen=True)
class Decision:
    """A KYC or AML decision as the bus delivered it (its fields are checked by the rules)."""

    detail_type: str
    decision: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


@dataclass(frozen=True)
class InvestorStep:
    """A step of onboarding or compliance for one investor and the case that started it."""

    investor_id: str
    case_id: str
    checks: int = 0
    decision: str | None = None  # compliance: the decision's business-key prefix


@dataclass(frozen=True)
class Notification:
    """Notify: what to tell the frontend about an investor, once per occurrence."""

    notification: str
    investor_id: str
    case_id: str
    occurrence: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DistributionStart:
    """Take a distribution: the instrument and the payment date (ISO)."""

    instrument_id: str
    payment_date: str


@dataclass(frozen=True)
class DistributionStep:
    """A step of a distribution as a whole; `token`: the workflow's, while it waits."""

    distribution_id: str
    checks: int = 0
    token: str | None = None
    approved_by: str | None = None


@dataclass(frozen=True)
class CollectionStep:
    """Mint a collection to the company: its id and amount (a decimal string), as received."""

    collection_id: str
    amount: str
    checks: int = 0


@dataclass(frozen=True)
class WriteDownRequest:
    """An operator's write-down as the bus delivered it (its fields are checked by the rules)."""

    write_down: dict[str, Any]


@dataclass(frozen=True)
class HolderStep:
    """A step for one holder of a distribution, called again after each Wait until decided."""

    distribution_id: str
    investor_id: str
    checks: int = 0


@dataclass(frozen=True)
class WithdrawalStep:
    """A step of one withdrawal, called again after each Wait until decided; `reason`: why
    its amount goes back to the wallet."""

    withdrawal_id: str
    checks: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class IncomePaid:
    """A coupon or principal just paid to an investor (CouponPaid, PrincipalRepaid), as the
    bus delivered it: paid out to their bank if they chose so."""

    detail_type: str
    income: dict[str, Any]


@dataclass(frozen=True)
class ReconciliationRequest:
    """The execution's name (the report's id) and its input: {"cut_off"}, the schedule's
    {"scheduled_at"}, or nothing (now)."""

    reconciliation_id: str
    request: dict[str, Any]


@dataclass(frozen=True)
class StatementsRequest:
    """A run of the statements workflow: its input ({"period"} and maybe {"investor_id"}, or
    the schedule's {"scheduled_at"}) and where the page of investors starts."""

    request: dict[str, Any]
    after: str | None = None


@dataclass(frozen=True)
class StatementOrder:
    """One investor's statement for one period, to be kept as documents."""

    investor_id: str
    period: str


@dataclass(frozen=True)
class ProviderAnswer:
    """The payment provider's webhook as the bus delivered it: a payout's or a refund's
    outcome (its fields were checked at the webhook door)."""

    detail_type: str
    outcome: dict[str, Any]


# --- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRecorded:
    """A KYC or AML decision applied to the records; `applies`: the workflow carries it out."""

    investor_id: str
    case_id: str
    detail_type: str
    applies: bool
    status: str | None
    reason: str | None
    decision: str | None = None  # AML: the prefix of its ledger transactions' business keys


@dataclass(frozen=True)
class InvestorAnswer:
    """An onboarding or compliance step's outcome for the investor."""

    investor_id: str
    case_id: str
    status: str | None = None
    wallet_address: str | None = None
    decision: str | None = None
    transactions: dict[str, Any] | None = None


@dataclass(frozen=True)
class Notified:
    notification_id: str
    sent: bool
    event_id: str | None = None


@dataclass(frozen=True)
class CompensationBegun:
    purchase_id: str
    reason: str | None
    checks: int = 0


@dataclass(frozen=True)
class UnitsReleased:
    purchase_id: str
    units_held: bool


def answer(output: object) -> dict[str, Any]:
    """The output as the workflow receives it: JSON, without the fields that do not apply."""
    fields = dataclasses.asdict(output)  # type: ignore[call-overload]
    optional = {f.name for f in dataclasses.fields(output) if not _required(f)}  # type: ignore[arg-type]
    return {k: v for k, v in fields.items() if v is not None or k not in optional}


# --- parsing --------------------------------------------------------------------------------


def parse(model: type[T], event: object) -> T:
    """The event as `model`; MalformedTaskInput naming the first field that does not fit."""
    if not isinstance(event, Mapping):
        raise MalformedTaskInput(f"{model.__name__}: the input is not a JSON object")
    values = {}
    for item in dataclasses.fields(model):  # type: ignore[arg-type]
        value = event.get(item.name)
        if value is None:  # absent, or JSON null: the default, if the field has one
            if _required(item):
                raise MalformedTaskInput(f"{model.__name__}: {item.name} is missing")
            continue
        values[item.name] = _checked(model, item.name, value)
    return model(**values)


def _required(item: dataclasses.Field[Any]) -> bool:
    return item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING


def _checked(model: type, name: str, value: object) -> object:
    expected = _kinds(model)[name]
    if isinstance(value, bool) and bool not in expected:  # JSON true is no count
        raise _wrong(model, name, expected, value)
    if int in expected and isinstance(value, str) and value.isdigit():
        return int(value)  # a count carried through JSONata as text
    if not isinstance(value, tuple(k for k in expected if k is not type(None))):
        raise _wrong(model, name, expected, value)
    if str in expected and isinstance(value, str) and not value.strip():
        raise MalformedTaskInput(f"{model.__name__}: {name} is empty")
    return value


def _wrong(model: type, name: str, expected: tuple[type, ...], value: object) -> Exception:
    kinds = " or ".join(k.__name__ for k in expected if k is not type(None))
    got = type(value).__name__
    return MalformedTaskInput(f"{model.__name__}: {name} must be {kinds}, not {got}")


@functools.cache
def _kinds(model: type) -> dict[str, tuple[type, ...]]:
    """Each field's accepted runtime types: `str | None` -> (str, NoneType)."""
    kinds = {}
    for name, hint in get_type_hints(model).items():
        options = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
        kinds[name] = tuple(get_origin(o) or o for o in options)
    return kinds
