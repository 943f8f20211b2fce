"""Replaying the archive reprocesses, and changes nothing: no ledger transaction, wallet,
refund or notification happens twice, and no investor's standing changes."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from local.aws.platform import LocalAws
from tests.investors.conftest import decision, operator_decision, run_decision
from tests.support.bus import replay_archive
from tests.support.waiting import wait_for
from tests.workflows.conftest import payment, run_payment

WORKFLOWS = ("Purchase", "Onboarding", "Compliance")


def executions(aws: LocalAws) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    found: list[dict[str, Any]] = []
    for name in WORKFLOWS:
        arn = aws.stack.output(f"{name}StateMachineArn")
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            found.extend(page["executions"])
    return found


def books(aws: LocalAws) -> dict[str, Any]:
    from lambdas.records.tables import (
        NotificationRecord,
        PurchaseRecord,
        SubmissionRecord,
        WalletRecord,
    )

    return {
        "transactions": sorted((r.business_key, r.tx_hash or "") for r in SubmissionRecord.scan()),
        "wallets": sorted(r.investor_id for r in WalletRecord.scan()),
        "purchases": sorted((r.purchase_id, r.status) for r in PurchaseRecord.scan()),
        "notifications": sorted(r.notification_id for r in NotificationRecord.scan()),
        "delivered_to_frontend": len(aws.notifications.received()) if aws.notifications else 0,
    }


def test_replaying_a_window_of_the_archive_changes_nothing(
    aws: LocalAws, platform: dict[str, Any]
) -> None:
    started = time.time() - 1
    investor_id = f"inv-{uuid.uuid4().hex[:8]}"
    run_decision(aws, "KycApproved", decision(investor_id, minutes=-3))
    run_payment(aws, payment(investor_id, units=1, amount="100.00"))
    run_payment(aws, payment(investor_id, units=1, amount="99.00"))  # refunded
    run_decision(aws, "AmlFlagged", decision(investor_id, minutes=-2))
    run_decision(aws, "AmlCleared", decision(investor_id, minutes=-1))
    run_decision(aws, "KycRejected", decision(f"inv-{uuid.uuid4().hex[:8]}", reason="no id"))
    ended = time.time() + 1
    wait_for(lambda: all(e["status"] != "RUNNING" for e in executions(aws)))
    before = books(aws)
    arns_before = {e["executionArn"] for e in executions(aws)}

    replay_archive(aws, started, ended)
    wait_for(
        lambda: (
            len(runs := executions(aws)) >= len(arns_before) + 6
            and all(e["status"] != "RUNNING" for e in runs)
        ),
        timeout=120,
    )

    replayed = [e for e in executions(aws) if e["executionArn"] not in arns_before]
    assert len(replayed) >= 6, "every workflow event of the window ran again"
    assert books(aws) == before
    sfn = aws.client("stepfunctions")
    for summary in replayed:
        execution = sfn.describe_execution(executionArn=summary["executionArn"])
        assert execution["status"] == "SUCCEEDED", json.dumps(execution, default=str)[:500]


def standings(*investor_ids: str) -> dict[str, dict[str, Any]]:
    """Each investor's record, whole: its status and every decision on record (and its version,
    bumped by any write)."""
    from lambdas.records.tables import InvestorRecord

    return {
        investor_id: InvestorRecord.get(investor_id, consistent_read=True).attribute_values
        for investor_id in investor_ids
    }


def test_replaying_a_window_of_the_archive_leaves_every_standing_as_it_was(
    aws: LocalAws, platform: dict[str, Any], drexfy_ops: Any
) -> None:
    """In the window: a clearance that arrived before its case was flagged; a stale KYC
    approval after a rejection; an operator's block and the provider's later clearance. Each
    arrives again in the replay; nobody's standing, wallet or ledger changes."""
    from lambdas.records.wallets import find as find_wallet

    started = time.time() - 1
    flagged, rejected, held = (f"inv-{uuid.uuid4().hex[:8]}" for _ in range(3))
    run_decision(aws, "KycApproved", decision(flagged, minutes=-20))
    run_decision(aws, "AmlCleared", decision(flagged, "case-screening", minutes=-8))
    run_decision(aws, "AmlFlagged", decision(flagged, "case-screening", minutes=-2, reason="r"))
    run_decision(aws, "KycRejected", decision(rejected, minutes=-1, reason="document forged"))
    run_decision(aws, "KycApproved", decision(rejected, minutes=-5))
    run_decision(aws, "KycApproved", decision(held, minutes=-20))
    operator_decision(aws, drexfy_ops, "block", held, "court order")
    run_decision(aws, "AmlCleared", decision(held, minutes=1, reason="no match"))
    ended = time.time() + 1
    wait_for(lambda: all(e["status"] != "RUNNING" for e in executions(aws)))
    before = standings(flagged, rejected, held), books(aws)
    assert [s["status"] for s in before[0].values()] == ["BLOCKED", "REJECTED", "BLOCKED"]
    assert find_wallet(rejected) is None
    arns_before = {e["executionArn"] for e in executions(aws)}

    replay_archive(aws, started, ended)
    wait_for(
        lambda: (
            len(runs := executions(aws)) >= len(arns_before) + 8
            and all(e["status"] != "RUNNING" for e in runs)
        ),
        timeout=180,
    )

    assert (standings(flagged, rejected, held), books(aws)) == before
    sfn = aws.client("stepfunctions")
    for summary in executions(aws):
        if summary["executionArn"] not in arns_before:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            assert execution["status"] == "SUCCEEDED", json.dumps(execution, default=str)[:500]
