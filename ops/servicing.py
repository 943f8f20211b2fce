"""Servicing for operators: `drexfy-ops distributions`, `distribution ID [approve|run]` (what
an operator watches, approves and, after a reinstatement or a failure, runs again), and
`instrument ID [write-down ...]` (an instrument's cash flows, and a credit loss recorded).

`run` starts the distribution's workflow once more: it pays whoever is still owed (the held
amount of a holder reinstated since, a payment a failure interrupted) and nobody twice, since
every payment is kept under its business key (lambdas/servicing/distributions.py).
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.events import OPERATOR_WRITE_DOWNS
from ops.output import emit, table

if TYPE_CHECKING:
    from ops.cli import Platform


def distributions(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("distributions")
    from lambdas.records import distributions as records

    rows = [
        {
            "distribution": d.distribution_id,
            "status": d.status.value,
            "holders": d.holders,
            "units": d.units,
            "total": str(d.total),
            "approved_by": d.approved_by or "",
        }
        for d in records.every()
        if args.status is None or d.status.value == args.status
    ]
    columns = ["distribution", "status", "holders", "units", "total", "approved_by"]
    emit(args, rows, table(rows, columns))
    return 0


def distribution(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("distribution")
    from lambdas.records import distributions as records

    state = records.find(args.distribution_id)
    if state is None:
        print(f"no distribution {args.distribution_id}", file=args.out)
        return 2
    if args.action == "approve":
        return _approve(platform, args, state.awaiting_token)
    if args.action == "run":
        return _run(platform, args, state.instrument_id, state.payment_date.isoformat())
    payments = [
        {
            "investor": p.investor_id,
            "units": p.units,
            "coupon": str(p.coupon),
            "principal": str(p.principal),
            "status": p.status.value,
            "tx_hash": p.tx_hash or "",
        }
        for p in records.entitlements(args.distribution_id)
    ]
    summary = state.summary()
    text = "\n\n".join(
        [
            "\n".join(f"{k}: {v}" for k, v in summary.items() if v is not None),
            table(payments, ["investor", "units", "coupon", "principal", "status", "tx_hash"]),
        ]
    )
    emit(args, {**summary, "holders": payments}, text)
    return 0


def _approve(platform: Platform, args: argparse.Namespace, token: str | None) -> int:
    if token is None:
        print(f"{args.distribution_id} is not waiting for an approval", file=args.out)
        return 1
    approved_by = platform.operator.acting_as
    platform.client("stepfunctions").send_task_success(
        taskToken=token, output=json.dumps({"approved_by": approved_by})
    )
    emit(args, {"approved_by": approved_by}, f"{args.distribution_id}: approved by {approved_by}")
    return 0


def _run(platform: Platform, args: argparse.Namespace, instrument_id: str, day: str) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    started = platform.client("stepfunctions").start_execution(
        stateMachineArn=platform.outputs["DistributionStateMachineArn"],
        name=f"{instrument_id}-{day}-run-{stamp}",
        input=json.dumps({"instrument_id": instrument_id, "payment_date": day}),
    )
    arn = started["executionArn"]
    emit(args, {"execution": arn}, f"{args.distribution_id}: running again as {arn}")
    return 0


def instrument(platform: Platform, args: argparse.Namespace) -> int:
    if args.action == "write-down":
        return _write_down(platform, args)
    platform.configure_lambda_code("instrument")
    from domain.cash_flows import schedule
    from lambdas.records import instruments

    listed = instruments.find(args.instrument_id)
    if listed is None or listed.terms is None:
        print(f"no instrument {args.instrument_id} with terms", file=args.out)
        return 2
    periods = [
        {
            "payment_date": p.payment_date.isoformat(),
            "outstanding": str(p.outstanding_per_unit),
            "coupon": str(p.coupon_per_unit),
            "principal": str(p.principal_per_unit),
            "written_down": str(p.written_down_per_unit),
        }
        for p in schedule(listed.terms, listed.write_downs)
    ]
    write_downs = [w.as_json() for w in listed.write_downs]
    columns = ["payment_date", "outstanding", "coupon", "principal", "written_down"]
    emit(args, {"periods": periods, "write_downs": write_downs}, table(periods, columns))
    return 0


def _write_down(platform: Platform, args: argparse.Namespace) -> int:
    """Put on the bus, as block and unblock are: the WriteDown workflow checks and records it,
    or fails with the reason (watch it with --wait)."""
    platform.require("instrument write-down")
    if not args.per_unit or not args.reason:
        print("a write-down needs --per-unit and --reason", file=args.out)
        return 2
    detail = {
        "write_down_id": f"wd-{uuid.uuid4().hex[:10]}",
        "instrument_id": args.instrument_id,
        "on": args.on or datetime.now(UTC).date().isoformat(),
        "per_unit": str(Decimal(args.per_unit)),
        "reason": args.reason,
        "operator": platform.operator.acting_as,
    }
    result = platform.client("events").put_events(
        Entries=[
            {
                "Source": OPERATOR_WRITE_DOWNS.source,
                "DetailType": OPERATOR_WRITE_DOWNS.detail_types[0],
                "EventBusName": platform.outputs["EventBusName"],
                "Detail": json.dumps(detail),
            }
        ]
    )
    event_id = result["Entries"][0].get("EventId")
    text = f"write-down {detail['write_down_id']} of {args.instrument_id}: event {event_id}"
    emit(args, {**detail, "event_id": event_id}, text)
    return 0 if not result.get("FailedEntryCount") else 1


def add_commands(command: Any) -> None:
    listing = command("distributions", "distributions: status, holders, totals, approvals")
    listing.add_argument("--status", help="only this status (e.g. AWAITING_APPROVAL)")
    listing.set_defaults(run=distributions)
    one = command("distribution", "one distribution: holders, amounts, hashes; approve; run")
    one.add_argument("distribution_id", help="<instrument>:<payment date>")
    one.add_argument(
        "action",
        nargs="?",
        choices=["show", "approve", "run"],
        default="show",
        help="approve the totals; run again (pays held amounts of reinstated holders)",
    )
    one.set_defaults(run=distribution)
    held = command("instrument", "an instrument's cash flows; record a write-down")
    held.add_argument("instrument_id")
    held.add_argument("action", nargs="?", choices=["show", "write-down"], default="show")
    held.add_argument("--per-unit", help="write-down: the nominal lost per unit, e.g. 12.50")
    held.add_argument("--on", help="write-down: effective date (default today), ISO")
    held.add_argument("--reason", help="write-down: why (kept with it)")
    held.set_defaults(run=instrument)
