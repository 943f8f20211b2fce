"""Money out for operators: `drexfy-ops withdrawals`, `withdrawal ID`, `payouts` (every payout
and refund the provider was asked for, with its answer) and `provider dead-letters` /
`provider resend MESSAGE_ID` (a request EventBridge could not deliver to the provider).

A re-send puts the request back on the bus as an operator's (PayoutResent, RefundResent): the
provider rules deliver it like the first one, under the same idempotency key, so a request
the provider did get after all is not paid twice.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from domain.events import OPERATOR_RESENDS
from ops.output import emit, table

if TYPE_CHECKING:
    from ops.cli import Platform

RESENT_AS = {"PayoutRequested": OPERATOR_RESENDS[0], "RefundRequested": OPERATOR_RESENDS[1]}
_COLUMNS = ["withdrawal", "investor", "amount", "status", "payout", "requested_at", "reason"]


def withdrawals(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("withdrawals")
    from lambdas.records import withdrawals as records

    rows = [
        _row(w.summary())
        for w in records.every()
        if (args.status is None or w.status.value == args.status)
        and (args.investor is None or w.investor_id == args.investor)
    ]
    emit(args, rows, table(rows, _COLUMNS))
    return 0


def withdrawal(platform: Platform, args: argparse.Namespace) -> int:
    platform.configure_lambda_code("withdrawal")
    from lambdas.records import withdrawals as records

    found = records.find(args.withdrawal_id)
    if found is None:
        print(f"no withdrawal {args.withdrawal_id}", file=args.out)
        return 2
    summary = found.summary()
    emit(args, summary, "\n".join(f"{k}: {v}" for k, v in summary.items() if v is not None))
    return 0


def payouts(platform: Platform, args: argparse.Namespace) -> int:
    """Everything the provider was asked to pay out, and what it answered (none yet: waiting)."""
    platform.configure_lambda_code("payouts")
    from lambdas.records import purchases
    from lambdas.records import withdrawals as records

    rows = [
        {
            "kind": "payout",
            "for": w.withdrawal_id,
            "investor": w.investor_id,
            "amount": str(w.amount),
            "answer": w.payout_outcome.value if w.payout_outcome else "waiting",
            "status": w.status.value,
        }
        for w in records.every()
        if w.payout_requested
    ]
    rows += [
        {
            "kind": "refund",
            "for": p.purchase_id,
            "investor": p.investor_id,
            "amount": p.amount,
            "answer": p.refund_outcome or "waiting",
            "status": p.status.value,
        }
        for p in purchases.every()
        if p.refund_requested
    ]
    if args.waiting:
        rows = [r for r in rows if r["answer"] == "waiting"]
    emit(args, rows, table(rows, ["kind", "for", "investor", "amount", "answer", "status"]))
    return 0


def provider(platform: Platform, args: argparse.Namespace) -> int:
    platform.require(f"provider {args.action}")
    queue = platform.outputs["ProviderDeadLetterQueueUrl"]
    sqs = platform.client("sqs")
    if args.action == "dead-letters":
        # Visibility 0: looking does not hide them from the next look (or a re-send).
        found = _receive(sqs, queue, visibility=0)
        rows = [_dead_letter(m) for m in found]
        emit(args, rows, table(rows, ["message", "type", "for", "amount", "error", "retries"]))
        return 0
    return _resend(platform, args, sqs, queue)


def _resend(platform: Platform, args: argparse.Namespace, sqs: Any, queue: str) -> int:
    if not args.message_id:
        print("provider resend needs the MESSAGE_ID `provider dead-letters` shows", file=args.out)
        return 2
    message = next((m for m in _receive(sqs, queue, 60) if m["MessageId"] == args.message_id), None)
    if message is None:
        print(f"no dead-lettered request {args.message_id}", file=args.out)
        return 2
    event = json.loads(message["Body"])
    publication = RESENT_AS[event["detail-type"]]
    entry = platform.client("events").put_events(
        Entries=[
            {
                "Source": publication.source,
                "DetailType": publication.detail_types[0],
                "EventBusName": platform.outputs["EventBusName"],
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )["Entries"][0]
    if "EventId" not in entry:
        print(f"not re-sent: {entry.get('ErrorMessage')}", file=args.out)
        return 1
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    text = f"{args.message_id}: re-sent as {publication.detail_types[0]} {entry['EventId']}"
    emit(args, {"message": args.message_id, "event_id": entry["EventId"]}, text)
    return 0


def _receive(sqs: Any, queue: str, visibility: int) -> list[dict[str, Any]]:
    """Every message in the queue (ten at a time, until a receive finds none new)."""
    found: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in found]
        if not new:
            return list(found.values())
        found.update((m["MessageId"], m) for m in new)


def _dead_letter(message: dict[str, Any]) -> dict[str, Any]:
    event = json.loads(message["Body"])
    detail = event.get("detail", {})
    attributes = message.get("MessageAttributes", {})
    return {
        "message": message["MessageId"],
        "type": event.get("detail-type"),
        "for": detail.get("withdrawal_id") or detail.get("purchase_id"),
        "amount": detail.get("amount"),
        "error": attributes.get("ERROR_MESSAGE", {}).get("StringValue", ""),
        "retries": attributes.get("RETRY_ATTEMPTS", {}).get("StringValue", ""),
    }


def _row(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "withdrawal": summary["withdrawal_id"],
        "investor": summary["investor_id"],
        "amount": summary["amount"],
        "status": summary["status"],
        "payout": summary["payout_outcome"] or "",
        "requested_at": summary["requested_at"],
        "reason": summary["reason"] or "",
    }


def add_commands(command: Any) -> None:
    listing = command("withdrawals", "withdrawals: status, amount, the provider's answer")
    listing.add_argument("--status", help="only this status (e.g. REDEEMED)")
    listing.add_argument("--investor", help="only this investor's")
    listing.set_defaults(run=withdrawals)
    one = command("withdrawal", "one withdrawal: amount, account (masked), hashes, reason")
    one.add_argument("withdrawal_id")
    one.set_defaults(run=withdrawal)
    asked = command("payouts", "every payout and refund the provider was asked for")
    asked.add_argument("--waiting", action="store_true", help="only those it has not answered")
    asked.set_defaults(run=payouts)
    unsent = command("provider", "requests that never reached the payment provider")
    unsent.add_argument("action", choices=["dead-letters", "resend"])
    unsent.add_argument("message_id", nargs="?", help="resend: the message to send again")
    unsent.set_defaults(run=provider)
