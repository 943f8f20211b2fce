"""Compliance: an AML flag blocks the investor at once, in our records, the frontend and on the
ledger; a clearance lifts it; a late, older, replayed or racing decision changes nothing; an
operator's block stands until an operator lifts it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from domain.investor import InvestorStatus
from local.aws.platform import LocalAws
from tests.investors.conftest import decision, operator_decision, put_decision, run_decision
from tests.support.books import stablecoin_line
from tests.workflows.conftest import distinct_states, payment, run_payment

LSF_MPT_LOCKED = 0x01


def mptokens(client: Any, address: str) -> list[dict[str, Any]]:
    from xrpl.models.requests import AccountObjectType

    return client.objects(address, AccountObjectType.MPTOKEN)  # type: ignore[no-any-return]


@pytest.fixture
def holder(aws: LocalAws, platform: dict[str, Any]) -> dict[str, str]:
    """An onboarded investor who holds an instrument."""
    from lambdas.records.wallets import find as find_wallet

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
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import AuditRecord

    client, accounts = platform["client"], platform["accounts"]
    investor_id, address = holder["investor_id"], holder["address"]
    flag = decision(investor_id, reason="sanctions list match")

    blocked = run_decision(aws, "AmlFlagged", flag)

    assert blocked["status"] == "SUCCEEDED", blocked.get("cause")
    assert distinct_states(aws, blocked["executionArn"])[-1] == "Investor blocked"
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]
    assert stablecoin_line(client, address, accounts.issuer)["freeze_peer"] is True  # type: ignore[index]
    assert all(int(t["Flags"]) & LSF_MPT_LOCKED for t in mptokens(client, address))
    (told,) = notifications.of("InvestorBlocked", investor_id)
    assert "reason" not in told and "sanctions" not in json.dumps(told), "no tipping-off"
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
    from lambdas.records import investors as investor_records

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
    from lambdas.records.tables import AuditRecord

    frozen = [a for a in AuditRecord.query(investor_id) if a.action == "ledger freeze in place"]
    assert "freeze-line" in frozen[-1].transactions.as_dict(), "found through the index"


def test_a_future_dated_clearance_on_the_bus_changes_nothing_and_later_decisions_apply(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str]
) -> None:
    """A clearance dated far ahead (an operator's, or one that reached the bus another way)
    is refused and audited; a flag after it still blocks."""
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import AuditRecord

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


# --- decisions in the decider's order, whatever arrives when (issue 17, point 4) ------------


def actions_of(investor_id: str, case_id: str) -> list[str]:
    from lambdas.records.tables import AuditRecord

    return [a.action for a in AuditRecord.query(investor_id) if a.case_id == case_id]


def test_a_stale_clearance_of_the_same_case_keeps_the_investor_blocked(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str]
) -> None:
    """The provider's clearance of a case, dated before its flag of that case, arrives late:
    it is older, so it lifts nothing, on the ledger either."""
    from lambdas.records import investors as investor_records

    client, accounts = platform["client"], platform["accounts"]
    investor_id, case = holder["investor_id"], f"case-{uuid.uuid4().hex[:8]}"
    run_decision(aws, "AmlFlagged", decision(investor_id, case, minutes=-1, reason="match"))

    stale = run_decision(aws, "AmlCleared", decision(investor_id, case, minutes=-5))

    assert distinct_states(aws, stale["executionArn"])[-1] == "Superseded by a later decision"
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]
    assert stablecoin_line(client, holder["address"], accounts.issuer)["freeze_peer"] is True  # type: ignore[index]
    flagged = ["AML flag: BLOCKED", "ledger freeze in place"]
    assert actions_of(investor_id, case) == [*flagged, "AML decision superseded"]


def test_a_replayed_clearance_does_not_lift_a_reflag_of_the_same_case(aws: LocalAws) -> None:
    """Flagged, cleared, flagged again in one case; the clearance arrives again (a replay)."""
    from datetime import UTC, datetime, timedelta

    from lambdas.custody.wallet_generator import create_investor_wallet
    from lambdas.records import investors as investor_records

    investor_id, case = f"inv-{uuid.uuid4().hex[:10]}", "case-reflag"
    now = datetime.now(UTC)
    create_investor_wallet(investor_id)  # ACTIVE: registered, with a wallet
    investor_records.set_status(investor_id, InvestorStatus.ACTIVE, "KYC passed (test)")
    investor_records.record_aml_decision(investor_id, True, case, now - timedelta(minutes=10), "a")
    investor_records.record_aml_decision(investor_id, False, case, now - timedelta(minutes=8), "b")
    investor_records.reinstate(investor_id, case, {})
    assert investor_records.find(investor_id).status == "ACTIVE"  # type: ignore[union-attr]
    investor_records.record_aml_decision(investor_id, True, case, now - timedelta(minutes=2), "c")

    replayed = investor_records.record_aml_decision(
        investor_id, False, case, now - timedelta(minutes=8), "b"
    )
    investor_records.reinstate(investor_id, case, {})  # the replay's workflow, had it gone on

    assert replayed is False
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]
    assert actions_of(investor_id, case)[-1] == "AML decision superseded"


def test_a_clearance_racing_a_newer_flag_loses_and_the_investor_stays_blocked(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clearance reads the record; a newer flag is written before the clearance writes.
    Its conditional write fails, it decides again on the flag and is audited as superseded."""
    from datetime import UTC, datetime, timedelta

    from lambdas.records import investors as investor_records
    from lambdas.records.tables import InvestorRecord

    investor_id = f"inv-{uuid.uuid4().hex[:10]}"
    now = datetime.now(UTC)
    investor_records.set_status(investor_id, InvestorStatus.ACTIVE, "KYC passed (test)")
    investor_records.record_aml_decision(
        investor_id, True, "case-1", now - timedelta(minutes=10), "sanctions list match"
    )
    real_read, raced = investor_records._read, []

    def read_then_flag_meanwhile(investor: str) -> Any:
        read = real_read(investor)
        if not raced:
            raced.append(investor)
            investor_records.record_aml_decision(
                investor, True, "case-2", now - timedelta(minutes=1), "adverse media"
            )
        return read

    monkeypatch.setattr(investor_records, "_read", read_then_flag_meanwhile)
    cleared = investor_records.record_aml_decision(
        investor_id, False, "case-1", now - timedelta(minutes=5), "false positive"
    )
    monkeypatch.setattr(investor_records, "_read", real_read)
    investor_records.reinstate(investor_id, "case-1", {})  # the clearance's workflow going on

    assert raced and cleared is False
    record = InvestorRecord.get(investor_id, consistent_read=True)
    assert (record.status, record.aml_case_id) == ("BLOCKED", "case-2")
    assert actions_of(investor_id, "case-1")[-1] == "AML decision superseded"
    assert actions_of(investor_id, "case-2") == ["AML flag: BLOCKED"]


def test_an_operators_block_survives_a_provider_clearance_until_an_operator_lifts_it(
    aws: LocalAws,
    platform: dict[str, Any],
    holder: dict[str, str],
    notifications: Any,
    drexfy_ops: Any,
) -> None:
    """drexfy-ops blocks; the provider then clears its own case (dated a minute ahead, as a
    provider's clock may be): the block stands. The operator's unblock, dated now, lifts it."""
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import AuditRecord

    client, accounts = platform["client"], platform["accounts"]
    investor_id, address = holder["investor_id"], holder["address"]
    operator_decision(aws, drexfy_ops, "block", investor_id, "court order")
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]

    provider = decision(investor_id, minutes=1, reason="no match")
    cleared = run_decision(aws, "AmlCleared", provider)

    assert distinct_states(aws, cleared["executionArn"])[-1] == "Superseded by a later decision"
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]
    assert stablecoin_line(client, address, accounts.issuer)["freeze_peer"] is True  # type: ignore[index]
    assert actions_of(investor_id, provider["case_id"]) == [
        "AML clearance recorded: an operator's block stands"
    ]
    assert not notifications.of("InvestorCleared", investor_id)

    lifted = operator_decision(aws, drexfy_ops, "unblock", investor_id, "order lifted")

    assert distinct_states(aws, lifted["executionArn"])[-1] == "Investor cleared"
    assert investor_records.find(investor_id).status == "ACTIVE"  # type: ignore[union-attr]
    assert not stablecoin_line(client, address, accounts.issuer).get("freeze_peer")  # type: ignore[union-attr]
    assert not any(int(t["Flags"]) & LSF_MPT_LOCKED for t in mptokens(client, address))
    last = list(AuditRecord.query(investor_id))[-1]
    assert (last.action, last.actor) == ("AML cleared: ACTIVE", "operator")


def test_a_case_flagged_again_after_its_clearance_freezes_the_ledger_again(
    aws: LocalAws, platform: dict[str, Any], holder: dict[str, str], notifications: Any
) -> None:
    """The freeze's ledger keys are per decision: the case's first freeze, already done, does
    not stand in for the second."""
    from lambdas.records import investors as investor_records

    client, accounts = platform["client"], platform["accounts"]
    investor_id, address = holder["investor_id"], holder["address"]
    case = decision(investor_id, minutes=-10)
    run_decision(aws, "AmlFlagged", case)
    run_decision(aws, "AmlCleared", {**case, "occurred_at": decision(investor_id, minutes=-5)[
        "occurred_at"]})  # fmt: skip
    assert not stablecoin_line(client, address, accounts.issuer).get("freeze_peer")  # type: ignore[union-attr]

    again = run_decision(
        aws, "AmlFlagged", {**case, "occurred_at": decision(investor_id, minutes=-1)["occurred_at"]}
    )

    assert again["status"] == "SUCCEEDED", again.get("cause")
    assert distinct_states(aws, again["executionArn"])[-1] == "Investor blocked"
    assert investor_records.find(investor_id).status == "BLOCKED"  # type: ignore[union-attr]
    assert stablecoin_line(client, address, accounts.issuer)["freeze_peer"] is True  # type: ignore[index]
    assert all(int(t["Flags"]) & LSF_MPT_LOCKED for t in mptokens(client, address))
    assert len(notifications.of("InvestorBlocked", investor_id)) == 2, "told again"


def test_an_investor_first_known_through_an_aml_flag_gets_nothing_from_its_clearance(
    aws: LocalAws, platform: dict[str, Any]
) -> None:
    """Cleared, they are PENDING, not ACTIVE: a wallet request then onboards no one without
    a KYC approval."""
    from lambdas.records import investors as investor_records
    from lambdas.records.wallets import find as find_wallet
    from tests.investors.conftest import finished

    investor_id = f"inv-{uuid.uuid4().hex[:10]}"
    run_decision(aws, "AmlFlagged", decision(investor_id, minutes=-2))
    run_decision(aws, "AmlCleared", decision(investor_id, minutes=-1))
    assert investor_records.find(investor_id).status == "PENDING"  # type: ignore[union-attr]

    request = decision(investor_id)
    aws.client("events").put_events(
        Entries=[
            {
                "Source": "drexfy.frontend",
                "DetailType": "WalletRequested",
                "EventBusName": aws.stack.output("EventBusName"),
                "Detail": json.dumps(request),
            }
        ]
    )
    finished(aws, "Onboarding", request["case_id"])

    assert find_wallet(investor_id) is None
    assert investor_records.find(investor_id).status == "PENDING"  # type: ignore[union-attr]
