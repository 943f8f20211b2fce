"""Reliability: generated webhook requests and frontend API calls, good and bad, get no 5xx;
every webhook request is kept with its outcome and reason, every refusal is explained.

Requests come in families: one per frontend route, per webhook door and provider event, per
Adyen event code, each read from the code (tests/reliability/bad_input_routes.py), and each
gets an equal share of a run, so every one is sent at any scale; a test fails if the code has
one the harness does not send. Each run counts every request instead of stopping at the first
bad one, records the figures, then asserts. Each family has its own fixed seed, so a run
repeats in CI."""

from __future__ import annotations

import json
import math
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from local.aws.platform import LocalAws
from local.payment_provider import PaymentProvider
from tests.frontend.conftest import (  # noqa: F401 (fixtures)
    bought,
    frontend,
    frontend_token,
    openapi,
    registered_investor,
)
from tests.reliability import adyen_requests, http_client
from tests.reliability import bad_input_routes as exposed
from tests.reliability import frontend_calls as calls
from tests.reliability import webhook_requests as webhooks
from tests.reliability.report import FULL, record, scale
from tests.reliability.tally import Tally
from tests.support.bus import SeenEvents, watching_bus

WEBHOOKS = scale(300, 10_000)
WEBHOOKS_OVER_HTTP = scale(40, 1_000)
CALLS = scale(300, 10_000)
CALLS_OVER_HTTP = scale(40, 1_000)

Case = TypeVar("Case")


def run_generated(
    strategy: st.SearchStrategy[Case], examples: int, each: Callable[[Case], None], name: str
) -> None:
    """`each` on `examples` generated cases, seeded by `name`; it counts problems rather than
    raising, so the run covers them all (no shrinking: the tally keeps the first few)."""

    @seed(zlib.crc32(name.encode()))
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Case) -> None:
        each(case)

    run()


def run_families(
    families: dict[str, st.SearchStrategy[Case]], examples: int, each: Callable[[Case], None]
) -> None:
    """At least `examples` cases in all, an equal share from each family."""
    share = math.ceil(examples / len(families))
    for name, strategy in families.items():
        run_generated(strategy, share, each, name)


def generated(families: dict[str, st.SearchStrategy[Case]], examples: int) -> list[Case]:
    """The cases a run of this size sends, without sending them."""
    cases: list[Case] = []
    run_families(families, examples, cases.append)
    return cases


def resent() -> int:
    """Requests the gateway throttled, sent again (tests/reliability/http_client.py): this
    process's so far."""
    return http_client.RESENT["after 429"]


# --- webhooks ----------------------------------------------------------------------------------


@pytest.fixture
def workflows_paused(aws: LocalAws) -> Iterator[None]:
    """The rules' Step Functions targets taken off while thousands of accepted webhooks go on
    the bus: the ingress is under test, and as many sagas would swamp the machine. The bus,
    its archive and the test's own watcher still get every event."""
    events, bus = aws.client("events"), aws.stack.output("EventBusName")
    paused: dict[str, list[dict[str, Any]]] = {}
    for rule in events.list_rules(EventBusName=bus)["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        workflows = [t for t in targets if ":states:" in t["Arn"]]
        if workflows:
            ids = [t["Id"] for t in workflows]
            events.remove_targets(Rule=rule["Name"], EventBusName=bus, Ids=ids)
            paused[rule["Name"]] = workflows
    assert paused, "no rule starts a workflow: the stack changed"
    try:
        yield
    finally:
        for rule_name, targets in paused.items():
            events.put_targets(Rule=rule_name, EventBusName=bus, Targets=targets)


@pytest.fixture
def bus(aws: LocalAws) -> Iterator[SeenEvents]:
    with watching_bus(aws, *exposed.webhook_sources()) as seen:
        yield seen


def webhook_key(aws: LocalAws, door: str) -> str:
    """The key the door's provider signs with, as the stack's secret holds it."""
    arn = aws.stack.output(f"{door.title()}WebhookSecretArn")
    return str(aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def webhook_keys(aws: LocalAws) -> dict[str, bytes]:
    return {door: webhook_key(aws, door).encode() for door in webhooks.PROVIDERS}


Sender = Callable[[str, list[tuple[str, str]], bytes], tuple[int, Any, str]]


def in_process(provider: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, Any, str]:
    request_id = uuid.uuid4().hex
    status, answer = webhooks.call_handler(provider, headers, body, request_id)
    return status, answer, request_id


def over_http(aws: LocalAws) -> Sender:
    api_url = aws.api_url
    assert api_url is not None

    def post(provider: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, Any, str]:
        return webhooks.post_over_http(api_url, f"/webhooks/{provider}", headers, body)

    return post


def send_webhook(
    case: webhooks.WebhookCase,
    keys: dict[str, bytes],
    sender: Sender,
    tally: Tally,
    used: set[str],
    provider: PaymentProvider,
) -> list[str]:
    """Send the case (twice if it is replayed); the event ids of what was accepted. `used` holds
    the signatures accepted so far: the same body signed in the same second signs the same.
    A payment the platform is to take is one the provider took first (its settlement report
    lists it, and the books reconcile): the harness captures it there, as the gateway."""
    headers = webhooks.headers_for(case, keys, webhooks.now())
    signature = {name.lower(): value for name, value in headers}.get("x-drexfy-signature", "")
    payment = webhooks.announced_payment(case)
    accepted = []
    for _ in range(2 if case.replayed else 1):
        expected = case.expected()
        if expected == 202 and signature in used:
            expected = 409
        if expected == 202 and payment and ANNOUNCED.get(payment[0], payment) != payment:
            expected = 409  # payment_conflict: its id was announced with other details
        if expected == 202 and payment:
            provider.capture(payment[0], payment[4], payment[5])
        status, answer, request_id = sender(case.provider, headers, case.body.raw)
        webhooks.judge(tally, case, status, answer, request_id, expected)
        if status == 202 and isinstance(answer, dict):
            used.add(signature)
            accepted.append(str(answer.get("event_id")))
            if payment:
                ANNOUNCED[payment[0]] = payment
    return accepted


def check_on_the_bus(tally: Tally, accepted: list[str], bus: SeenEvents) -> None:
    """An accepted webhook whose event never reached the bus is lost too."""
    seen = {event["id"] for event in bus.drain()}
    for event_id in accepted:
        if event_id not in seen:
            tally.problem("lost", f"accepted as {event_id}, never on the bus")


# Signatures the platform accepted in this process. Both webhook runs generate the same first
# cases (derandomized); sent within the same second they sign the same, and the second is a
# replay the platform rightly refuses.
ACCEPTED_SIGNATURES: set[str] = set()
# Payments the platform accepted (so announced) in this process, by id: the generator repeats
# ids ("0", "A"), and the same id with other details is refused as a payment_conflict.
ANNOUNCED: dict[str, tuple[Any, ...]] = {}


def run_webhooks(aws: LocalAws, bus: SeenEvents, examples: int, sender: Sender) -> Tally:
    tally, keys = Tally(webhooks.PROBLEMS), webhook_keys(aws)
    accepted: list[str] = []
    used = ACCEPTED_SIGNATURES  # the platform remembers them across runs, so must the judge
    assert aws.provider is not None
    provider = aws.provider
    run_families(
        webhooks.families(),
        examples,
        lambda case: accepted.extend(send_webhook(case, keys, sender, tally, used, provider)),
    )
    check_on_the_bus(tally, accepted, bus)
    return tally


def test_generated_webhooks_get_no_5xx_and_are_all_kept_with_a_reason(
    aws: LocalAws, platform: dict[str, Any], workflows_paused: None, bus: SeenEvents
) -> None:
    """`platform`: the catalogue is listed, so a valid payment for one of its instruments and
    within the per-purchase maximum is accepted, and any other is refused at the door (422)."""
    tally = run_webhooks(aws, bus, WEBHOOKS, in_process)

    passed = tally.passed and tally.requests >= WEBHOOKS
    record("bad input", "webhooks", passed, **tally.figures())
    assert tally.requests >= WEBHOOKS, tally.figures()
    assert tally.counts.get("accepted", 0) > tally.requests // 20, (
        tally.figures()
    )  # the mix is real
    if FULL:  # at the fast scale a few dozen valid payments may hold no unsold instrument:
        # the door's refusals are checked one by one in tests/ingress/test_webhooks.py
        assert tally.counts.get("refused_at_the_door", 0) > 0, tally.figures()
    assert passed, "\n".join([str(tally.figures()), *tally.problems])


def test_generated_webhooks_over_http_get_no_5xx_and_are_all_kept(
    aws: LocalAws, platform: dict[str, Any], workflows_paused: None, bus: SeenEvents
) -> None:
    tally = run_webhooks(aws, bus, WEBHOOKS_OVER_HTTP, over_http(aws))

    passed = tally.passed and tally.requests >= WEBHOOKS_OVER_HTTP
    record("bad input", "webhooks over HTTP", passed, **tally.figures(), resent_after_429=resent())
    assert passed, "\n".join([str(tally.figures()), *tally.problems])


# --- the frontend API --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known(bought: dict[str, Any]) -> list[str]:  # noqa: F811
    """Ids that exist: an investor with a purchase and holdings, its purchase, and investors
    without a wallet who may not request one (so no call starts a workflow but a Statements
    run, for last month's documents of the investor with a wallet)."""
    return [
        bought["investor_id"],
        bought["purchase_id"],
        registered_investor("PENDING"),
        registered_investor("BLOCKED"),
    ]


def run_calls(
    families: dict[str, st.SearchStrategy[calls.FrontendCall]],
    examples: int,
    answer: Callable[[calls.FrontendCall], calls.Answer],
    openapi: dict[str, Any],  # noqa: F811
) -> Tally:
    tally = Tally(calls.PROBLEMS)
    run_families(families, examples, lambda call: calls.judge(tally, call, answer(call), openapi))
    return tally


def test_generated_frontend_calls_get_no_5xx_and_every_refusal_has_a_reason(
    frontend_token: str,  # noqa: F811
    openapi: dict[str, Any],  # noqa: F811
    known: list[str],
) -> None:
    tally = run_calls(
        calls.families(known),
        CALLS,
        lambda call: calls.call_handler(call, calls.headers_for(call, frontend_token)),
        openapi,
    )

    passed = tally.passed and tally.requests >= CALLS
    record("bad input", "frontend API", passed, **tally.figures())
    assert tally.counts.get("answered_2xx", 0) > tally.requests // 20, tally.figures()
    assert passed, "\n".join([str(tally.figures()), *tally.problems])


def test_generated_frontend_calls_over_http_get_no_5xx(
    aws: LocalAws,
    frontend_token: str,  # noqa: F811
    openapi: dict[str, Any],  # noqa: F811
    known: list[str],
) -> None:
    # HEAD answers have no body to judge, and a lower-case method matches no route.
    http_methods = [m for m in calls.METHODS if m not in ("HEAD", "get")]
    api_url = aws.api_url
    assert api_url is not None
    tally = run_calls(
        calls.families(known, http_methods),
        CALLS_OVER_HTTP,
        lambda call: calls.call_over_http(api_url, call, calls.headers_for(call, frontend_token)),
        openapi,
    )

    passed = tally.passed and tally.requests >= CALLS_OVER_HTTP
    record(
        "bad input", "frontend API over HTTP", passed, **tally.figures(), resent_after_429=resent()
    )
    assert passed, "\n".join([str(tally.figures()), *tally.problems])


def test_generated_adyen_notifications_over_http_get_no_5xx_and_are_all_kept(
    aws: LocalAws, platform: dict[str, Any], workflows_paused: None
) -> None:
    key, tally = webhook_key(aws, adyen_requests.DOOR), Tally(adyen_requests.PROBLEMS)
    assert aws.api_url is not None

    provider = aws.provider
    assert provider is not None

    def each(case: adyen_requests.AdyenCase) -> None:
        body = case.body(key)
        for payment_id, amount, currency in adyen_requests.taken_by_the_provider(case):
            provider.capture(payment_id, amount, currency)  # as Adyen did, before telling us
        adyen_requests.judge(tally, case, body, adyen_requests.post(str(aws.api_url), body))

    run_families(adyen_requests.families(), WEBHOOKS_OVER_HTTP, each)

    passed = tally.passed and tally.requests >= WEBHOOKS_OVER_HTTP
    record(
        "bad input",
        "Adyen notifications over HTTP",
        passed,
        **tally.figures(),
        resent_after_429=resent(),
    )
    assert tally.counts.get("accepted", 0) > 0, tally.figures()
    assert passed, "\n".join([str(tally.figures()), *tally.problems])


# --- what the harness sends, against what the platform exposes ---------------------------------


def unsent_routes() -> list[str]:
    """Frontend routes no call of the in-process run is (method and path)."""
    routes = exposed.frontend_routes()
    sent = {
        exposed.route_of(routes, call.method, unquote(call.path))
        for call in generated(calls.families(["inv-1", "purchase-1"]), CALLS)
    }
    return [f"route {m} {t}" for m, t in routes if (m, t) not in sent]


def unsent_webhooks() -> list[str]:
    """Doors, formats, provider events (as valid bodies) and Adyen codes no request is."""
    doors = {*webhooks.PROVIDERS, adyen_requests.DOOR}
    cases = generated(webhooks.families(), WEBHOOKS)
    events = {json.loads(c.body.raw)["event"] for c in cases if c.body.valid}
    batches = generated(adyen_requests.families(), WEBHOOKS_OVER_HTTP)
    codes = {item["eventCode"] for batch in batches for item in batch.items}
    formats = {webhooks.FORMAT, adyen_requests.FORMAT}
    return [
        *(f"door {d}" for d in sorted(set(exposed.webhook_doors()) ^ doors)),
        *(f"format {f}" for f in sorted(exposed.webhook_formats() - formats)),
        *(f"event {e}" for e in sorted(exposed.provider_events() - events)),
        *(f"Adyen code {c}" for c in sorted(exposed.adyen_codes() - codes)),
    ]


def test_every_route_door_format_and_event_the_code_has_gets_generated_requests() -> None:
    """Read from cdk/api.py, the frontend's routes and OpenAPI document, lambdas/ingress/formats.py
    and domain/webhooks.py and domain/adyen.py: one the harness does not send fails this (a door
    the harness sends to that is not deployed too)."""
    unsent = unsent_routes() + unsent_webhooks()

    record(
        "bad input", "every route, door, format and event sent", not unsent,
        routes=len(exposed.frontend_routes()), doors=len(exposed.webhook_doors()),
        formats=len(exposed.webhook_formats()), events=len(exposed.provider_events()),
        adyen_codes=len(exposed.adyen_codes()), unsent=len(unsent),
    )  # fmt: skip
    assert unsent == []
