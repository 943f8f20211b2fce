"""The payment provider's settlement report: what it settled, in and out, up to a time.

`GET {endpoint}/settlements?until=ISO` with the API key the platform calls it with, answering
{"settlements": [{kind, outcome, reference, amount, currency, settled_at}]}: a payment
captured, a payout paid or returned, a refund made, each under the platform's own reference.
The local stand-in serves it (local/payment_provider.py); a contracted provider's report (an
Adyen settlement details report, say) is mapped to these lines here, at the boundary.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters

from domain.errors import TransientFault
from lambdas.config import settings

TIMEOUT_SECONDS = 30.0
SECRET_MAX_AGE_SECONDS = 300


class ReportRefused(RuntimeError):
    """The provider answered, and not with a report: a wrong key or a wrong request."""


def settlements(until: datetime) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"until": until.isoformat()})
    request = urllib.request.Request(
        f"{settings().payment_provider_endpoint}/settlements?{query}",
        headers={"Authorization": f"Bearer {_api_key()}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise TransientFault(f"settlement report: the provider answered {error.code}") from None
        raise ReportRefused(f"settlement report: the provider answered {error.code}") from None
    except (OSError, ValueError) as error:
        raise TransientFault(f"settlement report unreachable: {error}") from None
    lines = answer.get("settlements") if isinstance(answer, dict) else None
    if not isinstance(lines, list):
        raise ReportRefused("settlement report: no list of settlements in the answer")
    return lines


def _api_key() -> str:
    value = parameters.get_secret(
        settings().payment_provider_api_secret, max_age=SECRET_MAX_AGE_SECONDS
    )
    return str(value).strip()
