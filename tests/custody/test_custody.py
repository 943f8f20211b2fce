"""Custody: wallets sealed by KMS, a Signer that signs only platform flows, platform keys in KMS.

Every blob signed here is checked by xrpl.js, an independent client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xrpl.core.binarycodec import decode

from domain.platform import PlatformAccounts
from domain.signing_policy import MAX_FEE_DROPS, SigningRefused
from local.aws.platform import LocalAws
from tests.support.xrpljs import check_blobs

ISSUANCE = "0000000A" + "11" * 20


@pytest.fixture(scope="module")
def accounts(aws: LocalAws) -> PlatformAccounts:
    from lambdas.custody.platform_signer import platform_accounts

    return platform_accounts()


@pytest.fixture
def investor(aws: LocalAws) -> Iterator[str]:
    import uuid

    yield f"inv-{uuid.uuid4().hex[:10]}"


def trust_set(address: str, accounts: PlatformAccounts, **overrides: Any) -> dict[str, Any]:
    return {
        "TransactionType": "TrustSet",
        "Account": address,
        "LimitAmount": {"currency": "EUR", "issuer": accounts.issuer, "value": "1000000"},
        "Fee": "12",
        "Sequence": 5,
        "LastLedgerSequence": 20,
        **overrides,
    }


def test_a_wallet_is_created_once_and_sealed_to_its_investor(aws: LocalAws, investor: str) -> None:
    from lambdas.custody.wallet_generator import create_investor_wallet, encryption_context

    record = create_investor_wallet(investor)
    again = create_investor_wallet(investor)
    assert again.address == record.address and again.encrypted_seed == record.encrypted_seed
    assert record.address.startswith("r")
    kms = aws.client("kms")
    plaintext = kms.decrypt(
        CiphertextBlob=record.encrypted_seed,
        EncryptionContext=encryption_context(investor, record.address),
    )["Plaintext"].decode()
    assert plaintext.startswith("sEd"), "an ed25519 seed"
    assert plaintext.encode() not in record.encrypted_seed
    for wrong in (encryption_context("someone-else", record.address), {}):
        with pytest.raises(ClientError, match="InvalidCiphertext"):
            kms.decrypt(CiphertextBlob=record.encrypted_seed, EncryptionContext=wrong)


def test_concurrent_requests_create_one_wallet(aws: LocalAws, investor: str) -> None:
    from lambdas.custody.wallet_generator import create_investor_wallet

    addresses: list[str] = []
    threads = [
        threading.Thread(target=lambda: addresses.append(create_investor_wallet(investor).address))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(addresses)) == 1 and len(addresses) == 6


def test_the_signer_signs_platform_flows_verifiably(
    aws: LocalAws, investor: str, accounts: PlatformAccounts
) -> None:
    from lambdas.custody.investor_signer import sign_for_investor
    from lambdas.custody.wallet_generator import create_investor_wallet

    address = create_investor_wallet(investor).address
    flows = [
        trust_set(address, accounts),
        {
            "TransactionType": "MPTokenAuthorize",
            "Account": address,
            "MPTokenIssuanceID": ISSUANCE,
            "Fee": "12",
            "Sequence": 6,
        },
        {
            "TransactionType": "Payment",
            "Account": address,
            "Destination": accounts.company,
            "Amount": {"currency": "EUR", "issuer": accounts.issuer, "value": "250.5"},
            "Fee": "12",
            "Sequence": 7,
        },
        {
            "TransactionType": "Payment",
            "Account": address,
            "Destination": accounts.company,
            "Amount": {"mpt_issuance_id": ISSUANCE, "value": "3"},
            "Fee": "12",
            "TicketSequence": 9,
            "Sequence": 0,
        },
    ]
    signed = [sign_for_investor(investor, tx, accounts, {ISSUANCE}) for tx in flows]
    checked = check_blobs([s.tx_blob for s in signed])
    for ours, theirs, tx in zip(signed, checked, flows, strict=True):
        assert theirs["signatureValid"] is True
        assert theirs["hash"] == ours.tx_hash
        assert theirs["tx"]["Account"] == address
        assert theirs["tx"]["TransactionType"] == tx["TransactionType"]


REFUSED = {
    "XRP payment": {"Amount": "1000000"},
    "payment elsewhere": {"Destination": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"},
    "foreign currency": {"Amount": {"currency": "USD", "issuer": "ISSUER", "value": "1"}},
    "unknown instrument": {"Amount": {"mpt_issuance_id": "00" * 24, "value": "1"}},
    "partial payment": {"Flags": 0x00020000},
    "paths": {"Paths": [[{"account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"}]]},
    "huge fee": {"Fee": str(MAX_FEE_DROPS + 1)},
    "someone else's account": {"Account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"},
}


@pytest.mark.parametrize("change", REFUSED.values(), ids=REFUSED.keys())
def test_the_signer_refuses_what_could_drain_a_wallet(
    aws: LocalAws, investor: str, accounts: PlatformAccounts, change: dict[str, Any]
) -> None:
    from lambdas.custody.investor_signer import sign_for_investor
    from lambdas.custody.wallet_generator import create_investor_wallet

    address = create_investor_wallet(investor).address
    payment = {
        "TransactionType": "Payment",
        "Account": address,
        "Destination": accounts.company,
        "Amount": {"currency": "EUR", "issuer": accounts.issuer, "value": "10"},
        "Fee": "12",
        "Sequence": 3,
    }
    if isinstance(change.get("Amount"), dict) and change["Amount"].get("issuer") == "ISSUER":
        change = {"Amount": dict(change["Amount"], issuer=accounts.issuer)}
    with pytest.raises(SigningRefused):
        sign_for_investor(investor, {**payment, **change}, accounts, {ISSUANCE})


@pytest.mark.parametrize(
    "kind", ["AccountSet", "SetRegularKey", "SignerListSet", "AccountDelete", "OfferCreate"]
)
def test_the_signer_refuses_every_other_transaction_type(
    aws: LocalAws, investor: str, accounts: PlatformAccounts, kind: str
) -> None:
    from lambdas.custody.investor_signer import sign_for_investor
    from lambdas.custody.wallet_generator import create_investor_wallet

    address = create_investor_wallet(investor).address
    with pytest.raises(SigningRefused, match=kind):
        sign_for_investor(
            investor,
            {"TransactionType": kind, "Account": address, "Fee": "12", "Sequence": 1},
            accounts,
            {ISSUANCE},
        )


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["QualityIn", "QualityOut", "Memos", "SourceTag", "Destination"]),
    value=st.one_of(st.integers(0, 2**32 - 1), st.text(max_size=5)),
    flags=st.sampled_from([0x00010000, 0x00100000, 0x00200000, 0x00400000]),
)
def test_trust_lines_accept_no_extra_fields_or_freeze_flags(
    accounts: PlatformAccounts, field: str, value: Any, flags: int
) -> None:
    from domain.signing_policy import check_investor_transaction

    address = "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY"
    check_investor_transaction(trust_set(address, accounts), address, accounts, {ISSUANCE})
    with pytest.raises(SigningRefused):
        check_investor_transaction(
            trust_set(address, accounts, **{field: value}), address, accounts, {ISSUANCE}
        )
    with pytest.raises(SigningRefused):
        check_investor_transaction(
            trust_set(address, accounts, Flags=flags), address, accounts, {ISSUANCE}
        )


def test_platform_keys_sign_low_s_signatures_xrpl_accepts(
    aws: LocalAws, accounts: PlatformAccounts
) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    from lambdas.custody.platform_signer import SECP256K1_ORDER, platform_key

    issuer = platform_key("issuer")
    assert issuer.address == accounts.issuer
    assert len({accounts.issuer, accounts.company, accounts.funding}) == 3
    signed = [
        issuer.sign(
            {
                "TransactionType": "Payment",
                "Account": issuer.address,
                "Destination": accounts.company,
                "Amount": str(1_000_000 + n),
                "Fee": "12",
                "Sequence": n + 1,
            }
        )
        for n in range(24)
    ]
    for tx in signed:
        _, s = decode_dss_signature(bytes.fromhex(decode(tx.tx_blob)["TxnSignature"]))
        assert s <= SECP256K1_ORDER // 2
    checked = check_blobs([tx.tx_blob for tx in signed])
    assert all(c["signatureValid"] for c in checked)
    assert [c["hash"] for c in checked] == [tx.tx_hash for tx in signed]


def test_high_s_is_normalised_and_stays_valid() -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    from lambdas.custody.platform_signer import SECP256K1_ORDER, low_s

    high = encode_dss_signature(12345, SECP256K1_ORDER - 7)
    assert decode_dss_signature(low_s(high)) == (12345, 7)
    low = encode_dss_signature(12345, 7)
    assert low_s(low) == low
