"""Tickets and Multi-Purpose Tokens."""

from __future__ import annotations

import pytest
from xrpl.models import (
    AccountObjectType,
    LedgerEntry,
    MPTAmount,
    MPTokenAuthorize,
    MPTokenAuthorizeFlag,
    MPTokenIssuanceCreate,
    MPTokenIssuanceCreateFlag,
    MPTokenIssuanceDestroy,
    MPTokenIssuanceSet,
    MPTokenIssuanceSetFlag,
    Payment,
    TicketCreate,
)
from xrpl.models.requests.ledger_entry import MPToken as MPTokenEntry
from xrpl.wallet import Wallet

from local.ledger_server import GENESIS_ADDRESS
from tests.ledger_server.conftest import Env

# The test metadata is deliberately not XLS-89 JSON; xrpl-py only warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:MPTokenMetadata is not properly formatted")


def test_ticket_create_and_use(env: Env) -> None:
    wallet = env.wallet()
    seq = env.account(wallet.address)["Sequence"]
    env.final(TicketCreate(account=wallet.address, ticket_count=3), wallet, "tesSUCCESS")
    data = env.account(wallet.address)
    assert (data["Sequence"], data["TicketCount"], data["OwnerCount"]) == (seq + 4, 3, 3)
    tickets = sorted(
        t["TicketSequence"] for t in env.objects(wallet.address, AccountObjectType.TICKET)
    )
    assert tickets == [seq + 1, seq + 2, seq + 3]
    use = Payment(
        account=wallet.address,
        destination=GENESIS_ADDRESS,
        amount="1",
        sequence=0,
        ticket_sequence=seq + 2,
    )
    env.final(use, wallet, "tesSUCCESS")
    again = Payment(
        account=wallet.address,
        destination=GENESIS_ADDRESS,
        amount="2",
        sequence=0,
        ticket_sequence=seq + 2,
    )
    assert env.submit(again, wallet)["engine_result"] == "tefNO_TICKET"
    future = Payment(
        account=wallet.address,
        destination=GENESIS_ADDRESS,
        amount="1",
        sequence=0,
        ticket_sequence=seq + 50,
    )
    assert env.submit(future, wallet)["engine_result"] == "terPRE_TICKET"
    data = env.account(wallet.address)
    assert (data["TicketCount"], data["OwnerCount"], data["Sequence"]) == (2, 2, seq + 4)


def test_ticket_not_consumed_by_tef(env: Env) -> None:
    wallet = env.wallet()
    seq = env.account(wallet.address)["Sequence"]
    env.final(TicketCreate(account=wallet.address, ticket_count=1), wallet, "tesSUCCESS")
    stale = Payment(
        account=wallet.address,
        destination=GENESIS_ADDRESS,
        amount="1",
        sequence=0,
        ticket_sequence=seq + 1,
        last_ledger_sequence=env.ledger.chain.current_index - 1,
    )
    assert env.submit(stale, wallet)["engine_result"] == "tefMAX_LEDGER"
    assert env.account(wallet.address)["TicketCount"] == 1


def _issue(env: Env, flags: int = 0, **kwargs: object) -> tuple[Wallet, str]:
    issuer = env.wallet(100)
    result = env.final(
        MPTokenIssuanceCreate(account=issuer.address, flags=flags, **kwargs), issuer, "tesSUCCESS"
    )  # type: ignore[arg-type]
    mpt_id = result["meta"]["mpt_issuance_id"]
    seq = result["tx_json"]["Sequence"]
    assert mpt_id[:8] == f"{seq:08X}" and len(mpt_id) == 48
    return issuer, mpt_id


def _holder(env: Env, mpt_id: str) -> Wallet:
    holder = env.wallet()
    env.final(
        MPTokenAuthorize(account=holder.address, mptoken_issuance_id=mpt_id), holder, "tesSUCCESS"
    )
    return holder


def mpt(mpt_id: str, value: int) -> MPTAmount:
    return MPTAmount(mpt_issuance_id=mpt_id, value=str(value))


def test_mpt_lifecycle(env: Env) -> None:
    flags = (
        MPTokenIssuanceCreateFlag.TF_MPT_CAN_TRANSFER
        | MPTokenIssuanceCreateFlag.TF_MPT_CAN_LOCK
        | MPTokenIssuanceCreateFlag.TF_MPT_CAN_CLAWBACK
    )
    issuer, mpt_id = _issue(
        env, flags, maximum_amount="1000", asset_scale=2, mptoken_metadata="CAFE"
    )
    issuance = env.objects(issuer.address, AccountObjectType.MPT_ISSUANCE)[0]
    assert (issuance["MaximumAmount"], issuance["OutstandingAmount"], issuance["AssetScale"]) == (
        "1000",
        "0",
        2,
    )
    alice, bob = _holder(env, mpt_id), _holder(env, mpt_id)
    env.final(
        MPTokenAuthorize(account=alice.address, mptoken_issuance_id=mpt_id), alice, "tecDUPLICATE"
    )
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=mpt(mpt_id, 600)),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=issuer.address, destination=bob.address, amount=mpt(mpt_id, 500)),
        issuer,
        "tecPATH_PARTIAL",
    )
    env.final(
        Payment(account=alice.address, destination=bob.address, amount=mpt(mpt_id, 100)),
        alice,
        "tesSUCCESS",
    )
    token = env.request(
        LedgerEntry(mptoken=MPTokenEntry(mpt_issuance_id=mpt_id, account=bob.address))
    )["node"]
    assert token["MPTAmount"] == "100"
    env.final(
        MPTokenIssuanceSet(
            account=issuer.address,
            mptoken_issuance_id=mpt_id,
            holder=alice.address,
            flags=MPTokenIssuanceSetFlag.TF_MPT_LOCK,
        ),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=alice.address, destination=bob.address, amount=mpt(mpt_id, 1)),
        alice,
        "tecLOCKED",
    )
    env.final(
        Payment(account=alice.address, destination=issuer.address, amount=mpt(mpt_id, 1)),
        alice,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=mpt(mpt_id, 1)),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        MPTokenIssuanceSet(
            account=issuer.address,
            mptoken_issuance_id=mpt_id,
            holder=alice.address,
            flags=MPTokenIssuanceSetFlag.TF_MPT_UNLOCK,
        ),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        MPTokenIssuanceSet(
            account=issuer.address,
            mptoken_issuance_id=mpt_id,
            flags=MPTokenIssuanceSetFlag.TF_MPT_LOCK,
        ),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=bob.address, destination=alice.address, amount=mpt(mpt_id, 1)),
        bob,
        "tecLOCKED",
    )
    env.final(
        MPTokenIssuanceSet(
            account=issuer.address,
            mptoken_issuance_id=mpt_id,
            flags=MPTokenIssuanceSetFlag.TF_MPT_UNLOCK,
        ),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        MPTokenAuthorize(
            account=bob.address,
            mptoken_issuance_id=mpt_id,
            flags=MPTokenAuthorizeFlag.TF_MPT_UNAUTHORIZE,
        ),
        bob,
        "tecHAS_OBLIGATIONS",
    )
    env.final(
        MPTokenIssuanceDestroy(account=issuer.address, mptoken_issuance_id=mpt_id),
        issuer,
        "tecHAS_OBLIGATIONS",
    )
    claw = {
        "TransactionType": "Clawback",
        "Account": issuer.address,
        "Amount": {"mpt_issuance_id": mpt_id, "value": "5"},
    }
    env.submit_raw(claw, issuer, "temMALFORMED")
    env.close()
    from xrpl.models import Clawback

    env.final(
        Clawback(account=issuer.address, amount=mpt(mpt_id, 1000), holder=bob.address),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Clawback(account=issuer.address, amount=mpt(mpt_id, 1000), holder=alice.address),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        MPTokenAuthorize(
            account=bob.address,
            mptoken_issuance_id=mpt_id,
            flags=MPTokenAuthorizeFlag.TF_MPT_UNAUTHORIZE,
        ),
        bob,
        "tesSUCCESS",
    )
    assert env.objects(bob.address, AccountObjectType.MPTOKEN) == []
    env.final(
        MPTokenIssuanceDestroy(account=issuer.address, mptoken_issuance_id=mpt_id),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        MPTokenIssuanceDestroy(account=issuer.address, mptoken_issuance_id=mpt_id),
        issuer,
        "tecOBJECT_NOT_FOUND",
    )


def test_mpt_auth_rules(env: Env) -> None:
    issuer, mpt_id = _issue(env, MPTokenIssuanceCreateFlag.TF_MPT_REQUIRE_AUTH)
    outsider = env.wallet()
    env.final(
        Payment(account=issuer.address, destination=outsider.address, amount=mpt(mpt_id, 1)),
        issuer,
        "tecNO_AUTH",
    )
    env.final(
        Payment(account=issuer.address, destination=Wallet.create().address, amount=mpt(mpt_id, 1)),
        issuer,
        "tecNO_DST",
    )
    env.final(
        MPTokenAuthorize(
            account=issuer.address, mptoken_issuance_id=mpt_id, holder=outsider.address
        ),
        issuer,
        "tecOBJECT_NOT_FOUND",
    )
    alice, bob = _holder(env, mpt_id), _holder(env, mpt_id)
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=mpt(mpt_id, 1)),
        issuer,
        "tecNO_AUTH",
    )
    for holder in (alice, bob):
        env.final(
            MPTokenAuthorize(
                account=issuer.address, mptoken_issuance_id=mpt_id, holder=holder.address
            ),
            issuer,
            "tesSUCCESS",
        )
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=mpt(mpt_id, 10)),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=alice.address, destination=bob.address, amount=mpt(mpt_id, 1)),
        alice,
        "tecNO_AUTH",
    )  # no CanTransfer
    env.final(
        MPTokenIssuanceSet(
            account=issuer.address,
            mptoken_issuance_id=mpt_id,
            flags=MPTokenIssuanceSetFlag.TF_MPT_LOCK,
        ),
        issuer,
        "tecNO_PERMISSION",
    )
    plain_issuer, plain_id = _issue(env)
    holder = _holder(env, plain_id)
    env.final(
        MPTokenAuthorize(
            account=plain_issuer.address, mptoken_issuance_id=plain_id, holder=holder.address
        ),
        plain_issuer,
        "tecNO_AUTH",
    )
    from xrpl.models import Clawback

    env.final(
        Clawback(account=plain_issuer.address, amount=mpt(plain_id, 1), holder=holder.address),
        plain_issuer,
        "tecNO_PERMISSION",
    )


def test_mpt_create_malformed(env: Env) -> None:
    issuer = env.wallet()
    bad_fee = {
        "TransactionType": "MPTokenIssuanceCreate",
        "Account": issuer.address,
        "TransferFee": 10,
    }
    env.submit_raw(bad_fee, issuer, "temMALFORMED")
    zero_max = {
        "TransactionType": "MPTokenIssuanceCreate",
        "Account": issuer.address,
        "MaximumAmount": "0",
    }
    env.submit_raw(zero_max, issuer, "temMALFORMED")
    self_auth = {
        "TransactionType": "MPTokenAuthorize",
        "Account": issuer.address,
        "MPTokenIssuanceID": "00" * 24,
        "Holder": issuer.address,
    }
    env.submit_raw(self_auth, issuer, "temMALFORMED")
