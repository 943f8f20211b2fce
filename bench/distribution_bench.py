"""A distribution to 1,000 holders: holders paid per validated ledger, payments in flight, and
the AWS cost per 1,000 payments, against a 10-holder distribution in the same run (its fixed
cost: taking the holders, the funds check, the report).

The holders are set up directly on the ledger and in the records, as a thousand purchases would
have left them (wallets with sealed seeds, authorized EUR lines, units, delivered purchases); that
is set-up, not measured. Then the Distribution workflow runs as in production: the Distributed
Map over the holders' list in S3 (MaxConcurrency 20), each payment signed by the company signer
on a Ticket and decided from the validated ledger, with the ledger closing every second
(LEDGER_CLOSE_SECONDS=1, so Wait states wait for real).

Usage: .venv/bin/python bench/distribution_bench.py [--holders 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from purchase_cost import LAMBDA_MEMORY_GB, PRICES, Meter

# Besides purchase_cost's: S3 (the holders' list read by the Map, the report written).
DISTRIBUTION_PRICES = {**PRICES, "s3 requests": Decimal("0.000005")}
PAYMENT_DATE = "2026-10-05"  # the first coupon of a quarterly note issued 2026-07-05
BATCH = 200  # transactions of one account per ledger in the set-up
# A payment not yet validated when first looked at waits and looks again: three transitions
# (this Wait, Pay holder, Holder paid?) whose number depends on the ledger's pace, not the design.
RECHECK_STATE = "Wait for payment"
ENTERED = "entered: "  # a count of its own per state name, beside the priced counts


@dataclass
class Run:
    holders: int
    seconds: float
    ledgers: int
    peak_in_flight: int
    mean_in_flight: float
    counts: dict[str, Decimal]
    lambda_seconds: float

    @property
    def per_ledger(self) -> float:
        return self.holders / max(self.ledgers, 1)

    def cost_per_1000_payments(self) -> Decimal:
        per_payment = {k: v / self.holders for k, v in self.counts.items()}
        gb_seconds = Decimal(str(self.lambda_seconds)) / self.holders * LAMBDA_MEMORY_GB
        per_payment["lambda GB-seconds"] = gb_seconds
        return sum(
            (per_payment.get(k, Decimal(0)) * p * 1000 for k, p in DISTRIBUTION_PRICES.items()),
            Decimal(0),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, default=1000)
    args = parser.parse_args()

    from local.aws.platform import in_process
    from local.ledger_server import LocalLedger

    overrides = {"LEDGER_CLOSE_SECONDS": "1"}
    with LocalLedger(close_interval_ms=1000) as ledger:
        overrides["XRPL_URLS"] = ",".join(ledger.rpc_urls)
        with in_process(overrides, instant_workflows=False) as aws:
            bootstrap(ledger)
            baseline = distribute(aws, ledger, 10)
            measured = distribute(aws, ledger, args.holders)
    report(baseline, measured)
    return 0


def bootstrap(ledger: Any) -> None:
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from local.ledger_server.genesis import fund
    from ops.platform_bootstrap import PlatformBootstrap

    root = Path(__file__).resolve().parents[1]
    accounts = platform_accounts()
    fund(ledger.rpc_url, accounts.funding, 100_000)
    submitter = LedgerSubmitter.for_ledger(ledger.rpc_url)
    signing = {role: signers.platform_signer(role) for role in accounts.roles()}
    catalogue = load_catalogue((root / "catalogue/instruments.json").read_text())
    PlatformBootstrap(submitter, accounts, signing, closing(ledger)).run(catalogue)


def distribute(aws: Any, ledger: Any, holders: int) -> Run:
    instrument = f"BEN-{uuid.uuid4().hex[:6].upper()}"
    print(f"set-up: {holders} holders of {instrument}…", flush=True)
    issuance = issue(ledger, instrument, holders)
    set_up_holders(ledger, instrument, issuance, holders)
    fund_company(ledger, Decimal(holders) * 10)
    print(f"distributing to {holders} holders…", flush=True)
    sfn = aws.client("stepfunctions")
    meter = Meter()
    subject = f"distribution-{instrument}-{PAYMENT_DATE}"
    with meter.installed(), counting_s3_and_transitions(meter), sampling(subject) as samples:
        first = ledger_index(ledger)
        started = time.perf_counter()
        name = f"{instrument}-{PAYMENT_DATE}"
        request = {"instrument_id": instrument, "payment_date": PAYMENT_DATE}
        sfn.start_execution(
            stateMachineArn=aws.stack.output("DistributionStateMachineArn"),
            name=name,
            input=json.dumps(request),
        )
        execution = finished(sfn, aws.stack.output("DistributionStateMachineArn"), name)
        seconds = time.perf_counter() - started
        ledgers = ledger_index(ledger) - first
    output = json.loads(execution.get("output") or "{}")
    assert execution["status"] == "SUCCEEDED", execution
    assert output["paid_holders"] == holders, output
    return Run(
        holders,
        seconds,
        ledgers,
        max(samples, default=0),
        sum(samples) / max(len(samples), 1),
        {k: Decimal(v) for k, v in meter.counts.items()},
        meter.lambda_seconds,
    )


# --- set-up: the instrument, its holders, the company's funds ----------------------------------


def issue(ledger: Any, instrument: str, holders: int) -> str:
    from domain.instruments import load_catalogue
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from lambdas.ledger_adapter.submission import LedgerSubmitter
    from lambdas.records import instruments
    from ops.platform_bootstrap import BootstrapPlan, PlatformBootstrap

    entry = {
        "instrument_id": instrument, "name": "Benchmark note", "sme_pool": "BENCH",
        "coupon_rate": "0.04", "day_count": "30E/360", "payments_per_year": 4,
        "issue_date": "2026-07-05", "maturity": "2027-07-05",
        "business_day_convention": "FOLLOWING", "unit_price": "100.00", "currency": "EUR",
        "tranche_units": holders * 10, "pays_automatically": True,
    }  # fmt: skip
    accounts = platform_accounts()
    signing = {role: signers.platform_signer(role) for role in accounts.roles()}
    submitter = LedgerSubmitter.for_ledger(ledger.rpc_url)
    catalogue = load_catalogue(json.dumps({"instruments": [entry]}))
    plan = BootstrapPlan(ticket_pools=False)
    PlatformBootstrap(submitter, accounts, signing, closing(ledger)).run(catalogue, plan)
    listed = instruments.find(instrument)
    assert listed is not None
    return listed.issuance_id


def set_up_holders(ledger: Any, instrument: str, issuance: str, count: int) -> None:
    """Each holder as a purchase leaves them: wallet, XRP, authorized EUR line, one unit. The
    platform's accounts sign through their signers, as always (no one else may use the keys)."""
    from xrpl.constants import CryptoAlgorithm
    from xrpl.wallet import Wallet

    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts
    from local.ledger_server import GENESIS_SEED

    accounts = platform_accounts()
    holders = [Wallet.create(algorithm=CryptoAlgorithm.ED25519) for _ in range(count)]
    ids = [f"inv-bench-{uuid.uuid4().hex[:8]}" for _ in holders]
    genesis = Wallet.from_seed(GENESIS_SEED)
    submit_all(ledger, genesis.address, sign_locally(genesis), [
        {"TransactionType": "Payment", "Destination": h.address, "Amount": "40000000"}
        for h in holders
    ])  # fmt: skip
    line = {"currency": "EUR", "issuer": accounts.issuer, "value": "1000000000"}
    for holder in holders:
        submit_all(ledger, holder.address, sign_locally(holder), [
            {"TransactionType": "TrustSet", "LimitAmount": line},
            {"TransactionType": "MPTokenAuthorize", "MPTokenIssuanceID": issuance},
        ], close=False)  # fmt: skip
    wait_for_close(ledger)
    submit_all(ledger, accounts.issuer, signers.platform_signer("issuer"), [
        {"TransactionType": "TrustSet", "Flags": 0x00010000,
         "LimitAmount": {"currency": "EUR", "issuer": h.address, "value": "0"}}
        for h in holders
    ])  # fmt: skip
    submit_all(ledger, accounts.company, signers.platform_signer("company"), [
        {"TransactionType": "MPTokenAuthorize", "MPTokenIssuanceID": issuance,
         "Holder": h.address}
        for h in holders
    ])  # fmt: skip
    delivered = submit_all(ledger, accounts.company, signers.platform_signer("company"), [
        {"TransactionType": "Payment", "Destination": h.address,
         "Amount": {"mpt_issuance_id": issuance, "value": "1"}}
        for h in holders
    ])  # fmt: skip
    keep_records(instrument, issuance, ids, holders, delivered)


def keep_records(
    instrument: str, issuance: str, ids: list[str], holders: list[Any], delivered: list[int]
) -> None:
    """What onboarding and a delivered purchase keep: the sealed wallet, the standing, the
    purchase with its delivery's validated ledger."""
    from domain.investor import InvestorStatus
    from domain.purchase import Payment
    from lambdas.aws_clients import kms
    from lambdas.config import settings
    from lambdas.custody.wallet_generator import encryption_context
    from lambdas.records import investors, purchases, wallets

    for investor_id, holder, ledger_index in zip(ids, holders, delivered, strict=True):
        context = encryption_context(investor_id, holder.address)
        key_id = settings().investor_seed_key_id
        sealed = kms().encrypt(
            KeyId=key_id, Plaintext=holder.seed.encode(), EncryptionContext=context
        )["CiphertextBlob"]
        wallets.keep_first(wallets.Wallet(investor_id, holder.address, sealed, key_id, "ed25519"))
        investors.set_status(investor_id, InvestorStatus.ACTIVE, "benchmark holder")
        paid = Payment(f"pay-{investor_id}", investor_id, instrument, 1, Decimal(100), "EUR")
        standing = investors.find_standing(investor_id)
        bought, _ = purchases.open_purchase(paid, standing, "bench set-up", redrive=False)
        delivery = {"result": "tesSUCCESS", "ledger_index": ledger_index, "hash": None}
        purchases.record_transaction(bought.purchase_id, "deliver", delivery)
        purchases.complete_delivery(bought.purchase_id)


def fund_company(ledger: Any, amount: Decimal) -> None:
    from lambdas.custody import signers
    from lambdas.custody.platform_signer import platform_accounts

    accounts = platform_accounts()
    value = {"currency": "EUR", "issuer": accounts.issuer, "value": str(amount)}
    payment = {"TransactionType": "Payment", "Destination": accounts.company, "Amount": value}
    submit_all(ledger, accounts.issuer, signers.platform_signer("issuer"), [payment])


def sign_locally(wallet: Any) -> Callable[[dict[str, Any]], Any]:
    """A holder's (or genesis's) own signature: the set-up made these wallets itself."""
    from xrpl.models.transactions.transaction import Transaction
    from xrpl.transaction import sign

    return lambda tx: sign(Transaction.from_xrpl(tx), wallet)


def submit_all(
    ledger: Any,
    account: str,
    sign: Callable[[dict[str, Any]], Any],
    transactions: list[dict[str, Any]],
    close: bool = True,
) -> list[int]:
    """Sign and submit the account's transactions in Sequence order, BATCH per ledger; the
    validated ledger each landed in (when `close`)."""
    from lambdas.ledger_adapter.client import LedgerClient

    client = LedgerClient(ledger.rpc_url)
    landed: list[int] = []
    for start in range(0, len(transactions), BATCH):
        sequence = client.current_sequence(account)
        assert sequence is not None, account
        current = client.validated_ledger_index()
        for offset, body in enumerate(transactions[start : start + BATCH]):
            tx = {**body, "Account": account, "Fee": "12", "Sequence": sequence + offset,
                  "LastLedgerSequence": current + 20}  # fmt: skip
            result = client.submit_blob(blob_of(sign(tx)))
            assert result in ("tesSUCCESS", "terQUEUED"), (result, tx)
        if close:
            landed += [wait_for_close(ledger)] * len(transactions[start : start + BATCH])
    return landed


def blob_of(signed: Any) -> str:
    if hasattr(signed, "tx_blob"):
        return str(signed.tx_blob)  # the platform signer's SignedTransaction
    return str(signed.blob())  # an xrpl-py Transaction signed locally


def closing(ledger: Any) -> Callable[[], None]:
    """What the bootstrap calls to see its transactions into a validated ledger."""

    def close() -> None:
        wait_for_close(ledger)

    return close


def wait_for_close(ledger: Any) -> int:
    """The next ledger to validate (they close every second)."""
    index = ledger_index(ledger)
    while ledger_index(ledger) == index:
        time.sleep(0.1)
    return ledger_index(ledger)


def ledger_index(ledger: Any) -> int:
    from lambdas.ledger_adapter.client import LedgerClient

    return LedgerClient(ledger.rpc_url).validated_ledger_index()


# --- measuring --------------------------------------------------------------------------------


@contextmanager
def counting_s3_and_transitions(meter: Meter) -> Iterator[None]:
    """S3 requests, and every state entered in any execution (the Map's children too)."""
    from moto.s3.models import S3Backend
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    real_get, real_put = S3Backend.get_object, S3Backend.put_object
    real_event = EventManager.add_event

    def get(*a: Any, **k: Any) -> Any:
        meter.counts["s3 requests"] += 1
        return real_get(*a, **k)

    def put(*a: Any, **k: Any) -> Any:
        meter.counts["s3 requests"] += 1
        return real_put(*a, **k)

    def event(self: Any, *a: Any, **k: Any) -> Any:
        kind = k.get("event_type") or (a[1] if len(a) > 1 else None)
        if kind is not None and str(getattr(kind, "value", kind)).endswith("StateEntered"):
            meter.counts["state transitions"] += 1
            details = k.get("event_details") or (a[2] if len(a) > 2 else None) or {}
            name = details.get("stateEnteredEventDetails", {}).get("name")
            meter.counts[ENTERED + str(name)] += 1
        return real_event(self, *a, **k)

    S3Backend.get_object, S3Backend.put_object = get, put  # type: ignore[method-assign]
    EventManager.add_event = event  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Backend.get_object, S3Backend.put_object = real_get, real_put  # type: ignore[method-assign]
        EventManager.add_event = real_event  # type: ignore[method-assign]


@contextmanager
def sampling(subject: str) -> Iterator[list[int]]:
    """Payments in flight (signed and submitted, not yet decided), sampled every half second."""
    from lambdas.records import submissions

    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append(submissions.in_flight_under(subject))  # counted, not read back

    worker = threading.Thread(target=sample, daemon=True)
    worker.start()
    try:
        yield samples
    finally:
        stop.set()
        worker.join()


def finished(sfn: Any, machine: str, name: str, timeout: float = 3600) -> dict[str, Any]:
    arn = machine.replace(":stateMachine:", ":execution:") + f":{name}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution  # type: ignore[no-any-return]
        time.sleep(1)
    raise TimeoutError(name)


def report(baseline: Run, measured: Run) -> None:
    print(f"\n{'distribution':<38} {'baseline':>12} {'measured':>12}")
    rows = [
        ("holders paid", baseline.holders, measured.holders),
        ("seconds", f"{baseline.seconds:.1f}", f"{measured.seconds:.1f}"),
        ("validated ledgers", baseline.ledgers, measured.ledgers),
        ("holders paid per validated ledger", f"{baseline.per_ledger:.2f}",
         f"{measured.per_ledger:.2f}"),
        ("payments in flight, peak", baseline.peak_in_flight, measured.peak_in_flight),
        ("payments in flight, mean", f"{baseline.mean_in_flight:.1f}",
         f"{measured.mean_in_flight:.1f}"),
        ("USD per 1,000 payments", f"{baseline.cost_per_1000_payments():.4f}",
         f"{measured.cost_per_1000_payments():.4f}"),
    ]  # fmt: skip
    for label, small, large in rows:
        print(f"{label:<38} {small!s:>12} {large!s:>12}")
    print("\nper payment (measured)")
    gb_seconds = Decimal(str(measured.lambda_seconds)) / measured.holders * LAMBDA_MEMORY_GB
    for item, price in DISTRIBUTION_PRICES.items():
        count = measured.counts.get(item, Decimal(0)) / measured.holders
        if item == "lambda GB-seconds":
            count = gb_seconds
        print(f"  {item:<30} {count:>8.2f}  x {price} USD")
    rechecks = measured.counts.get(ENTERED + RECHECK_STATE, Decimal(0)) / measured.holders
    transitions = measured.counts.get("state transitions", Decimal(0)) / measured.holders
    print(f"  {'ledger re-checks':<30} {rechecks:>8.2f}  (3 transitions each: "
          f"{transitions - 3 * rechecks:.2f} transitions a payment without them)")  # fmt: skip
    lambda_ms = measured.lambda_seconds / measured.holders * 1000
    print(f"  lambda time per payment: {lambda_ms:.0f} ms at 512 MB (this machine, hand-over in)")
    print("\nstates entered per payment (measured; under 0.05, the distribution's own, left out)")
    entered = sorted(
        ((k.removeprefix(ENTERED), v / measured.holders) for k, v in measured.counts.items()
         if k.startswith(ENTERED)),
        key=lambda item: -item[1],
    )  # fmt: skip
    for state, count in entered:
        if count >= Decimal("0.05"):
            print(f"  {state:<30} {count:>8.2f}")


if __name__ == "__main__":
    sys.exit(main())
