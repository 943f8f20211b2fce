"""Withdrawal latency and AWS cost: the platform's withdrawals against a plain baseline, same run.

Both sides withdraw on the same local ledger, closing every --close-ms in real time, and pay out
through a payment provider stand-in that pays at once:
  platform  - POST /investors/{id}/withdrawals through the local API gateway (as Bubble calls
              it), the Withdrawal workflow (redeem the stablecoin, ask the provider), the
              provider's webhook, the Settlement workflow: until the withdrawal is PAID_OUT.
  baseline  - the same money movements the plain way: the investor's Payment to the issuer with
              xrpl-py's submit_and_wait (autofill), then POST /payouts to its own provider
              stand-in: until that provider sends its "payout.paid" webhook.
Each side runs at concurrency 1 (--samples withdrawals one after another) and at --concurrency
(that many at once, one investor each). The platform's AWS calls are counted while it runs and
priced per 1,000 withdrawals (bench/purchase_cost.py's prices and meter).

Usage: .venv/bin/python bench/withdrawal_bench.py [--close-ms 1000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from purchase_cost import LAMBDA_MEMORY_GB, PRICES, Meter
from purchase_latency import Baseline, Saga

from local.cpu_shares import SamplingProfile

AMOUNT = "10.00"  # each withdrawal
FUNDED = Decimal("1000.00")  # EUR each investor holds before the runs
IBAN, HOLDER = "DE89370400440532013000", "Ada Lovelace"
WORKFLOWS = ("WithdrawalStateMachineArn", "SettlementStateMachineArn")


@dataclass
class Run:
    side: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    ledgers: int = 0

    def summary(self) -> dict[str, Any]:
        done = self.latencies
        return {
            "side": self.side, "concurrency": self.concurrency, "completed": len(done),
            "failed": self.failures,
            "latency_p50_s": round(statistics.median(done), 2) if done else None,
            "latency_max_s": round(max(done), 2) if done else None,
            "per_ledger_close": round(len(done) / self.ledgers, 2) if self.ledgers else None,
        }  # fmt: skip


# --- the platform -----------------------------------------------------------------------------


class Platform:
    """Investors with a verified payout account and EUR in the wallet; withdrawals as Bubble
    asks for them."""

    def __init__(self, aws: Any, ledger: Any, investors: int) -> None:
        self.aws, self.ledger = aws, ledger
        self.saga = Saga(aws, ledger, investors)  # bootstrap, wallets, a first purchase each
        self.token = ""

    def prepare(self) -> None:
        from domain.bank_account import BankAccount
        from lambdas.records import investors, wallets

        for investor_id in self.saga.investor_ids:
            investors.record_kyc_decision(
                investor_id, f"case-{uuid.uuid4().hex[:6]}", datetime.now(UTC), True, "",
                payout_account=BankAccount(IBAN, HOLDER),
            )  # fmt: skip
        self.saga.prepare()
        for investor_id in self.saga.investor_ids:
            found = wallets.find(investor_id)
            assert found is not None, investor_id
            self._mint(found.address)
        secret = self.aws.client("secretsmanager").get_secret_value(
            SecretId=self.aws.stack.output("FrontendApiSecretArn")
        )
        self.token = str(secret["SecretString"])

    def _mint(self, address: str) -> None:
        """Set-up, not measured: EUR to withdraw, as a coupon would have left it."""
        from lambdas.custody import signers
        from lambdas.custody.platform_signer import platform_accounts
        from lambdas.ledger_adapter.submission import LedgerSubmitter

        issuer = platform_accounts().issuer
        submitter = LedgerSubmitter.for_ledger(self.ledger.rpc_url)
        key, sign = f"bench-mint-{uuid.uuid4().hex[:8]}", signers.platform_signer("issuer")
        amount = {"currency": "EUR", "issuer": issuer, "value": str(FUNDED)}
        tx = {"TransactionType": "Payment", "Account": issuer, "Destination": address,
              "Amount": amount}  # fmt: skip
        # The warm-up's purchases may have emptied the pool: wait for its refill.
        submitted = submitter.submit_when_a_ticket_is_free(key, tx, sign, lambda: time.sleep(1))
        assert submitted is not None, f"no ticket for the mint to {address}"
        deadline = time.monotonic() + 60
        while submitter.check(key, sign).result != "tesSUCCESS":
            assert time.monotonic() < deadline, f"mint to {address} not validated"
            time.sleep(0.2)

    def withdraw(self, count: int, run: Run) -> None:
        from lambdas.records import withdrawals

        first_ledger = self.ledger.chain.last_closed.seq
        started = {self._ask(self.saga.investor_ids[n]): time.monotonic() for n in range(count)}
        waiting, deadline = dict(started), time.monotonic() + 600
        while waiting and time.monotonic() < deadline:
            # One read of those still waiting, by key: a read each every 50 ms was 400 a second at
            # 20, each queued behind the platform's own on the emulated DynamoDB.
            for withdrawal_id, found in withdrawals.found(waiting).items():
                if found.status.is_final:
                    stopped = time.monotonic() - waiting.pop(withdrawal_id)
                    if found.status.value == "PAID_OUT":
                        run.latencies.append(stopped)
                    else:
                        run.failures += 1
            time.sleep(0.05)
        run.failures += len(waiting)
        run.ledgers += self.ledger.chain.last_closed.seq - first_ledger

    def _ask(self, investor_id: str) -> str:
        request = urllib.request.Request(
            f"{self.aws.api_url}/investors/{investor_id}/withdrawals",
            data=json.dumps({"amount": AMOUNT}).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                     "Idempotency-Key": uuid.uuid4().hex},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            return str(json.loads(answer.read())["withdrawal_id"])

    def transitions_since(self, since: datetime) -> int:
        sfn = self.aws.client("stepfunctions")
        entered = 0
        for output in WORKFLOWS:
            arn = self.aws.stack.output(output)
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                for execution in page["executions"]:
                    if execution["startDate"] < since:
                        continue
                    history = sfn.get_execution_history(
                        executionArn=execution["executionArn"], maxResults=1000
                    )["events"]
                    entered += sum(1 for e in history if e["type"].endswith("StateEntered"))
        return entered


# --- the baseline -----------------------------------------------------------------------------


class PlainWithdrawals(Baseline):
    """The purchase baseline's issuer and investors (authorized EUR lines), funded with EUR;
    a withdrawal is one Payment to the issuer and one payout asked of the provider."""

    def __init__(self, ledger: Any, investors: int) -> None:
        from local.payment_provider import PaymentProvider

        super().__init__(ledger, investors)
        self.provider = PaymentProvider("baseline-key", b"baseline-secret").start()
        # Its webhooks go to a path it does not serve: each "paid" is sent once, and timed.
        self.provider.webhook_url = f"{self.provider.base_url}/paid"

    def prepare(self) -> None:
        from xrpl.models import IssuedCurrencyAmount, Payment

        super().prepare()
        eur = IssuedCurrencyAmount(currency="EUR", issuer=self.issuer.address, value=str(FUNDED))
        for investor in self.investors:
            payment = Payment(account=self.issuer.address, destination=investor.address, amount=eur)
            self._setup(payment, self.issuer)

    async def withdrawal(self, n: int) -> float:
        from xrpl.models import IssuedCurrencyAmount, Payment

        started = time.monotonic()
        investor, withdrawal_id = self.investors[n], f"base-{uuid.uuid4().hex[:10]}"
        eur = IssuedCurrencyAmount(currency="EUR", issuer=self.issuer.address, value=AMOUNT)
        redeem = Payment(account=investor.address, destination=self.issuer.address, amount=eur)
        await self._submit_and_wait(redeem, investor)
        await asyncio.to_thread(self._payout, withdrawal_id)
        while not self._paid(withdrawal_id):
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    def _payout(self, withdrawal_id: str) -> None:
        order = {"idempotency_key": withdrawal_id, "withdrawal_id": withdrawal_id,
                 "investor_id": withdrawal_id, "amount": AMOUNT, "currency": "EUR",
                 "beneficiary": {"iban": IBAN, "name": HOLDER}}  # fmt: skip
        request = urllib.request.Request(
            f"{self.provider.base_url}/payouts", data=json.dumps(order).encode(), method="POST",
            headers={"Authorization": "Bearer baseline-key", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30):
            pass

    def _paid(self, withdrawal_id: str) -> bool:
        return any(w.body.get("withdrawal_id") == withdrawal_id for w in self.provider.webhooks())

    def withdraw(self, count: int, run: Run) -> None:
        first_ledger = self.ledger.chain.last_closed.seq

        async def all_at_once() -> list[float | BaseException]:
            each = (self.withdrawal(n) for n in range(count))
            return await asyncio.gather(*each, return_exceptions=True)

        for outcome in asyncio.run(all_at_once()):
            if isinstance(outcome, BaseException):
                run.failures += 1
            else:
                run.latencies.append(outcome)
        run.ledgers += self.ledger.chain.last_closed.seq - first_ledger


# --- the run ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--close-ms", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=5, help="withdrawals at concurrency 1")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from local.aws.platform import in_process
    from local.ledger_server import LocalLedger

    environment = {"LEDGER_CLOSE_SECONDS": str(max(1, args.close_ms // 1000))}
    with LocalLedger(close_interval_ms=args.close_ms) as ledger:
        environment["XRPL_URLS"] = ",".join(ledger.rpc_urls)
        with in_process(environment, instant_workflows=False) as aws:
            print("preparing both sides (bootstrap, investors, EUR)...", file=sys.stderr)
            ours, plain = (
                Platform(aws, ledger, args.concurrency),
                PlainWithdrawals(ledger, args.concurrency),
            )
            ours.prepare()
            plain.prepare()
            figures = measure(ours, plain, args.samples, args.concurrency)
            plain.provider.stop()
    print(json.dumps(figures, indent=2, default=str) if args.json else report(figures))
    return 0


def measure(ours: Platform, plain: PlainWithdrawals, samples: int, many: int) -> dict[str, Any]:
    runs, meter, profile = [], Meter(), SamplingProfile()
    ours.withdraw(1, Run("platform warm-up", 1))  # the functions' processes start: not measured
    plain.withdraw(1, Run("baseline warm-up", 1))
    since, withdrawn = datetime.now(UTC), 0
    for concurrency in (1, many):
        for side in ("platform", "baseline"):
            run = Run(side, concurrency)
            for _ in range(samples if concurrency == 1 else 1):
                if side == "platform":
                    with meter.installed(), profiling(profile, concurrency > 1):
                        ours.withdraw(concurrency, run)
                    withdrawn += concurrency
                else:
                    plain.withdraw(concurrency, run)
            runs.append(run.summary())
            print(f"  {side:<8} concurrency {concurrency:>3}: {runs[-1]}", file=sys.stderr)
    meter.counts["state transitions"] = ours.transitions_since(since)
    return {"runs": runs, "cost": cost_per_1000(meter, withdrawn), "withdrawn": withdrawn,
            "time_shares_percent": profile.shares()}  # fmt: skip


@contextmanager
def profiling(profile: SamplingProfile, wanted: bool) -> Iterator[None]:
    """Where the platform's busy time goes: sampled while many withdrawals run at once."""
    if not wanted:
        yield
        return
    with profile.running():
        yield


def cost_per_1000(meter: Meter, withdrawn: int) -> dict[str, Any]:
    per = {k: Decimal(v) / withdrawn for k, v in meter.counts.items()}
    per["lambda GB-seconds"] = Decimal(str(meter.lambda_seconds)) / withdrawn * LAMBDA_MEMORY_GB
    lines = {
        k: (per.get(k, Decimal(0)), per.get(k, Decimal(0)) * p * 1000) for k, p in PRICES.items()
    }
    return {"per_withdrawal": {k: c for k, (c, _) in lines.items()},
            "usd_per_1000": {k: u for k, (_, u) in lines.items()},
            "usd_per_1000_total": sum((u for _, u in lines.values()), Decimal(0))}  # fmt: skip


def report(figures: dict[str, Any]) -> str:
    runs = {(r["side"], r["concurrency"]): r for r in figures["runs"]}
    lines = [
        f"{'concurrency':>11}  {'platform p50 s':>14}  {'baseline p50 s':>14}  "
        f"{'platform/baseline':>17}  {'max s (platform/baseline)':>25}  {'done':>9}"
    ]
    for concurrency in sorted({c for _, c in runs}):
        ours, theirs = runs[("platform", concurrency)], runs[("baseline", concurrency)]
        ratio = (
            f"{ours['latency_p50_s'] / theirs['latency_p50_s']:.2f}x"
            if ours["latency_p50_s"] and theirs["latency_p50_s"] else "n/a"
        )  # fmt: skip
        done = f"{ours['completed']}/{ours['completed'] + ours['failed']}"
        lines.append(
            f"{concurrency:>11}  {ours['latency_p50_s']!s:>14}  {theirs['latency_p50_s']!s:>14}  "
            f"{ratio:>17}  {ours['latency_max_s']!s:>12} / {theirs['latency_max_s']!s:<10}  "
            f"{done:>9}"
        )
    cost = figures["cost"]
    lines += ["", f"AWS per withdrawal ({figures['withdrawn']} withdrawals), USD per 1,000:"]
    for item, count in cost["per_withdrawal"].items():
        lines.append(f"  {item:<30} {count:>10.2f} {cost['usd_per_1000'][item]:>12.4f}")
    lines.append(f"  {'total':<30} {'':>10} {cost['usd_per_1000_total']:>12.4f}")
    shares = figures["time_shares_percent"].items()
    lines.append("where the platform's CPU time goes (at concurrency > 1, all processes): "
                 + ", ".join(f"{layer} {share}%" for layer, share in shares))  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
