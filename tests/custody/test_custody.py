"""Custody: wallets sealed by KMS, and the signing service (cdk/signing.py): an investor signer
and a signer per platform account, each a function of its own that signs only platform flows.
Signatures are asked for as the ledger steps ask them, through the deployed functions.

Every blob signed here is checked by xrpl.js, an independent client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from xrpl.core.binarycodec import decode

from domain.investor import InvestorStatus
from domain.platform import PlatformAccounts
from domain.signing_policy import MAX_FEE_DROPS, SigningRefused
from local.aws import access
from local.aws.platform import LocalAws
from tests.support.xrpljs import check_blobs
from tests.workflows.test_grants_enforced import role_of

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
    right = encryption_context(investor, record.address)
    with access.acting(role_of(aws, "InvestorSigner")):
        plaintext = kms.decrypt(CiphertextBlob=record.encrypted_seed, EncryptionContext=right)
        seed = plaintext["Plaintext"].decode()
        wrong = encryption_context("someone-else", record.address)
        with pytest.raises(ClientError, match="InvalidCiphertext"):
            kms.decrypt(CiphertextBlob=record.encrypted_seed, EncryptionContext=wrong)
    assert seed.startswith("sEd"), "an ed25519 seed"
    assert seed.encode() not in record.encrypted_seed


def test_the_account_and_its_administrators_manage_keys_but_never_use_them(
    aws: LocalAws, investor: str, accounts: PlatformAccounts
) -> None:
    """The key policies give the account (the root, and any administrator IAM allows) no
    Decrypt of a seed and no Sign: only the signers' roles, which the key policies name."""
    from lambdas.config import settings
    from lambdas.custody.wallet_generator import create_investor_wallet, encryption_context

    record = create_investor_wallet(investor)  # sealing a new seed: the account may
    kms = aws.client("kms")
    refused = [
        lambda: kms.decrypt(
            CiphertextBlob=record.encrypted_seed,
            EncryptionContext=encryption_context(investor, record.address),
        ),
        lambda: kms.re_encrypt(
            CiphertextBlob=record.encrypted_seed,
            SourceEncryptionContext=encryption_context(investor, record.address),
            DestinationKeyId=settings().investor_seed_key_id,
        ),
        lambda: kms.sign(
            KeyId=settings().issuer_key_id,
            Message=b"\x00" * 32,
            MessageType="DIGEST",
            SigningAlgorithm="ECDSA_SHA_256",
        ),
    ]
    for attempt in refused:
        with pytest.raises(ClientError) as denied:
            attempt()
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert kms.describe_key(KeyId=settings().issuer_key_id)["KeyMetadata"]["Enabled"]
    assert kms.get_public_key(KeyId=settings().issuer_key_id)["PublicKey"]


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


def _holder(investor_id: str, address: str, status: InvestorStatus = InvestorStatus.ACTIVE) -> None:
    from lambdas.records.tables import InvestorRecord

    InvestorRecord(investor_id, status=status.value).save()


def _purchase(investor_id: str, amount: str = "300.00", units: int = 3) -> str:
    """A purchase on record: it bounds what the investor's wallet may pay."""
    import uuid

    from lambdas.records.tables import PurchaseRecord

    purchase_id = f"purchase-{uuid.uuid4().hex[:10]}"
    PurchaseRecord(
        purchase_id,
        payment_id=f"pay-{purchase_id}",
        investor_id=investor_id,
        instrument_id="SME-2027-A",
        units=units,
        amount=amount,
        currency="EUR",
        status="DEPOSIT_RECORDED",
        issuance_id=ISSUANCE,
    ).save()
    return purchase_id


@pytest.fixture
def wallet(aws: LocalAws, investor: str) -> str:
    from lambdas.custody.wallet_generator import create_investor_wallet

    address = create_investor_wallet(investor).address
    _holder(investor, address)
    return address


def _payment(address: str, accounts: PlatformAccounts, **overrides: Any) -> dict[str, Any]:
    return {
        "TransactionType": "Payment",
        "Account": address,
        "Destination": accounts.company,
        "Amount": {"currency": "EUR", "issuer": accounts.issuer, "value": "10"},
        "Fee": "12",
        "Sequence": 3,
        "LastLedgerSequence": 40,
        **overrides,
    }


def test_the_investor_signer_signs_platform_flows_verifiably(
    investor: str, wallet: str, accounts: PlatformAccounts
) -> None:
    from lambdas.custody.signers import investor_signer

    purchase = _purchase(investor, amount="300.00", units=3)
    flows = [
        trust_set(wallet, accounts),
        {
            "TransactionType": "MPTokenAuthorize",
            "Account": wallet,
            "MPTokenIssuanceID": ISSUANCE,
            "Fee": "12",
            "Sequence": 6,
            "LastLedgerSequence": 40,
        },
        _payment(wallet, accounts, Amount={"currency": "EUR", "issuer": accounts.issuer,
                                           "value": "300"}, Sequence=7),
        _payment(wallet, accounts, Amount={"mpt_issuance_id": ISSUANCE, "value": "3"},
                 TicketSequence=9, Sequence=0),
    ]  # fmt: skip
    sign = investor_signer(investor, purchase)
    signed = [sign(tx) for tx in flows]
    checked = check_blobs([s.tx_blob for s in signed])
    for ours, theirs, tx in zip(signed, checked, flows, strict=True):
        assert theirs["signatureValid"] is True
        assert theirs["hash"] == ours.tx_hash
        assert theirs["tx"]["Account"] == wallet
        assert theirs["tx"]["TransactionType"] == tx["TransactionType"]


REFUSED = {
    "XRP payment": {"Amount": "1000000"},
    "payment elsewhere": {"Destination": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"},
    "foreign currency": {"Amount": {"currency": "USD", "issuer": "ISSUER", "value": "1"}},
    "unknown instrument": {"Amount": {"mpt_issuance_id": "00" * 24, "value": "1"}},
    "more than the purchase": {
        "Amount": {"currency": "EUR", "issuer": "ISSUER", "value": "300.01"}
    },
    "more units than bought": {"Amount": {"mpt_issuance_id": ISSUANCE, "value": "4"}},
    "negative amount": {"Amount": {"currency": "EUR", "issuer": "ISSUER", "value": "-5"}},
    "zero amount": {"Amount": {"currency": "EUR", "issuer": "ISSUER", "value": "0"}},
    "amount not a number": {"Amount": {"currency": "EUR", "issuer": "ISSUER", "value": "NaN"}},
    "amount a list": {"Amount": ["EUR", "10"]},
    "partial payment": {"Flags": 0x00020000},
    "flags as text": {"Flags": "0"},
    "paths": {"Paths": [[{"account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"}]]},
    "huge fee": {"Fee": str(MAX_FEE_DROPS + 1)},
    "fee as a number": {"Fee": 12},
    "no LastLedgerSequence": {"LastLedgerSequence": None},
    "someone else's account": {"Account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"},
}


@pytest.mark.parametrize("change", REFUSED.values(), ids=REFUSED.keys())
def test_the_investor_signer_refuses_what_could_drain_a_wallet(
    investor: str, wallet: str, accounts: PlatformAccounts, change: dict[str, Any]
) -> None:
    """Each a refusal under its name (SigningRefused), never a crash of the signer."""
    from lambdas.custody.signers import investor_signer

    amount = change.get("Amount")
    if isinstance(amount, dict) and amount.get("issuer") == "ISSUER":
        change = {"Amount": dict(amount, issuer=accounts.issuer)}
    tx = {k: v for k, v in {**_payment(wallet, accounts), **change}.items() if v is not None}
    with pytest.raises(SigningRefused):
        investor_signer(investor, _purchase(investor))(tx)


def test_the_investor_signer_pays_only_for_the_investors_own_purchase_on_record(
    investor: str, wallet: str, accounts: PlatformAccounts
) -> None:
    from lambdas.custody.signers import investor_signer

    tx = _payment(wallet, accounts)
    for purchase, why in [
        (None, "needs the purchase"),
        ("purchase-nowhere", "not on record"),
        (_purchase("inv-someone-else"), "is not investor"),
    ]:
        with pytest.raises(SigningRefused, match=why):
            investor_signer(investor, purchase)(tx)


@pytest.mark.parametrize(
    "standing", [None, InvestorStatus.BLOCKED, InvestorStatus.REJECTED], ids=str
)
def test_the_investor_signer_signs_nothing_for_an_investor_not_in_good_standing(
    aws: LocalAws, investor: str, accounts: PlatformAccounts, standing: InvestorStatus | None
) -> None:
    from lambdas.custody.signers import NoWallet, investor_signer
    from lambdas.custody.wallet_generator import create_investor_wallet

    with pytest.raises(NoWallet):
        investor_signer(investor, None)(trust_set("rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY", accounts))
    address = create_investor_wallet(investor).address
    if standing is not None:
        _holder(investor, address, standing)
    with pytest.raises(SigningRefused, match="not on record" if standing is None else standing):
        investor_signer(investor, None)(trust_set(address, accounts))


@pytest.mark.parametrize(
    "kind", ["AccountSet", "SetRegularKey", "SignerListSet", "AccountDelete", "OfferCreate"]
)
def test_the_investor_signer_refuses_every_other_transaction_type(
    investor: str, wallet: str, kind: str
) -> None:
    from lambdas.custody.signers import investor_signer

    tx = {"TransactionType": kind, "Account": wallet, "Fee": "12", "Sequence": 1,
          "LastLedgerSequence": 9}  # fmt: skip
    with pytest.raises(SigningRefused, match=kind):
        investor_signer(investor, None)(tx)


@settings(max_examples=40)
@given(
    field=st.sampled_from(["QualityIn", "QualityOut", "Memos", "SourceTag", "Destination"]),
    value=st.one_of(st.integers(0, 2**32 - 1), st.text(max_size=5)),
    flags=st.sampled_from([0x00010000, 0x00100000, 0x00200000, 0x00400000]),
    limit=st.sampled_from(["-1", "1000000001", "1e10", "NaN", "lots"]),
)
def test_trust_lines_accept_no_extra_fields_freeze_flags_or_unbounded_limits(
    field: str, value: Any, flags: int, limit: str
) -> None:
    from domain.signing_policy import check_investor_transaction

    accounts = PlatformAccounts("rISSUER", "rCOMPANY", "rFUNDING")
    address = "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY"
    check_investor_transaction(trust_set(address, accounts), address, accounts, None)
    changes = [
        {field: value},
        {"Flags": flags},
        {"LimitAmount": {"currency": "EUR", "issuer": accounts.issuer, "value": limit}},
    ]
    for change in changes:
        with pytest.raises(SigningRefused):
            check_investor_transaction(
                trust_set(address, accounts, **change), address, accounts, None
            )


def test_platform_keys_sign_low_s_signatures_xrpl_accepts(accounts: PlatformAccounts) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    from lambdas.custody.platform_signer import SECP256K1_ORDER, platform_key
    from lambdas.custody.signers import platform_signer

    issuer = platform_key("issuer")
    assert issuer.address == accounts.issuer
    assert len({accounts.issuer, accounts.company, accounts.funding}) == 3
    sign = platform_signer("issuer")
    signed = [
        sign(
            {
                "TransactionType": "Payment",
                "Account": issuer.address,
                "Destination": accounts.company,
                "Amount": {"currency": "EUR", "issuer": accounts.issuer, "value": str(1 + n)},
                "Fee": "12",
                "Sequence": n + 1,
                "LastLedgerSequence": 100,
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


@pytest.mark.parametrize("role", ["issuer", "company", "funding"])
@pytest.mark.parametrize(
    "kind", ["SetRegularKey", "SignerListSet", "AccountDelete", "EscrowCreate"]
)
def test_no_platform_signer_hands_its_account_away(
    accounts: PlatformAccounts, role: str, kind: str
) -> None:
    """A SetRegularKey signed as the issuer would take the account for good."""
    from lambdas.custody.signers import platform_signer

    tx = {
        "TransactionType": kind,
        "Account": accounts.roles()[role],
        "Fee": "12",
        "Sequence": 1,
        "LastLedgerSequence": 9,
        "RegularKey": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
    }
    with pytest.raises(SigningRefused, match=kind):
        platform_signer(role)(tx)


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
