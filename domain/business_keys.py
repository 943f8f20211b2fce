"""Business keys: what each ledger transaction is for, built here and nowhere else.

A key names one ledger effect; the Submissions table keeps at most one transaction per key
(lambdas/records/submissions.py), so the effect happens at most once whatever retries, replays
or redrives. Keys are grouped by whom they are about (`subject_of`), which the table indexes.

    <purchase>#<step>[#r<round>]          a purchase's saga step, and each redrive's retry
    investor#<investor>#<holding>[#<mpt>] what readies an investor to hold an asset
    <purchase>#<holding>[#<mpt>]          the same, retried by one purchase after it failed
    aml#<investor>#<case>#<decision>#...  an AML decision's freeze or unfreeze
    distribution-<instrument>-<date>#<investor>   a holder's coupon and principal of a date
    tickets#<account>#<ledger>            a hot account's Ticket refill
    bootstrap#...                         the platform's own set-up (ops/platform_bootstrap.py)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NewType

BusinessKey = NewType("BusinessKey", str)

_INVESTOR, _AML = "investor", "aml"


def purchase_step(purchase_id: str, step: str, round_: int = 0) -> BusinessKey:
    """A saga step of a purchase; round n > 0 is its n-th retry after an operator's redrive of
    the undoing (a compensation that failed on the ledger is tried again under a new key)."""
    base = f"{purchase_id}#{step}"
    return BusinessKey(base if round_ == 0 else f"{base}#r{round_}")


def investor_holding(investor_id: str, holding: str, issuance_id: str | None = None) -> BusinessKey:
    """A transaction that readies the investor to hold: shared by all their purchases."""
    key = f"{_INVESTOR}#{investor_id}#{holding}"
    return BusinessKey(key if issuance_id is None else f"{key}#{issuance_id}")


def activation(investor_id: str) -> BusinessKey:
    """The XRP that creates the investor's account on the ledger."""
    return investor_holding(investor_id, "activation")


def purchase_retry_of(purchase_id: str, holding_key: str) -> BusinessKey:
    """The purchase's own try at an investor's holding transaction that failed (say the wallet
    lacked the XRP reserve then): the same effect, under the purchase's key."""
    return BusinessKey(f"{purchase_id}#{_holding_part(holding_key)}")


def holding_name(key: str) -> str:
    """How a purchase's record names a holding transaction: `stablecoin-line`, `mptoken`..."""
    return _holding_part(key).split("#")[0] if _is_holding(key) else key.split("#")[1]


def aml_case(investor_id: str, case_id: str) -> BusinessKey:
    """The prefix of every ledger transaction an AML case caused."""
    return BusinessKey(f"{_AML}#{investor_id}#{case_id}#")


def aml_decision(investor_id: str, case_id: str, decided_at: datetime) -> BusinessKey:
    """The prefix of one decision's freeze or unfreeze: per decision, not per case, so a case
    flagged again after its clearance freezes the ledger again."""
    stamp = decided_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return BusinessKey(f"{aml_case(investor_id, case_id)}{stamp}")


def under(prefix: str, effect: str) -> BusinessKey:
    """One effect under a decision's prefix (`…#freeze-line`, `…#lock#<mpt>`)."""
    return BusinessKey(f"{prefix}#{effect}")


def distribution_payment(instrument_id: str, payment_date: date, investor_id: str) -> BusinessKey:
    """A holder's payment on one payment date of an instrument: at most once, whatever
    re-runs, replays or redrives; its subject is the distribution."""
    return BusinessKey(f"distribution-{instrument_id}-{payment_date.isoformat()}#{investor_id}")


def collection(collection_id: str) -> BusinessKey:
    """A collection's mint to the company: once, whatever the servicer or a replay resends."""
    return BusinessKey(f"collection-{collection_id}")


def withdrawal(withdrawal_id: str) -> BusinessKey:
    """The prefix of a withdrawal's ledger effects (`…#redeem`, `…#reissue`): each once."""
    return BusinessKey(f"withdrawal-{withdrawal_id}")


def ticket_refill(account: str, validated_ledger: int) -> BusinessKey:
    return BusinessKey(f"tickets#{account}#{validated_ledger}")


def bootstrap(*parts: str) -> BusinessKey:
    return BusinessKey("#".join(("bootstrap", *parts)))


def subject_of(key: str) -> str:
    """Whom a key is about, as the Submissions table's index groups them: an AML case's
    transactions under `aml#<investor>`, anything else under its first part (a purchase id,
    an account's ticket refill). Finding a case's transactions is then a query on one
    investor, not a scan of every submission."""
    head, _, rest = key.partition("#")
    return f"{_AML}#{rest.partition('#')[0]}" if head == _AML else head


def _is_holding(key: str) -> bool:
    return key.startswith(f"{_INVESTOR}#")


def _holding_part(key: str) -> str:
    """`stablecoin-line` or `mptoken#<mpt>` of `investor#<id>#…` (or of `<purchase>#…`)."""
    return key.split("#", 2)[2] if _is_holding(key) else key.split("#", 1)[1]
