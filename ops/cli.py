"""`drexfy-ops`: the operators' tool, against a deployed stack or the local platform alike.

Against AWS, `--stack Drexfy-<env>` reads the platform's configuration from the stack's
CloudFormation outputs, as the operators' role with `--role-arn` (or a `--profile` that is it).
Locally, without `--stack`, it reads where the platform is from the state file
`python -m local.aws` writes (`--state-file`, default .local/aws.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from ops.books import add_commands as add_books_commands
from ops.decisions import DecisionNotPut, put_aml_decision
from ops.money_out import add_commands as add_money_out_commands
from ops.output import emit, table
from ops.servicing import add_commands as add_servicing_commands
from ops.stack import (
    ConfigurationError,
    OperatorSession,
    lambda_environment,
    operator_session,
    require,
    stack_outputs,
)

FINAL = ("DELIVERED", "REFUNDED")


class Platform:
    """Clients and configuration for one platform: a deployed stack, or the local one."""

    def __init__(
        self,
        operator: OperatorSession,
        outputs: dict[str, str],
        *,
        source: str,
        endpoint_url: str | None = None,
        local: bool = False,
        lambda_configured: bool = False,
    ) -> None:
        self.operator = operator
        self.outputs = outputs
        self.source = source  # the stack's name
        self.local = local  # the embedded AWS: moto has no RedriveExecution
        self._endpoint = endpoint_url
        self._lambda_configured = lambda_configured

    @classmethod
    def from_stack(
        cls,
        stack: str,
        *,
        profile: str | None = None,
        role_arn: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        mfa_serial: str | None = None,
        mfa_code: str | None = None,
    ) -> Platform:
        """The deployed stack `stack`: its outputs, read as the operator (the role if given)."""
        operator = operator_session(
            profile=profile,
            role_arn=role_arn,
            region=region,
            endpoint_url=endpoint_url,
            mfa_serial=mfa_serial,
            mfa_code=mfa_code,
        )
        cloudformation = operator.session.client("cloudformation", endpoint_url=endpoint_url)
        outputs = stack_outputs(cloudformation, stack)
        return cls(
            operator, outputs, source=stack, endpoint_url=endpoint_url, local=bool(endpoint_url)
        )

    @classmethod
    def from_state_file(
        cls,
        state_file: Path,
        *,
        profile: str | None = None,
        role_arn: str | None = None,
        mfa_serial: str | None = None,
        mfa_code: str | None = None,
    ) -> Platform:
        """The local platform `python -m local.aws` described in `state_file`."""
        from ops.local_state import use_local_platform

        state = json.loads(state_file.read_text())
        use_local_platform(state_file)  # the Lambdas' environment, the endpoint, the admin
        endpoint = state["endpoint_url"]
        operator = operator_session(
            profile=profile,
            role_arn=role_arn,
            endpoint_url=endpoint,
            mfa_serial=mfa_serial,
            mfa_code=mfa_code,
        )
        return cls(
            operator,
            state["stack"]["outputs"],
            source=str(state["stack"].get("name") or state_file),
            endpoint_url=endpoint,
            local=True,
            lambda_configured=True,
        )

    def client(self, service: str) -> Any:
        return self.operator.session.client(service, endpoint_url=self._endpoint)

    def require(self, command: str) -> None:
        """Every output the command reads is there (ops.stack.COMMAND_OUTPUTS), or an error
        names those that are missing and the stack."""
        require(self.outputs, self.source, command)

    def configure_lambda_code(self, command: str) -> None:
        """Give the Lambdas' code (lambdas/) the configuration the functions get, from the
        outputs; call before the command uses anything from lambdas. (With the state file
        the functions' environment itself is already in place.)"""
        if self._lambda_configured:
            return
        self.require(command)
        os.environ.update(lambda_environment(self.outputs))
        region = self.operator.session.region_name
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
        if self._endpoint:  # the embedded AWS: the Lambdas' clients go there too
            os.environ["AWS_ENDPOINT_URL"] = self._endpoint
        self._lambda_configured = True


# --- commands ---------------------------------------------------------------------------------


def purchases(platform: Platform, args: argparse.Namespace) -> int:
    """Parked purchases first, then stuck ones (unfinished past --stuck-after), then the rest."""
    platform.configure_lambda_code("purchases")
    from lambdas.records import purchases as purchase_records

    stuck_before = datetime.now(UTC) - timedelta(minutes=args.stuck_after)
    rows: list[dict[str, Any]] = []
    for record in purchase_records.every():
        if args.status and record.status != args.status:
            continue
        updated = record.updated_at or datetime.min.replace(tzinfo=UTC)
        stuck = record.status not in FINAL and updated < stuck_before
        rows.append(
            {
                "purchase_id": record.purchase_id,
                "status": record.status + (" (stuck)" if stuck else ""),
                "investor": record.investor_id,
                "instrument": record.instrument_id,
                "units": int(record.units),
                "amount": f"{record.amount} {record.currency}",
                "updated": updated.isoformat(timespec="seconds"),
                "reason": record.parked_reason or record.reason or "",
            }
        )
    rank = {"NEEDS_OPERATOR": 0}
    rows.sort(
        key=lambda r: (rank.get(r["status"], 1 if "stuck" in r["status"] else 2), r["updated"])
    )
    columns = [
        "purchase_id",
        "status",
        "investor",
        "instrument",
        "units",
        "amount",
        "updated",
        "reason",
    ]
    emit(args, rows, table(rows, columns))
    return 0


def purchase(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("purchase")
    from lambdas.records import purchases as purchase_records
    from ops.history import describe_events

    record = purchase_records.find(args.purchase_id)
    if record is None:
        emit(args, {"error": f"no purchase {args.purchase_id}"}, f"no purchase {args.purchase_id}")
        return 1
    summary = record.summary()
    history: list[str] = []
    if record.execution_arn:
        sfn = platform.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=record.execution_arn, maxResults=1000)
        history = describe_events(events["events"])
    steps = [{"step": step, **tx} for step, tx in summary["transactions"].items()]
    text = "\n".join(
        [
            f"{summary['purchase_id']}  {summary['status']}  {summary.get('reason') or ''}",
            f"payment {summary['payment_id']}: {summary['units']} x {summary['instrument_id']} "
            f"for {summary['amount']} {summary['currency']}, investor {summary['investor_id']}",
            "",
            table(steps, ["step", "hash", "ledger_index", "result"]),
            "",
            *history,
        ]
    )
    emit(args, {**summary, "execution_arn": record.execution_arn, "history": history}, text)
    return 0


def redrive(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("redrive")
    from ops.redrive import NotRedrivable, redrive_purchase

    sfn = platform.client("stepfunctions")
    try:
        arn = redrive_purchase(sfn, args.purchase_id, native=not platform.local)
    except NotRedrivable as error:
        emit(args, {"error": str(error)}, str(error))
        return 1
    print(f"redriving {args.purchase_id}: {arn}", file=sys.stderr)
    status = "RUNNING"
    while args.wait and status == "RUNNING":
        time.sleep(1)
        status = sfn.describe_execution(executionArn=arn)["status"]
        print(".", end="", file=sys.stderr, flush=True)
    from lambdas.records import purchases as purchase_records

    record = purchase_records.find(args.purchase_id)
    result = {
        "purchase_id": args.purchase_id,
        "execution_arn": arn,
        "execution": status,
        "status": record.status if record else None,
    }
    emit(args, result, f"\n{args.purchase_id}: execution {status}, purchase {result['status']}")
    return 0 if status in ("RUNNING", "SUCCEEDED") else 1


def replay(platform: Platform, args: argparse.Namespace) -> int:
    platform.require("replay")
    bus, archive = platform.outputs["EventBusName"], platform.outputs["EventArchiveArn"]
    events = platform.client("events")
    name = f"operator-{uuid.uuid4().hex[:8]}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive,
        EventStartTime=datetime.fromisoformat(args.start),
        EventEndTime=datetime.fromisoformat(args.end),
        Destination={"Arn": events.describe_event_bus(Name=bus)["Arn"]},
    )
    state = "STARTING"
    while state not in ("COMPLETED", "FAILED", "CANCELLED"):
        state = events.describe_replay(ReplayName=name)["State"]
        time.sleep(0.5)
    described = events.describe_replay(ReplayName=name)
    emit(
        args,
        described,
        f"replay {name}: {state}, events up to {described.get('EventLastReplayedTime')}",
    )
    return 0 if state == "COMPLETED" else 1


def investor(platform: Platform, args: argparse.Namespace) -> int:
    """Block or unblock through the compliance workflow, as an AML decision by an operator."""
    platform.require("investor")
    try:
        decision = put_aml_decision(
            platform.client("events"), platform.outputs["EventBusName"], args.investor_id,
            block=args.action == "block", reason=args.reason, operator=platform.operator.acting_as,
        )  # fmt: skip
    except DecisionNotPut as refused:
        return _failed(args, f"{args.action} refused by the bus: {refused}", 1)
    text = (
        f"{args.action} {args.investor_id} (case {decision['case_id']}): "
        f"event {decision['event_id']}"
    )
    emit(args, decision, text)
    return 0


def accounts(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("accounts")
    from xrpl.models.requests import AccountObjectType

    from lambdas.config import settings
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.quorum import LedgerQuorum
    from lambdas.ledger_adapter.sequences import TicketPool
    from lambdas.records import instruments as catalogue

    ledger = LedgerQuorum(settings().xrpl_urls)
    fees = ledger.fees()
    pool = TicketPool()
    rows = []
    for role, address in platform_accounts().roles().items():
        root = ledger.account_root(address) or {}
        owners = int(root.get("OwnerCount", 0))
        rows.append(
            {
                "account": role,
                "address": address,
                "xrp": str(Decimal(root.get("Balance", 0)) / 1_000_000),
                "reserve_xrp": str(
                    Decimal(fees.base_reserve + owners * fees.owner_reserve) / 10**6
                ),
                "tickets_ready": len(pool.available(address)),
            }
        )
    issuer = platform_accounts().issuer
    outstanding = sum((-Decimal(x["balance"]) for x in ledger.trust_lines(issuer)), Decimal(0))
    issuances = ledger.objects(platform_accounts().company, AccountObjectType.MPT_ISSUANCE)
    issued = {i["mpt_issuance_id"]: int(i.get("OutstandingAmount", 0)) for i in issuances}
    instruments = [
        {
            "instrument": r.instrument_id,
            "on_ledger": issued.get(r.issuance_id, 0),
            "sold": int(r.units_sold),
            "redeemed": r.units_redeemed,
            "reserved": int(r.units_reserved),
            "available": int(r.units_available),
        }
        for r in catalogue.catalogue()
    ]
    data = {
        "accounts": rows,
        "stablecoin_outstanding": str(outstanding),
        "instruments": instruments,
    }
    text = "\n\n".join(
        [
            table(rows, ["account", "address", "xrp", "reserve_xrp", "tickets_ready"]),
            f"EUR stablecoin outstanding: {outstanding}",
            table(
                instruments,
                ["instrument", "on_ledger", "sold", "redeemed", "reserved", "available"],
            ),
        ]
    )
    emit(args, data, text)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="drexfy-ops",
        description=__doc__.splitlines()[0],
        epilog="Against AWS: drexfy-ops --stack Drexfy-<env> --role-arn <OperatorsRoleArn> ...",
    )
    where = root.add_argument_group("where the platform is")
    where.add_argument(
        "--stack",
        metavar="NAME",
        help="a deployed stack (Drexfy-<env>): its configuration from its CloudFormation outputs",
    )
    where.add_argument(
        "--state-file",
        type=Path,
        default=Path(".local/aws.json"),
        help="without --stack: the local platform's state file (default .local/aws.json)",
    )
    who = root.add_argument_group("who acts (AWS credentials)")
    who.add_argument(
        "--role-arn",
        metavar="ARN",
        help="act as this role (the stack's OperatorsRoleArn), assumed with STS as "
        "drexfy-ops-<user>",
    )
    who.add_argument(
        "--mfa-serial",
        metavar="ARN",
        help="with --role-arn: your MFA device (default: the profile's mfa_serial); the role's "
        "trust policy demands MFA",
    )
    who.add_argument(
        "--mfa-code",
        metavar="CODE",
        help="with --role-arn: the device's current code (asked for when not given)",
    )
    who.add_argument("--profile", metavar="NAME", help="the AWS profile to use (or to assume from)")
    who.add_argument(
        "--region", help="the stack's region (default: the profile's or environment's)"
    )
    who.add_argument(
        "--endpoint-url",
        metavar="URL",
        default=os.environ.get("AWS_ENDPOINT_URL") or None,
        help="with --stack: the embedded AWS (`make up`) instead of AWS; default $AWS_ENDPOINT_URL",
    )
    root.add_argument("--json", action="store_true", help="JSON for scripts instead of tables")
    # `--json` also after the command: SUPPRESS keeps the root's value when it is not repeated.
    anywhere = argparse.ArgumentParser(add_help=False)
    anywhere.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON")
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, parents=[anywhere])

    listing = command("purchases", "purchases, parked and stuck ones first")
    listing.add_argument("--status", help="only this status (e.g. NEEDS_OPERATOR)")
    listing.add_argument("--stuck-after", type=int, default=15, help="minutes (default 15)")
    listing.set_defaults(run=purchases)
    one = command("purchase", "one purchase: steps, transactions, history")
    one.add_argument("purchase_id")
    one.set_defaults(run=purchase)
    again = command("redrive", "finish a parked or stopped purchase")
    again.add_argument("purchase_id")
    again.add_argument("--wait", action="store_true", help="wait for the execution to end")
    again.set_defaults(run=redrive)
    window = command("replay", "replay the bus archive for a window")
    window.add_argument("--from", dest="start", required=True, help="ISO time, with zone")
    window.add_argument("--to", dest="end", required=True, help="ISO time, with zone")
    window.set_defaults(run=replay)
    person = command("investor", "block or unblock an investor (compliance)")
    person.add_argument("investor_id")
    person.add_argument("action", choices=["block", "unblock"])
    person.add_argument("--reason", required=True, help="why: it goes into the audit trail")
    person.set_defaults(run=investor)
    books = command("accounts", "platform accounts, reserves, outstanding, tickets")
    books.set_defaults(run=accounts)
    add_servicing_commands(command)
    add_money_out_commands(command)
    add_books_commands(command)
    return root


def connect(args: argparse.Namespace) -> Platform:
    if args.stack:
        platform = Platform.from_stack(
            args.stack,
            profile=args.profile,
            role_arn=args.role_arn,
            region=args.region,
            endpoint_url=args.endpoint_url,
            mfa_serial=args.mfa_serial,
            mfa_code=args.mfa_code,
        )
        where = f"{args.stack} ({platform.operator.session.region_name})"
        print(f"drexfy-ops: {where} as {platform.operator.acting_as}", file=sys.stderr)
        return platform
    if not args.state_file.exists():
        raise ConfigurationError(
            f"no local platform ({args.state_file} does not exist); against AWS give "
            "--stack Drexfy-<env> (see docs/operations.md)"
        )
    return Platform.from_state_file(
        args.state_file,
        profile=args.profile,
        role_arn=args.role_arn,
        mfa_serial=args.mfa_serial,
        mfa_code=args.mfa_code,
    )


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    args.out = out
    try:
        platform = connect(args)
        return int(args.run(platform, args))
    except ConfigurationError as error:
        return _failed(args, str(error), 2)
    except ClientError as error:  # AWS refused: say what and why, not a traceback
        details = error.response.get("Error", {})
        return _failed(args, f"{details.get('Code')}: {details.get('Message')}", 1)


def _failed(args: argparse.Namespace, message: str, code: int) -> int:
    if args.json:
        emit(args, {"error": message}, "")
    else:
        print(f"drexfy-ops: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
