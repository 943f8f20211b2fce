"""Bootstrap configures a fresh ledger for the platform, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from xrpl.models.requests import AccountObjectType

from domain.instruments import INSTRUMENT_FLAGS, instrument_id_in_metadata, load_catalogue
from tests.support.xrpljs import check_blobs

CATALOGUE = load_catalogue((Path(__file__).parents[2] / "catalogue/instruments.json").read_text())


@pytest.fixture(scope="module")
def bootstrapped(platform: dict[str, Any]) -> dict[str, Any]:
    return platform


def ledger_transaction_count(client: Any, accounts: Any) -> int:
    return sum(int(client.account_root(a)["Sequence"]) for a in accounts.roles().values())


def test_the_issuer_has_its_flags(bootstrapped: dict[str, Any]) -> None:
    root = bootstrapped["client"].account_root(bootstrapped["accounts"].issuer)
    flags = int(root["Flags"])
    assert flags & 0x00040000, "RequireAuth"
    assert flags & 0x80000000, "AllowTrustLineClawback"
    assert flags & 0x00800000, "DefaultRipple"


def test_the_company_holds_an_authorized_stablecoin_line(bootstrapped: dict[str, Any]) -> None:
    accounts = bootstrapped["accounts"]
    (line,) = bootstrapped["client"].trust_lines(accounts.company, accounts.issuer)
    assert line["currency"] == "EUR" and line["peer_authorized"] is True


def test_each_instrument_is_an_mpt_issued_by_the_company(bootstrapped: dict[str, Any]) -> None:
    from lambdas.records.tables import InstrumentRecord

    issuances = bootstrapped["client"].objects(
        bootstrapped["accounts"].company, AccountObjectType.MPT_ISSUANCE
    )
    by_id = {instrument_id_in_metadata(i["MPTokenMetadata"]): i for i in issuances}
    # Other tests on this worker bootstrap instruments of their own; each must be in the records.
    assert {i.instrument_id for i in CATALOGUE} <= set(by_id)
    for instrument_id, issuance in by_id.items():
        assert InstrumentRecord.get(instrument_id).issuance_id == issuance["mpt_issuance_id"]
    for instrument in CATALOGUE:
        issuance = by_id[instrument.instrument_id]
        assert int(issuance["Flags"]) & INSTRUMENT_FLAGS == INSTRUMENT_FLAGS
        assert not int(issuance["Flags"]) & 0x20, "no CanTransfer"
        assert int(issuance["MaximumAmount"]) == instrument.tranche_units
        record = InstrumentRecord.get(instrument.instrument_id)
        assert record.issuance_id == issuance["mpt_issuance_id"]


def test_hot_accounts_have_ticket_pools(bootstrapped: dict[str, Any]) -> None:
    for address in bootstrapped["accounts"].roles().values():
        assert len(bootstrapped["tickets"].available(address)) >= 15


def test_a_second_run_changes_nothing(bootstrapped: dict[str, Any]) -> None:
    assert bootstrapped["first"], "the first run did the work"
    assert bootstrapped["second"] == []
    before, after = bootstrapped["tx_counts"]
    assert before == after, "no transaction on the ledger from the second run"


def test_xrpljs_verifies_every_blob_the_bootstrap_signed(bootstrapped: dict[str, Any]) -> None:
    from lambdas.records.tables import SubmissionRecord

    records = [
        r for r in SubmissionRecord.scan() if r.business_key.startswith(("bootstrap#", "tickets#"))
    ]
    kinds = {r.transaction_type for r in records}
    assert {"Payment", "AccountSet", "TrustSet", "MPTokenIssuanceCreate", "TicketCreate"} <= kinds
    checked = check_blobs([r.tx_blob for r in records])
    assert all(c["signatureValid"] for c in checked)
    assert [c["hash"] for c in checked] == [r.tx_hash for r in records]
