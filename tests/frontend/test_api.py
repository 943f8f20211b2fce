"""The frontend API end to end: the deployed stack's secret and bus on the embedded AWS, the
handler as API Gateway calls it, holdings read back from the local ledger."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.purchase import PurchaseStatus
from local.aws.platform import LocalAws
from tests.frontend.conftest import registered_investor
from tests.frontend.gateway import Frontend, http_event, invoke
from tests.support.books import stablecoin_balance, units_held
from tests.support.waiting import wait_for

SENIOR = "SME-2027-A"
SECURED_ROUTES = [
    ("GET", "/instruments"),
    ("GET", "/investors/{investor_id}"),
    ("GET", "/investors/{investor_id}/portfolio"),
    ("POST", "/investors/{investor_id}/wallet"),
    ("GET", "/purchases/{purchase_id}"),
]


def filled(path: str, value: str) -> str:
    return path.replace("{investor_id}", value).replace("{purchase_id}", value)


# --- the happy paths ---------------------------------------------------------------------------


def test_the_catalogue_lists_every_instrument_with_its_units(
    frontend: Frontend, platform: dict[str, Any]
) -> None:
    from lambdas.records.tables import InstrumentRecord

    answer = frontend.get("/instruments")

    assert answer.status == 200
    listed = {i["instrument_id"]: i for i in answer.body["instruments"]}
    assert set(listed) == {i.instrument_id for i in platform["catalogue"]}
    for instrument in platform["catalogue"]:
        record = InstrumentRecord.get(instrument.instrument_id, consistent_read=True)
        shown = listed[instrument.instrument_id]
        assert Decimal(shown["unit_price"]) == instrument.unit_price
        assert shown["unit_price"] == f"{instrument.unit_price:.2f}"
        assert (shown["currency"], shown["tranche_units"]) == ("EUR", instrument.tranche_units)
        assert shown["units_available"] == int(record.units_available)
        assert shown["units_sold"] == int(record.units_sold)
        assert (shown["status"], shown["issuance_id"]) == ("OPEN", record.issuance_id)


def test_an_investor_is_shown_with_status_wallet_and_reason(
    frontend: Frontend, active_investor: dict[str, str]
) -> None:
    answer = frontend.get(f"/investors/{active_investor['investor_id']}")

    assert answer.status == 200
    assert answer.body == {
        "investor_id": active_investor["investor_id"],
        "status": "ACTIVE",
        "wallet_address": active_investor["address"],
        "reason": "KYC passed (test)",
    }


def test_an_aml_decisions_reason_never_reaches_the_frontend(
    frontend: Frontend, aws: LocalAws
) -> None:
    """Tipping-off: the frontend learns the investor is blocked, never why; operators do."""
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import InvestorRecord

    investor_id = registered_investor("BLOCKED", "sanctions list match (case 7)")
    InvestorRecord(investor_id).update(actions=[InvestorRecord.aml_case_id.set("case-7")])

    answer = frontend.get(f"/investors/{investor_id}")

    assert answer.status == 200
    assert (answer.body["status"], answer.body["reason"]) == ("BLOCKED", None)
    assert "sanctions" not in json.dumps(answer.body)
    assert investor_records.find(investor_id).reason == "sanctions list match (case 7)"  # type: ignore[union-attr]


def test_an_investor_without_a_wallet_has_none(frontend: Frontend, aws: LocalAws) -> None:
    investor_id = registered_investor("PENDING", "signed up")

    answer = frontend.get(f"/investors/{investor_id}")

    assert answer.status == 200
    assert answer.body == {
        "investor_id": investor_id,
        "status": "PENDING",
        "wallet_address": None,
        "reason": "signed up",
    }


def test_the_portfolio_is_what_the_validated_ledger_holds_valued_at_catalogue_prices(
    frontend: Frontend, bought: dict[str, Any], platform: dict[str, Any]
) -> None:
    from lambdas.records.tables import InstrumentRecord

    answer = frontend.get(f"/investors/{bought['investor_id']}/portfolio")

    assert answer.status == 200
    body = answer.body
    client, issuer = platform["client"], platform["accounts"].issuer
    senior = InstrumentRecord.get(SENIOR, consistent_read=True)
    assert units_held(client, bought["address"], senior.issuance_id) == 3
    assert stablecoin_balance(client, bought["address"], issuer) == Decimal("12.34")
    assert (body["investor_id"], body["status"]) == (bought["investor_id"], "ACTIVE")
    assert (body["wallet_address"], body["stablecoin_issuer"]) == (bought["address"], issuer)
    assert body["stablecoin_balance"] == "12.34"
    holdings = {h["instrument_id"]: h for h in body["holdings"]}
    assert set(holdings) == {i.instrument_id for i in platform["catalogue"]}
    assert holdings[SENIOR] == {
        "instrument_id": SENIOR,
        "name": senior.name,
        "issuance_id": senior.issuance_id,
        "units": 3,
        "unit_price": "100.00",
        "value": "300.00",
        "currency": "EUR",
    }
    assert (holdings["SME-2028-B"]["units"], holdings["SME-2028-B"]["value"]) == (0, "0.00")
    assert body["totals"] == {
        "currency": "EUR",
        "stablecoin": "12.34",
        "instruments": "300.00",
        "total": "312.34",
    }
    assert body["ledger_index"] <= client.validated_ledger_index()


def test_a_new_wallet_has_an_empty_portfolio(
    frontend: Frontend, active_investor: dict[str, str]
) -> None:
    answer = frontend.get(f"/investors/{active_investor['investor_id']}/portfolio")

    assert answer.status == 200
    assert answer.body["stablecoin_balance"] == "0.00"
    assert {h["units"] for h in answer.body["holdings"]} == {0}
    assert answer.body["totals"]["total"] == "0.00"


def test_a_wallet_not_yet_on_the_ledger_has_an_empty_portfolio(
    frontend: Frontend, platform: dict[str, Any]
) -> None:
    from lambdas.custody.wallet_generator import create_investor_wallet

    investor_id = registered_investor("KYC_APPROVED")
    create_investor_wallet(investor_id)  # made, not funded yet: no account on the ledger

    answer = frontend.get(f"/investors/{investor_id}/portfolio")

    assert answer.status == 200
    assert answer.body["totals"]["total"] == "0.00"


def test_why_an_operator_must_act_is_not_shown_to_the_frontend(frontend: Frontend) -> None:
    from domain.purchase import purchase_id_for
    from lambdas.records import purchases as purchase_records

    payment_id = f"pay-{uuid.uuid4().hex[:12]}"
    purchase_id = purchase_id_for(payment_id)
    internal = "AwsRefused: AccessDeniedException: User: arn:aws:iam::1:role/X is not authorized"
    fields = {
        "payment_id": payment_id, "investor_id": "inv-parked", "instrument_id": "SME-2027-A",
        "units": 1, "amount": "100.00", "currency": "EUR",
    }  # fmt: skip
    purchase_records.park(purchase_id, internal, fields, "", 0)

    answer = frontend.get(f"/purchases/{purchase_id}")

    assert answer.status == 200
    assert (answer.body["status"], answer.body["parked_reason"]) == ("NEEDS_OPERATOR", None)
    assert "arn:aws" not in json.dumps(answer.body), answer.body
    assert purchase_records.get(purchase_id).parked_reason == internal


def test_a_purchase_shows_its_transactions_with_explorer_links(
    frontend: Frontend, bought: dict[str, Any]
) -> None:
    from lambdas.config import settings
    from lambdas.records import purchases as purchase_records

    answer = frontend.get(f"/purchases/{bought['purchase_id']}")

    assert answer.status == 200
    body = answer.body
    record = purchase_records.get(bought["purchase_id"])
    summary = record.summary()
    assert body["status"] == PurchaseStatus.DELIVERED
    for field in ("purchase_id", "payment_id", "investor_id", "instrument_id", "units", "amount"):
        assert body[field] == summary[field], field
    assert (body["currency"], body["reason"]) == ("EUR", None)
    assert {"mint", "transfer", "deliver"} <= set(body["transactions"])
    assert set(body["transactions"]) == set(summary["transactions"])
    for step, transaction in body["transactions"].items():
        recorded = summary["transactions"][step]
        assert transaction["hash"] == recorded["hash"] and transaction["hash"], step
        assert transaction["ledger_index"] == recorded["ledger_index"]
        assert transaction["result"] == "tesSUCCESS"
        expected = f"{settings().explorer_url}/transactions/{recorded['hash']}"
        assert transaction["explorer_url"] == expected
        assert set(transaction) == {"hash", "ledger_index", "result", "explorer_url"}


def test_the_openapi_document_needs_no_token(frontend: Frontend) -> None:
    for token in (None, "not-the-token"):
        answer = frontend.get("/openapi.json", token=token)

        assert answer.status == 200
        assert answer.body["info"]["title"] == "Drexfy frontend API"


# --- the wallet request ------------------------------------------------------------------------


def onboarding_of(aws: LocalAws, case_id: str) -> dict[str, Any] | None:
    """The finished onboarding execution of a case, if there is one."""
    sfn = aws.client("stepfunctions")
    arn = aws.stack.output("OnboardingStateMachineArn")
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for summary in page["executions"]:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            ours = json.loads(execution["input"])["decision"].get("case_id") == case_id
            if ours and execution["status"] != "RUNNING":
                return execution  # type: ignore[no-any-return]
    return None


def test_a_wallet_request_after_kyc_puts_the_event_and_onboarding_makes_the_wallet(
    aws: LocalAws, frontend: Frontend, frontend_events: Any, platform: dict[str, Any]
) -> None:
    investor_id = registered_investor("KYC_APPROVED", "KYC approved (case k-1)")
    before = datetime.now(UTC)

    answer = frontend.post(f"/investors/{investor_id}/wallet")

    assert answer.status == 202
    assert answer.body == {
        "investor_id": investor_id,
        "status": "WALLET_REQUESTED",
        "wallet_address": None,
    }
    [event] = wait_for(lambda: frontend_events.events_for(investor_id=investor_id))
    assert (event["source"], event["detail-type"]) == ("drexfy.frontend", "WalletRequested")
    detail = event["detail"]
    assert set(detail) == {"investor_id", "case_id", "occurred_at"}
    assert detail["case_id"] == f"frontend-{investor_id}"
    occurred = datetime.fromisoformat(detail["occurred_at"])
    assert before - timedelta(seconds=1) <= occurred <= datetime.now(UTC)

    onboarding = wait_for(lambda: onboarding_of(aws, detail["case_id"]), timeout=60)
    assert onboarding["status"] == "SUCCEEDED", onboarding
    investor = frontend.get(f"/investors/{investor_id}").body
    assert investor["status"] == "ACTIVE" and investor["wallet_address"]

    again = frontend.post(f"/investors/{investor_id}/wallet")

    assert again.status == 200
    assert again.body == {
        "investor_id": investor_id,
        "status": "ACTIVE",
        "wallet_address": investor["wallet_address"],
    }
    assert len(frontend_events.events_for(investor_id=investor_id)) == 1, (
        "no event for an active investor"
    )


def test_asking_again_while_onboarding_runs_is_the_same_case(
    frontend: Frontend, frontend_events: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas import platform_events

    investor_id = registered_investor("KYC_APPROVED")
    put: list[dict[str, Any]] = []
    real = platform_events.publish

    def observing(kind: str, detail: dict[str, Any], source: str = "") -> str:
        if kind == "WalletRequested" and detail["investor_id"] == investor_id:
            put.append(detail)  # observed, not put: no onboarding started by this test
            return "event-1"
        return real(kind, detail, source=source)  # workflows of other tests go on

    monkeypatch.setattr(platform_events, "publish", observing)

    first = frontend.post(f"/investors/{investor_id}/wallet")
    second = frontend.post(f"/investors/{investor_id}/wallet")

    assert (first.status, second.status) == (202, 202)
    assert [d["case_id"] for d in put] == [f"frontend-{investor_id}"] * 2


def test_an_active_investor_with_a_wallet_gets_it_and_no_event(
    frontend: Frontend, frontend_events: Any, active_investor: dict[str, str]
) -> None:
    investor_id = active_investor["investor_id"]

    answer = frontend.post(f"/investors/{investor_id}/wallet")

    assert answer.status == 200
    assert answer.body["wallet_address"] == active_investor["address"]
    assert frontend_events.events_for(investor_id=investor_id) == []


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("PENDING", "KYC is not approved yet"),
        ("REJECTED", "KYC was rejected"),
        ("BLOCKED", "blocked by AML screening"),
    ],
)
def test_no_wallet_request_without_approved_kyc_or_while_blocked(
    frontend: Frontend, frontend_events: Any, status: str, why: str
) -> None:
    investor_id = registered_investor(status)

    answer = frontend.post(f"/investors/{investor_id}/wallet")

    assert answer.status == 409
    assert answer.problem[0] == "wallet_not_allowed"
    assert why in answer.problem[1] and investor_id in answer.problem[1]
    assert frontend_events.events_for(investor_id=investor_id) == []


# --- refusals ----------------------------------------------------------------------------------


def test_the_portfolio_of_an_investor_without_a_wallet_is_a_conflict(
    frontend: Frontend, aws: LocalAws
) -> None:
    investor_id = registered_investor("KYC_APPROVED")

    answer = frontend.get(f"/investors/{investor_id}/portfolio")

    assert answer.status == 409
    assert answer.problem == (
        "no_wallet",
        f"investor {investor_id} has no wallet yet (status KYC_APPROVED)",
    )


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/investors/{investor_id}", "unknown_investor"),
        ("GET", "/investors/{investor_id}/portfolio", "unknown_investor"),
        ("POST", "/investors/{investor_id}/wallet", "unknown_investor"),
        ("GET", "/purchases/{purchase_id}", "unknown_purchase"),
    ],
)
def test_unknown_investors_and_purchases_are_not_found(
    frontend: Frontend, frontend_events: Any, method: str, path: str, code: str
) -> None:
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"

    answer = frontend.call(method, filled(path, unknown))

    assert answer.status == 404
    assert answer.problem[0] == code and unknown in answer.problem[1]
    assert frontend_events.events_for(investor_id=unknown) == []


@pytest.mark.parametrize(
    "bad_id",
    ["a b", "-leading-dash", "x" * 65, "inv/1", "inv%2F1", "caf\u00e9", "inv#1", "inv\u0000"],
)
@pytest.mark.parametrize(("method", "path"), SECURED_ROUTES[1:])
def test_malformed_ids_are_refused_with_the_rule(
    frontend: Frontend, method: str, path: str, bad_id: str
) -> None:
    answer = frontend.call(method, filled(path, bad_id))

    if "/" in bad_id or "\u0000" in bad_id or "#" in bad_id:
        assert answer.status in (404, 405, 422), answer  # not even the route's shape
    else:
        assert answer.status == 422, answer
        assert answer.problem[0] == "invalid_request"
        assert "must be 1-64 letters, digits or _.:-" in answer.problem[1]
    assert set(answer.body) == {"error", "reason"}


def test_an_id_sent_percent_encoded_is_the_same_id(frontend: Frontend) -> None:
    answer = frontend.get("/investors/inv%3A404")  # the gateway decodes it, as HTTP API does

    assert answer.status == 404
    assert answer.problem == ("unknown_investor", "no investor inv:404")


def test_an_escaped_slash_never_makes_another_route(
    frontend: Frontend, active_investor: dict[str, str]
) -> None:
    answer = frontend.get(f"/investors/{active_investor['investor_id']}%2Fportfolio")

    assert answer.status == 422
    assert "%2Fportfolio" in answer.problem[1]


def test_a_path_that_is_no_route_is_not_found(frontend: Frontend) -> None:
    answer = frontend.get("/investors")

    assert answer.status == 404
    assert answer.problem == ("unknown_route", "no route GET /investors")


def test_a_method_a_route_does_not_take_is_not_allowed(frontend: Frontend) -> None:
    answer = frontend.call("DELETE", "/investors/inv-1")

    assert answer.status == 405
    assert answer.headers["allow"] == "GET"
    assert answer.problem[0] == "method_not_allowed"


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), SECURED_ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-token", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "{token}"],
)
def test_every_route_but_the_document_needs_the_frontend_token(
    frontend: Frontend,
    frontend_events: Any,
    active_investor: dict[str, str],
    method: str,
    path: str,
    authorization: str | None,
) -> None:
    investor_id = active_investor["investor_id"]
    headers = {} if authorization is None else {"Authorization": authorization}
    headers = {k: v.replace("{token}", frontend.token) for k, v in headers.items()}

    answer = invoke(http_event(method, filled(path, investor_id), headers=headers))

    assert answer.status == 401
    assert answer.problem[0] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert frontend_events.events_for(investor_id=investor_id) == []


def test_unknown_routes_are_not_told_to_callers_without_the_token(frontend: Frontend) -> None:
    for path in ("/nothing-here", "/investors/a b"):
        answer = frontend.get(path, token=None)

        assert answer.status == 401


def test_the_scheme_is_case_insensitive_the_token_is_not(
    frontend: Frontend, platform: dict[str, Any]
) -> None:
    good = frontend.get("/instruments", headers={"authorization": f"bearer {frontend.token}"})
    bad = frontend.get("/instruments", token=frontend.token.swapcase())

    assert (good.status, bad.status) == (200, 401)


def test_the_token_is_read_from_secrets_manager_and_kept_five_minutes(
    frontend: Frontend, monkeypatch: pytest.MonkeyPatch, platform: dict[str, Any]
) -> None:
    from aws_lambda_powertools.utilities import parameters

    from lambdas.config import settings

    calls: list[tuple[str, Any]] = []
    real = parameters.get_secret

    def recording(name: str, **options: Any) -> Any:
        calls.append((name, options.get("max_age")))
        return real(name, **options)

    monkeypatch.setattr(parameters, "get_secret", recording)

    assert frontend.get("/instruments").status == 200
    assert calls == [(settings().frontend_api_secret, 300)]


# --- faults: 503 with Retry-After, never a made-up answer ---------------------------------------


def test_a_token_that_cannot_be_read_is_a_503(
    frontend: Frontend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    def unreadable(name: str, **options: Any) -> Any:
        raise GetParameterError("An error occurred (ThrottlingException)")

    monkeypatch.setattr(parameters, "get_secret", unreadable)

    answer = frontend.get("/instruments")

    assert answer.status == 503
    assert answer.problem[0] == "unavailable"
    assert answer.headers["retry-after"] == "5"
    assert frontend.get("/instruments", token=None).status == 401, "no token: no need to read it"


def test_an_unreachable_ledger_is_a_503(
    frontend: Frontend, active_investor: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.frontend import lookups
    from lambdas.ledger_adapter.client import LedgerClient

    monkeypatch.setattr(lookups, "ledger", lambda: LedgerClient("http://127.0.0.1:9"))

    answer = frontend.get(f"/investors/{active_investor['investor_id']}/portfolio")

    assert answer.status == 503
    assert answer.problem[0] == "unavailable" and "ledger" in answer.problem[1]
    assert answer.headers["retry-after"] == "5"


@pytest.mark.parametrize(
    ("code", "status"),
    [("ProvisionedThroughputExceededException", 503), ("ValidationException", 500)],
)
def test_dynamodb_throttling_is_a_503_and_a_refused_request_a_defect(
    frontend: Frontend, monkeypatch: pytest.MonkeyPatch, code: str, status: int
) -> None:
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import GetError

    from lambdas.records import investors as investor_records

    def failing(investor_id: str) -> Any:
        cause = ClientError({"Error": {"Code": code, "Message": "injected"}}, "GetItem")
        raise GetError("Failed to get item", cause)

    monkeypatch.setattr(investor_records, "find", failing)

    answer = frontend.get("/investors/inv-1")

    assert answer.status == status
    assert answer.problem[0] == {503: "unavailable", 500: "internal"}[status]
    assert ("retry-after" in answer.headers) == (status == 503)


def test_a_bus_that_does_not_take_the_event_is_a_503(
    frontend: Frontend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.errors import TransientFault
    from lambdas import platform_events

    investor_id = registered_investor("KYC_APPROVED")

    def failing(*args: Any, **kwargs: Any) -> str:
        raise TransientFault("EventBridge PutEvents WalletRequested: throttled")

    monkeypatch.setattr(platform_events, "publish", failing)

    answer = frontend.post(f"/investors/{investor_id}/wallet")

    assert answer.status == 503
    assert answer.headers["retry-after"] == "5"


def test_a_defect_is_a_500_in_the_same_shape(
    frontend: Frontend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.records import purchases as purchase_records

    def broken(purchase_id: str) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(purchase_records, "find", broken)

    answer = frontend.get("/purchases/purchase-1")

    assert answer.status == 500
    assert answer.problem == ("internal", "the platform failed; logged")


def test_an_answer_that_fails_its_own_model_is_ours_not_the_callers(aws: LocalAws) -> None:
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    from lambdas.frontend import faults

    answer = faults.invalid(
        RequestValidationError([{"loc": ("response", "status"), "type": "enum", "msg": "x"}])
    )

    assert answer.status_code == 500
    assert answer.body == {"error": "internal", "reason": "the platform failed; logged"}


def test_a_body_that_is_not_text_is_refused_as_the_callers_not_a_defect(
    frontend: Frontend, active_investor: dict[str, str]
) -> None:
    """API Gateway base64-encodes a binary body; a route with a body model would fail to
    decode it (a bad-input run found the 500)."""
    path = f"/investors/{active_investor['investor_id']}/withdrawals"
    answer = frontend.post(path, body=b"\x1a)\n\xb2", headers={"Content-Type": "application/json"})

    assert (answer.status, answer.problem[0]) == (422, "invalid_request")
    assert "not UTF-8" in answer.problem[1]
    text = frontend.post(path, body='{"amount": "1.00"}', headers={"Content-Type": "text/plain"})
    assert (text.status, text.problem[0]) == (415, "unsupported_media_type")
