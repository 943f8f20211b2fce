"""Reliability: purchases, a distribution to many holders and withdrawals, all at once.

The issuer and the company sign for all three at the same time (mints and deliveries, the
coupons, redemptions), on a ledger that closes on a clock as the network's does. Everything must
end (DELIVERED, PAID, PAID_OUT) with 0 sequence errors, counted from what the ledger itself
answered each submit, and the validated ledger must agree with the records both ways."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from local.ledger_server.audit import SubmissionTally
from tests.frontend.gateway import Frontend
from tests.reliability import mixed_load_audit as audit
from tests.reliability.replay_bus import settle
from tests.reliability.replay_scenarios import run_distribution
from tests.reliability.report import keep_detail, record, scale
from tests.reliability.test_duplicates_and_load import (
    deliver,
    ledger_rounds,  # noqa: F401 (the ledger's clock, a fixture)
    onboard_investors,
    purchase_executions,
    purchase_records,
    resigned,
)
from tests.reliability.test_duplicates_and_load import settle as purchases_settled
from tests.servicing.conftest import finished, fund_company, new_instrument
from tests.support.reconciliation import provider_done
from tests.support.waiting import wait_for
from tests.withdrawals.conftest import kyc_approved
from tests.workflows.conftest import payment

# Quarterly from 2026-04-21, paid automatically, on dates no other test's instrument pays on:
# the first coupon funds the withdrawals, the second is paid during the load.
TERMS = {
    "issue_date": "2026-04-21", "maturity": "2027-04-21", "payments_per_year": 4,
    "pays_automatically": True,
}  # fmt: skip
FIRST, SECOND = "2026-07-21", "2026-10-21"
UNITS = 4  # each holder's: a coupon of 5.04 EUR
WITHDRAWN = "2.00"
# The set-up buys before the ledger's clock starts (each Wait closes a ledger at once): more
# than a Ticket pool's worth at once would expire transactions no real ledger would.
SETUP_BATCH = 20
TIMEOUT = scale(300, 3600)


@dataclass
class Load:
    instrument: str
    holders: dict[str, str]  # investor id -> wallet address
    withdrawers: list[str]
    buyers: dict[str, str]
    payments: list[dict[str, Any]]


@pytest.fixture
def load(aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]) -> Load:
    """Holders bought the instrument and were paid its first coupon; the buyers are onboarded.
    Made before the ledger's clock starts (a test asks for it first): each Wait closes a ledger
    at once, as no load needs a clock for."""
    instrument = new_instrument(platform, ledger, "LOD", **TERMS)
    holders = dict(kyc_approved(ledger) for _ in range(scale(6, 200)))
    bought = [payment(i, instrument_id=instrument, units=UNITS, amount=f"{100 * UNITS}.00")
              for i in holders]  # fmt: skip
    for start in range(0, len(bought), SETUP_BATCH):
        batch = bought[start : start + SETUP_BATCH]
        before = {e["executionArn"] for e in purchase_executions(aws)}
        deliver(aws, batch)
        purchases_settled(aws, before, len(batch))
    undelivered = [r.purchase_id for r in purchase_records(bought) if r.status != "DELIVERED"]
    assert not undelivered, f"the set-up's purchases were not all delivered: {undelivered}"
    fund_company(aws, Decimal(3 * UNITS * len(holders)))  # two coupons of 1.26 a unit, and more
    paid = paid_on(aws, instrument, FIRST)
    assert paid["status"] == "SUCCEEDED", paid
    buyers = onboard_investors(ledger, scale(3, 25))
    payments = [
        payment(b.investor_id, units=u, amount=f"{100 * u}.00")
        for b in buyers
        for u in range(1, scale(6, 100) // len(buyers) + 1)
    ]
    withdrawers = list(holders)[: scale(3, 50)]
    return Load(instrument, holders, withdrawers, {b.investor_id: b.address for b in buyers},
                payments)  # fmt: skip


def paid_on(aws: LocalAws, instrument: str, day: str) -> dict[str, Any]:
    run_distribution(aws, instrument, day)
    return finished(aws, f"{instrument}-{day}", timeout=TIMEOUT)


def withdraw(frontend: Frontend, investor_id: str) -> str:
    answer = frontend.post(
        f"/investors/{investor_id}/withdrawals",
        body=json.dumps({"amount": WITHDRAWN}),
        headers={"Idempotency-Key": f"load-{investor_id}"},
    )
    assert answer.status == 202, answer
    return str(answer.body["withdrawal_id"])


def at_once(aws: LocalAws, frontend: Frontend, load: Load) -> list[str]:
    """The payments on the bus, the distribution started and each withdrawal asked for, all
    from their own threads at the same time; the withdrawals' ids."""
    jobs: list[Callable[[], Any]] = [
        lambda: deliver(aws, load.payments),
        lambda: run_distribution(aws, load.instrument, SECOND),
        *(partial(withdraw, frontend, investor_id) for investor_id in load.withdrawers),
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        started = [pool.submit(job) for job in jobs]
    return [str(s.result()) for s in started[2:]]


def settled(aws: LocalAws, since: float) -> None:
    """Nothing runs, and the provider has no answer left to retry: the webhook door throttles
    under this load, and a payout's answer that got through late starts its Settlement then."""
    while True:
        settle(aws, since, timeout=TIMEOUT)
        if provider_done(aws):
            return
        wait_for(lambda: provider_done(aws), timeout=TIMEOUT, interval=0.5)


def failed_runs(aws: LocalAws, since: float) -> list[str]:
    """Each execution that did not succeed: its workflow, name, error and cause."""
    from tests.reliability.replay_books import ended_badly, executions_since

    return ended_badly(aws, executions_since(aws, since), allowed=frozenset())


def by_error(failed: list[str]) -> dict[str, int]:
    """How many failed runs each workflow and error account for."""
    counts: dict[str, int] = {}
    for line in failed:
        workflow, _, what = line.partition(" ")
        key = f"{workflow} {what.split(':')[0]}"  # the state machine, status and error
        counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass(frozen=True)
class Ended:
    as_wanted: bool  # every purchase DELIVERED, the distribution PAID to all, all PAID_OUT
    delivered: int
    holders_paid: int
    paid_out: int
    ledger_payments: int
    mismatches: list[str]  # the validated ledger against the records
    bought: list[Any]  # the purchase records, as read once for all of the above
    asked: list[Any]  # the withdrawal records, likewise


def ended(aws: LocalAws, platform: dict[str, Any], load: Load, ids: list[str], first: int) -> Ended:
    from lambdas.records import distributions, withdrawals
    from lambdas.records.tables import PurchaseRecord

    accounts = platform["accounts"]
    bought = list(PurchaseRecord.batch_get([_purchase_id(p) for p in load.payments]))
    distribution = finished(aws, f"{load.instrument}-{SECOND}")
    report = json.loads(distribution.get("output") or "{}") or {
        "status": f"{distribution['status']} {distribution.get('error')}", "paid_holders": 0,
    }  # fmt: skip
    paid = [p for p in distributions.entitlements(f"{load.instrument}:{SECOND}") if p.tx_hash]
    asked = [w for w in (withdrawals.find(i) for i in ids) if w is not None]
    investors = {**load.holders, **load.buyers}
    recorded = (
        audit.purchases_recorded(bought, accounts)
        + audit.entitlements_recorded(paid, accounts)
        + audit.withdrawals_recorded(asked, investors, accounts)
    )
    moves = audit.ledger_moves(platform["client"], first, set(investors.values()))
    delivered = sum(r.status == "DELIVERED" for r in bought)
    paid_out = sum(w.status.value == "PAID_OUT" for w in asked)
    outcome = (delivered, report["status"], report["paid_holders"], paid_out)
    wanted = (len(load.payments), "PAID", len(load.holders), len(ids))
    return Ended(outcome == wanted, delivered, len(paid), paid_out, len(moves),
                 audit.mismatches(moves, recorded), bought, asked)  # fmt: skip


def test_purchases_a_distribution_and_withdrawals_at_once(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any], load: Load,
    ledger_rounds: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    token = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.stack.output("FrontendApiSecretArn")
    )["SecretString"]
    monkeypatch.setattr(ledger.chain, "submit", ledger.chain.submit)  # the tally's, undone after
    tally, accounts = SubmissionTally(ledger.chain), platform["accounts"]
    first, since = platform["client"].validated_ledger_index() + 1, datetime.now(UTC)
    started, clock = time.time(), time.monotonic()

    ids = at_once(aws, Frontend(token), load)
    settled(aws, started)
    seconds = int(time.monotonic() - clock)

    end = ended(aws, platform, load, ids, first)
    signers = {*accounts.roles().values(), *load.holders.values(), *load.buyers.values()}
    error_list, resend_list = tally.sequence_error_list(signers, ledger.rpc_url)
    errors, resends = len(error_list), len(resend_list)
    again, failed = resigned(since), failed_runs(aws, started)
    keep_detail("mixed-load", detail(aws, end, error_list, failed))
    record(
        "load",
        f"{len(load.payments)} purchases, a distribution to {len(load.holders)} holders and "
        f"{len(ids)} withdrawals at once",
        end.as_wanted and not (end.mismatches or errors or again or failed),
        purchases=len(load.payments), delivered=end.delivered, holders=len(load.holders),
        holders_paid=end.holders_paid, withdrawals=len(ids), paid_out=end.paid_out,
        sequence_errors=errors + len(again), resends_of_validated_blobs=resends,
        ledger_payments=end.ledger_payments, audit_mismatches=len(end.mismatches),
        failed_executions=len(failed), seconds=seconds, failed_by_error=by_error(failed),
    )  # fmt: skip
    assert end.as_wanted, (end, by_error(failed), failed[:10])
    assert failed == [], "\n".join(failed[:20])
    assert errors == 0, tally.unsuccessful(signers)
    assert again == [], "re-signed after expiry or a lost Sequence"
    assert end.mismatches == [], "\n".join(end.mismatches[:20])


def detail(aws: LocalAws, end: Ended, errors: list[Any], failed: list[str]) -> dict[str, object]:
    """Everything that did not end as wanted, each named, for reading after a failed run."""
    from lambdas.records.tables import SubmissionRecord

    by_hash = {s.tx_hash: s.business_key for s in SubmissionRecord.scan() if s.tx_hash}
    attempts = _webhook_attempts(aws)
    return {
        "mismatches": end.mismatches,
        "sequence_errors": [(*e, by_hash.get(e[0])) for e in errors],
        "failed_executions": failed,
        "purchases_not_delivered": [
            (r.purchase_id, r.status, r.reason) for r in end.bought if r.status != "DELIVERED"
        ],
        "withdrawals_not_paid_out": [
            (w.withdrawal_id, w.status.value) for w in end.asked if w.status.value != "PAID_OUT"
        ],
        "provider_webhooks_never_delivered": {
            reference: tried
            for reference, tried in attempts.items()
            if not any(w["delivered"] for w in tried)
        },
    }


def _webhook_attempts(aws: LocalAws) -> dict[str, list[dict[str, Any]]]:
    """Each provider order's webhook attempts, by the order's reference (withdrawal, purchase)."""
    found: dict[str, list[dict[str, Any]]] = {}
    provider = aws.provider
    if provider is None:
        return found
    reference = {a.key: a.business_reference for a in provider.actions()}
    for attempt in provider.webhooks():
        if attempt.key in reference:
            found.setdefault(reference[attempt.key], []).append(attempt.to_json())
    return found


def _purchase_id(detail: dict[str, Any]) -> str:
    from domain.purchase import purchase_id_for

    return purchase_id_for(detail["payment_id"])
