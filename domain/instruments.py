"""Financial instruments: securitized SME credit sold in whole units at a fixed unit price.

The catalogue is data in the repo (`catalogue/instruments.json`), validated here on load. On the
ledger each instrument is a Multi-Purpose Token issued by the securitization company.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.cash_flows import InstrumentTerms, TermsError, terms_from
from domain.money import SUPPORTED_CURRENCIES

# MPTokenIssuanceCreate flags (XLS-33): holders may only return units to the issuer.
TF_MPT_CAN_LOCK = 0x02
TF_MPT_REQUIRE_AUTH = 0x04
TF_MPT_CAN_CLAWBACK = 0x40
INSTRUMENT_FLAGS = TF_MPT_CAN_LOCK | TF_MPT_REQUIRE_AUTH | TF_MPT_CAN_CLAWBACK
MAX_METADATA_BYTES = 1024
ICON_URL = "https://drexfy.eu/assets/instrument.png"
ISSUER_NAME = "Drexfy Securitization"


class CatalogueError(ValueError):
    """The instrument catalogue is not valid; nothing is issued from it."""


@dataclass(frozen=True)
class Instrument:
    """An instrument of the catalogue: what is issued on the ledger, and its terms (the cash
    flows it pays: domain/cash_flows.py)."""

    instrument_id: str
    name: str
    sme_pool: str
    currency: str
    tranche_units: int
    terms: InstrumentTerms
    pays_automatically: bool = False  # distributions pay without an operator's approval

    @property
    def coupon_rate(self) -> Decimal:
        return self.terms.coupon_rate

    @property
    def maturity(self) -> date:
        return self.terms.maturity

    @property
    def unit_price(self) -> Decimal:
        return self.terms.unit_price

    @property
    def ticker(self) -> str:
        """XLS-89 ticker: up to 6 of A-Z, 0-9 (e.g. SME-2027-A -> SME27A)."""
        letters = self.instrument_id.replace("-", "")
        return (letters[:3] + letters[-3:]) if len(letters) > 6 else letters

    def metadata_hex(self) -> str:
        """MPTokenMetadata in XLS-89 form; `ai` carries what identifies it to the platform."""
        document = {
            "t": self.ticker,
            "n": self.name,
            "d": f"Securitized SME credit, pool {self.sme_pool}",
            "i": ICON_URL,
            "ac": "rwa",
            "as": "private_credit",
            "in": ISSUER_NAME,
            "ai": {
                "id": self.instrument_id,
                "pool": self.sme_pool,
                "cpn": str(self.coupon_rate),
                "mat": self.maturity.isoformat(),
                "px": str(self.unit_price),
                "ccy": self.currency,
            },
        }
        encoded = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        if len(encoded) > MAX_METADATA_BYTES:
            raise CatalogueError(f"{self.instrument_id}: metadata over {MAX_METADATA_BYTES} bytes")
        return encoded.hex().upper()

    def issuance_create(self, company: str) -> dict[str, Any]:
        """The unsigned MPTokenIssuanceCreate for this instrument (whole units: scale 0)."""
        return {
            "TransactionType": "MPTokenIssuanceCreate",
            "Account": company,
            "AssetScale": 0,
            "MaximumAmount": str(self.tranche_units),
            "MPTokenMetadata": self.metadata_hex(),
            "Flags": INSTRUMENT_FLAGS,
        }


def instrument_id_in_metadata(metadata_hex: str | None) -> str | None:
    """The instrument id an issuance's metadata names, if it is one of ours."""
    try:
        document = json.loads(bytes.fromhex(metadata_hex or ""))
    except ValueError:
        return None
    info = document.get("ai") if isinstance(document, dict) else None
    return info.get("id") if isinstance(info, dict) else None


def load_catalogue(text: str) -> tuple[Instrument, ...]:
    try:
        entries = json.loads(text)["instruments"]
        instruments = tuple(_instrument(entry) for entry in entries)
    except (KeyError, TypeError, ValueError) as error:
        raise CatalogueError(f"invalid instrument catalogue: {error}") from None
    ids = [i.instrument_id for i in instruments]
    if len(set(ids)) != len(ids):
        raise CatalogueError("instrument ids must be unique")
    return instruments


def _instrument(entry: dict[str, Any]) -> Instrument:
    try:
        terms = terms_from(entry)
    except TermsError as error:
        raise ValueError(f"{entry.get('instrument_id')}: {error}") from None
    units = entry["tranche_units"]
    if not isinstance(units, int) or isinstance(units, bool) or not 0 < units < 2**63:
        raise ValueError(f"{terms.instrument_id}: tranche_units must be a positive integer")
    if entry["currency"] not in SUPPORTED_CURRENCIES:
        raise ValueError(f"{terms.instrument_id}: currency {entry['currency']!r} not supported")
    automatic = entry.get("pays_automatically", False)
    if not isinstance(automatic, bool):
        raise ValueError(f"{terms.instrument_id}: pays_automatically must be true or false")
    instrument = Instrument(
        instrument_id=terms.instrument_id,
        name=str(entry["name"]),
        sme_pool=str(entry["sme_pool"]),
        currency=str(entry["currency"]),
        tranche_units=units,
        terms=terms,
        pays_automatically=automatic,
    )
    instrument.metadata_hex()
    return instrument
