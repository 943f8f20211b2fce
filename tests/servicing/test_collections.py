"""Collections from an SME pool arrive as the servicer's signed webhook and are minted to the
company once, however often the servicer sends them; a bad one is refused with its reason."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.ingress.test_webhooks_http import post, signed
from tests.servicing.conftest import finished_for
from tests.support.books import stablecoin_balance


def collection(**overrides: Any) -> bytes:
    body = {
        "event": "collection.received",
        "collection_id": f"col-{uuid.uuid4().hex[:10]}",
        "sme_pool": "ES-MANUFACTURING-01",
        "amount": "1250.40",
        "currency": "EUR",
        "collected_at": datetime.now(UTC).isoformat(),
        **overrides,
    }
    return json.dumps(body).encode()


def send(aws: LocalAws, body: bytes) -> tuple[int, Any]:
    return post(
        aws, "/webhooks/collections", body, signed(aws, body, "CollectionsWebhookSecretArn")
    )


def test_a_collection_is_minted_to_the_company_once_whatever_is_resent(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    client, accounts = platform["client"], platform["accounts"]
    before = stablecoin_balance(client, accounts.company, accounts.issuer)
    body = collection()
    collection_id = json.loads(body)["collection_id"]
    status, answer = send(aws, body)
    assert status == 202 and answer["detail_type"] == "CollectionReceived"
    (first,) = finished_for(aws, "Collection", "collection", "collection_id", collection_id)
    assert first["status"] == "SUCCEEDED", first
    time.sleep(1.1)  # a new signature: the servicer sends the same collection again
    assert send(aws, body)[0] == 202
    executions = finished_for(aws, "Collection", "collection", "collection_id", collection_id, 2)
    assert {e["status"] for e in executions} == {"SUCCEEDED"}
    ledger.close_ledger()
    after = stablecoin_balance(client, accounts.company, accounts.issuer)
    assert after - before == Decimal("1250.40"), "minted once"


def test_a_bad_collection_is_refused_with_its_reason(aws: LocalAws) -> None:
    refusals = {
        "amount": ({"amount": "10.001"}, "more than two decimals"),
        "currency": ({"currency": "USD"}, "currency 'USD' is not one of"),
        "event": ({"event": "collection.reversed"}, "collection.reversed"),
        "time": (
            {"collected_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            "after now",
        ),
        "zone": ({"collected_at": "2026-11-26T10:00:00"}, "needs a time zone"),
    }
    for what, (change, says) in refusals.items():
        status, answer = send(aws, collection(**change))
        assert status in (400, 422), (what, answer)
        assert says in answer["reason"], (what, answer)
