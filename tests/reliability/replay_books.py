"""What a window of the platform left behind, read where it lives: the validated ledger (every
transaction of every ledger closed since), every table, the payment provider stand-in and the
frontend receiver. Two readings compare whole; one reading is checked for anything done twice."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from xrpl.models.requests import Ledger

from domain.events import FOR_THE_FRONTEND, FOR_THE_PROVIDER, OPERATOR_RESENDS
from local.aws.platform import LocalAws
from tests.reliability.replay_bus import BusCopies, Pair

FRONTEND_PAIRS = frozenset((p.source, t) for p in FOR_THE_FRONTEND for t in p.detail_types)
PROVIDER_PAIRS = frozenset(
    (p.source, t) for p in (*FOR_THE_PROVIDER, *OPERATOR_RESENDS) for t in p.detail_types
)
# What differs between two signings of one transaction: never what it does.
SIGNING_FIELDS = frozenset(
    {"Sequence", "TicketSequence", "Fee", "LastLedgerSequence", "SigningPubKey",
     "TxnSignature", "date", "ledger_index", "hash", "ctid", "inLedger"}
)  # fmt: skip
PLUMBING = frozenset({"TicketCreate"})  # the pools refill on their own: not an effect
# When a record was last written: a duplicate answer writes the same again (records/purchases).
TOUCHED = frozenset({"updated_at"})
REFUSED_BY_PROVIDER = frozenset({409, 422})  # a key used for another order; an invalid order


@dataclass(frozen=True)
class Window:
    started: float  # a whole second: a replay is asked for in whole seconds
    first_ledger: int


def open_window(client: Any) -> Window:
    """From the next whole second and the next ledger: what came before stays out of it."""
    time.sleep(1.02 - time.time() % 1)
    return Window(float(int(time.time())), client.validated_ledger_index() + 1)


def ledger_transactions(client: Any, first: int) -> list[dict[str, Any]]:
    """Every transaction of every validated ledger from `first` on."""
    found: list[dict[str, Any]] = []
    for index in range(first, client.validated_ledger_index() + 1):
        answer = client.request(Ledger(ledger_index=index, transactions=True, expand=True))
        found += answer["ledger"].get("transactions", [])
    return found


def what_it_does(tx: dict[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in tx["tx_json"].items() if k not in SIGNING_FIELDS}, sort_keys=True
    )


def done_twice(transactions: list[dict[str, Any]]) -> list[str]:
    """Successful transactions that do exactly what another one did."""
    effects = Counter(
        what_it_does(tx)
        for tx in transactions
        if tx["meta"]["TransactionResult"] == "tesSUCCESS"
        and tx["tx_json"]["TransactionType"] not in PLUMBING
    )
    return [f"{n} times: {effect}" for effect, n in effects.items() if n > 1]


@dataclass(frozen=True)
class Books:
    transactions: tuple[str, ...]  # hashes of what validated in the window
    records: dict[str, dict[str, str]]  # every item of every table, by key
    provider_actions: tuple[tuple[str, str, str, int], ...]  # key, reference, amount, answers
    provider_requests: int
    frontend_deliveries: int
    bus_originals: int

    def differences(self, later: Books) -> list[str]:
        found = [
            f"{name}: {getattr(self, name)!r} -> {getattr(later, name)!r}"[:800]
            for name in ("transactions", "provider_actions", "provider_requests",
                         "frontend_deliveries", "bus_originals")
            if getattr(self, name) != getattr(later, name)
        ]  # fmt: skip
        for table in sorted(set(self.records) | set(later.records)):
            before, after = self.records.get(table, {}), later.records.get(table, {})
            found += changed_items(table.rsplit("-", 1)[-1], before, after)
        return found


def read_books(aws: LocalAws, client: Any, window: Window, copies: BusCopies) -> Books:
    provider, frontend, first = aws.provider, aws.notifications, window.first_ledger
    assert provider is not None and frontend is not None
    return Books(
        transactions=tuple(sorted(t["hash"] for t in ledger_transactions(client, first))),
        records=every_item(aws),
        provider_actions=tuple(
            sorted(
                (a.key, a.business_reference, str(a.amount), len(a.webhooks))
                for a in provider.actions()
                if a.time >= window.started
            )
        ),
        provider_requests=sum(r.time >= window.started for r in provider.requests()),
        frontend_deliveries=sum(r.time >= window.started for r in frontend.received()),
        bus_originals=len(copies.originals),
    )


def every_item(aws: LocalAws) -> dict[str, dict[str, str]]:
    """Each table's items by key, each as JSON; not the investors' audit trail, which logs
    every decision that arrives, a repeat too ("KYC decision again: nothing new")."""
    from lambdas.records.tables import AuditRecord

    dynamodb, trail = aws.client("dynamodb"), AuditRecord.Meta.table_name
    found = {}
    for table in dynamodb.list_tables()["TableNames"]:
        if table == trail:
            continue
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        keys = [k["AttributeName"] for k in schema]
        found[table] = {
            json.dumps([item[k] for k in keys]): json.dumps(item, sort_keys=True, default=str)
            for page in dynamodb.get_paginator("scan").paginate(TableName=table)
            for item in page["Items"]
        }
    return found


def changed_items(table: str, before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Items added, removed or changed, with the attributes that changed."""
    found = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        was, now = json.loads(before.get(key, "{}")), json.loads(after.get(key, "{}"))
        diff = {n: (was.get(n), now.get(n)) for n in was.keys() | now.keys()}
        changed = {n: pair for n, pair in diff.items() if pair[0] != pair[1] and n not in TOUCHED}
        if changed:
            found.append(f"{table} {key}: {changed}"[:700])
    return found


# --- once: each check returns what it found wrong ------------------------------------------------


def published_again(copies: BusCopies) -> list[str]:
    """Events the platform put twice, alike: two copies of one trigger racing both publish
    (notify checks, puts, then records). Not an effect: what consumes them deduplicates, and
    the checks of the effects say whether it did."""
    counted = Counter(
        (e.source, e.detail_type, json.dumps(e.detail, sort_keys=True)) for e in copies.originals
    )
    return [f"{n} times: {key}"[:600] for key, n in counted.items() if n > 1]


def frontend_told(aws: LocalAws, window: Window, copies: BusCopies) -> list[str]:
    """The frontend gets each notification put on the bus (a copy too: it deduplicates on the
    detail), only those the catalogue names for it, and never a replay."""
    assert aws.notifications is not None
    got = Counter(
        str(r.body.get("id")) if isinstance(r.body, dict) else "?"
        for r in aws.notifications.received()
        if r.time >= window.started
    )
    wanted = Counter(e.event_id for e in copies.delivered() if e.pair in FRONTEND_PAIRS)
    named = {e.event_id: f"{e.source} {e.detail_type}" for e in copies.events()}
    return [
        f"frontend got {named.get(event_id, event_id)} {got[event_id]} times, "
        f"expected {wanted[event_id]}"
        for event_id in got | wanted
        if got[event_id] != wanted[event_id]
    ]


def provider_asked(aws: LocalAws, window: Window, copies: BusCopies) -> list[str]:
    """Each request put on the bus reaches the provider (copies too: it deduplicates on the
    idempotency key), none from a replay; one action per payout or refund, none refused."""
    provider = aws.provider
    assert provider is not None
    asked = [r for r in provider.requests() if r.time >= window.started]
    wanted = sum(e.pair in PROVIDER_PAIRS for e in copies.delivered())
    problems = [f"provider answered {r.status}: {r.body}"[:400] for r in asked
                if r.status in REFUSED_BY_PROVIDER]  # fmt: skip
    if len(asked) != wanted:
        problems.append(f"provider got {len(asked)} requests, {wanted} put on the bus")
    acted = Counter(a.business_reference for a in provider.actions() if a.time >= window.started)
    return problems + [f"provider acted {n} times on {ref}" for ref, n in acted.items() if n > 1]


def not_seen(copies: BusCopies, covers: tuple[Pair, ...]) -> list[str]:
    """Each pair the scenario claims: put on the bus by the platform, and copied."""
    originals = {e.pair for e in copies.originals}
    copied = {e.pair for e in copies.copies}
    return [f"{pair} never put" if pair not in originals else f"{pair} never copied"
            for pair in covers if pair not in originals or pair not in copied]  # fmt: skip


def executions_since(aws: LocalAws, since: float) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    found = []
    for name, arn in aws.stack.outputs.items():
        if name.endswith("StateMachineArn"):
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                found += [e for e in page["executions"] if e["startDate"].timestamp() >= since]
    return found


def ended_badly(aws: LocalAws, runs: list[dict[str, Any]], allowed: frozenset[str]) -> list[str]:
    """Executions that neither succeeded nor failed as the scenario means them to."""
    sfn = aws.client("stepfunctions")
    problems = []
    for run in runs:
        if run["status"] == "SUCCEEDED":
            continue
        found = sfn.describe_execution(executionArn=run["executionArn"])
        if found["status"] != "FAILED" or found.get("error") not in allowed:
            what = f"{found['status']} {found.get('error')}: {found.get('cause')}"
            problems.append(f"{run['executionArn'].rsplit(':', 2)[-2]} {what}"[:600])
    return problems
