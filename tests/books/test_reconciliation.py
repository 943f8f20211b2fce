"""The daily reconciliation against the running platform: each kind of break the issue names,
planted for real (on the ledger, in the records, at the provider stand-in), is reported by the
workflow with the accounts, amounts and transactions involved, and nothing else changes.

The platform is the test process's shared one, so other tests' leftovers may already differ:
each test compares a reconciliation after its break with one just before it. (A platform
with only real work on it reconciles clean: `make demo` and `make reliability` check that.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from local.ledger_server.genesis import accept
from tests.servicing.conftest import buy, ledger_closing_on_waits, new_instrument
from tests.support.reconciliation import reconcile
from tests.support.waiting import wait_for

D = Decimal
Key = tuple[str, str]


def differences(report: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    return {(d["figure"], d["subject"]): d for d in report["first_differences"]}


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    """The differences the break added or changed."""
    old = differences(before)
    return {key: d for key, d in differences(after).items() if old.get(key) != d}


def amount(value: str | None) -> Decimal:
    return D(value) if value is not None else D(0)


def close(ledger: LocalLedger) -> None:
    accept(ledger.rpc_url)


@pytest.fixture(scope="module")
def holding(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """An investor who bought one unit of an instrument of this module's own."""
    from lambdas.records import instruments, wallets

    with ledger_closing_on_waits(ledger):
        instrument = new_instrument(platform, ledger, "REC")
        investor = buy(aws, ledger, instrument, 1)
    listed, wallet = instruments.find(instrument), wallets.find(investor)
    assert listed is not None and wallet is not None
    yield {
        "instrument": instrument, "issuance": listed.issuance_id, "investor": investor,
        "address": wallet.address, "accounts": platform["accounts"],
    }  # fmt: skip


def submit_as(role: str, tx: dict[str, Any], ledger: LocalLedger) -> str:
    """A transaction the platform's own account signs outside every workflow: the hash."""
    from lambdas.custody import signers
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from lambdas.records import submissions

    submitter = LedgerSubmitter.for_ledger(ledger.rpc_url)
    key, sign = f"test-planted-{uuid.uuid4().hex[:8]}", signers.platform_signer(role)
    submitter.submit(key, tx, sign, use_ticket=True)
    close(ledger)
    assert submitter.check(key, sign).result == "tesSUCCESS"
    found = submissions.find(key)
    assert found is not None and found.tx_hash
    return found.tx_hash


def test_a_clean_run_succeeds_with_its_totals_and_keeps_its_report(
    aws: LocalAws, holding: dict[str, Any]
) -> None:
    execution, report = reconcile(aws)
    summary = json.loads(execution.get("output") or "{}")
    if report["clean"]:
        assert execution["status"] == "SUCCEEDED" and summary["clean"] is True
    else:  # another test's leftovers: the execution fails and names the report
        assert (execution["status"], execution["error"]) == ("FAILED", "BooksDiffer")
        assert report["differences"] and "drexfy-ops reconciliation test-" in execution["cause"]
    assert set(report["totals"]) == {
        "stablecoin_outstanding", "held_by_investors", "company", "paid_in", "paid_out",
        "refunded", "held_in_suspense",
    }  # fmt: skip
    assert D(report["totals"]["stablecoin_outstanding"]) >= D(100)  # this module's purchase


def test_a_ledger_payment_with_no_record_is_reported(
    aws: LocalAws, ledger: LocalLedger, holding: dict[str, Any]
) -> None:
    _, before = reconcile(aws)
    issuer, address = holding["accounts"].issuer, holding["address"]
    coin = {"currency": "EUR", "issuer": issuer, "value": "10"}
    planted = submit_as("issuer", {"TransactionType": "Payment", "Account": issuer,
                                   "Destination": address, "Amount": coin}, ledger)  # fmt: skip
    _, after = reconcile(aws)
    found = changed(before, after)
    assert set(found) == {("wallet", address), ("stablecoin outstanding", "")}
    wallet = found[("wallet", address)]
    assert amount(wallet["ledger"]) - amount(wallet["records"]) == D(10)
    assert wallet["on_ledger_only"] == [planted] and wallet["in_records_only"] == []
    supply = found[("stablecoin outstanding", "")]
    assert planted in supply["on_ledger_only"]
    # Taken back, the wallet agrees again (the outstanding difference is history's own).
    clawback = {**coin, "issuer": address}
    submit_as("issuer", {"TransactionType": "Clawback", "Account": issuer, "Amount": clawback},
              ledger)  # fmt: skip
    _, mended = reconcile(aws)
    assert ("wallet", address) not in differences(mended)


def test_a_record_with_no_ledger_effect_is_reported(
    aws: LocalAws, ledger: LocalLedger, holding: dict[str, Any]
) -> None:
    from lambdas.records.tables import PurchaseRecord

    _, before = reconcile(aws)
    index = before["ledger_index"]
    fake = {
        step: {"hash": f"PLANTED{step.upper()}{uuid.uuid4().hex.upper()}", "ledger_index": index,
               "result": "tesSUCCESS"}
        for step in ("mint", "transfer", "deliver")
    }  # fmt: skip
    record = PurchaseRecord(
        f"purchase-planted-{uuid.uuid4().hex[:8]}", payment_id="planted",
        investor_id=holding["investor"],
        instrument_id=holding["instrument"], units=2, amount="200.00", currency="EUR",
        status="DELIVERED", issuance_id=holding["issuance"], investor_address=holding["address"],
        transactions=fake,
    )  # fmt: skip
    record.save()
    try:
        _, after = reconcile(aws)
    finally:
        record.delete()
    found = changed(before, after)
    company = holding["accounts"].company
    holder = f"{holding['issuance']}/{holding['address']}"
    assert set(found) == {
        ("company", company), ("holding", holder), ("issuance", holding["issuance"]),
        ("stablecoin outstanding", ""),
    }  # fmt: skip
    assert (
        found[("holding", holder)]["ledger"] == "1" and found[("holding", holder)]["records"] == "3"
    )
    assert found[("holding", holder)]["in_records_only"] == [fake["deliver"]["hash"]]
    assert fake["transfer"]["hash"] in found[("company", company)]["in_records_only"]
    assert fake["mint"]["hash"] in found[("stablecoin outstanding", "")]["in_records_only"]


def test_a_provider_payout_with_no_withdrawal_is_reported(aws: LocalAws) -> None:
    provider = aws.provider
    assert provider is not None
    _, before = reconcile(aws)
    ghost = f"wd-ghost-{uuid.uuid4().hex[:8]}"
    order = {
        "idempotency_key": f"payout-{ghost}", "withdrawal_id": ghost, "investor_id": "nobody",
        "amount": "12.34", "currency": "EUR",
        "beneficiary": {"iban": "DE89370400440532013000", "name": "Nobody"},
    }  # fmt: skip
    status, _, follow_up = provider.receive(
        "/payouts", {"authorization": f"Bearer {provider.api_key}"}, json.dumps(order).encode()
    )
    assert status == 202 and follow_up is not None
    follow_up()  # the provider pays it and says so; the platform's door refuses the answer
    wait_for(lambda: [w for w in provider.webhooks() if w.body.get("withdrawal_id") == ghost])
    (answer,) = [w for w in provider.webhooks() if w.body.get("withdrawal_id") == ghost]
    assert answer.status == 422, answer  # unknown_payout: kept, and nothing moves
    _, after = reconcile(aws)
    assert changed(before, after) == {
        ("payout", ghost): {"figure": "payout", "subject": ghost, "records": None,
                            "provider": "12.34", "on_ledger_only": [], "in_records_only": []},
    }  # fmt: skip


def test_a_wrong_amount_is_reported(aws: LocalAws, holding: dict[str, Any]) -> None:
    """The gateway announced 100.00 for a payment the provider settled as 100.10."""
    from local import payment_gateway
    from local.payment_gateway import announce_as_the_webhook_would
    from tests.workflows.conftest import payment

    provider = aws.provider
    assert provider is not None
    _, before = reconcile(aws)
    payment_gateway.take_payments_through(None)
    try:
        detail = payment(holding["investor"], instrument_id=holding["instrument"], amount="100.00")
        announce_as_the_webhook_would(detail)
    finally:
        payment_gateway.take_payments_through(provider)
    provider.capture(detail["payment_id"], "100.10")
    _, after = reconcile(aws)
    found = changed(before, after)
    assert set(found) == {("payment", detail["payment_id"])}
    wrong = found[("payment", detail["payment_id"])]
    assert (wrong["records"], wrong["provider"]) == ("100.00", "100.10")


def test_a_holder_outside_the_records_is_reported(
    aws: LocalAws, ledger: LocalLedger, holding: dict[str, Any]
) -> None:
    from xrpl.models.transactions import MPTokenAuthorize

    from tests.ledger_server.conftest import Env

    _, before = reconcile(aws)
    env, issuance, company = Env(ledger), holding["issuance"], holding["accounts"].company
    outsider = env.wallet()
    env.final(MPTokenAuthorize(account=outsider.address, mptoken_issuance_id=issuance),
              outsider, "tesSUCCESS")  # fmt: skip
    authorized = {"TransactionType": "MPTokenAuthorize", "Account": company,
                  "MPTokenIssuanceID": issuance, "Holder": outsider.address}  # fmt: skip
    submit_as("company", authorized, ledger)
    units = {"mpt_issuance_id": issuance, "value": "1"}
    paid = {"TransactionType": "Payment", "Account": company,
            "Destination": outsider.address, "Amount": units}  # fmt: skip
    planted = submit_as("company", paid, ledger)
    _, after = reconcile(aws)
    found = changed(before, after)
    outside = f"{issuance}/{outsider.address}"
    assert set(found) == {("holding", outside), ("issuance", issuance)}
    assert (found[("holding", outside)]["ledger"], found[("holding", outside)]["records"]) == (
        "1",
        None,
    )
    assert found[("holding", outside)]["on_ledger_only"] == [planted]
    assert (found[("issuance", issuance)]["ledger"], found[("issuance", issuance)]["records"]) == (
        "2",
        "1",
    )
    # Taken back, holding and issuance agree again (later tests read this platform's books).
    clawback = {"TransactionType": "Clawback", "Account": company, "Amount": units,
                "Holder": outsider.address}  # fmt: skip
    submit_as("company", clawback, ledger)
    _, mended = reconcile(aws)
    assert {("holding", outside), ("issuance", issuance)}.isdisjoint(differences(mended))


def test_the_schedule_reconciles_the_books_as_they_stood_before_the_run(
    aws: LocalAws, holding: dict[str, Any]
) -> None:
    """Fired at 00:30 it reads midnight's books; here, fired half an hour from now, it reads
    now's: every ledger closed so far."""
    from lambdas.records import reconciliations
    from local.aws import schedules

    fired_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    rule = next(r for r in schedules.scheduled_rules() if "DailyReconciliation" in r.name)
    assert schedules.fire(fired_at, only=rule.name) == 1

    def kept() -> list[Any]:
        cut_off = fired_at - timedelta(minutes=30)
        return [r for r in reconciliations.every() if r.cut_off == cut_off]

    (report,) = wait_for(kept, timeout=120)
    assert report.cut_off == fired_at - timedelta(minutes=30)
    assert report.ledger_index >= 1


def test_a_past_cut_off_reads_the_last_ledger_closed_by_then(
    aws: LocalAws, ledger: LocalLedger, platform: dict[str, Any]
) -> None:
    """Close times never go back (ledgers closing fast run ahead of the clock, as rippled's
    do): the cut-off is matched against the ledgers' close times."""
    from xrpl.utils import ripple_time_to_datetime

    client = platform["client"]
    index = 3  # closed as the session started: long past, whatever ran since
    closed = ripple_time_to_datetime(client.close_time(index))
    _, report = reconcile(aws, cut_off=closed.isoformat())
    assert report["ledger_index"] == index and report["cut_off"] == closed
