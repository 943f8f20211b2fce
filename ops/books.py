"""The books for operators: `drexfy-ops reconcile [--at ISO]` runs the three-way reconciliation
(the same workflow the nightly schedule starts) and prints its report; `reconciliations` lists
the reports kept, `reconciliation ID` shows one with every difference and the transactions
behind it. Nothing here corrects anything: a difference is for an operator to explain.

`drexfy-ops register INSTRUMENT [--at DATE|ISO] [--ledger N] [--csv]` prints the holder
register as of a date's end (UTC), a time, a validated ledger, or now; `drexfy-ops statement
INVESTOR --period 2026-11|2026-Q4|2026 [--csv]` an investor's statement; `drexfy-ops statements
--period P [--investor ID]` has the Statements workflow keep them as CSV and PDF documents (as the
schedule does on the 1st), for every investor or one.

Exit codes of `reconcile`: 0 clean, 1 the books differ, 2 they could not be read. Of
`statements`: 0 all made and tying, 1 some do not tie, 2 some not made (each named).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ops.output import emit, table

if TYPE_CHECKING:
    from ops.cli import Platform

WAIT_SECONDS = 900
_DIFFERENCE_COLUMNS = [
    "figure", "subject", "ledger", "records", "provider", "on_ledger_only", "in_records_only",
]  # fmt: skip


def reconcile(platform: Platform, args: argparse.Namespace) -> int:
    platform.require("reconcile")
    cut_off = _cut_off(args.at) if args.at else None
    name = f"reconcile-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    sfn = platform.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=platform.outputs["ReconciliationStateMachineArn"],
        name=name,
        input=json.dumps({"cut_off": cut_off} if cut_off else {}),
    )
    if args.no_wait:
        emit(args, {"execution": started["executionArn"]}, f"started {started['executionArn']}")
        return 0
    finished = _finished(sfn, started["executionArn"])
    if finished["status"] == "SUCCEEDED" or finished.get("error") == "BooksDiffer":
        return reconciliation(platform, argparse.Namespace(**{**vars(args), "id": name}))
    failure = {k: finished.get(k) for k in ("status", "error", "cause")}
    emit(args, failure, f"the books could not be read: {failure}")
    return 2


def make_statements(platform: Platform, args: argparse.Namespace) -> int:
    platform.require("statements")
    request = {"period": args.period, **({"investor_id": args.investor} if args.investor else {})}
    name = f"statements-{args.period}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    sfn = platform.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=platform.outputs["StatementsStateMachineArn"],
        name=name,
        input=json.dumps(request),
    )
    if args.no_wait:
        emit(args, {"execution": started["executionArn"]}, f"started {started['executionArn']}")
        return 0
    finished = _finished(sfn, started["executionArn"])
    if finished["status"] == "SUCCEEDED":
        made = json.loads(finished.get("output") or "{}")
        emit(args, made, f"{made.get('made')} statements made for {made.get('periods')}")
        return 0
    failure = {k: finished.get(k) for k in ("status", "error", "cause")}
    emit(args, failure, f"{failure['error']}: {failure['cause']}")
    return 1 if finished.get("error") == "StatementsDoNotTie" else 2


def reconciliations(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("reconciliations")
    from lambdas.records import reconciliations as records

    rows = [
        {
            "reconciliation": kept.reconciliation_id,
            "cut_off": kept.cut_off.isoformat(),
            "ledger": kept.ledger_index,
            "clean": kept.clean,
            "differences": kept.differences,
        }
        for kept in records.every()
    ]
    emit(args, rows, table(rows, list(rows[0]) if rows else []))
    return 0


def reconciliation(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("reconciliation")
    from lambdas.records import reconciliations as records

    kept = records.find(args.id)
    if kept is None:
        emit(args, {"error": f"no reconciliation {args.id}"}, f"no reconciliation {args.id}")
        return 2
    report = {
        "reconciliation_id": kept.reconciliation_id,
        "cut_off": kept.cut_off.isoformat(),
        **kept.report,
    }
    emit(args, report, _shown(report))
    return 0 if kept.clean else 1


def _shown(report: dict[str, Any]) -> str:
    verdict = "CLEAN" if report["clean"] else f"{report['differences']} DIFFERENCES"
    lines = [f"books at {report['cut_off']}, ledger {report['ledger_index']}: {verdict}"]
    lines += [f"  {name:<24}{value:>16}" for name, value in report["totals"].items()]
    if report["first_differences"]:
        rows = [
            {
                **d,
                "on_ledger_only": " ".join(d.get("on_ledger_only", [])),
                "in_records_only": " ".join(d.get("in_records_only", [])),
            }
            for d in report["first_differences"]
        ]
        lines += ["", table(rows, _DIFFERENCE_COLUMNS)]
        more = report["differences"] - len(rows)
        if more > 0:
            lines.append(f"... and {more} more (--json for the kept list)")
    return "\n".join(lines)


def register(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("register")
    from lambdas.books import register as books_register
    from lambdas.books import sides
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.servicing.holders import UnknownInstrument

    ledger = sides.ledger_quorum()
    if args.ledger is not None:
        index = args.ledger
    elif args.at is not None:
        index = sides.ledger_for(_end_of(args.at), ledger)
    else:
        index = ledger.validated_ledger_index()
    try:
        held = books_register.register_at(args.instrument_id, ledger, platform_accounts(), index)
    except UnknownInstrument as unknown:
        emit(args, {"error": str(unknown)}, str(unknown))
        return 2
    if args.csv:
        print(held.csv(), end="", file=args.out)
        return 0
    document = held.as_json()
    emit(args, document, register_shown(document))
    return 0


def statement(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("statement")
    from domain.statement import Period, PeriodRefused
    from lambdas.books import sides, statements
    from lambdas.custody.platform_signer import platform_accounts

    try:
        period = Period.parse(args.period)
        made = statements.statement_of(
            args.investor_id, period, sides.ledger_quorum(), platform_accounts()
        )
    except (PeriodRefused, statements.NoWallet) as refused:
        emit(args, {"error": str(refused)}, str(refused))
        return 2
    if args.csv:
        print(made.csv(), end="", file=args.out)
        return 0
    document = made.as_json()
    emit(args, document, statement_shown(document))
    return 0 if document["ties_to_the_ledger"] else 1


def statement_shown(document: dict[str, Any]) -> str:
    """A statement's JSON document as `drexfy-ops statement` prints it for people."""
    tie = "ties to the ledger" if document["ties_to_the_ledger"] else "DOES NOT TIE"
    opened, closed = document["opening"], document["closing"]
    lines = [
        f"{document['investor_id']}, {document['period']} ({document['from']} to {document['to']}):"
        f" {tie}",
        *(f"  {name} (ledger {at['ledger_index']}): {at['stablecoin']} EUR, {at['units']}"
          for name, at in (("opening", opened), ("closing", closed))),
        "",
        table([{k: "" if v is None else v for k, v in x.items()} for x in document["lines"]],
              ["on", "kind", "reference", "instrument_id", "units", "amount",
               "stablecoin_change", "tx_hash"]),
        "",
        *(f"  {name:<22}{value:>14}" for name, value in document["totals"].items()),
        *(f"  untied: {problem}" for problem in document["untied"]),
    ]  # fmt: skip
    return "\n".join(lines)


def register_shown(document: dict[str, Any]) -> str:
    """A register's JSON document as `drexfy-ops register` prints it for people."""
    head = (
        f"{document['instrument_id']} ({document['issuance_id']}) at ledger "
        f"{document['ledger_index']}, {document['as_of']}: {document['units']} units, "
        f"{document['nominal_per_unit']} EUR outstanding per unit"
    )
    holders = [{**h, "restrictions": " ".join(h["restrictions"])} for h in document["holders"]]
    changed = [{k: "" if v is None else v for k, v in c.items()} for c in document["changes"]]
    columns = ["investor_id", "address", "units", "outstanding_nominal", "restrictions"]
    changes = ["ledger_index", "closed_at", "investor_id", "kind", "units", "cause", "operator",
               "tx_hash"]  # fmt: skip
    return "\n".join([head, "", table(holders, columns), "", "changes:", table(changed, changes)])


def _end_of(text: str) -> datetime:
    """A date's end (its last instant, UTC), or a time with its zone."""
    if len(text) == len("2026-12-31"):
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1) - timedelta(microseconds=1)
    return datetime.fromisoformat(_cut_off(text))


def _cut_off(text: str) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise SystemExit(f"--at {text}: give a time zone (e.g. 2026-12-05T00:00:00Z)")
    return moment.isoformat()


def _finished(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(1)
    return {"status": "RUNNING", "error": "timeout", "cause": f"still running after {arn}"}


def add_commands(command: Any) -> None:
    held = command("register", "an instrument's holder register: holders, restrictions, changes")
    held.add_argument("instrument_id")
    held.add_argument("--at", help="a date (its end, UTC) or an ISO time with zone")
    held.add_argument("--ledger", type=int, help="a validated ledger index")
    held.add_argument("--csv", action="store_true", help="CSV: the holders, then the changes")
    held.set_defaults(run=register)
    owed = command("statement", "an investor's statement for a month, a quarter or a year")
    owed.add_argument("investor_id")
    owed.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    owed.add_argument("--csv", action="store_true", help="CSV: positions, lines, totals")
    owed.set_defaults(run=statement)
    kept = command("statements", "keep statements as CSV and PDF, for every investor or one")
    kept.add_argument("--period", required=True, help="an ended 2026-11, 2026-Q4 or 2026")
    kept.add_argument("--investor", help="one investor's only")
    kept.add_argument("--no-wait", action="store_true", help="start it and return")
    kept.set_defaults(run=make_statements)
    run = command("reconcile", "reconcile ledger, records and provider now (or --at a cut-off)")
    run.add_argument("--at", help="the cut-off, ISO with zone (default: now)")
    run.add_argument("--no-wait", action="store_true", help="start it and return")
    run.set_defaults(run=reconcile)
    listing = command("reconciliations", "the reconciliation reports kept, newest first")
    listing.set_defaults(run=reconciliations)
    one = command("reconciliation", "one report: totals, each difference and its transactions")
    one.add_argument("id", help="the report's id (its execution's name)")
    one.set_defaults(run=reconciliation)
