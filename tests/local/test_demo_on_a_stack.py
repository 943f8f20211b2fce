"""What the demo does differently on a deployed stack, checked without one: the instrument it
lists for itself (tests/ops/test_smoke.py tells the whole story to a stack in server mode)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.cash_flows import schedule, terms_from
from domain.distribution import due_periods
from domain.instruments import load_catalogue
from domain.target2 import adjusted
from local.demo import refusal
from local.demo_servicing import RUN_UNITS, run_instrument

RUN = "demo-20261206T181500-"


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2060, 12, 31)))
def test_the_runs_instrument_is_all_due_by_its_maturity_and_pays_a_coupon_then_redeems(
    today: date,
) -> None:
    entry = run_instrument(RUN, today)
    terms = terms_from(entry)
    periods = schedule(terms)

    assert len(periods) >= 2
    assert all(p.coupon_per_unit > 0 for p in periods)
    assert [p.principal_per_unit for p in periods][-1] == Decimal("100.00")
    assert sum(p.principal_per_unit for p in periods) == Decimal("100.00")
    # Paid no later than the schedule would start the last, which then finds it started.
    last_day = adjusted(today, terms.business_day_convention)
    assert all(p.payment_date <= last_day for p in periods)
    assert due_periods(terms, last_day)[-1] == periods[-1]


def test_the_runs_instrument_is_a_valid_catalogue_entry_of_its_own() -> None:
    today = date(2026, 12, 6)
    (listed,) = load_catalogue(json.dumps({"instruments": [run_instrument(RUN, today)]}))

    assert listed.instrument_id == "DEMO-20261206T181500"
    assert listed.tranche_units == RUN_UNITS  # Ada buys all of it: no one else can
    other = run_instrument("demo-20261206T181501-", today)["instrument_id"]
    assert other != listed.instrument_id


def test_the_demo_refuses_a_mainnet_stack_and_says_why() -> None:
    refused = refusal("Drexfy-prod", {"XrplNetwork": "mainnet"})

    assert refused is not None
    assert refused.startswith("refused: Drexfy-prod settles on Mainnet")
    assert refusal("Drexfy-dev", {"XrplNetwork": "testnet"}) is None
