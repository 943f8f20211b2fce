"""What the frontend may say of an investor's standing."""

from domain.investor import reason_shown_to_investor


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
