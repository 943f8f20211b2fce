"""Onboarding: a KYC approval becomes a funded custodial wallet with an authorized stablecoin
line and an ACTIVE investor, once however often the decision arrives; a stale approval (older
than the rejection on record) changes nothing and gets no wallet."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from local.aws.platform import LocalAws
from tests.investors.conftest import decision, run_decision
from tests.support.books import stablecoin_line
from tests.workflows.conftest import distinct_states, payment, run_payment


def new_id() -> str:
    return f"inv-{uuid.uuid4().hex[:10]}"


def test_a_kyc_approval_onboards_the_investor(
    aws: LocalAws, platform: dict[str, Any], notifications: Any
) -> None:
    from lambdas.records import investors as investor_records
    from lambdas.records.wallets import find as find_wallet

    investor_id = new_id()
    execution = run_decision(aws, "KycApproved", decision(investor_id))

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    states = distinct_states(aws, execution["executionArn"])
    assert states[0] == "What did KYC decide?" and states[-1] == "Investor onboarded"
    standing = investor_records.find_standing(investor_id)
    assert standing is not None and standing.status == "ACTIVE"
    wallet = find_wallet(investor_id)
    assert wallet is not None and standing.wallet_address == wallet.address
    client, accounts = platform["client"], platform["accounts"]
    root = client.account_root(wallet.address)
    fee_of_own_trust_set = Decimal(10)
    assert Decimal(root["Balance"]) == Decimal(15_000_000) - fee_of_own_trust_set
    line = stablecoin_line(client, wallet.address, accounts.issuer)
    assert line is not None and line["peer_authorized"] is True
    ready = notifications.of("WalletReady", investor_id)
    assert len(ready) == 1 and ready[0]["wallet_address"] == wallet.address
    output = json.loads(execution["output"])
    assert "seed" not in json.dumps(output).lower()


def test_the_same_approval_again_changes_nothing(
    aws: LocalAws, platform: dict[str, Any], notifications: Any
) -> None:
    from lambdas.records.tables import SubmissionRecord

    investor_id = new_id()
    approval = decision(investor_id)
    run_decision(aws, "KycApproved", approval)
    keys = {
        r.business_key: r.tx_hash
        for r in SubmissionRecord.scan(
            SubmissionRecord.business_key.startswith(f"investor#{investor_id}#")
        )
    }

    again = run_decision(aws, "KycApproved", approval)

    assert again["status"] == "SUCCEEDED"
    after = {
        r.business_key: r.tx_hash
        for r in SubmissionRecord.scan(
            SubmissionRecord.business_key.startswith(f"investor#{investor_id}#")
        )
    }
    assert after == keys and len(keys) == 3, "activation, line, authorization: once each"
    assert len(notifications.of("WalletReady", investor_id)) == 1


def test_an_onboarded_investor_can_buy(aws: LocalAws, platform: dict[str, Any]) -> None:
    investor_id = new_id()
    run_decision(aws, "KycApproved", decision(investor_id))

    execution = run_payment(aws, payment(investor_id, units=1, amount="100.00"))

    output = json.loads(execution["output"])
    assert output["status"] == "DELIVERED"
    assert {"stablecoin-line", "stablecoin-line-auth"}.isdisjoint(output["transactions"]), (
        "onboarding already set up the line: the purchase spends no round on it"
    )


def test_a_kyc_rejection_is_recorded_and_told(
    aws: LocalAws, platform: dict[str, Any], notifications: Any
) -> None:
    from lambdas.records import investors as investor_records
    from lambdas.records.wallets import find as find_wallet

    investor_id = new_id()
    execution = run_decision(aws, "KycRejected", decision(investor_id, reason="document expired"))

    assert distinct_states(aws, execution["executionArn"])[-1] == "Investor rejected"
    record = investor_records.find(investor_id)
    assert record is not None and (record.status, record.reason) == ("REJECTED", "document expired")
    assert find_wallet(investor_id) is None
    assert notifications.of("KycRejected", investor_id)[0]["reason"] == "document expired"


def activations(investor_id: str) -> list[str]:
    from lambdas.records.tables import SubmissionRecord

    return [
        r.business_key
        for r in SubmissionRecord.scan(
            SubmissionRecord.business_key.startswith(f"investor#{investor_id}#")
        )
    ]


def test_a_stale_kyc_approval_after_a_rejection_stays_rejected_and_funds_no_wallet(
    aws: LocalAws, platform: dict[str, Any], notifications: Any
) -> None:
    """The provider approved, then rejected; the approval arrives last (late, or replayed):
    it is older than the rejection on record, so it changes nothing."""
    from lambdas.records import investors as investor_records
    from lambdas.records.tables import AuditRecord
    from lambdas.records.wallets import find as find_wallet

    investor_id = new_id()
    run_decision(aws, "KycRejected", decision(investor_id, minutes=-1, reason="document forged"))
    approval = decision(investor_id, minutes=-5)

    stale = run_decision(aws, "KycApproved", approval)

    assert stale["status"] == "SUCCEEDED", stale.get("cause")
    assert distinct_states(aws, stale["executionArn"])[-1] == "Decision not carried out"
    record = investor_records.find(investor_id)
    assert record is not None and (record.status, record.reason) == ("REJECTED", "document forged")
    assert find_wallet(investor_id) is None and activations(investor_id) == []
    assert not notifications.of("WalletReady", investor_id)
    audit = [a.action for a in AuditRecord.query(investor_id) if a.case_id == approval["case_id"]]
    assert audit == ["KYC decision superseded"]


@pytest.mark.handlers_in_test_process
def test_a_rejection_recorded_while_onboarding_runs_stops_it_before_the_wallet(
    aws: LocalAws, platform: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The approval is recorded; the provider's later rejection lands before the wallet is
    made: onboarding makes no wallet and sends no XRP, and an operator is asked to look."""
    from lambdas.records import investors as investor_records
    from lambdas.records.wallets import find as find_wallet

    investor_id = new_id()
    real = investor_records.record_kyc_decision

    def approval_then_rejection_meanwhile(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)
        later = datetime.now(UTC)
        real(investor_id, "case-later", later, approved=False, reason="sanctioned director")
        return outcome

    monkeypatch.setattr(investor_records, "record_kyc_decision", approval_then_rejection_meanwhile)
    execution = run_decision(aws, "KycApproved", decision(investor_id, minutes=-1))

    assert execution["status"] == "FAILED"
    assert "no KYC approval stands" in execution.get("cause", "")
    assert investor_records.find(investor_id).status == "REJECTED"  # type: ignore[union-attr]
    assert find_wallet(investor_id) is None and activations(investor_id) == []
