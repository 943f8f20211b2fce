"""The one place a Lambda reads its configuration: the function's environment.

CDK gives each function only the variables for what it may touch (cdk/functions.py), so each
value is read when first used, then kept: a function that uses a variable it was not given
fails with MissingConfiguration, locally as in AWS.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class MissingConfiguration(RuntimeError):
    """A variable the deployment must set is absent: a deployment bug, not a runtime fault."""


class _Variable(Generic[T]):
    """An environment variable, converted and kept on first read."""

    def __init__(self, name: str, convert: Callable[[str], T]) -> None:
        self.name = name
        self._convert = convert

    def __set_name__(self, owner: type, attribute: str) -> None:
        self._attribute = f"_{attribute}"

    @overload
    def __get__(self, instance: None, owner: type) -> _Variable[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self
        try:
            return instance.__dict__[self._attribute]
        except KeyError:
            value = os.environ.get(self.name)
            if not value:
                raise MissingConfiguration(f"environment variable {self.name} is not set") from None
            converted = instance.__dict__[self._attribute] = self._convert(value)
            return converted


def _text(name: str) -> _Variable[str]:
    return _Variable(name, str)


def url_list(text: str) -> tuple[str, ...]:
    """A comma-separated list of URLs (XRPL_URLS), in order, without blanks or repeats."""
    urls = (part.strip() for part in text.split(","))
    return tuple(dict.fromkeys(url for url in urls if url))


class Settings:
    region = _text("AWS_REGION")  # set by the Lambda runtime
    purchases_table = _text("PURCHASES_TABLE")
    wallets_table = _text("WALLETS_TABLE")
    submissions_table = _text("SUBMISSIONS_TABLE")
    tickets_table = _text("TICKETS_TABLE")
    sequences_table = _text("SEQUENCES_TABLE")
    instruments_table = _text("INSTRUMENTS_TABLE")
    investors_table = _text("INVESTORS_TABLE")
    audit_table = _text("AUDIT_TABLE")
    webhooks_table = _text("WEBHOOKS_TABLE")
    signatures_table = _text("SIGNATURES_TABLE")
    notifications_table = _text("NOTIFICATIONS_TABLE")
    payments_table = _text("PAYMENTS_TABLE")
    distributions_table = _text("DISTRIBUTIONS_TABLE")
    entitlements_table = _text("ENTITLEMENTS_TABLE")
    withdrawals_table = _text("WITHDRAWALS_TABLE")
    reconciliations_table = _text("RECONCILIATIONS_TABLE")
    servicing_bucket = _text("SERVICING_BUCKET")  # distributions' holder lists and reports
    distribution_workflow = _text("DISTRIBUTION_WORKFLOW")  # its state machine's ARN
    statements_workflow = _text("STATEMENTS_WORKFLOW")  # the frontend asks it for documents
    payments_webhook_secret = _text("PAYMENTS_WEBHOOK_SECRET")  # Secrets Manager ids, not secrets
    kyc_webhook_secret = _text("KYC_WEBHOOK_SECRET")
    collections_webhook_secret = _text("COLLECTIONS_WEBHOOK_SECRET")
    adyen_webhook_secret = _text("ADYEN_WEBHOOK_SECRET")  # the HMAC key, hex
    frontend_api_secret = _text("FRONTEND_API_SECRET")
    payment_provider_api_secret = _text("PAYMENT_PROVIDER_API_SECRET")
    payment_provider_endpoint = _text("PAYMENT_PROVIDER_ENDPOINT")  # its settlement report
    event_bus_name = _text("EVENT_BUS_NAME")
    explorer_url = _text("EXPLORER_URL")
    investor_seed_key_id = _text("INVESTOR_SEED_KEY_ID")
    issuer_key_id = _text("ISSUER_KEY_ID")
    company_key_id = _text("COMPANY_KEY_ID")
    funding_key_id = _text("FUNDING_KEY_ID")
    # The signing service's functions (cdk/signing.py), by the account each signs as.
    investor_signer_function = _text("INVESTOR_SIGNER_FUNCTION")
    issuer_signer_function = _text("ISSUER_SIGNER_FUNCTION")
    company_signer_function = _text("COMPANY_SIGNER_FUNCTION")
    funding_signer_function = _text("FUNDING_SIGNER_FUNCTION")
    # The ledger servers; a money decision needs two of them to agree (ledger_adapter/quorum.py)
    xrpl_urls = _Variable("XRPL_URLS", url_list)
    activation_xrp = _Variable("ACTIVATION_XRP", Decimal)
    ledger_close_seconds = _Variable("LEDGER_CLOSE_SECONDS", int)  # paces re-checks


@functools.cache
def settings() -> Settings:
    return Settings()
