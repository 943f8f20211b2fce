"""What the frontend may say of an investor's standing; KYC decisions in the provider's order."""

from datetime import UTC, datetime, timedelta
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from domain.investor import (
    InvestorStatus,
    KycDecision,
    KycVerdict,
    kyc_verdict,
    reason_shown_to_investor,
    status_when_cleared,
)


def test_a_kyc_reason_is_shown_to_the_investor() -> None:
    assert reason_shown_to_investor("document expired", screened_by_aml=False) == "document expired"


def test_no_reason_is_shown_once_an_aml_decision_applied() -> None:
    """Tipping-off: neither a flag's grounds nor a clearance's reach the investor."""
    assert reason_shown_to_investor("adverse media: fraud report", screened_by_aml=True) is None
    assert reason_shown_to_investor("false positive", screened_by_aml=True) is None


def test_a_purchase_shows_business_reasons_and_hides_our_faults() -> None:
    from domain.purchase import PurchaseStatus
    from domain.purchase import reason_shown_to_investor as shown

    refused = "PaymentRejected: only 3 units of SME-2027-A are left"
    assert shown(refused, PurchaseStatus.REFUNDED) == refused
    blocked = "InvestorBlocked: investor inv-1 is BLOCKED"
    assert shown(blocked, PurchaseStatus.REFUNDED) == blocked
    fault = "AwsRefused: AccessDeniedException: User: arn:aws:iam::1:role/X is not authorized"
    assert "arn:" not in str(shown(fault, PurchaseStatus.REFUNDED))
    assert "operator" in str(shown(fault, PurchaseStatus.NEEDS_OPERATOR))
    assert shown(None, PurchaseStatus.DELIVERED) is None


# --- KYC decisions in the provider's order ---------------------------------------------------

T0 = datetime(2026, 11, 26, 10, tzinfo=UTC)


def kyc(case: str, minutes: int, approved: bool) -> KycDecision:
    return KycDecision(case, T0 + timedelta(minutes=minutes), approved)


def test_a_stale_approval_does_not_undo_a_rejection_nor_get_a_wallet() -> None:
    rejection = kyc("case-1", 10, approved=False)

    stale = kyc_verdict(InvestorStatus.REJECTED, rejection, kyc("case-1", 5, approved=True))

    assert stale == KycVerdict(None, False, False, "KYC decision superseded")


def test_a_replayed_approval_changes_nothing_and_lets_onboarding_finish() -> None:
    approval = kyc("case-1", 5, approved=True)

    again = kyc_verdict(InvestorStatus.KYC_APPROVED, approval, approval)

    assert (again.status, again.recorded, again.proceeds) == (None, False, True)


def test_a_later_approval_reverses_a_rejection() -> None:
    """The provider reviewed the case again: its later word stands."""
    later = kyc_verdict(
        InvestorStatus.REJECTED, kyc("case-1", 5, False), kyc("case-2", 9, approved=True)
    )

    assert later == KycVerdict(InvestorStatus.KYC_APPROVED, True, True, "KYC approved")


def test_while_blocked_a_kyc_decision_is_recorded_but_gets_no_wallet() -> None:
    approval = kyc_verdict(InvestorStatus.BLOCKED, None, kyc("case-1", 5, approved=True))
    assert (approval.status, approval.recorded, approval.proceeds) == (None, True, False)


def test_a_block_gives_way_to_what_kyc_decided() -> None:
    for has_wallet in (True, False):
        assert status_when_cleared(False, has_wallet) == InvestorStatus.REJECTED
    assert status_when_cleared(True, has_wallet=True) == InvestorStatus.ACTIVE
    assert status_when_cleared(None, has_wallet=True) == InvestorStatus.ACTIVE, "registered before"


def test_a_clearance_gives_back_no_more_than_onboarding_had_reached() -> None:
    """An investor first known through an AML flag is not ACTIVE when cleared (a wallet
    request would then onboard them with no KYC); one blocked before the wallet resumes at
    KYC_APPROVED."""
    assert status_when_cleared(None, has_wallet=False) == InvestorStatus.PENDING
    assert status_when_cleared(True, has_wallet=False) == InvestorStatus.KYC_APPROVED


kyc_decisions = st.lists(
    st.builds(
        KycDecision,
        case_id=st.sampled_from(["case-1", "case-2"]),
        decided_at=st.integers(0, 6).map(lambda m: T0 + timedelta(minutes=m)),
        approved=st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@given(kyc_decisions, st.randoms(use_true_random=False))
def test_any_arrival_order_leaves_the_status_of_the_latest_kyc_decision(
    decided: list[KycDecision], shuffler: Random
) -> None:
    """And onboarding goes on with an approval only while it is the latest decision arrived:
    a stale one never gets a wallet made. Arriving again (a replay) changes nothing."""
    arrived = list(decided)
    shuffler.shuffle(arrived)
    status: InvestorStatus | None = None
    on_record: KycDecision | None = None
    for seen, decision in enumerate([*arrived, *arrived]):
        verdict = kyc_verdict(status, on_record, decision)
        latest_so_far = max(([*arrived, *arrived])[: seen + 1], key=lambda d: d.order)
        if verdict.proceeds:
            assert decision == latest_so_far
        if seen >= len(arrived):
            assert not verdict.recorded and verdict.status is None, "a replay changes nothing"
        if verdict.recorded:
            on_record = decision
        status = verdict.status or status

    latest = max(decided, key=lambda d: d.order)
    assert on_record == latest
    assert status == (InvestorStatus.KYC_APPROVED if latest.approved else InvestorStatus.REJECTED)
