"""AML on the ledger: a flagged investor's holdings are frozen, a cleared one's released.

The issuer freezes the investor's stablecoin line (the investor can then only send it back to
the issuer); the company locks the investor's MPToken of each instrument (no transfers). Both
stay clawback-able, so a purchase in flight can still be undone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import business_keys
from domain.events import OPERATORS_SOURCE
from domain.investor import InvestorStatus
from domain.platform import STABLECOIN_CURRENCY, PlatformAccounts, SignerRole
from domain.settlement import LedgerTransaction

TF_SET_FREEZE = 0x00100000
TF_CLEAR_FREEZE = 0x00200000
TF_MPT_LOCK = 0x00000001
TF_MPT_UNLOCK = 0x00000002
LSF_MPT_LOCKED = 0x00000001


# A provider's clock may run a little ahead of ours; a decision dated further ahead would make
# every later one (an operator's block included) look superseded, so it is refused.
MAX_DECISION_LEAD = timedelta(minutes=5)


def decision_time(text: object) -> datetime:
    """A decision's time as the decider dated it (ISO 8601 with its offset); ValueError if
    it has no offset, since it could not be ordered against the others."""
    decided_at = datetime.fromisoformat(str(text))
    if decided_at.tzinfo is None:
        raise ValueError(f"occurred_at {text} has no time zone")
    return decided_at


def decision_time_refused(decided_at: datetime, now: datetime) -> str | None:
    """Why a decision's time cannot be taken, or None if it can."""
    if decided_at > now + MAX_DECISION_LEAD:
        return (
            f"decided at {decided_at.isoformat()}, more than "
            f"{int(MAX_DECISION_LEAD.total_seconds() // 60)} minutes after now "
            f"({now.isoformat()}): a decision cannot come from the future"
        )
    return None


def decided_by_operator(source: str | None) -> bool:
    """Whether an AML decision is an operator's (drexfy-ops) rather than the provider's: its
    event's source says so, which the bus rule hands the workflow (cdk/ingress.py). Only the
    operators' role may put `drexfy.operators` on the bus, so no provider can pass for one,
    whatever it names its case."""
    return source == OPERATORS_SOURCE


@dataclass(frozen=True)
class AmlDecision:
    """A flag or a clearance, as the provider (or an operator) dated it."""

    case_id: str
    decided_at: datetime
    flagged: bool
    by_operator: bool = False

    @property
    def order(self) -> tuple[datetime, bool, bool, str]:
        # The decider's time orders decisions, never their arrival. At one instant a flag
        # outranks a clearance and an operator the provider, so a tie never lifts a block.
        return (self.decided_at, self.flagged, self.by_operator, self.case_id)

    @property
    def actor(self) -> str:
        return "operator" if self.by_operator else "aml-provider"


def _later(current: AmlDecision | None, decision: AmlDecision) -> AmlDecision:
    return decision if current is None or decision.order > current.order else current


@dataclass(frozen=True)
class AmlStanding:
    """What AML decided of an investor: the latest decision of anyone, and the latest of an
    operator. Blocked while the latest decision is a flag, or while an operator's block stands:
    a provider's clearance never lifts an operator's block, only an operator's unblock does."""

    latest: AmlDecision | None = None
    operators_latest: AmlDecision | None = None

    @property
    def blocked(self) -> bool:
        return (self.latest is not None and self.latest.flagged) or self.blocked_by_operator

    @property
    def blocked_by_operator(self) -> bool:
        return self.operators_latest is not None and self.operators_latest.flagged

    def after(self, decision: AmlDecision) -> AmlStanding:
        """The standing once this decision is taken into account: keeping the latest is
        indifferent to the order decisions arrive in and to their repetition (a replay)."""
        return AmlStanding(
            _later(self.latest, decision),
            _later(self.operators_latest, decision)
            if decision.by_operator
            else self.operators_latest,
        )


@dataclass(frozen=True)
class AmlVerdict:
    """What one decision does to a standing.

    `changed`: the record must be written (the decision is now the latest, or the operator's
    latest). `carried_out`: the standing now follows this decision, so the workflow freezes
    (a flag) or lifts the freeze (a clearance); true again for the same decision, so its steps
    can be finished after a crash or a replay. `note`: the audit record's action."""

    standing: AmlStanding
    changed: bool
    carried_out: bool
    note: str


def aml_verdict(standing: AmlStanding, decision: AmlDecision) -> AmlVerdict:
    after = standing.after(decision)
    current = decision in (after.latest, after.operators_latest)
    carried_out = current and after.blocked == decision.flagged
    changed = after != standing
    if carried_out:
        note = "AML flag: BLOCKED" if decision.flagged else "AML clearance received"
    elif changed and after.blocked_by_operator:
        # Only a clearance can change the standing without being followed (it never adds a
        # block); it is kept, in order, for when the operator lifts their block.
        note = "AML clearance recorded: an operator's block stands"
    elif changed:
        note = "AML clearance recorded: a later flag stands"
    else:
        note = "AML decision superseded"
    return AmlVerdict(after, changed, carried_out, note)


def standing_of(decisions: Iterable[AmlDecision]) -> AmlStanding:
    """The standing these decisions give, in whatever order they arrived."""
    standing = AmlStanding()
    for decision in decisions:
        standing = standing.after(decision)
    return standing


def freeze_transactions(
    prefix: str,
    investor_address: str,
    accounts: PlatformAccounts,
    stablecoin_line: Mapping[str, Any] | None,
    mptokens: Iterable[Mapping[str, Any]],
    *,
    freeze: bool,
) -> list[LedgerTransaction]:
    """What is still to do, read from the validated ledger, to freeze (or unfreeze) them."""
    needed: list[LedgerTransaction] = []
    if stablecoin_line is not None and bool(stablecoin_line.get("freeze_peer")) != freeze:
        needed.append(
            LedgerTransaction(
                business_keys.under(prefix, "freeze-line" if freeze else "unfreeze-line"),
                SignerRole.ISSUER,
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
            LedgerTransaction(
                business_keys.under(prefix, f"{'lock' if freeze else 'unlock'}#{issuance}"),
                SignerRole.COMPANY,
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


def status_after_decision(
    known: bool, verdict: AmlVerdict, decision: AmlDecision, reason: str
) -> tuple[InvestorStatus, str | None] | None:
    """The status (and its reason) an AML decision writes; None to leave it as it is. A flag
    carried out blocks at once; a clearance only records itself (the investor is reinstated
    once the ledger freeze is lifted); an investor first known through a clearance is PENDING,
    kept in order for when they sign up."""
    if verdict.carried_out and decision.flagged:
        who = "Operator block" if decision.by_operator else "AML flag"
        return InvestorStatus.BLOCKED, f"{who} (case {decision.case_id}): {reason}"
    if not known:
        return InvestorStatus.PENDING, None
    return None


def clearance_to_reinstate(
    status: InvestorStatus, standing: AmlStanding, case_id: str
) -> AmlDecision | None:
    """The clearance of this case that lifts a block, if the standing still follows it: not if
    a later flag, or an operator's block, came in meanwhile."""
    if status != InvestorStatus.BLOCKED or standing.blocked:
        return None
    follows = [
        d
        for d in (standing.latest, standing.operators_latest)
        if d is not None and d.case_id == case_id and not d.flagged
    ]
    return follows[0] if follows else None


def workflow_carries_out(known: bool, verdict: AmlVerdict, decision: AmlDecision) -> bool:
    """Whether the workflow freezes (or unfreezes) the ledger for this decision: a clearance of
    an investor the platform does not know has nothing to lift."""
    return verdict.carried_out and (known or decision.flagged)
