"""Issuer setup and trust line views, checked against rippled's SetAccount / SetTrust /
AccountInfo / AccountLines code (review of 2026-11)."""

from __future__ import annotations

from xrpl.models import (
    AccountSet,
    AccountSetAsfFlag,
    LedgerEntry,
    Payment,
    TrustSet,
    TrustSetFlag,
)
from xrpl.models.requests import AccountInfo
from xrpl.models.requests.ledger_entry import RippleState

from tests.ledger_server.conftest import Env
from tests.ledger_server.test_iou import holder_with_line, line_of, make_issuer, usd

QUALITY_ONE = 1_000_000_000


def test_account_flags_and_disallow_incoming_trustline(env: Env) -> None:
    """AccountInfo.cpp reports allowTrustLineLocking (TokenEscrow); SetAccount sets the
    DisallowIncoming* and AllowTrustLineLocking flags; SetTrust refuses new incoming lines."""
    issuer = env.wallet(100)
    flags = env.request(AccountInfo(account=issuer.address))["account_flags"]
    assert flags["allowTrustLineLocking"] is False
    assert flags["disallowIncomingTrustline"] is False
    for asf in (
        AccountSetAsfFlag.ASF_DISABLE_INCOMING_TRUSTLINE,
        AccountSetAsfFlag.ASF_ALLOW_TRUSTLINE_LOCKING,
    ):
        env.submit(AccountSet(account=issuer.address, set_flag=asf), issuer, "tesSUCCESS")
    env.close()
    data = env.request(AccountInfo(account=issuer.address, ledger_index="validated"))
    assert data["account_flags"]["disallowIncomingTrustline"] is True
    assert data["account_flags"]["allowTrustLineLocking"] is True
    assert data["account_data"]["Flags"] == 0x20000000 | 0x40000000
    holder = env.wallet()
    env.final(
        TrustSet(account=holder.address, limit_amount=usd(issuer, "10")),
        holder,
        "tecNO_PERMISSION",
    )


def test_no_ripple_is_reported_only_when_set(env: Env) -> None:
    """AccountLines.cpp (rippled >= 2.5, PR #5345): no_ripple / no_ripple_peer appear only
    when the flag is set on the line; an account's DefaultRipple no longer matters."""
    issuer = make_issuer(env)  # DefaultRipple
    holder = holder_with_line(env, issuer)  # no DefaultRipple on the holder
    line = line_of(env, holder, issuer)
    assert "no_ripple" not in line and "no_ripple_peer" not in line
    env.final(
        TrustSet(
            account=holder.address,
            limit_amount=usd(issuer, "1000"),
            flags=TrustSetFlag.TF_SET_NO_RIPPLE,
        ),
        holder,
        "tesSUCCESS",
    )
    assert line_of(env, holder, issuer)["no_ripple"] is True
    issuer_view = line_of(env, issuer, holder)
    assert issuer_view["no_ripple_peer"] is True and "no_ripple" not in issuer_view
    plain = env.wallet(100)  # no DefaultRipple: its side of new lines is NoRipple
    other = holder_with_line(env, plain)
    line = line_of(env, other, plain)
    assert line["no_ripple_peer"] is True and "no_ripple" not in line


def test_quality_one_is_stored_when_a_line_is_created(env: Env) -> None:
    """trustCreate stores a non-zero QualityIn as given, even QUALITY_ONE."""
    issuer = make_issuer(env)
    holder = env.wallet()
    env.final(
        TrustSet(account=holder.address, limit_amount=usd(issuer, "5"), quality_in=QUALITY_ONE),
        holder,
        "tesSUCCESS",
    )
    node = env.request(
        LedgerEntry(
            ripple_state=RippleState(accounts=[holder.address, issuer.address], currency="USD")
        )
    )["node"]
    side = "Low" if node["LowLimit"]["issuer"] == holder.address else "High"
    assert node[f"{side}QualityIn"] == QUALITY_ONE
    assert line_of(env, holder, issuer)["quality_in"] == QUALITY_ONE


def test_pre_authorized_line_moves_the_reserve_to_the_holder(env: Env) -> None:
    """SetTrust: the issuer's limit-0 pre-authorization owns the line until the holder sets a
    limit; then the issuer's side is back in its default state and its reserve is released."""
    issuer = make_issuer(env, AccountSetAsfFlag.ASF_REQUIRE_AUTH)
    holder = env.wallet()
    env.final(
        TrustSet(
            account=issuer.address, limit_amount=usd(holder, "0"), flags=TrustSetFlag.TF_SET_AUTH
        ),
        issuer,
        "tesSUCCESS",
    )
    assert env.account(issuer.address)["OwnerCount"] == 1
    assert env.account(holder.address)["OwnerCount"] == 0
    assert line_of(env, holder, issuer)["peer_authorized"] is True
    env.final(
        TrustSet(account=holder.address, limit_amount=usd(issuer, "100")), holder, "tesSUCCESS"
    )
    assert env.account(issuer.address)["OwnerCount"] == 0
    assert env.account(holder.address)["OwnerCount"] == 1
    node = env.request(
        LedgerEntry(
            ripple_state=RippleState(accounts=[holder.address, issuer.address], currency="USD")
        )
    )["node"]
    holder_low = node["LowLimit"]["issuer"] == holder.address
    reserve, auth = (0x10000, 0x80000) if holder_low else (0x20000, 0x40000)  # holder / issuer
    assert node["Flags"] & reserve and node["Flags"] & auth


def test_iou_sums_round_to_nearest_even_at_16_digits(env: Env) -> None:
    """rippleCreditIOU adds with Number (fixUniversalNumber): 16-digit mantissa, ties to even."""
    issuer = make_issuer(env)
    holder = holder_with_line(env, issuer, limit="1e20")
    for value, balance in (
        ("1234567890123456", "1234567890123456"),
        ("0.5", "1234567890123456"),  # tie: ...456 is even, stays
        ("1.5", "1234567890123458"),  # ...457.5 ties to ...458
        ("8765432109876542", "1000000000000000e1"),  # carries into a 17th digit: exponent 1
    ):
        env.final(
            Payment(account=issuer.address, destination=holder.address, amount=usd(issuer, value)),
            issuer,
            "tesSUCCESS",
        )
        assert line_of(env, holder, issuer)["balance"] == balance
