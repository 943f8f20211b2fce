"""Business keys: one per ledger effect, grouped by whom they are about, built in one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from domain import business_keys
from domain.platform import PLATFORM_ROLES, PlatformAccounts, SignerRole

IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True)


def test_a_purchase_step_and_its_retry_rounds_have_keys_of_their_own() -> None:
    base = business_keys.purchase_step("purchase-ab12", "redeem-stablecoin")
    assert base == "purchase-ab12#redeem-stablecoin"
    rounds = [business_keys.purchase_step("purchase-ab12", "redeem-stablecoin", n) for n in (1, 2)]
    assert rounds == ["purchase-ab12#redeem-stablecoin#r1", "purchase-ab12#redeem-stablecoin#r2"]
    assert {business_keys.subject_of(k) for k in [base, *rounds]} == {"purchase-ab12"}


def test_an_investors_holdings_are_keyed_by_investor_so_their_purchases_share_them() -> None:
    line = business_keys.investor_holding("inv-1", "stablecoin-line")
    token = business_keys.investor_holding("inv-1", "mptoken", "00AB")
    assert (line, token) == ("investor#inv-1#stablecoin-line", "investor#inv-1#mptoken#00AB")
    assert business_keys.activation("inv-1") == "investor#inv-1#activation"
    assert business_keys.subject_of(token) == "investor"


def test_a_purchases_own_retry_of_a_holding_names_the_same_holding() -> None:
    shared = business_keys.investor_holding("inv-1", "mptoken", "00AB")
    own = business_keys.purchase_retry_of("purchase-9", shared)
    assert own == "purchase-9#mptoken#00AB"
    assert business_keys.subject_of(own) == "purchase-9"
    assert business_keys.holding_name(shared) == business_keys.holding_name(own) == "mptoken"
    line = business_keys.investor_holding("inv-1", "stablecoin-line-auth")
    assert business_keys.holding_name(line) == "stablecoin-line-auth"


def test_an_aml_decisions_keys_fall_under_its_case_and_its_investor() -> None:
    at = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)
    decision = business_keys.aml_decision("inv-1", "case-7", at)
    same = business_keys.aml_decision(
        "inv-1", "case-7", at.astimezone(timezone(timedelta(hours=2)))
    )
    assert decision == same, "one instant, one key, in any time zone"
    assert decision.startswith(business_keys.aml_case("inv-1", "case-7"))
    freeze = business_keys.under(decision, "freeze-line")
    assert freeze.endswith("#freeze-line") and business_keys.subject_of(freeze) == "aml#inv-1"


def test_refills_and_bootstrap_have_keys_apart_from_any_purchase() -> None:
    refill = business_keys.ticket_refill("rIssuer", 1234)
    assert refill == "tickets#rIssuer#1234" and business_keys.subject_of(refill) == "tickets"
    assert business_keys.bootstrap("fund", SignerRole.ISSUER) == "bootstrap#fund#issuer"


@given(purchase=IDS, other=IDS, step=st.sampled_from(["mint", "transfer", "deliver"]))
def test_two_purchases_never_share_a_key(purchase: str, other: str, step: str) -> None:
    if purchase != other:
        assert business_keys.purchase_step(purchase, step) != business_keys.purchase_step(
            other, step
        )


def test_only_investor_wallets_sign_on_their_sequence_and_each_platform_account_has_a_role() -> (
    None
):
    assert [r.signs_from_tickets for r in SignerRole] == [True, True, True, False]
    accounts = PlatformAccounts(issuer="rI", company="rC", funding="rF")
    assert [accounts.role_of(accounts.roles()[r]) for r in PLATFORM_ROLES] == list(PLATFORM_ROLES)
    assert accounts.role_of("rSomeInvestor") is None
