"""AccountSet, TrustSet, IOU issue/redeem/ripple, freeze, clawback."""

from __future__ import annotations

from xrpl.models import (
    AccountSet,
    AccountSetAsfFlag,
    Clawback,
    IssuedCurrencyAmount,
    LedgerEntry,
    Payment,
    PaymentFlag,
    TicketCreate,
    TrustSet,
    TrustSetFlag,
)
from xrpl.models.requests.ledger_entry import RippleState
from xrpl.wallet import Wallet

from tests.ledger_server.conftest import XRP, Env


def usd(issuer: Wallet, value: str, currency: str = "USD") -> IssuedCurrencyAmount:
    return IssuedCurrencyAmount(currency=currency, issuer=issuer.address, value=value)


def make_issuer(env: Env, *flags: AccountSetAsfFlag) -> Wallet:
    issuer = env.wallet(1000)
    for flag in (AccountSetAsfFlag.ASF_DEFAULT_RIPPLE, *flags):
        env.submit(AccountSet(account=issuer.address, set_flag=flag), issuer, "tesSUCCESS")
    env.close()
    return issuer


def holder_with_line(env: Env, issuer: Wallet, limit: str = "1000", xrp: float = 100) -> Wallet:
    holder = env.wallet(xrp)
    env.submit(
        TrustSet(account=holder.address, limit_amount=usd(issuer, limit)), holder, "tesSUCCESS"
    )
    env.close()
    return holder


def line_of(env: Env, holder: Wallet, issuer: Wallet) -> dict:
    return next(line for line in env.lines(holder.address) if line["account"] == issuer.address)


def test_issue_redeem_and_ripple_through_issuer(env: Env) -> None:
    issuer = make_issuer(env)
    alice, bob = holder_with_line(env, issuer), holder_with_line(env, issuer)
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=usd(issuer, "100")),
        issuer,
        "tesSUCCESS",
    )
    result = env.final(
        Payment(account=alice.address, destination=bob.address, amount=usd(issuer, "40.5")),
        alice,
        "tesSUCCESS",
    )
    assert result["meta"]["delivered_amount"]["value"] == "40.5"
    env.final(
        Payment(account=bob.address, destination=issuer.address, amount=usd(issuer, "0.5")),
        bob,
        "tesSUCCESS",
    )
    assert line_of(env, alice, issuer)["balance"] == "59.5"
    assert line_of(env, bob, issuer)["balance"] == "40"
    issuer_view = {line["account"]: line["balance"] for line in env.lines(issuer.address)}
    assert issuer_view == {alice.address: "-59.5", bob.address: "-40"}


def test_trust_line_metadata_and_ledger_entry(env: Env) -> None:
    issuer = make_issuer(env)
    holder = env.wallet()
    result = env.final(
        TrustSet(account=holder.address, limit_amount=usd(issuer, "500")), holder, "tesSUCCESS"
    )
    created = {
        n["CreatedNode"]["LedgerEntryType"]
        for n in result["meta"]["AffectedNodes"]
        if "CreatedNode" in n
    }
    assert created == {"RippleState", "DirectoryNode"}
    entry = env.request(
        LedgerEntry(
            ripple_state=RippleState(accounts=[holder.address, issuer.address], currency="USD")
        )
    )
    assert entry["node"]["LedgerEntryType"] == "RippleState"
    assert env.account(holder.address)["OwnerCount"] == 1
    line = line_of(env, holder, issuer)
    assert (line["limit"], line["limit_peer"], line["balance"], line["currency"]) == (
        "500",
        "0",
        "0",
        "USD",
    )
    # rippled >= 2.5 reports no_ripple / no_ripple_peer only when set (AccountLines.cpp).
    assert "no_ripple" not in line and "no_ripple_peer" not in line


def test_trust_set_result_codes(env: Env) -> None:
    issuer = make_issuer(env)
    holder = env.wallet()
    assert (
        env.submit(TrustSet(account=holder.address, limit_amount=usd(holder, "10")), holder)[
            "engine_result"
        ]
        == "temDST_IS_SRC"
    )
    ghost = Wallet.create()
    env.final(TrustSet(account=holder.address, limit_amount=usd(ghost, "10")), holder, "tecNO_DST")
    env.final(
        TrustSet(account=holder.address, limit_amount=usd(issuer, "0")),
        holder,
        "tecNO_LINE_REDUNDANT",
    )
    flags = TrustSetFlag.TF_SET_FREEZE | TrustSetFlag.TF_CLEAR_FREEZE
    env.final(
        TrustSet(account=issuer.address, limit_amount=usd(holder, "0"), flags=flags),
        issuer,
        "tecNO_PERMISSION",
    )
    auth = env.submit(
        TrustSet(
            account=issuer.address, limit_amount=usd(holder, "0"), flags=TrustSetFlag.TF_SET_AUTH
        ),
        issuer,
    )
    assert auth["engine_result"] == "tefNO_AUTH_REQUIRED"


def test_reserve_rules_for_lines(env: Env) -> None:
    issuers = [make_issuer(env) for _ in range(2)]
    auth_issuer = make_issuer(env, AccountSetAsfFlag.ASF_REQUIRE_AUTH)
    holder = env.wallet(1.5)  # base reserve 1 XRP: the first two lines are free
    for issuer in issuers:
        env.final(
            TrustSet(account=holder.address, limit_amount=usd(issuer, "10")), holder, "tesSUCCESS"
        )
    assert env.account(holder.address)["OwnerCount"] == 2
    third = make_issuer(env)
    env.final(
        TrustSet(account=holder.address, limit_amount=usd(third, "10")),
        holder,
        "tecNO_LINE_INSUF_RESERVE",
    )
    # The issuer pre-authorizes a zero-limit line (issuer's reserve);
    # raising its limit then needs the holder's reserve.
    pre = TrustSet(
        account=auth_issuer.address, limit_amount=usd(holder, "0"), flags=TrustSetFlag.TF_SET_AUTH
    )
    env.final(pre, auth_issuer, "tesSUCCESS")
    env.final(
        TrustSet(account=holder.address, limit_amount=usd(auth_issuer, "10")),
        holder,
        "tecINSUF_RESERVE_LINE",
    )


def test_require_auth_and_owners(env: Env) -> None:
    issuer = env.wallet(100)
    env.final(TicketCreate(account=issuer.address, ticket_count=1), issuer, "tesSUCCESS")
    env.final(
        AccountSet(account=issuer.address, set_flag=AccountSetAsfFlag.ASF_REQUIRE_AUTH),
        issuer,
        "tecOWNERS",
    )
    env.final(
        AccountSet(account=issuer.address, set_flag=AccountSetAsfFlag.ASF_ALLOW_TRUSTLINE_CLAWBACK),
        issuer,
        "tecOWNERS",
    )
    fresh = make_issuer(env, AccountSetAsfFlag.ASF_REQUIRE_AUTH)
    holder = holder_with_line(env, fresh)
    env.final(
        Payment(account=fresh.address, destination=holder.address, amount=usd(fresh, "5")),
        fresh,
        "tecPATH_DRY",
    )
    env.final(
        TrustSet(
            account=fresh.address, limit_amount=usd(holder, "0"), flags=TrustSetFlag.TF_SET_AUTH
        ),
        fresh,
        "tesSUCCESS",
    )
    assert line_of(env, holder, fresh)["peer_authorized"] is True
    env.final(
        Payment(account=fresh.address, destination=holder.address, amount=usd(fresh, "5")),
        fresh,
        "tesSUCCESS",
    )


def test_iou_to_missing_account_and_missing_line(env: Env) -> None:
    issuer = make_issuer(env)
    env.final(
        Payment(
            account=issuer.address, destination=Wallet.create().address, amount=usd(issuer, "1")
        ),
        issuer,
        "tecNO_DST",
    )
    stranger = env.wallet()
    env.final(
        Payment(account=issuer.address, destination=stranger.address, amount=usd(issuer, "1")),
        issuer,
        "tecPATH_DRY",
    )


def test_limits_partial_and_dry(env: Env) -> None:
    issuer = make_issuer(env)
    holder = holder_with_line(env, issuer, limit="100")
    env.final(
        Payment(account=issuer.address, destination=holder.address, amount=usd(issuer, "150")),
        issuer,
        "tecPATH_PARTIAL",
    )
    partial = Payment(
        account=issuer.address,
        destination=holder.address,
        amount=usd(issuer, "150"),
        send_max=usd(issuer, "150"),
        flags=PaymentFlag.TF_PARTIAL_PAYMENT,
    )
    result = env.final(partial, issuer, "tesSUCCESS")
    assert result["meta"]["delivered_amount"]["value"] == "100"
    assert result["meta"]["DeliveredAmount"]["value"] == "100"
    env.final(
        Payment(account=issuer.address, destination=holder.address, amount=usd(issuer, "1")),
        issuer,
        "tecPATH_DRY",
    )


def test_holder_to_holder_needs_default_ripple(env: Env) -> None:
    issuer = env.wallet(1000)  # no DefaultRipple
    alice, bob = holder_with_line(env, issuer), holder_with_line(env, issuer)
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=usd(issuer, "10")),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=alice.address, destination=bob.address, amount=usd(issuer, "1")),
        alice,
        "tecPATH_DRY",
    )


def test_transfer_rate_applies_holder_to_holder(env: Env) -> None:
    issuer = make_issuer(env)
    env.final(AccountSet(account=issuer.address, transfer_rate=1_010_000_000), issuer, "tesSUCCESS")
    alice, bob = holder_with_line(env, issuer), holder_with_line(env, issuer)
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=usd(issuer, "100")),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=alice.address, destination=bob.address, amount=usd(issuer, "10")),
        alice,
        "tecPATH_PARTIAL",
    )
    paid = Payment(
        account=alice.address,
        destination=bob.address,
        amount=usd(issuer, "10"),
        send_max=usd(issuer, "10.1"),
    )
    env.final(paid, alice, "tesSUCCESS")
    assert line_of(env, alice, issuer)["balance"] == "89.9"
    env.final(
        Payment(account=alice.address, destination=issuer.address, amount=usd(issuer, "10")),
        alice,
        "tesSUCCESS",
    )
    assert line_of(env, alice, issuer)["balance"] == "79.9"


def test_freeze_rules(env: Env) -> None:
    issuer = make_issuer(env)
    alice, bob = holder_with_line(env, issuer), holder_with_line(env, issuer)
    for holder in (alice, bob):
        env.final(
            Payment(account=issuer.address, destination=holder.address, amount=usd(issuer, "50")),
            issuer,
            "tesSUCCESS",
        )
    env.final(
        TrustSet(
            account=issuer.address, limit_amount=usd(alice, "0"), flags=TrustSetFlag.TF_SET_FREEZE
        ),
        issuer,
        "tesSUCCESS",
    )
    assert line_of(env, alice, issuer)["freeze_peer"] is True
    env.final(
        Payment(account=alice.address, destination=bob.address, amount=usd(issuer, "1")),
        alice,
        "tecPATH_DRY",
    )
    # Pure issue and redeem ignore an individual freeze; a frozen holder may still receive.
    env.final(
        Payment(account=issuer.address, destination=alice.address, amount=usd(issuer, "1")),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=alice.address, destination=issuer.address, amount=usd(issuer, "1")),
        alice,
        "tesSUCCESS",
    )
    env.final(
        Payment(account=bob.address, destination=alice.address, amount=usd(issuer, "1")),
        bob,
        "tesSUCCESS",
    )
    deep = TrustSetFlag.TF_SET_FREEZE | TrustSetFlag.TF_SET_DEEP_FREEZE
    env.final(
        TrustSet(account=issuer.address, limit_amount=usd(alice, "0"), flags=deep),
        issuer,
        "tesSUCCESS",
    )
    assert line_of(env, alice, issuer)["deep_freeze_peer"] is True
    env.final(
        Payment(account=bob.address, destination=alice.address, amount=usd(issuer, "1")),
        bob,
        "tecPATH_DRY",
    )
    env.final(
        TrustSet(
            account=issuer.address,
            limit_amount=usd(bob, "0"),
            flags=TrustSetFlag.TF_SET_DEEP_FREEZE,
        ),
        issuer,
        "tecNO_PERMISSION",
    )
    env.final(
        AccountSet(account=issuer.address, set_flag=AccountSetAsfFlag.ASF_GLOBAL_FREEZE),
        issuer,
        "tesSUCCESS",
    )
    carol = holder_with_line(env, issuer)
    env.final(
        Payment(account=bob.address, destination=carol.address, amount=usd(issuer, "1")),
        bob,
        "tecPATH_DRY",
    )
    env.final(
        Payment(account=issuer.address, destination=carol.address, amount=usd(issuer, "1")),
        issuer,
        "tesSUCCESS",
    )


def test_clawback_iou(env: Env) -> None:
    plain = make_issuer(env)
    holder = holder_with_line(env, plain)
    env.final(
        Payment(account=plain.address, destination=holder.address, amount=usd(plain, "10")),
        plain,
        "tesSUCCESS",
    )
    env.final(Clawback(account=plain.address, amount=usd(holder, "1")), plain, "tecNO_PERMISSION")
    issuer = make_issuer(env, AccountSetAsfFlag.ASF_ALLOW_TRUSTLINE_CLAWBACK)
    env.final(
        AccountSet(account=issuer.address, set_flag=AccountSetAsfFlag.ASF_NO_FREEZE),
        issuer,
        "tecNO_PERMISSION",
    )
    holder = holder_with_line(env, issuer)
    stranger = env.wallet()
    env.final(Clawback(account=issuer.address, amount=usd(stranger, "1")), issuer, "tecNO_LINE")
    env.final(
        Clawback(account=issuer.address, amount=usd(holder, "1")), issuer, "tecINSUFFICIENT_FUNDS"
    )
    self_claw = {
        "TransactionType": "Clawback",
        "Account": issuer.address,
        "Amount": usd(issuer, "1").to_dict(),
    }
    env.submit_raw(self_claw, issuer, "temBAD_AMOUNT")
    negative = {
        "TransactionType": "Clawback",
        "Account": issuer.address,
        "Amount": usd(holder, "-1").to_dict(),
    }
    env.submit_raw(negative, issuer, "temBAD_AMOUNT")
    env.final(
        Payment(account=issuer.address, destination=holder.address, amount=usd(issuer, "10")),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        TrustSet(
            account=issuer.address, limit_amount=usd(holder, "0"), flags=TrustSetFlag.TF_SET_FREEZE
        ),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Clawback(account=issuer.address, amount=usd(holder, "25")), issuer, "tesSUCCESS"
    )  # claws min(balance, amount)
    assert line_of(env, holder, issuer)["balance"] == "0"


def test_amount_precision_is_16_digits(env: Env) -> None:
    issuer = make_issuer(env)
    holder = holder_with_line(env, issuer, limit="1e20")
    env.final(
        Payment(
            account=issuer.address,
            destination=holder.address,
            amount=usd(issuer, "1234567890.123456"),
        ),
        issuer,
        "tesSUCCESS",
    )
    env.final(
        Payment(
            account=issuer.address, destination=holder.address, amount=usd(issuer, "0.0000001")
        ),
        issuer,
        "tesSUCCESS",
    )
    assert line_of(env, holder, issuer)["balance"] == "1234567890.123456"
    assert env.balance(holder.address) == 100 * XRP - 10
