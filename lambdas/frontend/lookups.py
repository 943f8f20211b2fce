"""What the frontend API's routes look up: an investor on record (404 if unknown) and the
ledger, read through one server (what it shows decides no money: the workflows decide)."""

from __future__ import annotations

import functools
from http import HTTPStatus
from typing import TYPE_CHECKING

from domain.investor import Investor
from lambdas.config import settings
from lambdas.frontend.models import Refusal
from lambdas.records import investors, wallets
from lambdas.records.wallets import Wallet

if TYPE_CHECKING:
    from lambdas.ledger_adapter.client import LedgerClient


def investor_and_wallet(investor_id: str) -> tuple[Investor, Wallet | None]:
    record = investors.find(investor_id)
    if record is None:
        raise Refusal(HTTPStatus.NOT_FOUND, "unknown_investor", f"no investor {investor_id}")
    return record, wallets.find(investor_id)


@functools.cache
def ledger() -> LedgerClient:
    # xrpl-py (~200 ms) loads with the first route that reads the ledger, not at cold start
    from lambdas.ledger_adapter.client import LedgerClient

    return LedgerClient(settings().xrpl_urls[0])
