"""Reliability: every detail type a rule of the deployed bus routes, duplicated and replayed.

Each scenario runs a real flow (a payment, a withdrawal, a KYC decision, a maturity, an
operator's command...) while every event it puts on the bus is put a second time as soon as it
is seen, as at-least-once delivery may; then the archive's window is replayed over it. Its effect
must happen once: one transaction of each kind on the validated ledger, one action per payout or
refund at the provider, the records as the flow left them. The frontend and the provider get each
copy put on the bus (they deduplicate on the detail) and never a replay. The list of detail types
comes from the deployed stack's rules: a rule without a scenario fails the completeness case."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.frontend.gateway import Frontend
from tests.investors.conftest import drexfy_ops  # noqa: F401 (the operators' tool, a fixture)
from tests.reliability import replay_books as books
from tests.reliability.replay_bus import (
    BusCopies,
    deployed_routes,
    duplicating_every_event,
    settle,
)
from tests.reliability.replay_scenarios import (
    HOLDERS_NEEDED,
    SCENARIOS,
    Ctx,
    Scenario,
)
from tests.reliability.report import record
from tests.servicing.conftest import ledger_closing_on_waits
from tests.support.bus import replay_archive

CATEGORY = "duplicates and replay"
# What these found in the platform (not in the harness); strict: a fix makes them pass, and
# then fail here until the mark is taken off.


@pytest.fixture(scope="module")
def ctx(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any],
    drexfy_ops: Callable[..., Any],  # noqa: F811
) -> Iterator[Ctx]:  # fmt: skip
    from tests.reliability.replay_scenarios import funded_holders

    token = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )["SecretString"]
    with ledger_closing_on_waits(ledger):
        holders = funded_holders(aws, ledger, platform, HOLDERS_NEEDED)
    yield Ctx(aws, ledger, platform, Frontend(token), drexfy_ops, holders)


def test_every_detail_type_a_rule_routes_has_a_scenario(aws: LocalAws) -> None:
    routes = deployed_routes(aws)
    covered = {pair for scenario in SCENARIOS for pair in scenario.covers}
    missing = [
        f"{route.rule}: {detail_type}"
        for route in routes
        for detail_type in route.detail_types
        if not any(route.matches(*pair) for pair in covered if pair[1] == detail_type)
    ]
    unrouted = [pair for pair in covered if not any(r.matches(*pair) for r in routes)]
    replayed_outside = [r.rule for r in routes if r.outside and not r.skips_replays]
    record(
        CATEGORY, "every detail type routed by the deployed bus has a duplicate-and-replay case",
        not (missing or unrouted or replayed_outside) and bool(routes),
        rules=len(routes), detail_types=sum(len(r.detail_types) for r in routes),
        pairs_covered=len(covered), without_a_case=len(missing),
    )  # fmt: skip
    assert routes, "no rule routes by detail type: the stack changed"
    assert missing == [], "a rule routes these detail types and no scenario puts them"
    assert unrouted == [], "a scenario claims what no rule routes"
    assert replayed_outside == [], "these rules deliver replays outside the platform"


@pytest.mark.parametrize("kind", [pytest.param(s, id=s.__name__) for s in SCENARIOS])
def test_each_event_duplicated_then_replayed_has_its_effect_once(
    ctx: Ctx, kind: type[Scenario]
) -> None:
    scenario, aws, client = kind(), ctx.aws, ctx.platform["client"]
    prepared = time.time()
    scenario.prepare(ctx)
    settle(aws, prepared)
    window, clock = books.open_window(client), time.monotonic()
    with duplicating_every_event(aws) as copies:
        ctx.window = window
        ctx.settle = lambda: settle(aws, window.started, copies)
        scenario.act(ctx)
        ctx.settle()
        once, problems = duplicated(ctx, scenario, window, copies)
        again, after = replayed(ctx, scenario, window, copies)
    wrong_after = once.differences(again) + after
    runs = books.executions_since(aws, window.started)
    record(
        CATEGORY, f"{scenario.name}: every event put twice, then the window replayed",
        not (problems or wrong_after),
        events=len(copies.originals), copies=len(copies.copies), replayed=len(copies.replayed),
        executions=len(runs), ledger_transactions=len(once.transactions),
        frontend_deliveries=once.frontend_deliveries, provider_requests=once.provider_requests,
        published_again=len(books.published_again(copies)), problems=len(problems),
        changed_by_the_replay=len(wrong_after),
        seconds=int(time.monotonic() - clock),
    )  # fmt: skip
    assert problems == [], "\n".join(["the duplicates did something twice:", *problems])
    assert wrong_after == [], "\n".join(["the replay changed something:", *wrong_after])


def duplicated(
    c: Ctx, scenario: Scenario, window: books.Window, copies: BusCopies
) -> tuple[books.Books, list[str]]:
    """The books once every event was put twice, and what was done twice or not at all."""
    with copies.lock:
        copies.duplicating = False  # from here on, anything the platform puts is counted
    once = books.read_books(c.aws, c.platform["client"], window, copies)
    runs = books.executions_since(c.aws, window.started)
    problems = (
        books.not_seen(copies, scenario.covers)
        + books.done_twice(c.transactions())
        + books.frontend_told(c.aws, window, copies)
        + books.provider_asked(c.aws, window, copies)
        + books.ended_badly(c.aws, runs, scenario.failures)
        + scenario.check(c)
    )
    return once, problems


def replayed(
    c: Ctx, scenario: Scenario, window: books.Window, copies: BusCopies
) -> tuple[books.Books, list[str]]:
    """The books after the window's replay, and what went wrong running it."""
    archived = len(copies.originals) + len(copies.copies)
    replay_archive(c.aws, window.started, int(time.time()) + 2)
    c.settle()
    again = books.read_books(c.aws, c.platform["client"], window, copies)
    runs = books.executions_since(c.aws, window.started)
    problems = books.ended_badly(c.aws, runs, scenario.failures)
    if len(copies.replayed) != archived:
        problems.append(f"{len(copies.replayed)} events replayed of {archived} archived")
    return again, problems + scenario.check(c)
