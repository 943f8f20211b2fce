"""AML on the ledger: a flagged investor's holdings are frozen, a cleared one's released.

The issuer freezes the investor's stablecoin line (the investor can then only send it back to
the issuer); the company locks the investor's MPToken of each instrument (no transfers). Both
stay clawback-able, so a purchase in flight can still be undone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts
from domain.settlement import HoldingsTransaction

TF_SET_FREEZE = 0x00100000
TF_CLEAR_FREEZE = 0x00200000
TF_MPT_LOCK = 0x00000001
TF_MPT_UNLOCK = 0x00000002
LSF_MPT_LOCKED = 0x00000001


# A provider's clock may run a little ahead of ours; a decision dated further ahead would make
# every later one (an operator's block included) look superseded, so it is refused.
MAX_DECISION_LEAD = timedelta(minutes=5)


def decision_time_refused(decided_at: datetime, now: datetime) -> str | None:
    """Why a decision's time cannot be taken, or None if it can."""
    if decided_at > now + MAX_DECISION_LEAD:
        return (
            f"decided at {decided_at.isoformat()}, more than "
            f"{int(MAX_DECISION_LEAD.total_seconds() // 60)} minutes after now "
            f"({now.isoformat()}): a decision cannot come from the future"
        )
    return None


def decision_applies(
    case_id: str,
    decided_at: datetime,
    last_case_id: str | None,
    last_decided_at: datetime | None,
) -> bool:
    """An AML decision applies unless a later one already did (a replayed or late event);
    the decision last applied applies again, so its steps can be finished after a crash."""
    if last_decided_at is None or case_id == last_case_id:
        return True
    return decided_at > last_decided_at


def freeze_transactions(
    prefix: str,
    investor_address: str,
    accounts: PlatformAccounts,
    stablecoin_line: Mapping[str, Any] | None,
    mptokens: Iterable[Mapping[str, Any]],
    *,
    freeze: bool,
) -> list[HoldingsTransaction]:
    """What is still to do, read from the validated ledger, to freeze (or unfreeze) them."""
    needed: list[HoldingsTransaction] = []
    if stablecoin_line is not None and bool(stablecoin_line.get("freeze_peer")) != freeze:
        needed.append(
            HoldingsTransaction(
                f"{prefix}#{'freeze' if freeze else 'unfreeze'}-line",
                "issuer",
                {
                    "TransactionType": "TrustSet",
                    "Account": accounts.issuer,
                    "LimitAmount": {
                        "currency": STABLECOIN_CURRENCY,
                        "issuer": investor_address,
                        "value": "0",
                    },
                    "Flags": TF_SET_FREEZE if freeze else TF_CLEAR_FREEZE,
                },
            )
        )
    for token in mptokens:
        locked = bool(int(token.get("Flags", 0)) & LSF_MPT_LOCKED)
        if locked == freeze:
            continue
        issuance = str(token["MPTokenIssuanceID"])
        needed.append(
            HoldingsTransaction(
                f"{prefix}#{'lock' if freeze else 'unlock'}#{issuance}",
                "company",
                {
                    "TransactionType": "MPTokenIssuanceSet",
                    "Account": accounts.company,
                    "MPTokenIssuanceID": issuance,
                    "Holder": investor_address,
                    "Flags": TF_MPT_LOCK if freeze else TF_MPT_UNLOCK,
                },
            )
        )
    return needed
