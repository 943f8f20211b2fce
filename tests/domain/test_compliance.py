"""AML decisions: only the latest applies; freezing reads what the ledger still needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.compliance import (
    LSF_MPT_LOCKED,
    TF_CLEAR_FREEZE,
    TF_MPT_LOCK,
    TF_MPT_UNLOCK,
    TF_SET_FREEZE,
    decision_applies,
    freeze_transactions,
)
from domain.platform import PlatformAccounts

ACCOUNTS = PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding")
T0 = datetime(2026, 11, 26, 10, tzinfo=UTC)


def test_a_later_decision_supersedes_an_earlier_one_arriving_late() -> None:
    assert decision_applies("case-2", T0, None, None)
    assert decision_applies("case-2", T0 + timedelta(seconds=1), "case-1", T0)
    assert not decision_applies("case-1", T0 - timedelta(seconds=1), "case-2", T0)
    assert decision_applies("case-2", T0, "case-2", T0), "the same decision applies again"


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
