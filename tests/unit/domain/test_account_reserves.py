"""What each platform account needs on Mainnet: reserves, Tickets, what the funding account
hands on."""

from decimal import Decimal

from domain.account_reserves import MAINNET_RESERVES, PlatformScale, Reserves, needs

SCALE = PlatformScale(
    instruments=2, investors=100, activation_xrp=Decimal(15), tickets_ready=55,
    platform_xrp=Decimal(100),
)  # fmt: skip


def test_each_account_needs_its_reserve_its_objects_and_fees() -> None:
    reserves = Reserves(*MAINNET_RESERVES)
    by_role = {need.role: need for need in needs(reserves, SCALE)}
    # 1 + 55 x 0.2 + 5
    assert by_role["issuer"].xrp == Decimal("17.0")
    # 1 + (1 line + 2 issuances + 55 Tickets) x 0.2 + 5
    assert by_role["company"].xrp == Decimal("17.6")
    # 1 + 55 x 0.2 + 100 x 15 + 2 x 100 + 5
    assert by_role["funding"].xrp == Decimal("1717.0")
    assert "100 investors x 15 activation" in by_role["funding"].why
    assert "2 issuances" in by_role["company"].why


def test_the_ledger_s_reserves_change_every_figure() -> None:
    old = {n.role: n.xrp for n in needs(Reserves(Decimal(10), Decimal(2)), SCALE)}
    assert old == {"issuer": Decimal(125), "company": Decimal(131), "funding": Decimal(1825)}
    assert Reserves(Decimal(10), Decimal(2)).holding(3) == Decimal(16)
