"""Owner directories (ApplyView::dirInsert / dirRemove) and MPT shapes and preflight rules."""

from __future__ import annotations

import pytest
from xrpl.models import (
    AccountObjectType,
    AccountSet,
    AccountSetAsfFlag,
    LedgerEntry,
    MPTokenIssuanceCreate,
    Payment,
    TicketCreate,
    TrustSet,
)
from xrpl.models.requests import GenericRequest

from local.ledger_server import GENESIS_ADDRESS
from tests.ledger_server.conftest import Env
from tests.ledger_server.test_iou import make_issuer, usd

pytestmark = pytest.mark.filterwarnings("ignore:MPTokenMetadata is not properly formatted")


def _directory(env: Env, owner: str) -> dict:
    return env.request(GenericRequest(method="ledger_entry", directory={"owner": owner}))


def test_owner_directory_pages_keep_their_keys_sorted(env: Env) -> None:
    """Owner directories use dirInsert (preserveOrder=false): each page is kept sorted."""
    wallet = env.wallet(100)
    env.final(TicketCreate(account=wallet.address, ticket_count=8), wallet, "tesSUCCESS")
    issuer = make_issuer(env)
    env.final(TrustSet(account=wallet.address, limit_amount=usd(issuer, "1")), wallet, "tesSUCCESS")
    listed = [o["index"] for o in env.objects(wallet.address)]
    assert len(listed) == 9 and listed == sorted(listed)
    assert _directory(env, wallet.address)["node"]["Indexes"] == listed


def test_using_the_last_ticket_keeps_the_empty_directory_root(env: Env) -> None:
    """ticketDelete calls dirRemove with keepRoot=true: the root page stays, empty."""
    wallet = env.wallet(100)
    seq = env.account(wallet.address)["Sequence"]
    env.final(TicketCreate(account=wallet.address, ticket_count=1), wallet, "tesSUCCESS")
    use = Payment(
        account=wallet.address,
        destination=GENESIS_ADDRESS,
        amount="1",
        sequence=0,
        ticket_sequence=seq + 1,
    )
    result = env.final(use, wallet, "tesSUCCESS")
    kinds = {
        (kind, body["LedgerEntryType"])
        for node in result["meta"]["AffectedNodes"]
        for kind, body in node.items()
    }
    assert ("ModifiedNode", "DirectoryNode") in kinds
    assert ("DeletedNode", "Ticket") in kinds
    assert _directory(env, wallet.address)["node"]["Indexes"] == []
    assert env.objects(wallet.address) == []
    env.final(
        AccountSet(account=wallet.address, set_flag=AccountSetAsfFlag.ASF_REQUIRE_AUTH),
        wallet,
        "tesSUCCESS",
    )  # dirIsEmpty: an empty root counts as empty


def test_mpt_issuance_json_carries_its_issuance_id(env: Env) -> None:
    """STLedgerEntry::getJson adds mpt_issuance_id to every MPTokenIssuance."""
    issuer = env.wallet(100)
    result = env.final(
        MPTokenIssuanceCreate(account=issuer.address, maximum_amount="500", asset_scale=0),
        issuer,
        "tesSUCCESS",
    )
    mpt_id = result["meta"]["mpt_issuance_id"]
    listed = env.objects(issuer.address, AccountObjectType.MPT_ISSUANCE)
    assert listed[0]["mpt_issuance_id"] == mpt_id
    assert "AssetScale" not in listed[0]  # soeDEFAULT: zero is not stored
    entry = env.request(LedgerEntry(mpt_issuance=mpt_id))["node"]
    assert entry["mpt_issuance_id"] == mpt_id and entry["MaximumAmount"] == "500"


def test_mpt_payment_preflight_rules(env: Env) -> None:
    """Payment::getFlagsMask uses tfMPTPaymentMask for MPT amounts; SendMax of another asset
    kind is temMALFORMED (Payment::preflight, inconsistent issues)."""
    wallet = env.wallet()
    mpt = {"mpt_issuance_id": "00000001" + "AB" * 20, "value": "5"}
    base = {"TransactionType": "Payment", "Account": wallet.address, "Destination": GENESIS_ADDRESS}
    for flag in (0x00010000, 0x00040000):  # tfNoRippleDirect, tfLimitQuality
        env.submit_raw({**base, "Amount": mpt, "Flags": flag}, wallet, "temINVALID_FLAG")
    env.submit_raw({**base, "Amount": mpt, "SendMax": "10"}, wallet, "temMALFORMED")
    iou = usd(wallet, "1").to_dict() | {"issuer": GENESIS_ADDRESS}
    env.submit_raw({**base, "Amount": iou, "SendMax": mpt}, wallet, "temMALFORMED")
