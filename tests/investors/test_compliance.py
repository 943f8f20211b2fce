"""Compliance: an AML flag blocks the investor at once, in our records, the frontend and on the
ledger; a clearance lifts it; a late, older decision changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local.aws.platform import LocalAws
from tests.investors.conftest import decision, put_decision, run_decision
from tests.support.books import stablecoin_line
from tests.workflows.conftest import distinct_states, payment, run_payment

LSF_MPT_LOCKED = 0x01


def mptokens(client: Any, address: str) -> list[dict[str, Any]]:
    from xrpl.models.requests import AccountObjectType

    return client.objects(address, AccountObjectType.MPTOKEN)  # type: ignore[no-any-return]


@pytest.fixture
def holder(aws: LocalAws, platform: dict[str, Any]) -> dict[str, str]:
    """An onboarded investor who holds an instrument."""
    from lambdas.custody.wallet_generator import find_wallet

    investor_id = f"inv-{uuid.uuid4().hex[:10]}"
    run_decision(aws, "KycApproved", decision(investor_id))
    bought = run_payment(aws, payment(investor_id, units=1, amount="100.00"))
    assert json.loads(bought["output"])["status"] == "DELIVERED"
    wallet = find_wallet(investor_id)
    assert wallet is not None
    return {"investor_id": investor_id, "address": wallet.address}


def test_a_flag_blocks_and_freezes_and_a_clearance_lifts_it(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str], notifications: Any
) -> None:
    from lambdas import investor_records
    from lambdas.tables import AuditRecord

    client, accounts = platform["client"], platform["accounts"]
    investor_id, address = holder["investor_id"], holder["address"]
    flag = decision(investor_id, reason="sanctions list match")

    blocked = run_decision(aws, "AmlFlagged", flag)

    assert blocked["status"] == "SUCCEEDED", blocked.get("cause")
    assert distinct_states(aws, blocked["executionArn"])[-1] == "Investor blocked"
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]
    assert stablecoin_line(client, address, accounts.issuer)["freeze_peer"] is True  # type: ignore[index]
    assert all(int(t["Flags"]) & LSF_MPT_LOCKED for t in mptokens(client, address))
    assert len(notifications.of("InvestorBlocked", investor_id)) == 1
    audit = [a for a in AuditRecord.query(investor_id) if a.case_id == flag["case_id"]]
    actions = [a.action for a in audit]
    assert "AML flag: BLOCKED" in actions and "ledger freeze in place" in actions
    frozen = next(a for a in audit if a.action == "ledger freeze in place")
    assert "freeze-line" in frozen.transactions.as_dict()

    refused = run_payment(aws, payment(investor_id, units=1, amount="100.00"))
    assert json.loads(refused["output"])["status"] == "REFUNDED"
    assert "is BLOCKED" in json.loads(refused["output"])["reason"]

    cleared = run_decision(
        aws, "AmlCleared", decision(investor_id, minutes=1, reason="false positive")
    )

    assert distinct_states(aws, cleared["executionArn"])[-1] == "Investor cleared"
    assert investor_records.find(investor_id).status == "ACTIVE"  # type: ignore[union-attr]
    assert not stablecoin_line(client, address, accounts.issuer).get("freeze_peer")  # type: ignore[union-attr]
    assert not any(int(t["Flags"]) & LSF_MPT_LOCKED for t in mptokens(client, address))
    assert len(notifications.of("InvestorCleared", investor_id)) == 1


def test_an_older_decision_arriving_late_changes_nothing(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str]
) -> None:
    from lambdas import investor_records

    investor_id = holder["investor_id"]
    run_decision(aws, "AmlFlagged", decision(investor_id, minutes=-10))
    run_decision(aws, "AmlCleared", decision(investor_id, minutes=-5))

    late = run_decision(aws, "AmlFlagged", decision(investor_id, minutes=-8))

    assert distinct_states(aws, late["executionArn"])[-1] == "Superseded by a later decision"
    assert investor_records.find(investor_id).status == "ACTIVE"  # type: ignore[union-attr]


@pytest.mark.handlers_in_test_process
def test_a_flag_during_a_purchase_undoes_it_even_with_the_line_frozen(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compliance workflow freezes the line while the purchase is between mint and
    transfer; the purchase claws its minted stablecoin back from the frozen line."""
    from tests.support.books import stablecoin_balance, stablecoin_outstanding
    from tests.workflows.faults import Faults

    client, accounts = platform["client"], platform["accounts"]
    investor_id = holder["investor_id"]
    outstanding = stablecoin_outstanding(client, accounts.issuer)
    flag = decision(investor_id, reason="adverse media")

    def flag_and_wait_for_freeze(_: str) -> None:
        put_decision(aws, "AmlFlagged", flag)
        from tests.investors.conftest import finished

        finished(aws, "Compliance", flag["case_id"])

    Faults(monkeypatch).after_step("mint", flag_and_wait_for_freeze)
    execution = run_payment(aws, payment(investor_id, units=1, amount="100.00"), timeout=120)

    output = json.loads(execution["output"])
    assert output["status"] == "REFUNDED" and "InvestorBlocked" in output["reason"]
    assert stablecoin_line(client, holder["address"], accounts.issuer)["freeze_peer"] is True  # type: ignore[index]
    assert stablecoin_balance(client, holder["address"], accounts.issuer) == 0
    assert stablecoin_outstanding(client, accounts.issuer) == outstanding


def test_a_freeze_and_its_lifting_find_the_case_by_investor_without_a_scan(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str]
) -> None:
    """The audit of a freeze and a reinstatement reads that investor's AML transactions through
    the Submissions index, never a scan of every submission on the platform."""
    from collections import Counter

    from local.aws import access

    investor_id = holder["investor_id"]
    before = Counter(access.Enforcement.recorded)
    flagged = run_decision(aws, "AmlFlagged", decision(investor_id, reason="adverse media"))
    cleared = run_decision(aws, "AmlCleared", decision(investor_id, reason="false positive"))
    calls = Counter(access.Enforcement.recorded) - before

    assert (flagged["status"], cleared["status"]) == ("SUCCEEDED", "SUCCEEDED")
    compliance = [k for k in calls if "ComplianceWorkflow" in k[0]]
    on_submissions = [(a, r) for (_, a, r, _) in compliance if "TablesSubmissions" in r]
    assert ("dynamodb:Query", next(r for _, r in on_submissions if "/index/by-subject" in r)) in (
        on_submissions
    )
    assert not [a for a, _ in on_submissions if a == "dynamodb:Scan"]
    from lambdas.tables import AuditRecord

    frozen = [a for a in AuditRecord.query(investor_id) if a.action == "ledger freeze in place"]
    assert "freeze-line" in frozen[-1].transactions.as_dict(), "found through the index"


def test_a_future_dated_clearance_on_the_bus_changes_nothing_and_later_decisions_apply(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str]
) -> None:
    """A clearance dated far ahead (an operator's, or one that reached the bus another way)
    is refused and audited; a flag after it still blocks."""
    from lambdas import investor_records
    from lambdas.tables import AuditRecord

    investor_id = holder["investor_id"]
    future = decision(investor_id, minutes=60 * 24 * 365 * 900, reason="dated 2900")
    refused = run_decision(aws, "AmlCleared", future)
    assert json.loads(refused["output"])["applies"] is False
    audit = [a for a in AuditRecord.query(investor_id) if a.case_id == future["case_id"]]
    assert [a.action for a in audit] == ["AML decision refused"]
    assert "future" in audit[0].reason

    flag = run_decision(aws, "AmlFlagged", decision(investor_id, reason="adverse media"))
    assert flag["status"] == "SUCCEEDED"
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]
