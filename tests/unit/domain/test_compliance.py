"""AML decisions: the latest in the decider's order applies, whatever order they arrive in;
an operator's block stands until an operator lifts it; freezing reads what the ledger still
needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.compliance import (
    LSF_MPT_LOCKED,
    TF_CLEAR_FREEZE,
    TF_MPT_LOCK,
    TF_MPT_UNLOCK,
    TF_SET_FREEZE,
    AmlDecision,
    AmlStanding,
    aml_verdict,
    decided_by_operator,
    decision_time,
    freeze_transactions,
    standing_of,
)
from domain.events import KYC_SOURCE, OPERATORS_SOURCE
from domain.platform import PlatformAccounts

ACCOUNTS = PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding")
T0 = datetime(2026, 11, 26, 10, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def flag(case: str, minutes: int, operator: bool = False) -> AmlDecision:
    return AmlDecision(case, at(minutes), flagged=True, by_operator=operator)


def clearance(case: str, minutes: int, operator: bool = False) -> AmlDecision:
    return AmlDecision(case, at(minutes), flagged=False, by_operator=operator)


def arrive(decisions: list[AmlDecision], standing: AmlStanding | None = None) -> AmlStanding:
    """Each decision in arrival order, as the records take them."""
    standing = standing or AmlStanding()
    for decision in decisions:
        standing = aml_verdict(standing, decision).standing
    return standing


def test_a_later_decision_supersedes_an_earlier_one_arriving_late() -> None:
    standing = arrive([flag("case-1", 0), clearance("case-2", 5)])

    late = aml_verdict(standing, flag("case-3", 2))

    assert not late.changed and not late.carried_out
    assert late.note == "AML decision superseded"
    assert not late.standing.blocked


def test_a_stale_clearance_of_the_same_case_does_not_lift_its_flag() -> None:
    """The provider's clearance dated before its own flag (late, or replayed) is older."""
    standing = arrive([flag("case-1", 10)])

    stale = aml_verdict(standing, clearance("case-1", 5))

    assert (stale.changed, stale.carried_out) == (False, False)
    assert stale.standing.blocked


def test_a_replayed_clearance_does_not_lift_a_reflag_of_the_same_case() -> None:
    standing = arrive([flag("case-1", 0), clearance("case-1", 5), flag("case-1", 10)])

    replayed = aml_verdict(standing, clearance("case-1", 5))

    assert (replayed.changed, replayed.carried_out) == (False, False)
    assert replayed.standing.blocked


def test_the_decision_on_record_again_is_carried_out_again_and_changes_nothing() -> None:
    """A redrive or a replay finishes the decision's steps; the standing stays."""
    standing = arrive([flag("case-1", 0)])

    again = aml_verdict(standing, flag("case-1", 0))

    assert (again.changed, again.carried_out) == (False, True)


def test_a_providers_clearance_does_not_lift_an_operators_block() -> None:
    standing = arrive([flag("operator-1", 0, operator=True)])

    cleared = aml_verdict(standing, clearance("case-9", 5))

    assert cleared.changed, "kept in order, for when the operator lifts the block"
    assert not cleared.carried_out and cleared.standing.blocked
    assert cleared.note == "AML clearance recorded: an operator's block stands"


def test_an_operators_unblock_lifts_their_block_even_behind_a_provider_clock() -> None:
    """The provider's clearance may be dated a few minutes ahead (its clock); the operator's
    unblock, dated now, still lifts the operator's block it follows."""
    standing = arrive([flag("operator-1", 0, operator=True), clearance("case-9", 4)])

    unblocked = aml_verdict(standing, clearance("operator-2", 1, operator=True))

    assert unblocked.carried_out and not unblocked.standing.blocked


def test_an_operators_block_dated_behind_a_provider_clearance_still_blocks() -> None:
    standing = arrive([clearance("case-9", 4)])

    blocked = aml_verdict(standing, flag("operator-1", 1, operator=True))

    assert blocked.carried_out and blocked.standing.blocked


def test_at_one_instant_a_flag_outranks_a_clearance() -> None:
    assert arrive([flag("case-b", 0), clearance("case-a", 0)]).blocked
    assert arrive([clearance("case-a", 0), flag("case-b", 0)]).blocked


def test_an_operators_decision_is_told_by_its_source_alone() -> None:
    assert decided_by_operator(OPERATORS_SOURCE)
    assert not decided_by_operator(KYC_SOURCE), "a provider's case named operator-… included"
    assert not decided_by_operator(None)


def test_a_decision_time_needs_its_offset() -> None:
    assert decision_time("2026-11-26T10:00:00+00:00") == T0
    assert decision_time("2026-11-26T11:00:00+01:00") == T0
    with pytest.raises(ValueError, match="time zone"):
        decision_time("2026-11-26T10:00:00")


decisions = st.lists(
    st.builds(
        AmlDecision,
        case_id=st.sampled_from(["case-1", "case-2", "operator-1", "operator-2"]),
        decided_at=st.integers(0, 12).map(at),
        flagged=st.booleans(),
        by_operator=st.booleans(),
    ),
    max_size=10,
)


def expected_blocked(decisions: list[AmlDecision]) -> bool:
    """The rule, said plainly: the latest decision in the decider's order, except that an
    operator's block holds until an operator's later decision."""
    latest = max(decisions, key=lambda d: d.order, default=None)
    operators = max((d for d in decisions if d.by_operator), key=lambda d: d.order, default=None)
    return bool((latest and latest.flagged) or (operators and operators.flagged))


@given(decisions, st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_standing_of_the_latest_decision(
    decided: list[AmlDecision], shuffler: Random
) -> None:
    arrived = list(decided)
    shuffler.shuffle(arrived)

    standing = arrive(arrived)

    assert standing == standing_of(decided)
    assert standing.blocked == expected_blocked(decided)


@given(decisions, st.data())
def test_the_ledger_follows_the_standing_whatever_arrives_when_and_a_replay_changes_nothing(
    arrived: list[AmlDecision], data: st.DataObject
) -> None:
    """The workflow freezes or lifts only what a verdict carries out; after any arrivals, and
    after any window of them arriving again (an archive replay), the holdings are frozen
    exactly when the investor is blocked."""
    standing, frozen = AmlStanding(), False
    for decision in arrived:
        verdict = aml_verdict(standing, decision)
        standing = verdict.standing
        if verdict.carried_out:
            frozen = decision.flagged
    assert frozen == standing.blocked

    start = data.draw(st.integers(0, len(arrived)))
    window = arrived[start : data.draw(st.integers(start, len(arrived)))]
    for decision in window:
        verdict = aml_verdict(standing, decision)
        assert not verdict.changed, "a replayed decision changes no standing"
        if verdict.carried_out:
            frozen = decision.flagged
    assert frozen == standing.blocked


@given(decisions, decisions.map(lambda ds: [d for d in ds if not d.by_operator]))
def test_only_an_operator_lifts_an_operators_block(
    before: list[AmlDecision], providers: list[AmlDecision]
) -> None:
    standing = arrive([*before, flag("operator-9", 6, operator=True)])
    if not standing.blocked_by_operator:
        return  # a later operator decision already lifted it

    for decision in providers:
        verdict = aml_verdict(standing, decision)
        assert decision.flagged or not verdict.carried_out, "no provider clearance is lifted"
        standing = verdict.standing
        assert standing.blocked


def test_freezing_asks_for_the_line_and_each_unlocked_instrument() -> None:
    tokens = [
        {"MPTokenIssuanceID": "A" * 48, "Flags": 0},
        {"MPTokenIssuanceID": "B" * 48, "Flags": LSF_MPT_LOCKED},
    ]
    needed = freeze_transactions(
        "aml#inv#c1", "rInv", ACCOUNTS, {"balance": "0"}, tokens, freeze=True
    )

    assert [n.key for n in needed] == ["aml#inv#c1#freeze-line", f"aml#inv#c1#lock#{'A' * 48}"]
    line, lock = needed[0].tx, needed[1].tx
    assert (line["Account"], line["Flags"], line["LimitAmount"]["issuer"]) == (
        "rIssuer",
        TF_SET_FREEZE,
        "rInv",
    )
    assert (lock["Account"], lock["Holder"], lock["Flags"]) == ("rCompany", "rInv", TF_MPT_LOCK)
    assert [n.role for n in needed] == ["issuer", "company"]


def test_unfreezing_undoes_only_what_is_frozen() -> None:
    tokens = [{"MPTokenIssuanceID": "B" * 48, "Flags": LSF_MPT_LOCKED}]
    needed = freeze_transactions("p", "rInv", ACCOUNTS, {"freeze_peer": True}, tokens, freeze=False)
    assert [n.tx["Flags"] for n in needed] == [TF_CLEAR_FREEZE, TF_MPT_UNLOCK]
    assert freeze_transactions("p", "rInv", ACCOUNTS, {}, [], freeze=False) == []
    assert freeze_transactions("p", "rInv", ACCOUNTS, None, [], freeze=True) == []


def test_a_decision_dated_in_the_future_is_refused_with_its_reason() -> None:
    from datetime import UTC, datetime, timedelta

    from domain.compliance import decision_time_refused

    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert decision_time_refused(now + timedelta(minutes=4), now) is None, "clock skew"
    assert decision_time_refused(now - timedelta(days=30), now) is None, "late is not refused"
    refused = decision_time_refused(datetime(2999, 1, 1, tzinfo=UTC), now)
    assert refused is not None and "2999-01-01" in refused and "future" in refused
