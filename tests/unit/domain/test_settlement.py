"""Which saga steps may be followed before they validate, and when the transfer may go."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.settlement import Step, accepted_into_open_ledger, transfer_covered


@pytest.mark.parametrize(
    ("step", "preliminary", "accepted"),
    [
        (Step.MINT, "tesSUCCESS", True),
        (Step.MINT, None, False),  # kept back, never sent
        (Step.MINT, "terQUEUED", False),
        (Step.MINT, "tecPATH_DRY", False),  # would validate as a failure
        (Step.MINT, "tefPAST_SEQ", False),
        (Step.TRANSFER, "tesSUCCESS", False),  # nothing waits on it
        (Step.DELIVER, "tesSUCCESS", False),
        (Step.CLAW_BACK, "tesSUCCESS", False),
    ],
)
def test_only_a_mint_in_the_open_ledger_lets_its_successors_go(
    step: Step, preliminary: str | None, accepted: bool
) -> None:
    assert accepted_into_open_ledger(step, preliminary) is accepted


@pytest.mark.parametrize(
    ("held", "amount", "covered"),
    [
        ("0", "100.00", False),
        ("99.99", "100.00", False),
        ("100", "100.00", True),
        ("250.5", "100.00", True),
    ],
)
def test_the_transfer_goes_once_the_investor_holds_the_amount(
    held: str, amount: str, covered: bool
) -> None:
    assert transfer_covered(Decimal(held), Decimal(amount)) is covered


def test_a_business_keys_subject_groups_an_investors_aml_cases_and_a_purchases_steps() -> None:
    from domain import business_keys

    assert business_keys.subject_of("aml#inv-7#case-3#freeze-line") == "aml#inv-7"
    # a case's prefix: the same subject
    assert business_keys.subject_of("aml#inv-7#case-3") == "aml#inv-7"
    assert business_keys.subject_of("purchase-ab12#mint") == "purchase-ab12"
    assert business_keys.subject_of("onboarding-key") == "onboarding-key"


def test_a_settlement_step_has_its_key_its_signer_and_its_transaction() -> None:
    from domain.platform import PlatformAccounts, SignerRole
    from domain.settlement import Settlement

    deal = Settlement(
        purchase_id="purchase-ab12",
        investor_id="inv-1",
        investor_address="rInvestor",
        issuance_id="00AB",
        units=2,
        amount=Decimal("200.00"),
        accounts=PlatformAccounts(issuer="rIssuer", company="rCompany", funding="rFunding"),
    )
    assert deal.business_key(Step.MINT) == "purchase-ab12#mint"
    second_round = deal.ledger_transaction(Step.REDEEM, 2)
    assert second_round.key == "purchase-ab12#redeem-stablecoin#r2"
    assert second_round.role is SignerRole.COMPANY
    assert second_round.tx["Destination"] == "rIssuer"
    assert deal.ledger_transaction(Step.TRANSFER).role is SignerRole.INVESTOR
