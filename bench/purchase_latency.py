"""Purchase latency, ledger rounds and throughput: the saga against a plain baseline, same run.

Both sides buy on the same local ledger, closing every --close-ms in real time:
  saga      - the platform (in-process moto, real Wait states and retries): a PaymentReceived
              event on the bus, then Record deposit ... Purchase delivered.
  baseline  - a plain sequential implementation of the same five steps (deposit kept in memory,
              issuer authorizes the EUR line, mints, investor pays the company, company delivers
              the instrument), each with xrpl-py's submit_and_wait and sequences from
              account_info (autofill); a failed submission is retried, up to 10 times.
Each side runs alone at concurrency 1 (--samples purchases one after another), 50 and 200
(that many purchases at once across --investors investors). Sequence errors are counted at the
ledger itself, per side: terPRE_SEQ, tefMAX_LEDGER, and tefPAST_SEQ unless that very blob
validated (then it was a re-send of an applied transaction, counted apart).
A sampling profiler attributes the saga's busy time to the ledger, the Lambdas and the AWS
emulation.

Usage: .venv/bin/python bench/purchase_latency.py [--close-ms 2000] [--concurrency 1 50 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.cpu_shares import SamplingProfile
from local.ledger_server.audit import SubmissionTally
from local.payment_gateway import announce_as_the_webhook_would

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INSTRUMENT = "SME-2027-A"


@dataclass
class Run:
    side: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)
    failures: int = 0
    ledgers: int = 0  # ledgers closed while the run lasted

    def summary(self) -> dict[str, Any]:
        done = len(self.latencies)
        return {
            "side": self.side,
            "concurrency": self.concurrency,
            "completed": done,
            "failed": self.failures,
            "latency_p50_s": self._median_counting_abandoned(),
            "delivered_latency_p50_s": (
                round(statistics.median(self.latencies), 2) if done else None
            ),
            "latency_max_s": round(max(self.latencies), 2) if done else None,
            "rounds_p50": statistics.median(self.rounds) if self.rounds else None,
            "rounds_max": max(self.rounds) if self.rounds else None,
            "per_ledger_close": round(done / self.ledgers, 2) if self.ledgers else None,
        }

    def _median_counting_abandoned(self) -> float | None:
        """An abandoned purchase never delivered: None when the median purchase is one."""
        everyone = sorted(self.latencies) + [math.inf] * self.failures
        median = statistics.median(everyone) if everyone else math.inf
        return round(median, 2) if math.isfinite(median) else None


# --- the saga ---------------------------------------------------------------------------------


class Saga:
    def __init__(self, aws: Any, ledger: Any, investors: int) -> None:
        self.aws, self.ledger = aws, ledger
        self.investor_ids = [f"inv-lat-{uuid.uuid4().hex[:6]}-{n}" for n in range(investors)]
        self.accounts: set[str] = set()
        self.price = ""

    def prepare(self) -> None:
        from domain.instruments import load_catalogue
        from lambdas.custody import signers
        from lambdas.custody.platform_signer import platform_accounts
        from lambdas.ledger_adapter.submission import LedgerSubmitter
        from local.ledger_server.genesis import fund
        from ops.platform_bootstrap import PlatformBootstrap
        from ops.register_investor import register_investor

        root = Path(__file__).resolve().parents[1]
        accounts = platform_accounts()
        fund(self.ledger.rpc_url, accounts.funding, 5_000)
        submitter = LedgerSubmitter.for_ledger(self.ledger.rpc_url)
        signing = {role: signers.platform_signer(role) for role in accounts.roles()}
        catalogue = load_catalogue((root / "catalogue/instruments.json").read_text())
        PlatformBootstrap(submitter, accounts, signing, self.ledger.close_ledger).run(catalogue)
        self.price = str(next(i for i in catalogue if i.instrument_id == INSTRUMENT).unit_price)
        wallets = [register_investor(i, self.ledger.close_ledger) for i in self.investor_ids]
        self.accounts = {accounts.issuer, accounts.company, accounts.funding, *wallets}
        # Each investor's first purchase also opens its holdings: not what is measured.
        self.buy(len(self.investor_ids), Run("saga warm-up", 0))

    def buy(self, count: int, run: Run) -> None:
        start_ledger = self.ledger.chain.last_closed.seq
        events = self.aws.client("events")
        started: dict[str, tuple[datetime, int]] = {}
        for batch in _batches([self._payment(n) for n in range(count)], 10):
            at = datetime.now(UTC)
            seq = self.ledger.chain.last_closed.seq
            events.put_events(Entries=[entry for _, entry in batch])
            started.update({payment_id: (at, seq) for payment_id, _ in batch})
        outcomes = self._finished(set(started))
        for payment_id, (status, stop, output) in outcomes.items():
            at, seq = started[payment_id]
            if status != "DELIVERED":
                run.failures += 1
                continue
            run.latencies.append((stop - at).total_seconds())
            run.rounds.append(int(output["transactions"]["deliver"]["ledger_index"]) - seq)
        run.ledgers += self.ledger.chain.last_closed.seq - start_ledger

    def _payment(self, n: int) -> tuple[str, dict[str, Any]]:
        payment_id = f"lat-{uuid.uuid4().hex[:10]}"
        detail = {
            "payment_id": payment_id,
            "investor_id": self.investor_ids[n % len(self.investor_ids)],
            "instrument_id": INSTRUMENT,
            "units": 1,
            "amount": self.price,
            "currency": "EUR",
        }
        announce_as_the_webhook_would(detail)
        entry = {
            "Source": "drexfy.payments",
            "DetailType": "PaymentReceived",
            "EventBusName": self.aws.stack.output("EventBusName"),
            "Detail": json.dumps(detail),
        }
        return payment_id, entry

    def _finished(
        self, payment_ids: set[str], timeout: float = 1800
    ) -> dict[str, tuple[str, datetime, dict[str, Any]]]:
        """(status, execution stop time, output) of each payment's purchase, once all ended.

        Polls only the status of the purchases not yet ended, by key, once a second: watching
        must cost the platform little (a scan every half second took 42 % of the emulator's
        time at 200, whole records read back by key still 20 %)."""
        from domain.purchase import purchase_id_for
        from lambdas.records import purchases

        sfn = self.aws.client("stepfunctions")
        waiting = {purchase_id_for(payment_id): payment_id for payment_id in payment_ids}
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for purchase_id, status in purchases.statuses(waiting).items():
                if status in ("DELIVERED", "REFUNDED"):
                    del waiting[purchase_id]
            if waiting:
                time.sleep(1.0)
        unfinished = set(waiting.values())
        outcomes: dict[str, tuple[str, datetime, dict[str, Any]]] = {}
        for payment_id in payment_ids - unfinished:  # once each, at the end
            record = purchases.get(purchase_id_for(payment_id))
            execution = sfn.describe_execution(executionArn=record.execution_arn)
            while execution["status"] == "RUNNING":  # Announce delivery is still going
                time.sleep(0.2)
                execution = sfn.describe_execution(executionArn=record.execution_arn)
            output = json.loads(execution.get("output") or "{}")
            outcomes[payment_id] = (record.status.value, execution["stopDate"], output)
        return outcomes


# --- the baseline -----------------------------------------------------------------------------


class Baseline:
    """The five steps done the plain way: one transaction after another, submit_and_wait."""

    def __init__(self, ledger: Any, investors: int) -> None:
        from xrpl.asyncio.clients import AsyncJsonRpcClient
        from xrpl.clients import JsonRpcClient
        from xrpl.wallet import Wallet

        self.ledger = ledger
        self.client = JsonRpcClient(ledger.rpc_url)
        # Concurrent purchases are coroutines on one event loop, as xrpl-py's asyncio API
        # intends: 200 threads would starve the in-process ledger server of the GIL.
        self.async_client = AsyncJsonRpcClient(ledger.rpc_url)
        self.issuer, self.company = Wallet.create(), Wallet.create()
        self.investors = [Wallet.create() for _ in range(investors)]
        self.deposits: dict[str, str] = {}
        self.issuance_id = ""
        self.retries = 0
        self.failures: Counter[str] = Counter()  # why submit_and_wait gave up, for the report

    @property
    def accounts(self) -> set[str]:
        return {self.issuer.address, self.company.address, *(w.address for w in self.investors)}

    def prepare(self) -> None:
        from xrpl.models import AccountSet, AccountSetAsfFlag, MPTokenIssuanceCreate

        from local.ledger_server.genesis import fund

        for wallet in (self.issuer, self.company, *self.investors):
            fund(self.ledger.rpc_url, wallet.address, 100)
        for flag in (AccountSetAsfFlag.ASF_REQUIRE_AUTH, AccountSetAsfFlag.ASF_DEFAULT_RIPPLE):
            self._setup(AccountSet(account=self.issuer.address, set_flag=flag), self.issuer)
        created = self._setup(MPTokenIssuanceCreate(account=self.company.address), self.company)
        self.issuance_id = self._issuance_of(created)
        for holder in (self.company, *self.investors):
            self._open_holdings(holder)

    def _open_holdings(self, holder: Any) -> None:
        from xrpl.models import IssuedCurrencyAmount, MPTokenAuthorize, TrustSet

        limit = IssuedCurrencyAmount(currency="EUR", issuer=self.issuer.address, value="1000000")
        self._setup(TrustSet(account=holder.address, limit_amount=limit), holder)
        self._setup(self._authorize_line(holder.address), self.issuer)
        if holder is not self.company:
            self._setup(
                MPTokenAuthorize(account=holder.address, mptoken_issuance_id=self.issuance_id),
                holder,
            )

    def _authorize_line(self, holder: str) -> Any:
        from xrpl.models import IssuedCurrencyAmount, TrustSet, TrustSetFlag

        line = IssuedCurrencyAmount(currency="EUR", issuer=holder, value="0")
        return TrustSet(
            account=self.issuer.address, limit_amount=line, flags=TrustSetFlag.TF_SET_AUTH
        )

    def _setup(self, tx: Any, wallet: Any) -> dict[str, Any]:
        from xrpl.transaction import autofill_and_sign, submit

        signed = autofill_and_sign(tx, self.client, wallet)
        result = submit(signed, self.client).result
        self.ledger.close_ledger()
        if result["engine_result"] != "tesSUCCESS":
            raise RuntimeError(f"baseline setup {tx.transaction_type}: {result['engine_result']}")
        return {"hash": signed.get_hash()}

    def _issuance_of(self, created: dict[str, Any]) -> str:
        from xrpl.models import Tx

        meta = self.client.request(Tx(transaction=created["hash"])).result["meta"]
        return str(meta["mpt_issuance_id"])

    async def purchase(self, n: int, amount: str) -> float:
        """One purchase, start to delivery; returns its latency in seconds."""
        from xrpl.models import IssuedCurrencyAmount, MPTAmount, Payment

        started = time.monotonic()
        investor = self.investors[n % len(self.investors)]
        self.deposits[f"base-{uuid.uuid4().hex[:10]}"] = amount  # 1. deposit recorded
        eur = IssuedCurrencyAmount(currency="EUR", issuer=self.issuer.address, value=amount)
        steps = [
            (self._authorize_line(investor.address), self.issuer),  # 2. line authorized
            (Payment(account=self.issuer.address, destination=investor.address, amount=eur),
             self.issuer),  # 3. stablecoin minted
            (Payment(account=investor.address, destination=self.company.address, amount=eur),
             investor),  # 4. stablecoin moved to the company
            (Payment(account=self.company.address, destination=investor.address,
                     amount=MPTAmount(mpt_issuance_id=self.issuance_id, value="1")),
             self.company),  # 5. instrument delivered
        ]  # fmt: skip
        for tx, wallet in steps:
            await self._submit_and_wait(tx, wallet)
        return time.monotonic() - started

    async def _submit_and_wait(self, tx: Any, wallet: Any) -> None:
        from xrpl.asyncio.transaction import submit_and_wait
        from xrpl.transaction import XRPLReliableSubmissionException

        for _ in range(10):
            try:
                response = await submit_and_wait(tx, self.async_client, wallet)
            except XRPLReliableSubmissionException as failure:
                self.retries += 1
                reason = (
                    "expired (LastLedgerSequence passed)"
                    if "LastLedgerSequence" in str(failure)
                    else str(failure)[:60]
                )
                self.failures[reason] += 1
                continue
            if response.result["meta"]["TransactionResult"] == "tesSUCCESS":
                return
            self.retries += 1
        raise RuntimeError(f"baseline gave up on {tx.transaction_type} after 10 tries")

    def buy(self, count: int, amount: str, run: Run) -> None:
        start_ledger = self.ledger.chain.last_closed.seq

        async def all_at_once() -> list[float | BaseException]:
            purchases = (self.purchase(n, amount) for n in range(count))
            return await asyncio.gather(*purchases, return_exceptions=True)

        for outcome in asyncio.run(all_at_once()):
            if isinstance(outcome, BaseException):
                # Gave up, or lost the server mid-step: a retry could apply the step twice.
                run.failures += 1
                self.failures[f"purchase abandoned: {type(outcome).__name__}"] += 1
            else:
                run.latencies.append(outcome)
        run.ledgers += self.ledger.chain.last_closed.seq - start_ledger


# --- the run ----------------------------------------------------------------------------------


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def measure(
    concurrencies: list[int], samples: int, buy_saga: Callable[[int, Run], None],
    buy_baseline: Callable[[int, Run], None],
) -> list[Run]:  # fmt: skip
    runs = []
    for concurrency in concurrencies:
        for side, buy in (("saga", buy_saga), ("baseline", buy_baseline)):
            run = Run(side, concurrency)
            for _ in range(samples if concurrency == 1 else 1):
                buy(concurrency, run)
            runs.append(run)
            print(f"  {side:<8} concurrency {concurrency:>3}: {run.summary()}", file=sys.stderr)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--close-ms", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--samples", type=int, default=5, help="purchases at concurrency 1")
    parser.add_argument("--investors", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from local.aws.platform import in_process
    from local.ledger_server import LocalLedger

    with (
        LocalLedger(close_interval_ms=args.close_ms) as ledger,
        in_process(
            {
                "XRPL_URLS": ",".join(ledger.rpc_urls),
                "LEDGER_CLOSE_SECONDS": str(max(1, args.close_ms // 1000)),
            },
            instant_workflows=False,
        ) as aws,
    ):
        tally = SubmissionTally(ledger.chain)
        saga, baseline = Saga(aws, ledger, args.investors), Baseline(ledger, args.investors)
        print("preparing both sides (bootstrap, investors, holdings)...", file=sys.stderr)
        saga.prepare()
        baseline.prepare()
        tally.submissions.clear()
        profile = SamplingProfile()
        runs = measure(
            args.concurrency,
            args.samples,
            lambda count, run: _profiled(profile, run, lambda: saga.buy(count, run)),
            lambda count, run: baseline.buy(count, saga.price, run),
        )
        saga_errors = tally.sequence_errors(saga.accounts, ledger.rpc_url)
        baseline_errors = tally.sequence_errors(baseline.accounts, ledger.rpc_url)
        figures = {
            "close_interval_s": args.close_ms / 1000,
            "runs": [run.summary() for run in runs],
            "sequence_errors": {"saga": saga_errors[0], "baseline": baseline_errors[0]},
            "resends_of_applied_blobs": {"saga": saga_errors[1], "baseline": baseline_errors[1]},
            "unsuccessful_submissions": {
                "saga": tally.unsuccessful(saga.accounts),
                "baseline": tally.unsuccessful(baseline.accounts),
            },
            "baseline_retries": baseline.retries,
            "baseline_failures": dict(baseline.failures),
            "saga_time_shares_percent": profile.shares(),
        }
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


def _profiled(profile: SamplingProfile, run: Run, buy: Callable[[], None]) -> None:
    if run.concurrency >= 50:
        with profile.running():
            buy()
    else:
        buy()


def report(figures: dict[str, Any]) -> str:
    runs = {(r["side"], r["concurrency"]): r for r in figures["runs"]}
    lines = [
        f"ledger closes every {figures['close_interval_s']} s",
        "",
        f"{'concurrency':>11}  {'saga p50 s':>10}  {'baseline p50 s':>14}  {'baseline/saga':>13}"
        f"  {'saga rounds p50/max':>19}  {'saga/close':>10}  {'baseline/close':>14}"
        f"  {'delivered saga/baseline':>23}",
    ]
    for concurrency in sorted({c for _, c in runs}):
        ours, theirs = runs[("saga", concurrency)], runs[("baseline", concurrency)]
        lines.append(
            f"{concurrency:>11}  {_p50(ours):>10}  {_p50(theirs):>14}  {_ratio(ours, theirs):>13}"
            f"  {ours['rounds_p50']!s:>8} / {ours['rounds_max']!s:<8}"
            f"  {ours['per_ledger_close']!s:>10}  {theirs['per_ledger_close']!s:>14}"
            f"  {_delivered(ours) + ' / ' + _delivered(theirs):>23}"
        )
    errors = figures["sequence_errors"]
    lines += [
        "",
        f"sequence errors: saga {errors['saga']}, baseline {errors['baseline']} "
        f"(baseline retries {figures['baseline_retries']}); re-sends of an applied blob: "
        f"{figures['resends_of_applied_blobs']}; all preliminary results but tesSUCCESS: "
        f"{figures['unsuccessful_submissions']}; why the baseline retried or abandoned: "
        f"{figures['baseline_failures']}",
        "p50 counts an abandoned purchase as never delivered ('never': the median purchase"
        " was abandoned); in brackets, the p50 of the delivered ones only",
        "where the saga's CPU time goes (at concurrency >= 50, all processes): "
        + ", ".join(f"{k} {v}%" for k, v in figures["saga_time_shares_percent"].items()),
    ]
    return "\n".join(lines)


def _p50(run: dict[str, Any]) -> str:
    overall = run["latency_p50_s"]
    delivered = run["delivered_latency_p50_s"]
    if overall == delivered:
        return str(overall)
    return f"{overall if overall is not None else 'never'} ({delivered})"


def _ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    if not ours["latency_p50_s"]:
        return "n/a"
    if theirs["latency_p50_s"] is None:
        return "unbounded"
    return f"{theirs['latency_p50_s'] / ours['latency_p50_s']:.2f}x"


def _delivered(run: dict[str, Any]) -> str:
    return f"{run['completed']}/{run['completed'] + run['failed']}"


if __name__ == "__main__":
    sys.exit(main())
