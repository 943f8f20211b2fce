"""Redemption at maturity: the last payment pays the final coupon and the whole outstanding
principal, the units are taken back once paid, and the issuance is destroyed when none remain.
This instrument pays automatically (no operator approval)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.servicing.conftest import (
    buy,
    finished,
    fund_company,
    ledger_closing_on_waits,
    new_instrument,
    on,
)
from tests.support.books import stablecoin_balance, units_held
from tests.support.bus import SeenEvents, watching_bus

# One semiannual period, 2026-03-10 to 2026-09-10 (184 days): the only payment is the last.
TERMS = {
    "issue_date": "2026-03-10", "maturity": "2026-09-10", "payments_per_year": 2,
    "pays_automatically": True,
}  # fmt: skip
MATURITY = "2026-09-10"
PER_UNIT = Decimal("2.56") + Decimal("100.00")  # 100 x 5% x 184/360 = 2.5556, and the nominal


@pytest.fixture(scope="module")
def matured(aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]) -> dict[str, Any]:
    instrument = new_instrument(platform, ledger, "MAT", **TERMS)
    with ledger_closing_on_waits(ledger), watching_bus(aws, "drexfy.investors") as seen:
        ada, bob = buy(aws, ledger, instrument, 2), buy(aws, ledger, instrument, 1)
        fund_company(aws, Decimal("500.00"))
        from local.aws import schedules

        schedules.fire(on(MATURITY))
        done = finished(aws, f"{instrument}-{MATURITY}")
        return {"instrument": instrument, "ada": ada, "bob": bob, "done": done, "seen": seen}


def test_the_last_payment_repays_the_principal_with_the_final_coupon(
    platform: dict[str, Any], matured: dict[str, Any]
) -> None:
    from lambdas.records import wallets

    assert matured["done"]["status"] == "SUCCEEDED", matured["done"]
    report = json.loads(matured["done"]["output"])
    assert report["at_maturity"] and report["approved_by"] is None, "paid automatically"
    assert report["paid_total"] == str(PER_UNIT * 3)
    client, issuer = platform["client"], platform["accounts"].issuer
    for investor, units in (("ada", 2), ("bob", 1)):
        address = wallets.find(matured[investor]).address  # type: ignore[union-attr]
        assert stablecoin_balance(client, address, issuer) == PER_UNIT * units
    seen: SeenEvents = matured["seen"]
    (repaid,) = seen.of("PrincipalRepaid", matured["ada"])
    assert repaid["amount"] == "200.00"
    (coupon,) = seen.of("CouponPaid", matured["ada"])
    assert coupon["amount"] == "5.12"


def test_the_units_are_taken_back_and_the_issuance_destroyed(
    platform: dict[str, Any], matured: dict[str, Any]
) -> None:
    from xrpl.models.requests import AccountObjectType

    from lambdas.records import instruments, wallets

    listed = instruments.find(matured["instrument"])
    assert listed is not None
    client = platform["client"]
    for investor in ("ada", "bob"):
        address = wallets.find(matured[investor]).address  # type: ignore[union-attr]
        assert units_held(client, address, listed.issuance_id) == 0
    issuances = client.objects(platform["accounts"].company, AccountObjectType.MPT_ISSUANCE)
    assert listed.issuance_id not in {i["mpt_issuance_id"] for i in issuances}
    assert (listed.units_sold, listed.units_redeemed) == (3, 3), "the records count them back"
