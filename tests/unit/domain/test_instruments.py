import json
from pathlib import Path

import pytest

from domain.instruments import (
    INSTRUMENT_FLAGS,
    CatalogueError,
    instrument_id_in_metadata,
    load_catalogue,
)

CATALOGUE_TEXT = (Path(__file__).parents[3] / "catalogue/instruments.json").read_text()


def entries() -> list[dict[str, object]]:
    return json.loads(CATALOGUE_TEXT)["instruments"]  # type: ignore[no-any-return]


def test_the_repository_catalogue_is_valid_and_round_trips_through_metadata() -> None:
    for instrument in load_catalogue(CATALOGUE_TEXT):
        tx = instrument.issuance_create("rCompany")
        assert tx["Flags"] == INSTRUMENT_FLAGS and not tx["Flags"] & 0x20
        assert tx["MaximumAmount"] == str(instrument.tranche_units)
        assert instrument_id_in_metadata(tx["MPTokenMetadata"]) == instrument.instrument_id
        assert tx["MPTokenMetadata"] == instrument.metadata_hex()
        assert len(instrument.ticker) <= 6 and instrument.ticker.isalnum()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"instrument_id": "bad id"}, "instrument_id"),
        ({"tranche_units": 0}, "tranche_units"),
        ({"tranche_units": 2**63}, "tranche_units"),
        ({"coupon_rate": "5.25"}, "fraction"),
        ({"currency": "USD"}, "not supported"),
        ({"unit_price": "100.001"}, "decimals"),
        ({"maturity": "2027-13-01"}, "month"),
        ({"name": "x" * 1200}, "metadata over"),
    ],
)
def test_an_invalid_entry_is_refused_with_the_reason(
    change: dict[str, object], message: str
) -> None:
    bad = [{**entries()[0], **change}]
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(json.dumps({"instruments": bad}))


def test_duplicate_ids_and_missing_fields_are_refused() -> None:
    with pytest.raises(CatalogueError, match="unique"):
        load_catalogue(json.dumps({"instruments": [entries()[0], entries()[0]]}))
    incomplete = {k: v for k, v in entries()[0].items() if k != "unit_price"}
    with pytest.raises(CatalogueError, match="unit_price"):
        load_catalogue(json.dumps({"instruments": [incomplete]}))


def test_foreign_metadata_is_not_taken_for_ours() -> None:
    assert instrument_id_in_metadata("ZZ") is None
    assert instrument_id_in_metadata(json.dumps({"t": "X"}).encode().hex()) is None
