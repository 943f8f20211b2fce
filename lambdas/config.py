"""The one place a Lambda reads its configuration: the function's environment, read once.

Every function gets the same variables (see cdk/platform_stack.py); IAM, not configuration,
limits what each may touch.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from decimal import Decimal


class MissingConfiguration(RuntimeError):
    """A variable the deployment must set is absent: a deployment bug, not a runtime fault."""


@dataclass(frozen=True)
class Settings:
    region: str
    purchases_table: str
    wallets_table: str
    submissions_table: str
    tickets_table: str
    sequences_table: str
    instruments_table: str
    investors_table: str
    audit_table: str
    webhooks_table: str
    signatures_table: str
    notifications_table: str
    payments_webhook_secret: str  # Secrets Manager ids, not the secrets
    kyc_webhook_secret: str
    frontend_api_secret: str
    event_bus_name: str
    explorer_url: str
    investor_seed_key_id: str
    issuer_key_id: str
    company_key_id: str
    funding_key_id: str
    xrpl_url: str
    activation_xrp: Decimal
    ledger_close_seconds: int  # the network's usual close interval: paces re-checks


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingConfiguration(f"environment variable {name} is not set")
    return value


@functools.cache
def settings() -> Settings:
    return Settings(
        region=_required("AWS_REGION"),
        purchases_table=_required("PURCHASES_TABLE"),
        wallets_table=_required("WALLETS_TABLE"),
        submissions_table=_required("SUBMISSIONS_TABLE"),
        tickets_table=_required("TICKETS_TABLE"),
        sequences_table=_required("SEQUENCES_TABLE"),
        instruments_table=_required("INSTRUMENTS_TABLE"),
        investors_table=_required("INVESTORS_TABLE"),
        audit_table=_required("AUDIT_TABLE"),
        webhooks_table=_required("WEBHOOKS_TABLE"),
        signatures_table=_required("SIGNATURES_TABLE"),
        notifications_table=_required("NOTIFICATIONS_TABLE"),
        payments_webhook_secret=_required("PAYMENTS_WEBHOOK_SECRET"),
        kyc_webhook_secret=_required("KYC_WEBHOOK_SECRET"),
        frontend_api_secret=_required("FRONTEND_API_SECRET"),
        event_bus_name=_required("EVENT_BUS_NAME"),
        explorer_url=_required("EXPLORER_URL"),
        investor_seed_key_id=_required("INVESTOR_SEED_KEY_ID"),
        issuer_key_id=_required("ISSUER_KEY_ID"),
        company_key_id=_required("COMPANY_KEY_ID"),
        funding_key_id=_required("FUNDING_KEY_ID"),
        xrpl_url=_required("XRPL_URL"),
        activation_xrp=Decimal(_required("ACTIVATION_XRP")),
        ledger_close_seconds=int(_required("LEDGER_CLOSE_SECONDS")),
    )
