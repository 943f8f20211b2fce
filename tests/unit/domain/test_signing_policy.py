"""The signing policies, rule by rule: every transaction the platform's flows build passes for
the account that signs it; nothing else does, and nothing malformed gets past as a crash."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.compliance import freeze_transactions
from domain.distribution import HolderPayment, holder_payment, retire_issuance, take_back_units
from domain.instruments import load_catalogue
from domain.platform import PlatformAccounts
from domain.settlement import Settlement, Step, holdings_transactions
from domain.signing_policy import (
    HolderPaymentLimit,
    PurchaseLimit,
    SigningRefused,
    WithdrawalLimit,
    check_investor_transaction,
    check_platform_transaction,
)

ACCOUNTS = PlatformAccounts(
    issuer="rIssuerXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    company="rCompanyXXXXXXXXXXXXXXXXXXXXXXXXXX",
    funding="rFundingXXXXXXXXXXXXXXXXXXXXXXXXXX",
)
INVESTOR = "rInvestorXXXXXXXXXXXXXXXXXXXXXXXXX"
ISSUANCE = "0000000A" + "11" * 20
DEAL = Settlement("p-1", "inv-1", INVESTOR, ISSUANCE, 3, Decimal("300.00"), ACCOUNTS)
LIMIT = PurchaseLimit("p-1", Decimal("300.00"), 3, ISSUANCE)
ENVELOPE = {"Fee": "12", "Sequence": 7, "LastLedgerSequence": 99}
CATALOGUE = load_catalogue(
    (Path(__file__).parents[3] / "catalogue" / "instruments.json").read_text()
)


def _flows() -> list[tuple[str, dict[str, Any]]]:
    """(signing account, transaction) for each transaction the platform's flows build."""
    built: list[tuple[str, dict[str, Any]]] = [
        (DEAL.signer_role(step), DEAL.transaction(step)) for step in Step
    ]
    built += [
        (h.role, h.tx)
        for h in holdings_transactions("inv-1", INVESTOR, ISSUANCE, ACCOUNTS, None, None)
        + holdings_transactions(
            "inv-1", INVESTOR, ISSUANCE, ACCOUNTS, {"peer_authorized": False}, {"Flags": 0}
        )
    ]
    for freeze in (True, False):
        built += [
            (h.role, h.tx)
            for h in freeze_transactions(
                "aml#inv-1#c",
                INVESTOR,
                ACCOUNTS,
                {"freeze_peer": not freeze},
                [{"MPTokenIssuanceID": ISSUANCE, "Flags": 0 if freeze else 1}],
                freeze=freeze,
            )
        ]
    built += [("company", i.issuance_create(ACCOUNTS.company)) for i in CATALOGUE]
    built += [
        ("issuer", {"TransactionType": "AccountSet", "Account": ACCOUNTS.issuer, "SetFlag": f})
        for f in (2, 8, 16)
    ]
    built += [
        ("funding", {"TransactionType": "Payment", "Account": ACCOUNTS.funding,
                     "Destination": address, "Amount": "100000000"})
        for address in (ACCOUNTS.issuer, ACCOUNTS.company, INVESTOR)
    ]  # fmt: skip
    built += [
        ("company", {"TransactionType": "TrustSet", "Account": ACCOUNTS.company,
                     "LimitAmount": {"currency": "EUR", "issuer": ACCOUNTS.issuer,
                                     "value": "1000000000"}}),
        ("issuer", {"TransactionType": "TrustSet", "Account": ACCOUNTS.issuer,
                    "LimitAmount": {"currency": "EUR", "issuer": ACCOUNTS.company, "value": "0"},
                    "Flags": 0x00010000}),
    ]  # fmt: skip
    repaid = HolderPayment("inv-1", INVESTOR, 3, Decimal("3.75"), Decimal("300.00"))
    built += [
        ("company", take_back_units("SME-2027-A:2027-12-15", repaid, ISSUANCE, ACCOUNTS).tx),
        ("company", retire_issuance("SME-2027-A", ISSUANCE, ACCOUNTS).tx),
    ]
    built += [
        (role, {"TransactionType": "TicketCreate", "Account": address, "TicketCount": 200})
        for role, address in ACCOUNTS.roles().items()
    ]
    return [(role, {**tx, **ENVELOPE}) for role, tx in built]


def _check(role: str, tx: dict[str, Any]) -> None:
    if role == "investor":
        check_investor_transaction(tx, INVESTOR, ACCOUNTS, LIMIT)
    else:
        check_platform_transaction(role, tx, ACCOUNTS, {ISSUANCE})


FLOWS = _flows()


@pytest.mark.parametrize(
    ("role", "tx"), FLOWS, ids=[f"{r}-{t['TransactionType']}" for r, t in FLOWS]
)
def test_every_flow_transaction_passes_for_the_account_that_signs_it(
    role: str, tx: dict[str, Any]
) -> None:
    _check(role, tx)
    for other in ("issuer", "company", "funding", "investor"):
        if other != role:
            with pytest.raises(SigningRefused):
                _check(other, tx)


@pytest.mark.parametrize("role", ["issuer", "company", "funding"])
@pytest.mark.parametrize(
    "kind", ["SetRegularKey", "SignerListSet", "AccountDelete", "DepositPreauth", "Surprise"]
)
def test_no_platform_account_signs_away_its_control(role: str, kind: str) -> None:
    tx = {"TransactionType": kind, "Account": ACCOUNTS.roles()[role], **ENVELOPE}
    with pytest.raises(SigningRefused, match=kind):
        check_platform_transaction(role, tx, ACCOUNTS, {ISSUANCE})


ABUSES = {
    # (signing account, change to a flow transaction of that account): each a way to misuse it
    "issuer mints another currency": ("issuer", Step.MINT, {"Amount": {
        "currency": "USD", "issuer": ACCOUNTS.issuer, "value": "1"}}),
    "issuer sends XRP": ("issuer", Step.MINT, {"Amount": "1000000"}),
    "issuer mints nothing": ("issuer", Step.MINT, {"Amount": {
        "currency": "EUR", "issuer": ACCOUNTS.issuer, "value": "-1"}}),
    "issuer sets a transfer fee": ("issuer", Step.MINT, {"TransferRate": 2_000_000_000}),
    "company delivers someone else's asset": ("company", Step.DELIVER, {"Amount": {
        "mpt_issuance_id": "00" * 24, "value": "1"}}),
    "company pays stablecoin to a stranger": ("company", Step.REDEEM, {"Destination": INVESTOR}),
    "no LastLedgerSequence": ("issuer", Step.MINT, {"LastLedgerSequence": None}),
    "fee over the ceiling": ("company", Step.DELIVER, {"Fee": "5001"}),
    "partial payment": ("issuer", Step.MINT, {"Flags": 0x00020000}),
}  # fmt: skip


@pytest.mark.parametrize(("role", "step", "change"), ABUSES.values(), ids=ABUSES.keys())
def test_a_platform_account_signs_only_its_flows_as_built(
    role: str, step: Step, change: dict[str, Any]
) -> None:
    tx = {**DEAL.transaction(step), **ENVELOPE, **change}
    with pytest.raises(SigningRefused):
        check_platform_transaction(role, {k: v for k, v in tx.items() if v is not None},
                                   ACCOUNTS, {ISSUANCE})  # fmt: skip


def test_the_issuer_sets_only_its_bootstrap_flags() -> None:
    for flag in (1, 3, 4, 6, 7, 9, 10, 17):  # e.g. asfDisableMaster (4), asfNoFreeze (6)
        tx = {"TransactionType": "AccountSet", "Account": ACCOUNTS.issuer, "SetFlag": flag}
        with pytest.raises(SigningRefused):
            check_platform_transaction("issuer", {**tx, **ENVELOPE}, ACCOUNTS, {ISSUANCE})
    clearing = {"TransactionType": "AccountSet", "Account": ACCOUNTS.issuer, "ClearFlag": 2}
    with pytest.raises(SigningRefused):
        check_platform_transaction("issuer", {**clearing, **ENVELOPE}, ACCOUNTS, {ISSUANCE})


def test_a_transfer_beyond_the_purchase_is_refused_even_before_it_is_complete() -> None:
    transfer = DEAL.transaction(Step.TRANSFER)
    check_investor_transaction(transfer, INVESTOR, ACCOUNTS, LIMIT, draft=True)
    more = {**transfer, "Amount": {**transfer["Amount"], "value": "300.01"}}
    with pytest.raises(SigningRefused, match=r"more than 300\.00"):
        check_investor_transaction(more, INVESTOR, ACCOUNTS, LIMIT, draft=True)
    with pytest.raises(SigningRefused, match="needs the purchase"):
        check_investor_transaction(transfer, INVESTOR, ACCOUNTS, None, draft=True)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)  # fmt: skip


@given(
    index=st.integers(0, len(FLOWS) - 1),
    field=st.sampled_from(["Amount", "LimitAmount", "Fee", "Flags", "LastLedgerSequence",
                           "Destination", "TicketCount", "SetFlag", "MPTokenIssuanceID",
                           "Holder", "MaximumAmount", "AssetScale", "Sequence"]),
    value=JSON,
)  # fmt: skip
def test_a_malformed_field_is_a_refusal_never_a_crash(index: int, field: str, value: Any) -> None:
    role, tx = FLOWS[index]
    with contextlib.suppress(SigningRefused):  # anything else fails the test
        _check(role, {**tx, field: value})


def test_the_company_pays_a_holder_exactly_the_entitlement_it_owes_them() -> None:
    owed = HolderPayment("inv-1", INVESTOR, 3, Decimal("3.75"), Decimal("300.00"))
    tx = {**holder_payment("SME-2027-A:2027-12-15", owed, ACCOUNTS).tx, **ENVELOPE}
    limit = HolderPaymentLimit(INVESTOR, Decimal("303.75"), owed=True)
    check_platform_transaction("company", tx, ACCOUNTS, {ISSUANCE}, holder_payment=limit)
    refusals = {
        "needs the entitlement it pays": ({}, None),
        "to its holder's wallet only": ({"Destination": ACCOUNTS.funding}, limit),
        "the entitlement is 303.75, not 400.00": (
            {"Amount": {**tx["Amount"], "value": "400.00"}}, limit,
        ),
        "not owed now": ({}, HolderPaymentLimit(INVESTOR, Decimal("303.75"), owed=False)),
    }  # fmt: skip
    for says, (change, bound) in refusals.items():
        with pytest.raises(SigningRefused, match=says):
            check_platform_transaction(
                "company", {**tx, **change}, ACCOUNTS, {ISSUANCE}, holder_payment=bound
            )


def test_an_investor_redeems_exactly_a_pending_withdrawal_to_the_issuer() -> None:
    from domain.withdrawal import Withdrawal, redemption

    asked = Withdrawal("wd-1", "inv-1", Decimal("75.50"), datetime(2026, 12, 4, tzinfo=UTC))
    tx = {**redemption(asked, INVESTOR, ACCOUNTS).tx, **ENVELOPE}
    pending = WithdrawalLimit("wd-1", Decimal("75.50"), pending=True)
    check_investor_transaction(tx, INVESTOR, ACCOUNTS, None, withdrawal=pending)
    refusals = {
        "needs the purchase or withdrawal it serves": ({}, None),
        "to its issuer only": ({"Destination": ACCOUNTS.company}, pending),
        "the withdrawal is 75.50, not 80.00": (
            {"Amount": {**tx["Amount"], "value": "80.00"}}, pending,
        ),
        "not waiting to be redeemed": ({}, WithdrawalLimit("wd-1", Decimal("75.50"), False)),
    }  # fmt: skip
    for says, (change, bound) in refusals.items():
        with pytest.raises(SigningRefused, match=says):
            check_investor_transaction({**tx, **change}, INVESTOR, ACCOUNTS, None, withdrawal=bound)
